"""SQL for watches and their links to mentions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from flocon.domain.models import Watch, WatchKind
from flocon.errors import AlreadyExists, NotFound
from flocon.storage.queries import rollups
from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import mention_watches, watches


def _row(row: Any) -> Watch:
    return Watch(
        id=row.id,
        name=row.name,
        query=row.query,
        kind=WatchKind(row.kind),
        group=row.group_name,
        langs=tuple(x for x in row.langs.split(",") if x),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_all(conn: Connection, workspace_id: int) -> list[Watch]:
    stmt = select(watches).where(watches.c.workspace_id == workspace_id).order_by(watches.c.name)
    return [_row(r) for r in conn.execute(stmt)]


def get_by_name(conn: Connection, workspace_id: int, name: str) -> Watch:
    row = conn.execute(
        select(watches).where(watches.c.workspace_id == workspace_id, watches.c.name == name)
    ).first()
    if row is None:
        raise NotFound(f"watch {name!r} does not exist in this workspace (see `flocon watch list`)")
    return _row(row)


def create(
    conn: Connection,
    workspace_id: int,
    *,
    name: str,
    query: str,
    kind: WatchKind,
    group: str | None,
    langs: Sequence[str],
) -> Watch:
    now = datetime.now(UTC)
    values = {
        "workspace_id": workspace_id,
        "name": name,
        "query": query,
        "kind": kind.value,
        "group_name": group,
        "langs": ",".join(langs),
        "created_at": now,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(watches).values(**values).returning(watches.c.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise AlreadyExists(f"watch {name!r} already exists in this workspace") from exc
    return get_by_id(conn, new_id)


def get_by_id(conn: Connection, watch_id: int) -> Watch:
    row = conn.execute(select(watches).where(watches.c.id == watch_id)).first()
    if row is None:
        raise NotFound(f"watch #{watch_id} does not exist")
    return _row(row)


def update_fields(conn: Connection, watch_id: int, **fields: Any) -> Watch:
    """Update the given columns (name, query, kind, group_name, langs)."""
    fields["updated_at"] = datetime.now(UTC)
    if "group_name" in fields:
        rollups.change_group(conn, watch_id, fields["group_name"])
    try:
        with conn.begin_nested():
            conn.execute(update(watches).where(watches.c.id == watch_id).values(**fields))
    except IntegrityError as exc:
        raise AlreadyExists(
            f"watch {fields.get('name')!r} already exists in this workspace"
        ) from exc
    return get_by_id(conn, watch_id)


def remove(conn: Connection, watch_id: int) -> None:
    rollups.forget_watch(conn, watch_id)
    conn.execute(delete(mention_watches).where(mention_watches.c.watch_id == watch_id))
    conn.execute(delete(watches).where(watches.c.id == watch_id))


def mention_counts(conn: Connection, workspace_id: int) -> dict[int, int]:
    stmt = (
        select(mention_watches.c.watch_id, func.count())
        .join(watches, watches.c.id == mention_watches.c.watch_id)
        .where(watches.c.workspace_id == workspace_id)
        .group_by(mention_watches.c.watch_id)
    )
    return {int(w): int(c) for w, c in conn.execute(stmt)}


def linked_mention_ids(conn: Connection, watch_id: int) -> set[int]:
    stmt = select(mention_watches.c.mention_id).where(mention_watches.c.watch_id == watch_id)
    return set(conn.execute(stmt).scalars())


def link(conn: Connection, pairs: Iterable[tuple[int, int]]) -> int:
    """Link (mention_id, watch_id) pairs; the caller guarantees they are new.
    The rollups follow in the same transaction."""
    now = datetime.now(UTC)
    pairs = list(pairs)
    rows = [{"mention_id": m, "watch_id": w, "matched_at": now} for m, w in pairs]
    if rows:
        conn.execute(insert(mention_watches), rows)
        rollups.apply_pairs(conn, pairs, +1)
    return len(rows)


def unlink(conn: Connection, watch_id: int, mention_ids: Iterable[int]) -> int:
    ids = list(mention_ids)
    rollups.apply_pairs(conn, [(m, watch_id) for m in ids], -1)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(
            delete(mention_watches).where(
                mention_watches.c.watch_id == watch_id,
                one_of(conn, mention_watches.c.mention_id, chunk),
            )
        )
    return len(ids)
