"""SQL for the dashboard: rollup sums per watch × hour × sentiment, distinct mentions per hour,
top source kinds, sites and authors, the mentions behind emerging themes, and the values the
filters can offer.

For the workspace, a group or a single watch, the distinct mentions per hour and the top
lists read the scope's facet rollups (flocon.storage.queries.facets) for whole buckets, and
the mentions only for the partial days at the edges of the period (same figures, fewer rows
read).

Mention-based queries take a :class:`~flocon.storage.queries.mention_lists.MentionFilter` and
reuse its conditions, so a figure and the list it drills down to select the same rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from flocon.storage.queries import facets
from flocon.storage.queries.mention_lists import MentionFilter, conditions
from flocon.storage.tables import (
    authors,
    facet_rollups,
    mention_watches,
    mentions,
    rollups,
    sources,
    watches,
)

HOUR = 3600
#: Charts with up to this many buckets have their rows grouped per bucket by the database.
MAX_SQL_BUCKETS = 100

Dimension = Literal["source_kind", "site", "author"]


def without_parallel_workers(conn: Connection) -> None:
    """PostgreSQL: no parallel workers for the rest of the transaction. The dashboard's reads
    sum a few thousand rollup rows; starting workers costs more than they save (5 to 30 ms a
    query on a busy 2-core server: a 30-day dashboard 2 to 3 times slower)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


@dataclass(frozen=True, slots=True)
class HourCount:
    """Mentions of one hour (its start as seconds since the epoch / 3600) and sentiment
    ('' when unknown); ``watch_id`` None for distinct mentions over several watches."""

    watch_id: int | None
    hour: int
    sentiment: str
    count: int


def _rollup_conditions(
    watch_ids: Sequence[int],
    since: datetime,
    until: datetime,
    sentiment: str | None,
    lang: str | None,
    source_kind: str | None,
) -> list[Any]:
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
    return cond


def _bucket_of(column: Any, edges: Sequence[datetime]) -> Any:
    """The index of the bucket [edges[i], edges[i + 1]) holding ``column``, computed by the
    database (a binary search of nested CASEs: rows are grouped there, not in Python); None
    for a single bucket."""

    def between(lo: int, hi: int) -> Any:
        if hi - lo == 1:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((column < edges[mid], between(lo, mid)), else_=between(mid, hi))

    n = len(edges) - 1
    return None if n <= 1 else between(0, n).label("bucket")


def watch_buckets(
    conn: Connection,
    workspace_id: int,
    watch_ids: Sequence[int],
    edges: Sequence[datetime],
    *,
    sentiment: str | None = None,
) -> list[BucketCount]:
    """As :func:`rollup_buckets` with no language or source kind, from the watches' hourly
    ``total`` facet rollups (the same counts, ten times fewer rows)."""
    if not watch_ids or len(edges) < 2:
        return []
    fr = facet_rollups
    by_scope = {facets.watch_scope(w): w for w in sorted(set(watch_ids))}
    cond = [
        fr.c.workspace_id == workspace_id,
        fr.c.scope.in_(sorted(by_scope)),
        fr.c.facet == "total",
        fr.c.bucket_start >= edges[0],
        fr.c.bucket_start < edges[-1],
    ]
    if sentiment is not None:
        cond.append(fr.c.sentiment == sentiment)
    bucket = _bucket_of(fr.c.bucket_start, edges)
    keys = [fr.c.scope, fr.c.sentiment] + ([bucket] if bucket is not None else [])
    stmt = select(*keys, func.sum(fr.c.count)).where(*cond).group_by(*keys)
    return [
        BucketCount(by_scope[r[0]], int(r[2]) if bucket is not None else 0, str(r[1]), int(r[-1]))
        for r in conn.execute(stmt)
    ]


Ranges = list[tuple[datetime, datetime]]
#: Past this many ranges, day coverage is not worth it: every hour is read.
_MAX_RANGES = 8
_DAY = timedelta(days=1)


