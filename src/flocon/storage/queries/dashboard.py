"""SQL for the dashboard: rollup sums per watch × hour × sentiment, distinct mentions per hour,
top source kinds, sites and authors, the mentions behind emerging themes, and the values the
filters can offer.

Without a watch filter, the distinct mentions per hour and the top lists can read the
workspace's facet rollups (flocon.storage.queries.facets) for whole buckets, and the mentions
only for the partial days at the edges of the period (same figures, fewer rows read).

Mention-based queries take a :class:`~flocon.storage.queries.mention_lists.MentionFilter` and
reuse its conditions, so a figure and the list it drills down to select the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    case,
    cast,
    func,
    literal_column,
    select,
    union_all,
)

from flocon.storage.queries.mention_lists import MentionFilter, conditions
from flocon.storage.tables import authors, facet_rollups, mentions, rollups, sources, watches

HOUR = 3600

Dimension = Literal["source_kind", "site", "author"]


@dataclass(frozen=True, slots=True)
class HourCount:
    """Mentions of one hour (its start as seconds since the epoch / 3600) and sentiment
    ('' when unknown); ``watch_id`` None for distinct mentions over several watches."""

    watch_id: int | None
    hour: int
    sentiment: str
    count: int


def rollup_hours(
    conn: Connection,
    watch_ids: Sequence[int],
    since: datetime,
    until: datetime,
    *,
    sentiment: str | None = None,
    lang: str | None = None,
    source_kind: str | None = None,
) -> list[HourCount]:
    """Hourly rollups of the watches with ``since <= bucket_start < until``, summed over the
    dimensions not asked for (``sentiment``: '' is unknown)."""
    if not watch_ids:
        return []
    cond = [
        rollups.c.watch_id.in_(sorted(set(watch_ids))),
        rollups.c.bucket_s == HOUR,
        rollups.c.bucket_start >= since,
        rollups.c.bucket_start < until,
    ]
    if sentiment is not None:
        cond.append(rollups.c.sentiment == sentiment)
    if lang is not None:
        cond.append(rollups.c.lang == lang)
    if source_kind is not None:
        cond.append(rollups.c.source_kind == source_kind)
    stmt = (
        select(
            rollups.c.watch_id,
            rollups.c.bucket_start,
            rollups.c.sentiment,
            func.sum(rollups.c.count),
        )
        .where(*cond)
        .group_by(rollups.c.watch_id, rollups.c.bucket_start, rollups.c.sentiment)
    )
    return [
        HourCount(int(w), int(start.timestamp()) // HOUR, str(s), int(n))
        for w, start, s, n in conn.execute(stmt)
    ]


def _hour_of_occurrence(conn: Connection) -> Any:
    """``occurred_at`` as whole hours since the epoch, computed by the database."""
    if conn.dialect.name == "sqlite":
        seconds = cast(func.strftime("%s", mentions.c.occurred_at), Integer)
        return (seconds // HOUR).label("hour")
    epoch = func.extract("epoch", mentions.c.occurred_at)
    return cast(func.floor(epoch / HOUR), BigInteger).label("hour")


def distinct_hours(conn: Connection, flt: MentionFilter) -> list[HourCount]:
    """Mentions the filter selects, counted once each, per hour and sentiment."""
    hour = _hour_of_occurrence(conn)
    sentiment = func.coalesce(mentions.c.sentiment, "").label("sentiment")
    stmt = (
        select(hour, sentiment, func.count())
        .select_from(mentions)
        .where(*conditions(conn, flt))
        .group_by(hour, sentiment)
    )
    return [HourCount(None, int(h), str(s), int(n)) for h, s, n in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class TopCount:
    key: str
    label: str
    count: int
    negative: int


def _facet_sentiment(flt: MentionFilter) -> Any:
    """The facet rollups' condition for the filter's sentiment (None: none)."""
    if flt.sentiment is None:
        return None
    return facet_rollups.c.sentiment == ("" if flt.sentiment == "unknown" else flt.sentiment)


def facet_hours(conn: Connection, flt: MentionFilter) -> list[HourCount]:
    """As :func:`distinct_hours` for a filter on the whole workspace (no watch), read from the
    hourly facet rollups: ``flt.since``/``until`` must be whole hours, and the filter may only
    carry a sentiment besides them (muted authors and sites count)."""
    cond = [
        facet_rollups.c.workspace_id == flt.workspace_id,
        facet_rollups.c.facet == "total",
        facet_rollups.c.bucket_start >= flt.since,
        facet_rollups.c.bucket_start < flt.until,
    ]
    sentiment = _facet_sentiment(flt)
    if sentiment is not None:
        cond.append(sentiment)
    stmt = select(
        facet_rollups.c.bucket_start, facet_rollups.c.sentiment, facet_rollups.c.count
    ).where(*cond)
    return [
        HourCount(None, int(start.timestamp()) // HOUR, str(sent), int(n))
        for start, sent, n in conn.execute(stmt)
    ]


def _scan_top(conn: Connection, flt: MentionFilter, dimension: Dimension) -> tuple[Any, Any]:
    """(key, label, n, negative) per key of the mentions the filter selects, and the key."""
    n = func.count().label("n")
    negative = func.sum(case((mentions.c.sentiment == "negative", 1), else_=0)).label("negative")
    cond = conditions(conn, flt)
    if dimension == "source_kind":
        key: Any = sources.c.kind
        label: Any = sources.c.kind
        from_: Any = mentions.join(sources, sources.c.id == mentions.c.source_id)
    elif dimension == "site":
        key = label = mentions.c.site
        from_ = mentions
        cond.append(mentions.c.site != "")
    else:
        key = authors.c.key
        label = func.coalesce(authors.c.handle, authors.c.name, authors.c.key)
        from_ = mentions.join(authors, authors.c.id == mentions.c.author_id)
    stmt = (
        select(key.label("key"), func.min(label).label("label"), n, negative)
        .select_from(from_)
        .where(*cond)
        .group_by(key)
    )
    return stmt, key


def _facet_top(
    conn: Connection, flt: MentionFilter, dimension: Dimension, since: datetime, until: datetime
) -> Any:
    """As :func:`_scan_top` from the daily facet rollups of [since, until) (whole UTC days)."""
    fr = facet_rollups
    n = func.sum(fr.c.count).label("n")
    negative = func.sum(case((fr.c.sentiment == "negative", fr.c.count), else_=0)).label("negative")
    cond = [
        fr.c.workspace_id == flt.workspace_id,
        fr.c.facet == dimension,
        fr.c.bucket_start >= since,
        fr.c.bucket_start < until,
    ]
    sentiment = _facet_sentiment(flt)
    if sentiment is not None:
        cond.append(sentiment)
    if dimension == "author":
        per_id = select(fr.c.key, n, negative).where(*cond).group_by(fr.c.key).subquery()
        label = func.coalesce(authors.c.handle, authors.c.name, authors.c.key)
        return (
            select(
                authors.c.key.label("key"),
                func.min(label).label("label"),
                func.sum(per_id.c.n).label("n"),
                func.sum(per_id.c.negative).label("negative"),
            )
            .select_from(per_id.join(authors, authors.c.id == cast(per_id.c.key, Integer)))
            .group_by(authors.c.key)
        )
    return (
        select(fr.c.key.label("key"), func.min(fr.c.key).label("label"), n, negative)
        .where(*cond)
        .group_by(fr.c.key)
    )


def top(
    conn: Connection,
    flt: MentionFilter,
    dimension: Dimension,
    limit: int,
    *,
    whole_days: tuple[datetime, datetime] | None = None,
) -> list[TopCount]:
    """The most frequent source kinds, sites or authors (by author key) among the mentions
    the filter selects, with how many of their mentions are negative.

    ``whole_days`` (whole UTC days inside [flt.since, flt.until)): read them from the facet
    rollups and the mentions only for the rest of the period; only for a filter on the whole
    workspace (no watch) with no condition but a sentiment, nothing muted."""
    if whole_days is None:
        scan, key = _scan_top(conn, flt, dimension)
        stmt = scan.order_by(literal_column("n").desc(), key).limit(limit)
        rows = conn.execute(stmt).all()
    else:
        first, last = whole_days
        parts = [_facet_top(conn, flt, dimension, first, last)]
        if flt.since is not None and flt.since < first:
            parts.append(_scan_top(conn, replace(flt, until=first), dimension)[0])
        if flt.until is not None and last < flt.until:
            parts.append(_scan_top(conn, replace(flt, since=last), dimension)[0])
        u = union_all(*parts).subquery()
        total = func.sum(u.c.n)
        stmt = (
            select(u.c.key, func.min(u.c.label), total, func.sum(u.c.negative))
            .group_by(u.c.key)
            .order_by(total.desc(), u.c.key)
            .limit(limit)
        )
        rows = conn.execute(stmt).all()
    return [TopCount(str(k), str(lab), int(c), int(neg or 0)) for k, lab, c, neg in rows]


@dataclass(frozen=True, slots=True)
class ThemeRow:
    id: int
    title: str | None
    text: str
    lang: str | None


def newest(conn: Connection, flt: MentionFilter) -> list[ThemeRow]:
    """The ``flt.limit`` newest mentions the filter selects, for theme extraction."""
    stmt = (
        select(mentions.c.id, mentions.c.title, mentions.c.text, mentions.c.lang)
        .where(*conditions(conn, flt))
        .order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc())
        .limit(flt.limit)
    )
    return [ThemeRow(int(r.id), r.title, r.text, r.lang) for r in conn.execute(stmt)]


def present(conn: Connection, watch_ids: Sequence[int]) -> tuple[list[str], list[str]]:
    """Languages and source kinds found in the watches' rollups (cheap: no mention scan)."""
    if not watch_ids:
        return [], []
    where = (rollups.c.watch_id.in_(sorted(set(watch_ids))), rollups.c.bucket_s == HOUR)
    langs = conn.execute(
        select(rollups.c.lang).where(*where, rollups.c.lang != "").distinct()
    ).scalars()
    kinds = conn.execute(select(rollups.c.source_kind).where(*where).distinct()).scalars()
    return sorted(str(x) for x in langs), sorted(str(x) for x in kinds)


def present_in_workspace(conn: Connection, workspace_id: int) -> tuple[list[str], list[str]]:
    """Languages and source kinds of the workspace's matched mentions, from its facet
    rollups (what :func:`present` gives for all its watches, reading fewer rows)."""
    stmt = (
        select(facet_rollups.c.facet, facet_rollups.c.key)
        .where(
            facet_rollups.c.workspace_id == workspace_id,
            facet_rollups.c.facet.in_(("lang", "source_kind")),
        )
        .distinct()
    )
    rows = conn.execute(stmt).all()
    langs = sorted(str(k) for f, k in rows if f == "lang" and k)
    kinds = sorted(str(k) for f, k in rows if f == "source_kind")
    return langs, kinds


def groups(conn: Connection, workspace_id: int) -> list[str]:
    stmt = (
        select(watches.c.group_name)
        .where(watches.c.workspace_id == workspace_id, watches.c.group_name.is_not(None))
        .distinct()
    )
    return sorted(str(g) for g in conn.execute(stmt).scalars() if g)
