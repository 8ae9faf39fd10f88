"""Response times against the workspace's targets: business hours, SLA per priority, due
times of a case, and the inbox settings that hold them.

A case's first response is due ``sla.first_response_s[priority]`` business seconds after it
was opened, its resolution ``sla.resolution_s[priority]`` after; business time follows the
workspace's hours (24/7 until set). See docs/inbox.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from flocon.domain.business_hours import (
    BusinessHours,
    SlaPolicy,
    add_business_seconds,
)
from flocon.services import accounts
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User
from flocon.storage.tables import inbox_settings


@dataclass(frozen=True, slots=True)
class Due:
    first_response: datetime | None
    resolution: datetime | None


@dataclass(frozen=True, slots=True)
class InboxSettings:
    """A workspace's inbox settings (defaults until someone saves them)."""

    business_hours: BusinessHours
    sla: SlaPolicy
    suggest: bool


def _settings(conn: Connection, ws_id: int) -> InboxSettings:
    row = conn.execute(select(inbox_settings).where(inbox_settings.c.workspace_id == ws_id)).first()
    if row is None:
        return InboxSettings(BusinessHours.always(), SlaPolicy.default(), True)
    hours_spec = json.loads(row.business_hours or "{}")
    sla_spec = json.loads(row.sla or "{}")
    return InboxSettings(
        business_hours=BusinessHours.parse(hours_spec) if hours_spec else BusinessHours.always(),
        sla=SlaPolicy.parse(sla_spec) if sla_spec else SlaPolicy.default(),
        suggest=bool(row.suggest),
    )


def settings_in(conn: Connection, ws_id: int) -> InboxSettings:
    return _settings(conn, ws_id)


def due_times(conn: Connection, ws_id: int, *, priority: str, start: datetime) -> Due:
    """When the first response and the resolution of a case opened at ``start`` are due."""
    cfg = _settings(conn, ws_id)
    first = cfg.sla.first_response_s.get(priority)
    resolution = cfg.sla.resolution_s.get(priority)
    return Due(
        first_response=(
            None if first is None else add_business_seconds(cfg.business_hours, start, first)
        ),
        resolution=(
            None
            if resolution is None
            else add_business_seconds(cfg.business_hours, start, resolution)
        ),
    )


def get_inbox_settings(engine: Engine, workspace: str) -> InboxSettings:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return _settings(conn, ws.id)


def set_inbox_settings(
    engine: Engine,
    workspace: str,
    *,
    actor: User | str,
    business_hours: dict[str, Any] | None = None,
    sla: dict[str, Any] | None = None,
    suggest: bool | None = None,
    now: datetime | None = None,
) -> InboxSettings:
    """Save business hours, SLA targets (validated: a clear error names the bad part) or
    whether flocon suggests cases. Due times of existing cases are not moved."""
    at = now or datetime.now(UTC)
    values: dict[str, Any] = {"updated_at": at}
    if business_hours is not None:
        values["business_hours"] = json.dumps(BusinessHours.parse(business_hours).to_json())
    if sla is not None:
        values["sla"] = json.dumps(SlaPolicy.parse(sla).to_json())
    if suggest is not None:
        values["suggest"] = suggest
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        changed = conn.execute(
            update(inbox_settings).where(inbox_settings.c.workspace_id == ws.id).values(**values)
        ).rowcount
        if not changed:
            conn.execute(insert(inbox_settings).values(workspace_id=ws.id, **values))
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="inbox.settings",
            object_type="workspace",
            object_id=ws.id,
            details={k: v for k, v in values.items() if k != "updated_at"},
            now=at,
        )
        return _settings(conn, ws.id)