def day_coverage(edges: Sequence[datetime]) -> tuple[Ranges, Ranges]:
    """[edges[0], edges[-1]) split into runs of whole UTC days that each lie inside one
    bucket (read from daily rows) and the hours left (read from hourly rows)."""
    start, end = edges[0], edges[-1]
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if day < start:
        day += _DAY
    runs: Ranges = []
    while day + _DAY <= end:
        i = bisect.bisect_right(edges, day) - 1
        if day + _DAY <= edges[i + 1]:
            if runs and runs[-1][1] == day:
                runs[-1] = (runs[-1][0], day + _DAY)
            else:
                runs.append((day, day + _DAY))
        day += _DAY
    hours: Ranges = []
    at = start
    for first, last in runs:
        if at < first:
            hours.append((at, first))
        at = last
    if at < end:
        hours.append((at, end))
    if len(runs) + len(hours) > _MAX_RANGES:
        return [], [(start, end)]
    return runs, hours


def _within(column: Any, ranges: Ranges) -> Any:
    return or_(*(and_(column >= first, column < last) for first, last in ranges))


def rollup_buckets(
    conn: Connection,
    workspace_id: int,
    watch_ids: Sequence[int],
    edges: Sequence[datetime],
    *,
    sentiment: str | None = None,
    lang: str | None = None,
    source_kind: str | None = None,
) -> list[BucketCount]:
    """The watches' mentions per watch, bucket (``edges``: the boundaries, on whole hours; at
    most :data:`MAX_SQL_BUCKETS` buckets) and sentiment ('' is unknown), of a language and/or
    source kind: whole UTC days inside a bucket from the watches' daily ``source_kind``
    facet rollups, other hours from their hourly rollups."""
    if not watch_ids or len(edges) < 2:
        return []
    runs, hours = day_coverage(edges)
    out: list[BucketCount] = []
    if hours:
        cond = _rollup_conditions(watch_ids, edges[0], edges[-1], sentiment, lang, source_kind)
        cond.append(_within(rollups.c.bucket_start, hours))
        bucket = _bucket_of(rollups.c.bucket_start, edges)
        keys = [rollups.c.watch_id, rollups.c.sentiment] + ([bucket] if bucket is not None else [])
        stmt = select(*keys, func.sum(rollups.c.count)).where(*cond).group_by(*keys)
        out.extend(
            BucketCount(int(r[0]), int(r[2]) if bucket is not None else 0, str(r[1]), int(r[-1]))
            for r in conn.execute(stmt)
        )
    if runs:
        fr = facet_rollups
        by_scope = {facets.watch_scope(w): w for w in sorted(set(watch_ids))}
        cond = [
            fr.c.workspace_id == workspace_id,
            fr.c.scope.in_(sorted(by_scope)),
            fr.c.facet == "source_kind",
            _within(fr.c.bucket_start, runs),
        ]
        if sentiment is not None:
            cond.append(fr.c.sentiment == sentiment)
        if lang is not None:
            cond.append(fr.c.lang == lang)
        if source_kind is not None:
            cond.append(fr.c.source_kind == source_kind)
        bucket = _bucket_of(fr.c.bucket_start, edges)
        keys = [fr.c.scope, fr.c.sentiment] + ([bucket] if bucket is not None else [])
        stmt = select(*keys, func.sum(fr.c.count)).where(*cond).group_by(*keys)
        out.extend(
            BucketCount(
                by_scope[r[0]], int(r[2]) if bucket is not None else 0, str(r[1]), int(r[-1])
            )
            for r in conn.execute(stmt)
        )
    return out


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
    cond = _rollup_conditions(watch_ids, since, until, sentiment, lang, source_kind)
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
class BucketCount:
    """Mentions of one bucket (its index among the chart's buckets) and sentiment ('' when
    unknown); ``watch_id`` None for distinct mentions over several watches."""

    watch_id: int | None
    bucket: int
    sentiment: str
    count: int


@dataclass(frozen=True, slots=True)
class TopCount:
    key: str
    label: str
    count: int
    negative: int


