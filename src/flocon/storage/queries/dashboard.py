"""SQL for the dashboard: rollup sums per watch × hour × sentiment, distinct mentions per hour,
top source kinds, sites and authors, the mentions behind emerging themes, and the values the
filters can offer.

Mention-based queries take a :class:`~flocon.storage.queries.mention_lists.MentionFilter` and
reuse its conditions, so a figure and the list it drills down to select the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Connection, Integer, case, cast, func, select

from flocon.storage.queries.mention_lists import MentionFilter, conditions
from flocon.storage.tables import authors, mentions, rollups, sources, watches

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


def top(conn: Connection, flt: MentionFilter, dimension: Dimension, limit: int) -> list[TopCount]:
    """The most frequent source kinds, sites or authors (by author key) among the mentions
    the filter selects, with how many of their mentions are negative."""
    n = func.count().label("n")
    negative = func.sum(case((mentions.c.sentiment == "negative", 1), else_=0))
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
        select(key, func.min(label), n, negative)
        .select_from(from_)
        .where(*cond)
        .group_by(key)
        .order_by(n.desc(), key)
        .limit(limit)
    )
    return [
        TopCount(str(k), str(lab), int(c), int(neg or 0)) for k, lab, c, neg in conn.execute(stmt)
    ]


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


def groups(conn: Connection, workspace_id: int) -> list[str]:
    stmt = (
        select(watches.c.group_name)
        .where(watches.c.workspace_id == workspace_id, watches.c.group_name.is_not(None))
        .distinct()
    )
    return sorted(str(g) for g in conn.execute(stmt).scalars() if g)
