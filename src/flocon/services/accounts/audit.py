"""The audit log: who did what and when, never with a secret."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from flocon.services.accounts.common import normalize_email, utc_now
from flocon.storage.engine import read
from flocon.storage.queries import accounts as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import AuditEntry, User

# Keys that must never be written to the audit log's details.
_SECRET_KEYS = ("password", "secret", "token_hash", "csrf", "hash")


def record(
    conn: Connection,
    *,
    workspace_id: int | None,
    actor: User | str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Write an audit entry in the caller's transaction. ``details`` must hold no secret."""
    details = dict(details or {})
    for key in details:
        if any(word in key.lower() for word in _SECRET_KEYS):
            raise ValueError(f"audit details may not hold {key!r}")
    user_id: int | None
    if isinstance(actor, User):
        name, user_id = actor.email, actor.id
    else:
        found = q.find_user(conn, normalize_email(actor)) if "@" in actor else None
        name, user_id = actor, (found.id if found else None)
    q.insert_audit(
        conn,
        workspace_id=workspace_id,
        user_id=user_id,
        actor=name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details,
        at=utc_now(now),
    )


def audit_events(
    engine: Engine, workspace: str, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The audit log of a workspace, newest first; ``before_id`` pages back."""
    limit = max(1, min(limit, 1000))
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.audit_entries(conn, ws.id, limit=limit, before_id=before_id)