def _facet_conditions(flt: MentionFilter, scope: str, facet: str) -> list[Any]:
    """The facet rollups' conditions for a scope, a facet, the filter's period and its
    sentiment, language and source kind."""
    fr = facet_rollups
    cond = [
        fr.c.workspace_id == flt.workspace_id,
        fr.c.scope == scope,
        fr.c.facet == facet,
    ]
    if flt.since is not None:
        cond.append(fr.c.bucket_start >= flt.since)
    if flt.until is not None:
        cond.append(fr.c.bucket_start < flt.until)
    if flt.sentiment is not None:
        cond.append(fr.c.sentiment == ("" if flt.sentiment == "unknown" else flt.sentiment))
    if facet not in ("total", "author"):
        if flt.lang is not None:
            cond.append(fr.c.lang == flt.lang)
        if flt.source_kind is not None:
            cond.append(fr.c.source_kind == flt.source_kind)
    return cond


def facet_buckets(
    conn: Connection, flt: MentionFilter, scope: str, edges: Sequence[datetime]
) -> list[BucketCount]:
    """As :func:`distinct_hours`, per bucket (``edges``, on whole hours), read from the facet
    rollups of ``scope`` (the workspace or a group: the same mentions as the filter's
    watches): the hourly ``total``, or with a language or source kind the daily
    ``source_kind`` rows for whole UTC days inside a bucket and the hourly ``hour`` rows for
    the other hours. The filter may only carry a sentiment, a language and a source kind
    besides the period (muted authors and sites count)."""
    fr = facet_rollups
    period = replace(flt, since=edges[0], until=edges[-1])
    if flt.lang is None and flt.source_kind is None:
        parts = [("total", [(edges[0], edges[-1])])]
    else:
        runs, hours = day_coverage(edges)
        parts = [("source_kind", runs), ("hour", hours)]
    bucket = _bucket_of(fr.c.bucket_start, edges)
    keys = [fr.c.sentiment] + ([bucket] if bucket is not None else [])
    out: list[BucketCount] = []
    for facet, ranges in parts:
        if not ranges:
            continue
        cond = [*_facet_conditions(period, scope, facet), _within(fr.c.bucket_start, ranges)]
        stmt = select(*keys, func.sum(fr.c.count)).where(*cond).group_by(*keys)
        out.extend(
            BucketCount(None, int(r[1]) if bucket is not None else 0, str(r[0]), int(r[-1]))
            for r in conn.execute(stmt)
        )
    return out


def _edge_conditions(conn: Connection, flt: MentionFilter) -> list[Any]:
    """The filter's conditions for a few hours' mentions: the watch test as a lookup per
    mention (``IN`` would read every mention of the watches first)."""
    if not flt.watch_ids:
        return conditions(conn, flt)
    linked = (
        select(mention_watches.c.mention_id)
        .where(
            mention_watches.c.mention_id == mentions.c.id,
            mention_watches.c.watch_id.in_(sorted(set(flt.watch_ids))),
        )
        .exists()
    )
    return [*conditions(conn, replace(flt, watch_ids=())), linked]


def _scan_top(
    conn: Connection,
    flt: MentionFilter,
    dimension: Dimension,
    *,
    edge: bool = False,
    labels: bool = True,
) -> tuple[Any, Any]:
    """(key, label, n, negative) per key of the mentions the filter selects (no label when
    not ``labels``), and the key (``edge``: a short period, see :func:`_edge_conditions`)."""
    n = func.count().label("n")
    negative = func.sum(case((mentions.c.sentiment == "negative", 1), else_=0)).label("negative")
    cond = _edge_conditions(conn, flt) if edge else conditions(conn, flt)
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
    columns = [key.label("key"), func.min(label).label("label")] if labels else [key.label("key")]
    stmt = select(*columns, n, negative).select_from(from_).where(*cond).group_by(key)
    return stmt, key


def _facet_top(
    flt: MentionFilter, scope: str, dimension: Dimension, since: datetime, until: datetime
) -> Any:
    """(key, n, negative) as :func:`_scan_top` from the daily facet rollups of ``scope`` over
    [since, until) (whole UTC days)."""
    fr = facet_rollups
    n = func.sum(fr.c.count).label("n")
    negative = func.sum(case((fr.c.sentiment == "negative", fr.c.count), else_=0)).label("negative")
    split = flt.lang is not None or flt.source_kind is not None
    facet = "author_split" if dimension == "author" and split else dimension
    cond = _facet_conditions(replace(flt, since=since, until=until), scope, facet)
    return select(fr.c.key.label("key"), n, negative).where(*cond).group_by(fr.c.key)


