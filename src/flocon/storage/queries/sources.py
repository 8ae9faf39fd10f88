"""SQL for sources: configuration, schedule, cursor and health."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from flocon.domain.models import Source
from flocon.errors import AlreadyExists, NotFound
from flocon.storage.tables import mentions, sources


def _row(r: Any) -> Source:
    return Source(
        id=r.id,
        kind=r.kind,
        name=r.name,
        target=r.target,
        options=json.loads(r.options or "{}"),
        has_credentials=bool(r.credentials),
        every_s=r.every_s,
        paused=bool(r.paused),
        cursor=json.loads(r.cursor or "{}"),
        next_run_at=r.next_run_at,
        last_run_at=r.last_run_at,
        last_success_at=r.last_success_at,
        last_error=r.last_error,
        last_error_at=r.last_error_at,
        failing_since=r.failing_since,
        consecutive_failures=r.consecutive_failures,
        last_items=r.last_items,
        created_at=r.created_at,
    )


def list_all(conn: Connection, workspace_id: int, *, scheduled_only: bool = False) -> list[Source]:
    stmt = select(sources).where(sources.c.workspace_id == workspace_id)
    if scheduled_only:
        stmt = stmt.where(sources.c.every_s.is_not(None))
    return [_row(r) for r in conn.execute(stmt.order_by(sources.c.id))]


def get(conn: Connection, workspace_id: int, ref: str) -> Source:
    """A source by id (``12``) or by name."""
    cond = sources.c.name == ref
    if ref.isdigit():
        cond = or_(sources.c.id == int(ref), cond)
    row = conn.execute(
        select(sources).where(sources.c.workspace_id == workspace_id, cond).order_by(sources.c.id)
    ).first()
    if row is None:
        raise NotFound(
            f"source {ref!r} does not exist in this workspace (see `flocon source list`)"
        )
    return _row(row)


def credentials_token(conn: Connection, source_id: int) -> str | None:
    token = conn.execute(select(sources.c.credentials).where(sources.c.id == source_id)).scalar()
    return str(token) if token else None


def create(conn: Connection, workspace_id: int, **values: Any) -> int:
    values.setdefault("created_at", datetime.now(UTC))
    if "options" in values:
        values["options"] = json.dumps(values["options"], sort_keys=True)
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(sources).values(workspace_id=workspace_id, **values).returning(sources.c.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise AlreadyExists(
            f"a {values.get('kind')} source named {values.get('name')!r} already exists"
        ) from exc
    return int(new_id)


def update_fields(conn: Connection, source_id: int, **values: Any) -> None:
    for key in ("options", "cursor"):
        if key in values and not isinstance(values[key], str):
            values[key] = json.dumps(values[key], sort_keys=True)
    try:
        with conn.begin_nested():
            conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
    except IntegrityError as exc:
        raise AlreadyExists(f"a source named {values.get('name')!r} already exists") from exc


def remove(conn: Connection, source_id: int) -> None:
    conn.execute(delete(sources).where(sources.c.id == source_id))


def due(conn: Connection, now: datetime) -> list[tuple[int, Source]]:
    """(workspace id, source) of every scheduled, unpaused source whose time has come."""
    stmt = (
        select(sources)
        .where(
            sources.c.every_s.is_not(None),
            sources.c.paused.is_(False),
            or_(sources.c.next_run_at.is_(None), sources.c.next_run_at <= now),
        )
        .order_by(sources.c.next_run_at.is_not(None), sources.c.next_run_at, sources.c.id)
    )
    return [(int(r.workspace_id), _row(r)) for r in conn.execute(stmt)]


def workspace_of(conn: Connection, source_id: int) -> int:
    return int(
        conn.execute(select(sources.c.workspace_id).where(sources.c.id == source_id)).scalar_one()
    )


def next_due_at(conn: Connection) -> datetime | None:
    stmt = select(func.min(sources.c.next_run_at)).where(
        sources.c.every_s.is_not(None), sources.c.paused.is_(False)
    )
    value = conn.execute(stmt).scalar()
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def items_since(conn: Connection, source_ids: list[int], since: datetime) -> dict[int, int]:
    if not source_ids:
        return {}
    stmt = (
        select(mentions.c.source_id, func.count())
        .where(mentions.c.source_id.in_(source_ids), mentions.c.collected_at >= since)
        .group_by(mentions.c.source_id)
    )
    return {int(s): int(n) for s, n in conn.execute(stmt)}


def options_json(options: Mapping[str, str]) -> str:
    return json.dumps(dict(options), sort_keys=True)
