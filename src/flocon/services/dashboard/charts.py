"""Charts of the dashboard: volume over time by sentiment, net sentiment trend, share of voice
(see flocon.services.dashboard for what each counts)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Final

from sqlalchemy import Connection, Engine

from flocon.services.dashboard.common import (
    AUTO_HOURLY,
    HOUR,
    MAX_BUCKETS,
    Bucket,
    DashboardFilter,
    drill,
    facet_scope,
    floor_hour,
    kind_of,
    lang_of,
    mention_filter,
    net_sentiment,
    reading,
    scope_of,
    zone,
)
from flocon.services.mentions import BadFilter, MentionQuery
from flocon.storage.queries import dashboard as q

# -- volume --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VolumePoint:
    start: datetime
    end: datetime
    positive: int
    neutral: int
    negative: int
    unknown: int
    drill: MentionQuery

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative + self.unknown

    @property
    def net(self) -> float | None:
        return net_sentiment(self.positive, self.negative, self.neutral)


@dataclass(frozen=True, slots=True)
class VolumeLine:
    """One series; ``watch`` None: the scope's distinct mentions."""

    watch: str | None
    points: tuple[VolumePoint, ...]

    @property
    def total(self) -> int:
        return sum(p.total for p in self.points)


@dataclass(frozen=True, slots=True)
class VolumeSeries:
    """Zero-filled buckets from ``since`` to ``until`` (the period widened to whole hours).

    ``total``: distinct mentions of the scope; ``watches``: one line per watch in scope
    (from the rollups; a mention of two watches is in both lines).
    """

    bucket: Bucket
    since: datetime
    until: datetime
    total: VolumeLine
    watches: tuple[VolumeLine, ...] = field(default=())


def _edges(flt: DashboardFilter, bucket: Bucket) -> list[datetime]:
    """Bucket boundaries, first = ``flt.start``, last = ``flt.end``."""
    start, end = flt.start, flt.end
    if bucket == "hour":
        n = (end - start) // HOUR
        if n > MAX_BUCKETS:
            raise BadFilter(f"too many hours in the period: choose days (at most {MAX_BUCKETS})")
        return [start + i * HOUR for i in range(n + 1)]
    tz = zone(flt.timezone)
    edges = [start]
    day = start.astimezone(tz).date()
    while True:
        day += timedelta(days=1)
        midnight = floor_hour(datetime.combine(day, time(0), tzinfo=tz))
        if midnight >= end:
            break
        if midnight > edges[-1]:
            edges.append(midnight)
        if len(edges) > MAX_BUCKETS:
            raise BadFilter(f"the period is too long (at most {MAX_BUCKETS} days)")
    edges.append(end)
    return edges


_SENTIMENT_SLOT: Final = {"positive": 0, "neutral": 1, "negative": 2}