def _author_labels(conn: Connection, workspace_id: int, keys: Sequence[str]) -> dict[str, str]:
    """The label of each author key (handle, else name, else key; the least of its
    platforms')."""
    if not keys:
        return {}
    label = func.min(func.coalesce(authors.c.handle, authors.c.name, authors.c.key))
    stmt = (
        select(authors.c.key, label)
        .where(authors.c.workspace_id == workspace_id, authors.c.key.in_(sorted(set(keys))))
        .group_by(authors.c.key)
    )
    return {str(k): str(lab) for k, lab in conn.execute(stmt)}


def top(
    conn: Connection,
    flt: MentionFilter,
    dimension: Dimension,
    limit: int,
    *,
    scope: str | None = None,
    whole_days: tuple[datetime, datetime] | None = None,
) -> list[TopCount]:
    """The most frequent source kinds, sites or authors (by author key) among the mentions
    the filter selects, with how many of their mentions are negative.

    ``scope`` (the facet scope holding the same mentions as the filter's watches) and
    ``whole_days`` (whole UTC days inside [flt.since, flt.until)): read those days from the
    scope's facet rollups and the mentions only for the rest of the period; only for a
    filter with no condition but a sentiment, a language and a source kind, nothing
    muted."""
    if whole_days is None or scope is None:
        scan, key = _scan_top(conn, flt, dimension)
        stmt = scan.order_by(literal_column("n").desc(), key).limit(limit)
        rows = conn.execute(stmt).all()
        return [TopCount(str(k), str(lab), int(c), int(neg or 0)) for k, lab, c, neg in rows]
    first, last = whole_days
    facet = _facet_top(flt, scope, dimension, first, last)
    parts = []
    if flt.since is not None and flt.since < first:
        edge = replace(flt, until=first)
        parts.append(_scan_top(conn, edge, dimension, edge=True, labels=False)[0])
    if flt.until is not None and last < flt.until:
        edge = replace(flt, since=last)
        parts.append(_scan_top(conn, edge, dimension, edge=True, labels=False)[0])
    if parts:
        u = union_all(facet, *parts).subquery()
        total = func.sum(u.c.n)
        stmt = (
            select(u.c.key, total, func.sum(u.c.negative))
            .group_by(u.c.key)
            .order_by(total.desc(), u.c.key)
            .limit(limit)
        )
    else:
        stmt = facet.order_by(literal_column("n").desc(), literal_column("key")).limit(limit)
    rows = conn.execute(stmt).all()
    labels = (
        _author_labels(conn, flt.workspace_id, [str(r[0]) for r in rows])
        if dimension == "author"
        else {}
    )
    return [
        TopCount(str(k), labels.get(str(k), str(k)), int(c), int(neg or 0)) for k, c, neg in rows
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


def present_in_workspace(conn: Connection, workspace_id: int) -> tuple[list[str], list[str]]:
    """Languages and source kinds of the workspace's matched mentions, from its facet
    rollups (what :func:`present` gives for all its watches, reading fewer rows)."""
    stmt = (
        select(facet_rollups.c.source_kind, facet_rollups.c.lang)
        .where(
            facet_rollups.c.workspace_id == workspace_id,
            facet_rollups.c.scope == "",
            facet_rollups.c.facet == "source_kind",
        )
        .distinct()
    )
    rows = conn.execute(stmt).all()
    langs = sorted({str(lang) for _, lang in rows if lang})
    kinds = sorted({str(kind) for kind, _ in rows})
    return langs, kinds


def groups(conn: Connection, workspace_id: int) -> list[str]:
    stmt = (
        select(watches.c.group_name)
        .where(watches.c.workspace_id == workspace_id, watches.c.group_name.is_not(None))
        .distinct()
    )
    return sorted(str(g) for g in conn.execute(stmt).scalars() if g)
