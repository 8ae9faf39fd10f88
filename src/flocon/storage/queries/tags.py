"""SQL for the tags a team puts on mentions and the authors and sites it mutes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from flocon.storage.queries.mentions import CHUNK, one_of
from flocon.storage.tables import mention_tags, mentions, mutes


def in_workspace(conn: Connection, workspace_id: int, ids: Sequence[int]) -> list[int]:
    """The ids among ``ids`` that are mentions of the workspace (sorted, distinct)."""
    wanted = sorted(set(ids))
    found: list[int] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = select(mentions.c.id).where(
            mentions.c.workspace_id == workspace_id, one_of(conn, mentions.c.id, chunk)
        )
        found.extend(int(i) for i in conn.execute(stmt).scalars())
    return sorted(found)


# -- tags ------------------------------------------------------------------------


def add_tag(
    conn: Connection,
    workspace_id: int,
    mention_ids: Sequence[int],
    tag: str,
    *,
    by: str | None,
    now: datetime,
) -> int:
    """Put ``tag`` on mentions of the workspace (the caller checked the ids); returns how many
    did not carry it yet."""
    ids = sorted(set(mention_ids))
    already: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = select(mention_tags.c.mention_id).where(
            mention_tags.c.tag == tag, one_of(conn, mention_tags.c.mention_id, chunk)
        )
        already.update(int(i) for i in conn.execute(stmt).scalars())
    rows = [
        {
            "mention_id": i,
            "tag": tag,
            "workspace_id": workspace_id,
            "created_at": now,
            "created_by": by,
        }
        for i in ids
        if i not in already
    ]
    if rows:
        conn.execute(insert(mention_tags), rows)
    return len(rows)


def remove_tag(conn: Connection, workspace_id: int, mention_ids: Sequence[int], tag: str) -> int:
    """Take ``tag`` off mentions of the workspace; returns how many carried it."""
    ids = sorted(set(mention_ids))
    removed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        done = conn.execute(
            delete(mention_tags).where(
                mention_tags.c.workspace_id == workspace_id,
                mention_tags.c.tag == tag,
                one_of(conn, mention_tags.c.mention_id, chunk),
            )
        )
        removed += done.rowcount
    return removed


def tag_counts(conn: Connection, workspace_id: int) -> list[tuple[str, int]]:
    """Every tag of the workspace with its number of mentions, most used first."""
    n = func.count().label("n")
    stmt = (
        select(mention_tags.c.tag, n)
        .where(mention_tags.c.workspace_id == workspace_id)
        .group_by(mention_tags.c.tag)
        .order_by(n.desc(), mention_tags.c.tag)
    )
    return [(str(t), int(c)) for t, c in conn.execute(stmt)]


# -- mutes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MuteRow:
    kind: str
    value: str
    created_at: datetime
    created_by: str | None


def add_mute(
    conn: Connection, workspace_id: int, kind: str, value: str, *, by: str | None, now: datetime
) -> bool:
    """Mute an author (its key) or a site; False when it already was."""
    found = conn.execute(
        select(mutes.c.id).where(
            mutes.c.workspace_id == workspace_id, mutes.c.kind == kind, mutes.c.value == value
        )
    ).first()
    if found is not None:
        return False
    conn.execute(
        insert(mutes).values(
            workspace_id=workspace_id, kind=kind, value=value, created_at=now, created_by=by
        )
    )
    return True


def remove_mute(conn: Connection, workspace_id: int, kind: str, value: str) -> bool:
    done = conn.execute(
        delete(mutes).where(
            mutes.c.workspace_id == workspace_id, mutes.c.kind == kind, mutes.c.value == value
        )
    )
    return done.rowcount > 0


def list_mutes(conn: Connection, workspace_id: int) -> list[MuteRow]:
    stmt = (
        select(mutes.c.kind, mutes.c.value, mutes.c.created_at, mutes.c.created_by)
        .where(mutes.c.workspace_id == workspace_id)
        .order_by(mutes.c.kind, mutes.c.value)
    )
    return [MuteRow(r.kind, r.value, r.created_at, r.created_by) for r in conn.execute(stmt)]
