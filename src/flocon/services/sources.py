"""Use cases on sources: add, list with health and hourly activity, edit, pause, resume,
remove, and try a fetch without storing it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Integer, cast, func, select

from flocon.connectors.base import FetchResult
from flocon.connectors.http import build_http_client
from flocon.connectors.registry import get_connector
from flocon.credentials import CredentialBox
from flocon.domain.models import Source
from flocon.errors import FetchError, FloconError
from flocon.services import fetching
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import rollups as rollups_q
from flocon.storage.queries import sources as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import alerts, mentions

DEFAULT_EVERY_S = 15 * 60
MIN_EVERY_S = 60
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> int:
    """``"10m"`` → 600 seconds; units s, m, h, d (minutes when none); at least one minute."""
    match = _DURATION.match(value.lower())
    if not match:
        raise FloconError(
            f"invalid interval {value!r}: use a number and a unit, e.g. 90s, 10m, 2h, 1d"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "m"]
    if seconds < MIN_EVERY_S:
        raise FloconError("a source is fetched at most once a minute (use --every 1m or more)")
    return seconds


def parse_pairs(items: list[str] | None, *, what: str) -> dict[str, str]:
    """``["key=value", ...]`` → dict, with a clear error for a malformed item."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FloconError(f"invalid {what} {item!r}: use key=value")
        result[key.strip()] = value
    return result


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: Source
    state: str
    items_24h: int
    down: bool


