"""What every dashboard figure shares: the filter, the scope of watches, the period widened
to whole hours, and the drill-down query of a figure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine

from flocon.domain.models import Watch
from flocon.errors import NotFound
from flocon.services.mentions import SENTIMENTS, BadFilter, MentionQuery
from flocon.storage.engine import read
from flocon.storage.queries import dashboard as dq
from flocon.storage.queries import facets
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.mention_lists import MentionFilter

Bucket = Literal["hour", "day"]
#: Periods up to this long are shown per hour, longer ones per day (when not chosen).
AUTO_HOURLY: Final = timedelta(days=3)
#: The most buckets one chart may have.
MAX_BUCKETS: Final = 10_000
HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DashboardFilter:
    """The dashboard's period (``since`` included, ``until`` excluded) and filters.

    ``sentiment`` may be "unknown"; ``timezone`` (an IANA name) places the day boundaries of
    daily charts (at the user's midnight, rounded down to the UTC hour).
    """

    since: datetime
    until: datetime
    watches: tuple[str, ...] = ()
    group: str | None = None
    sentiment: str | None = None
    lang: str | None = None
    source_kind: str | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise BadFilter("the period must be given as timezone-aware datetimes")
        if self.since >= self.until:
            raise BadFilter("the period is empty: since must come before until")
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise BadFilter(f"sentiment must be one of {', '.join(SENTIMENTS)}")
        zone(self.timezone)

    @property
    def start(self) -> datetime:
        """``since`` rounded down to the UTC hour: where every figure starts."""
        return floor_hour(self.since)

    @property
    def end(self) -> datetime:
        """``until`` rounded up to the UTC hour: where every figure ends."""
        floor = floor_hour(self.until)
        return floor if floor == self.until.astimezone(UTC) else floor + HOUR


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction for dashboard figures (see
    :func:`flocon.storage.queries.dashboard.without_parallel_workers`)."""
    with read(engine) as conn:
        dq.without_parallel_workers(conn)
        yield conn


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadFilter(f"unknown time zone {name!r}") from exc


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def net_sentiment(positive: int, negative: int, neutral: int) -> float | None:
    """(positive − negative) / (positive + negative + neutral); None without any of them."""
    analysed = positive + negative + neutral
    return None if analysed == 0 else (positive - negative) / analysed


# -- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    workspace_id: int
    watches: tuple[Watch, ...]
    #: The watch names drill-down links carry (none: "any watch", the whole workspace).
    names: tuple[str, ...]


def scope_of(conn: Connection, workspace: str, flt: DashboardFilter) -> Scope:
    ws = wsq.get_by_name(conn, workspace)
    every = wq.list_all(conn, ws.id)
    if flt.watches:
        by_name = {w.name: w for w in every}
        missing = [n for n in flt.watches if n not in by_name]
        if missing:
            raise NotFound(f"watch {missing[0]!r} does not exist in this workspace")
        chosen = tuple(by_name[n] for n in dict.fromkeys(flt.watches))
        return Scope(ws.id, chosen, tuple(w.name for w in chosen))
    if flt.group is not None:
        chosen = tuple(w for w in every if w.group == flt.group)
        if not chosen:
            raise NotFound(f"no watch belongs to the group {flt.group!r}")
        return Scope(ws.id, chosen, tuple(w.name for w in chosen))
    return Scope(ws.id, tuple(every), ())


DAY: Final = timedelta(days=1)


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The first and last UTC midnights of [start, end) when at least one whole UTC day lies
    between them, else None."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += DAY
    last = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None


def facet_scope(scope: Scope, flt: DashboardFilter) -> str | None:
    """The facet rollups' scope holding the scope's distinct mentions: the workspace (no
    watch or group chosen), the group, or the one watch chosen; None for several watches
    chosen (their mentions are counted on the mentions) or no watch at all."""
    if not scope.watches:
        return None
    if not scope.names:
        return facets.WORKSPACE
    if flt.watches:
        return facets.watch_scope(scope.watches[0].id) if len(scope.watches) == 1 else None
    return facets.group_scope(flt.group) if flt.group is not None else None


def lang_of(flt: DashboardFilter) -> str | None:
    return flt.lang.strip().lower() if flt.lang else None


def kind_of(flt: DashboardFilter) -> str | None:
    return flt.source_kind.strip().lower() if flt.source_kind else None


def mention_filter(
    scope: Scope, flt: DashboardFilter, *, muted: bool, since: datetime, until: datetime
) -> MentionFilter:
    return MentionFilter(
        workspace_id=scope.workspace_id,
        watch_ids=tuple(w.id for w in scope.watches) if scope.names else (),
        since=since,
        until=until,
        lang=lang_of(flt),
        sentiment=flt.sentiment,
        source_kind=kind_of(flt),
        include_duplicates=False,
        include_muted=muted,
    )


def drill(
    names: tuple[str, ...],
    flt: DashboardFilter,
    start: datetime,
    end: datetime,
    *,
    muted: bool,
    **more: str | None,
) -> MentionQuery:
    values: dict[str, str | None] = {
        "sentiment": flt.sentiment,
        "lang": lang_of(flt),
        "source_kind": kind_of(flt),
    }
    values.update(more)
    return MentionQuery(
        watches=names,
        since=start,
        until=end,
        sentiment=values["sentiment"],
        lang=values["lang"],
        source_kind=values["source_kind"],
        site=values.get("site"),
        author=values.get("author"),
        search=values.get("search"),
        include_duplicates=False,
        include_muted=muted,
    )
