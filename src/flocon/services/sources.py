"""Use cases on sources: add, list with health, edit, pause, resume, remove."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from flocon.connectors.registry import get_connector
from flocon.credentials import CredentialBox
from flocon.domain.models import Source
from flocon.errors import FloconError
from flocon.storage.engine import read, write
from flocon.storage.queries import sources as q
from flocon.storage.queries import workspaces as wsq

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
    """Remove a source and the mentions that came only from it."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        q.remove(conn, q.get(conn, ws.id, ref).id)