def add_source(
    engine: Engine,
    box: CredentialBox,
    workspace: str,
    *,
    kind: str,
    target: str,
    name: str | None = None,
    every_s: int = DEFAULT_EVERY_S,
    options: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Source:
    connector = get_connector(kind)
    try:
        normalised = connector.normalize_target(target, dict(options or {}))
    except ValueError as exc:
        raise FloconError(f"invalid {kind} target {target!r}: {exc}") from exc
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        source_id = q.create(
            conn,
            ws.id,
            kind=kind,
            name=(name or normalised)[:300],
            target=normalised,
            options=dict(options or {}),
            credentials=box.seal(credentials or {}),
            every_s=every_s,
        )
        return q.get(conn, ws.id, str(source_id))


def list_sources(
    engine: Engine, workspace: str, *, include_manual: bool = False, down_after_s: int = 3600
) -> list[SourceHealth]:
    now = datetime.now(UTC)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        items = q.list_all(conn, ws.id, scheduled_only=not include_manual)
        counts = q.items_since(conn, [s.id for s in items], now - timedelta(hours=24))
    return [
        SourceHealth(
            source=s,
            state=s.state(now),
            items_24h=counts.get(s.id, 0),
            down=s.failing_since is not None
            and now - s.failing_since >= timedelta(seconds=down_after_s),
        )
        for s in items
    ]


def get_source(engine: Engine, workspace: str, ref: str) -> Source:
    with read(engine) as conn:
        return q.get(conn, wsq.get_by_name(conn, workspace).id, ref)


def credential_keys(engine: Engine, box: CredentialBox, workspace: str, ref: str) -> list[str]:
    """Names of the stored credentials (their values are never shown)."""
    with read(engine) as conn:
        source = q.get(conn, wsq.get_by_name(conn, workspace).id, ref)
        return sorted(box.open(q.credentials_token(conn, source.id)))


def edit_source(
    engine: Engine,
    box: CredentialBox,
    workspace: str,
    ref: str,
    *,
    name: str | None = None,
    target: str | None = None,
    every_s: int | None = None,
    options: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Source:
    """Change a source. Options and credentials are merged; an empty value removes a key."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        source = q.get(conn, ws.id, ref)
        fields: dict[str, object] = {}
        merged = dict(source.options)
        if options:
            merged.update(options)
            merged = {k: v for k, v in merged.items() if v != ""}
            fields["options"] = merged
        if target is not None:
            try:
                fields["target"] = get_connector(source.kind).normalize_target(target, merged)
            except ValueError as exc:
                raise FloconError(f"invalid {source.kind} target {target!r}: {exc}") from exc
            fields["cursor"] = {}
        elif options:
            # The connector checks options with the target: refuse a bad one as add does.
            try:
                get_connector(source.kind).normalize_target(source.target, merged)
            except ValueError as exc:
                raise FloconError(f"invalid {source.kind} options: {exc}") from exc
        if name is not None:
            fields["name"] = name
        if every_s is not None:
            fields["every_s"] = every_s
        if credentials:
            current = box.open(q.credentials_token(conn, source.id))
            current.update(credentials)
            fields["credentials"] = box.seal({k: v for k, v in current.items() if v != ""})
        if fields:
            q.update_fields(conn, source.id, **fields)
        return q.get(conn, ws.id, str(source.id))


def set_paused(engine: Engine, workspace: str, ref: str, *, paused: bool) -> Source:
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        source = q.get(conn, ws.id, ref)
        if source.every_s is None:
            raise FloconError(f"source {ref!r} is a file import: it is not fetched")
        values: dict[str, object] = {"paused": paused}
        if not paused:
            values["next_run_at"] = None  # resume: fetch at the next cycle
        q.update_fields(conn, source.id, **values)
        return q.get(conn, ws.id, str(source.id))


def remove_source(engine: Engine, workspace: str, ref: str) -> None:
    """Remove a source and the mentions that came only from it, keeping the rollups right:
    its mentions leave them, and a mention of another source that repeated one of them
    becomes an original and enters them (in the same transaction)."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        source_id = q.get(conn, ws.id, ref).id
        gone = [
            int(m)
            for m in conn.execute(
                select(mentions.c.id).where(mentions.c.source_id == source_id)
            ).scalars()
        ]
        promoted: list[int] = []
        for start in range(0, len(gone), 500):
            chunk = gone[start : start + 500]
            promoted.extend(
                int(m)
                for m in conn.execute(
                    select(mentions.c.id).where(
                        mentions.c.duplicate_of.in_(chunk), mentions.c.source_id != source_id
                    )
                ).scalars()
            )
        for start in range(0, len(gone), 500):
            rollups_q.apply_mentions(conn, gone[start : start + 500], -1)
        q.remove(conn, source_id)
        if promoted:
            rollups_q.apply_mentions(conn, promoted, 1)


# --------------------------------------------------------------------------- activity

#: Days of hourly activity a source's strip shows.
ACTIVITY_DAYS = 7
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class HourBucket:
    """One hour of a source's recent activity.

    ``state``: ``before`` (the source did not exist yet), ``items`` (items were collected),
    or, for an hour without items: ``down`` (the source was failing then), ``error`` (the
    source's last failed fetch was then) or ``empty`` (fetched fine, or not due, and
    nothing came).
    ``level`` is 0 to 4, the hour's items relative to the busiest hour of the strip.
    """

    start: datetime
    items: int
    state: str
    level: int


@dataclass(frozen=True, slots=True)
class SourceActivity:
    """The hourly strip of a source and what it adds up to."""

    hours: list[HourBucket]
    newest_item_at: datetime | None
    down_hours: int
    empty_hours: int


def _hour_index(conn: Connection) -> ColumnElement[Any]:
    """The number of whole hours since the epoch of a mention's ``collected_at``."""
    if conn.dialect.name == "postgresql":
        return func.floor(func.extract("epoch", mentions.c.collected_at) / 3600)
    return cast(func.strftime("%s", mentions.c.collected_at), Integer) // 3600


def source_activity(
    engine: Engine,
    workspace: str,
    items: Sequence[Source],
    *,
    days: int = ACTIVITY_DAYS,
    now: datetime | None = None,
) -> dict[int, SourceActivity]:
    """The last ``days`` × 24 hours of each source of ``items`` (sources of ``workspace``):
    items collected per hour (``collected_at``), and the hours it was failing.

    Failing periods come from what is stored: the current one runs from ``failing_since``
    to now; earlier ones from the "source down" alerts (their start is the first failure;
    their end is taken as the next hour the source collected something, else its last
    success); the hour of the source's last error is marked too. Periods shorter than the
    down threshold raise no alert and show only as empty hours.
    """
    now = now or datetime.now(UTC)
    end_hour = int(now.timestamp()) // 3600
    first_hour = end_hour - days * 24 + 1
    since = datetime.fromtimestamp(first_hour * 3600, UTC)
    ids = [s.id for s in items]
    counts: dict[int, dict[int, int]] = {i: {} for i in ids}
    newest: dict[int, datetime] = {}
    episodes: dict[int, list[datetime]] = {i: [] for i in ids}
    if ids:
        with read(engine) as conn:
            ws = wsq.get_by_name(conn, workspace)
            hour = _hour_index(conn).label("hour")
            stmt = (
                select(mentions.c.source_id, hour, func.count())
                .where(
                    mentions.c.workspace_id == ws.id,
                    mentions.c.source_id.in_(ids),
                    mentions.c.collected_at >= since,
                )
                .group_by(mentions.c.source_id, hour)
            )
            for source_id, index, n in conn.execute(stmt):
                counts[int(source_id)][int(index)] = int(n)
            latest = (
                select(mentions.c.source_id, func.max(mentions.c.collected_at))
                .where(mentions.c.workspace_id == ws.id, mentions.c.source_id.in_(ids))
                .group_by(mentions.c.source_id)
            )
            for source_id, at in conn.execute(latest):
                if at is not None:
                    newest[int(source_id)] = at if at.tzinfo else at.replace(tzinfo=UTC)
            downs = select(alerts.c.key, alerts.c.episode_start).where(
                alerts.c.workspace_id == ws.id, alerts.c.kind == "source_down"
            )
            for key, start in conn.execute(downs):
                prefix = str(key).partition("@")[0]
                if prefix.isdigit() and int(prefix) in episodes:
                    episodes[int(prefix)].append(start)
    return {
        s.id: _strip(s, counts[s.id], episodes[s.id], newest.get(s.id), first_hour, end_hour, now)
        for s in items
    }


def _strip(
    source: Source,
    counts: dict[int, int],
    episode_starts: list[datetime],
    newest: datetime | None,
    first_hour: int,
    end_hour: int,
    now: datetime,
) -> SourceActivity:
    def hour_of(at: datetime) -> int:
        return int(at.timestamp()) // 3600

    down: set[int] = set()
    if source.failing_since is not None:
        down.update(range(hour_of(source.failing_since), end_hour + 1))
    for start in episode_starts:
        first = hour_of(start)
        later = [h for h in counts if h > first]
        if later:
            last = min(later) - 1
        elif source.last_success_at is not None and source.last_success_at > start:
            last = hour_of(source.last_success_at)
        else:
            last = end_hour
        down.update(range(first, last + 1))
    error_hour = hour_of(source.last_error_at) if source.last_error_at is not None else None
    created = hour_of(source.created_at)
    busiest = max(counts.values(), default=0)
    hours: list[HourBucket] = []
    for h in range(first_hour, end_hour + 1):
        n = counts.get(h, 0)
        if h < created:
            state = "before"
        elif n:
            state = "items"
        elif h in down:
            state = "down"
        elif h == error_hour:
            state = "error"
        else:
            state = "empty"
        level = 0 if not n else max(1, min(4, -(-4 * n // busiest)))
        hours.append(HourBucket(datetime.fromtimestamp(h * 3600, UTC), n, state, level))
    return SourceActivity(
        hours=hours,
        newest_item_at=newest,
        down_hours=sum(1 for b in hours if b.state == "down"),
        empty_hours=sum(1 for b in hours if b.state == "empty"),
    )


# --------------------------------------------------------------------------- test now

#: The longest a "test now" may take, every request and stream window included.
TEST_TIMEOUT_S = 60.0


async def try_source(
    engine: Engine,
    settings: Settings,
    workspace: str,
    ref: str,
    *,
    timeout_s: float = TEST_TIMEOUT_S,
) -> FetchResult:
    """Fetch a source once, as ``flocon source test`` does: nothing is stored and the cursor
    stays. Every request goes through the shared HTTP client (timeouts, size cap, SSRF
    guard); the whole test is stopped after ``timeout_s`` (a :class:`FetchError`)."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        source = q.get(conn, ws.id, ref)
    async with build_http_client(settings) as http:
        try:
            return await asyncio.wait_for(
                fetching.preview_source(engine, CredentialBox(settings), http, source, ws.id),
                timeout=timeout_s,
            )
        except TimeoutError:
            raise FetchError(
                f"the test took longer than {timeout_s:.0f} s and was stopped",
                source=source.name,
            ) from None
