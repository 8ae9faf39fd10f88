"""SQL for workspaces."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from flocon.domain.models import Workspace
from flocon.errors import AlreadyExists, NotFound
from flocon.storage.tables import workspaces


def _row(row: object) -> Workspace:
    return Workspace(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        sentiment_profile=row.sentiment_profile,  # type: ignore[attr-defined]
    )


def list_all(conn: Connection) -> list[Workspace]:
    return [_row(r) for r in conn.execute(select(workspaces).order_by(workspaces.c.name))]


def get_by_name(conn: Connection, name: str) -> Workspace:
    row = conn.execute(select(workspaces).where(workspaces.c.name == name)).first()
    if row is None:
        raise NotFound(f"workspace {name!r} does not exist (see `flocon workspace list`)")
    return _row(row)


def get_by_id(conn: Connection, workspace_id: int) -> Workspace:
    row = conn.execute(select(workspaces).where(workspaces.c.id == workspace_id)).first()
    if row is None:
        raise NotFound(f"workspace #{workspace_id} does not exist")
    return _row(row)


def create(conn: Connection, name: str) -> Workspace:
    now = datetime.now(UTC)
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(workspaces).values(name=name, created_at=now).returning(workspaces.c.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise AlreadyExists(f"workspace {name!r} already exists") from exc
    return Workspace(id=new_id, name=name, created_at=now)


def remove(conn: Connection, workspace_id: int) -> None:
    conn.execute(delete(workspaces).where(workspaces.c.id == workspace_id))


def set_sentiment_profile(conn: Connection, workspace_id: int, profile: str | None) -> None:
    conn.execute(
        update(workspaces).where(workspaces.c.id == workspace_id).values(sentiment_profile=profile)
    )
