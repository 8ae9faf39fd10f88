"""The cache of emerging themes (table ``theme_cache``): what
:mod:`flocon.services.dashboard.themes` stores per scope and reads while fresh."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from flocon.storage.tables import theme_cache


def cached_themes(
    conn: Connection, workspace_id: int, scope_key: str, *, fresh_since: datetime
) -> str | None:
    """The emerging themes stored under ``scope_key`` (JSON) when computed after
    ``fresh_since``, else None."""
    stmt = select(theme_cache.c.themes).where(
        theme_cache.c.workspace_id == workspace_id,
        theme_cache.c.scope_key == scope_key,
        theme_cache.c.computed_at > fresh_since,
    )
    found = conn.execute(stmt).scalar()
    return None if found is None else str(found)


def store_themes(
    conn: Connection,
    workspace_id: int,
    scope_key: str,
    computed_at: datetime,
    themes: str,
    *,
    purge: datetime,
) -> None:
    """Store (or replace) the themes of ``scope_key``; delete the workspace's entries
    computed before ``purge``. An upsert: two requests computing the same themes at once
    both succeed."""
    conn.execute(
        delete(theme_cache).where(
            theme_cache.c.workspace_id == workspace_id, theme_cache.c.computed_at < purge
        )
    )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(theme_cache).values(
        workspace_id=workspace_id, scope_key=scope_key, computed_at=computed_at, themes=themes
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[theme_cache.c.workspace_id, theme_cache.c.scope_key],
            set_={"computed_at": stmt.excluded.computed_at, "themes": stmt.excluded.themes},
        )
    )