def _fill(edges: list[datetime], rows: Iterable[q.HourCount]) -> list[list[int]]:
    """Counts per bucket: [positive, neutral, negative, unknown]."""
    slots = [[0, 0, 0, 0] for _ in edges[:-1]]
    starts = [int(e.timestamp()) // 3600 for e in edges]
    for row in rows:
        i = bisect.bisect_right(starts, row.hour) - 1
        if 0 <= i < len(slots):
            slots[i][_SENTIMENT_SLOT.get(row.sentiment, 3)] += row.count
    return slots


def _line(
    watch: str | None,
    names: tuple[str, ...],
    flt: DashboardFilter,
    edges: list[datetime],
    slots: list[list[int]],
) -> VolumeLine:
    points = tuple(
        VolumePoint(
            start=edges[i],
            end=edges[i + 1],
            positive=c[0],
            neutral=c[1],
            negative=c[2],
            unknown=c[3],
            drill=drill(names, flt, edges[i], edges[i + 1], muted=True),
        )
        for i, c in enumerate(slots)
    )
    return VolumeLine(watch, points)


def _rollup_sentiment(flt: DashboardFilter) -> str | None:
    if flt.sentiment is None:
        return None
    return "" if flt.sentiment == "unknown" else flt.sentiment


def _fill_buckets(n: int, rows: Iterable[q.BucketCount]) -> list[list[int]]:
    """Counts per bucket: [positive, neutral, negative, unknown]."""
    slots = [[0, 0, 0, 0] for _ in range(n)]
    for row in rows:
        if 0 <= row.bucket < n:
            slots[row.bucket][_SENTIMENT_SLOT.get(row.sentiment, 3)] += row.count
    return slots


def _per_watch(
    conn: Connection,
    workspace_id: int,
    ids: list[int],
    edges: list[datetime],
    filters: dict[str, str | None],
) -> list[q.BucketCount]:
    """Each watch's mentions per bucket and sentiment: from its hourly ``total`` facet
    rollups, or when a language or source kind is chosen from its daily facet rollups and
    hourly rollups."""
    if filters["lang"] is None and filters["source_kind"] is None:
        return q.watch_buckets(conn, workspace_id, ids, edges, sentiment=filters["sentiment"])
    return q.rollup_buckets(conn, workspace_id, ids, edges, **filters)


def volume(
    engine: Engine, workspace: str, flt: DashboardFilter, *, bucket: Bucket | None = None
) -> VolumeSeries:
    """Mentions per bucket and sentiment: the scope's distinct total and one line per watch
    (see the module's docstring). ``bucket`` None: per hour up to 3 days, else per day."""
    chosen: Bucket = bucket or ("hour" if flt.end - flt.start <= AUTO_HOURLY else "day")
    edges = _edges(flt, chosen)
    n = len(edges) - 1
    filters = {
        "sentiment": _rollup_sentiment(flt),
        "lang": lang_of(flt),
        "source_kind": kind_of(flt),
    }
    with reading(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        ids = [w.id for w in scope.watches]
        mf = mention_filter(scope, flt, muted=True, since=flt.start, until=flt.end)
        facet = facet_scope(scope, flt)
        if n <= q.MAX_SQL_BUCKETS:
            per_watch = _per_watch(conn, scope.workspace_id, ids, edges, filters)
            if len(ids) == 1:
                total = _fill_buckets(n, per_watch)
            elif facet is not None:
                total = _fill_buckets(n, q.facet_buckets(conn, mf, facet, edges))
            else:
                total = _fill(edges, q.distinct_hours(conn, mf) if ids else [])
            by_watch = {w: _fill_buckets(n, (r for r in per_watch if r.watch_id == w)) for w in ids}
        else:
            hourly = q.rollup_hours(conn, ids, flt.start, flt.end, **filters)
            if len(ids) == 1:
                distinct = hourly
            elif ids:
                distinct = q.distinct_hours(conn, mf)
            else:
                distinct = []
            total = _fill(edges, distinct)
            by_watch = {w: _fill(edges, (r for r in hourly if r.watch_id == w)) for w in ids}
    lines = tuple(_line(w.name, (w.name,), flt, edges, by_watch[w.id]) for w in scope.watches)
    return VolumeSeries(
        chosen, flt.start, flt.end, _line(None, scope.names, flt, edges, total), lines
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    start: datetime
    end: datetime
    #: (positive − negative) / (positive + negative + neutral); None: nothing analysed.
    net: float | None
    #: The analysed mentions it is computed from.
    mentions: int
    drill: MentionQuery


def net_sentiment_trend(
    engine: Engine, workspace: str, flt: DashboardFilter, *, bucket: Bucket | None = None
) -> list[TrendPoint]:
    """Net sentiment of the scope's distinct mentions per bucket (as :func:`volume`)."""
    series = volume(engine, workspace, flt, bucket=bucket)
    return [
        TrendPoint(p.start, p.end, p.net, p.positive + p.neutral + p.negative, p.drill)
        for p in series.total.points
    ]


# -- share of voice ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareRow:
    """A watch's mentions and their share of all the scope's watches' mentions (shares add
    up to 1; a mention of two watches counts for both)."""

    watch: str
    mentions: int
    share: float
    positive: int
    negative: int
    neutral: int
    unknown: int
    net_sentiment: float | None
    drill: MentionQuery


def share_of_voice(engine: Engine, workspace: str, flt: DashboardFilter) -> list[ShareRow]:
    """The scope's watches (a group: brand against competitors), most mentioned first; from
    the rollups, over the period widened to whole hours."""
    with reading(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        filters = {
            "sentiment": _rollup_sentiment(flt),
            "lang": lang_of(flt),
            "source_kind": kind_of(flt),
        }
        ids = [w.id for w in scope.watches]
        totals = _per_watch(conn, scope.workspace_id, ids, [flt.start, flt.end], filters)
    counts = {w.id: [0, 0, 0, 0] for w in scope.watches}
    for r in totals:
        if r.watch_id in counts:
            counts[r.watch_id][_SENTIMENT_SLOT.get(r.sentiment, 3)] += r.count
    grand = sum(sum(c) for c in counts.values())
    rows = [
        ShareRow(
            watch=w.name,
            mentions=sum(counts[w.id]),
            share=sum(counts[w.id]) / grand if grand else 0.0,
            positive=counts[w.id][0],
            negative=counts[w.id][2],
            neutral=counts[w.id][1],
            unknown=counts[w.id][3],
            net_sentiment=net_sentiment(counts[w.id][0], counts[w.id][2], counts[w.id][1]),
            drill=drill((w.name,), flt, flt.start, flt.end, muted=True),
        )
        for w in scope.watches
    ]
    return sorted(rows, key=lambda r: (-r.mentions, r.watch))
