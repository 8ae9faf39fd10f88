"""SQL for mentions, sources, authors, near-duplicate bands and full-text search."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.types import ARRAY

from flocon.storage.tables import (
    authors,
    mention_bands,
    mentions,
    sources,
)

CHUNK = 500


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter however
    many values (long IN lists cost more to send and plan than the lookups themselves)."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def source_id(conn: Connection, workspace_id: int, kind: str, name: str) -> int:
    """The id of a source, created on first use."""
    cond = and_(
        sources.c.workspace_id == workspace_id, sources.c.kind == kind, sources.c.name == name
    )
    found = conn.execute(select(sources.c.id).where(cond)).scalar()
    if found is not None:
        return int(found)
    created = conn.execute(
        insert(sources)
        .values(workspace_id=workspace_id, kind=kind, name=name, created_at=datetime.now(UTC))
        .returning(sources.c.id)
    ).scalar_one()
    return int(created)


def existing_external_ids(conn: Connection, source: int, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(list(ids)):
        stmt = select(mentions.c.external_id).where(
            mentions.c.source_id == source, one_of(conn, mentions.c.external_id, chunk)
        )
        found.update(conn.execute(stmt).scalars())
    return found


def originals_by_url(conn: Connection, workspace_id: int, urls: Sequence[str]) -> dict[str, int]:
    """Canonical URL → id of the first stored mention with it (not itself a duplicate)."""
    found: dict[str, int] = {}
    for chunk in chunks(list(urls)):
        stmt = (
            select(mentions.c.canonical_url, func.min(mentions.c.id))
            .where(
                mentions.c.workspace_id == workspace_id,
                one_of(conn, mentions.c.canonical_url, chunk),
                mentions.c.duplicate_of.is_(None),
            )
            .group_by(mentions.c.canonical_url)
        )
        found.update({url: int(mid) for url, mid in conn.execute(stmt)})
    return found


def band_candidates(
    conn: Connection, workspace_id: int, keys: Sequence[int]
) -> dict[int, list[int]]:
    """Band key → ids of stored original mentions sharing it."""
    found: dict[int, list[int]] = {}
    for chunk in chunks(sorted(set(keys)), 4000):
        stmt = select(mention_bands.c.key, mention_bands.c.mention_id).where(
            mention_bands.c.workspace_id == workspace_id, one_of(conn, mention_bands.c.key, chunk)
        )
        for key, mention_id in conn.execute(stmt):
            found.setdefault(int(key), []).append(int(mention_id))
    return found


def signatures(conn: Connection, ids: Iterable[int]) -> dict[int, bytes]:
    result: dict[int, bytes] = {}
    for chunk in chunks(sorted(set(ids))):
        stmt = select(mentions.c.id, mentions.c.signature).where(
            one_of(conn, mentions.c.id, chunk), mentions.c.signature.is_not(None)
        )
        result.update({int(i): bytes(sig) for i, sig in conn.execute(stmt)})
    return result


@dataclass(frozen=True, slots=True)
class AuthorSeen:
    key: str
    handle: str | None
    name: str | None
    followers: int | None


def author_ids(
    conn: Connection, workspace_id: int, platform: str, seen: Mapping[str, AuthorSeen]
) -> dict[str, int]:
    """Author key → id, creating unknown authors and refreshing name and followers."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    keys = list(seen)
    for chunk in chunks(keys):
        stmt = select(authors.c.key, authors.c.id).where(
            authors.c.workspace_id == workspace_id,
            authors.c.platform == platform,
            one_of(conn, authors.c.key, chunk),
        )
        ids.update({k: int(i) for k, i in conn.execute(stmt)})
    new_rows = [
        {
            "workspace_id": workspace_id,
            "platform": platform,
            "key": a.key,
            "handle": a.handle,
            "name": a.name,
            "followers": a.followers,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for k, a in seen.items()
        if k not in ids
    ]
    if new_rows:
        result = conn.execute(
            insert(authors).returning(authors.c.key, authors.c.id, sort_by_parameter_order=True),
            new_rows,
        )
        ids.update({k: int(i) for k, i in result})
    refresh = [
        {"b_id": ids[k], "b_name": a.name, "b_followers": a.followers, "b_now": now}
        for k, a in seen.items()
        if a.followers is not None or a.name is not None
    ]
    if refresh:
        conn.execute(
            update(authors)
            .where(authors.c.id == bindparam("b_id"))
            .values(
                name=func.coalesce(bindparam("b_name"), authors.c.name),
                followers=func.coalesce(bindparam("b_followers"), authors.c.followers),
                last_seen_at=bindparam("b_now"),
            ),
            refresh,
        )
    return ids


def insert_mentions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows (dicts of mentions columns); returns their new ids, in order.

    A plain executemany (the driver's fastest path) followed by one lookup of the
    new ids by (source, external id), which the caller guarantees are new.
    """
    if not rows:
        return []
    conn.execute(insert(mentions), list(rows))
    wanted: dict[int, list[str]] = {}
    for row in rows:
        wanted.setdefault(row["source_id"], []).append(row["external_id"])
    ids = {src: ids_by_external_id(conn, src, ext) for src, ext in wanted.items()}
    return [ids[row["source_id"]][row["external_id"]] for row in rows]


def insert_bands(conn: Connection, workspace_id: int, pairs: Iterable[tuple[int, int]]) -> None:
    """Store band keys; many rows per item, so this goes straight to the driver."""
    rows = [(workspace_id, k, m) for k, m in pairs]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # One statement with two arrays instead of one round of the pipeline per row.
        conn.exec_driver_sql(
            "INSERT INTO mention_bands (workspace_id, key, mention_id) "
            "SELECT %s, k, m FROM unnest(%s::bigint[], %s::integer[]) AS t(k, m)",
            (workspace_id, [r[1] for r in rows], [r[2] for r in rows]),
        )
        return
    conn.exec_driver_sql(
        "INSERT INTO mention_bands (workspace_id, key, mention_id) VALUES (?, ?, ?)", rows
    )


def ids_by_external_id(conn: Connection, source: int, ext_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(list(ext_ids)):
        stmt = select(mentions.c.external_id, mentions.c.id).where(
            mentions.c.source_id == source, one_of(conn, mentions.c.external_id, chunk)
        )
        found.update({e: int(i) for e, i in conn.execute(stmt)})
    return found


def adopt_children(conn: Connection, source: int, parents: Mapping[str, int]) -> None:
    """Set ``parent_id`` of stored replies whose parent (external id → id) just arrived."""
    ext_ids = list(parents)
    for chunk in chunks(ext_ids):
        stmt = select(mentions.c.id, mentions.c.parent_external_id).where(
            mentions.c.source_id == source,
            one_of(conn, mentions.c.parent_external_id, chunk),
            mentions.c.parent_id.is_(None),
        )
        rows = [{"b_id": i, "b_parent": parents[p]} for i, p in conn.execute(stmt)]
        if rows:
            conn.execute(
                update(mentions)
                .where(mentions.c.id == bindparam("b_id"))
                .values(parent_id=bindparam("b_parent")),
                rows,
            )


@dataclass(frozen=True, slots=True)
class MatchRow:
    """What the matcher needs of a stored mention."""

    id: int
    text: str
    title: str
    url: str
    site: str
    author_handle: str
    author_name: str
    lang: str
    source_kind: str
    country: str


def iter_for_matching(conn: Connection, workspace_id: int, batch: int = 2000) -> Iterator[MatchRow]:
    """Every stored mention of a workspace, in id order, in batches (for backfill)."""
    last = 0
    cols = (
        mentions.c.id,
        mentions.c.text,
        mentions.c.title,
        mentions.c.url,
        mentions.c.site,
        mentions.c.author_handle,
        mentions.c.author_name,
        mentions.c.lang,
        sources.c.kind,
        mentions.c.country,
    )
    while True:
        stmt = (
            select(*cols)
            .join(sources, sources.c.id == mentions.c.source_id)
            .where(mentions.c.workspace_id == workspace_id, mentions.c.id > last)
            .order_by(mentions.c.id)
            .limit(batch)
        )
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for r in rows:
            yield MatchRow(
                id=r[0],
                text=r[1],
                title=r[2] or "",
                url=r[3] or "",
                site=r[4] or "",
                author_handle=r[5] or "",
                author_name=r[6] or "",
                lang=r[7] or "",
                source_kind=r[8],
                country=r[9] or "",
            )
        last = rows[-1][0]


def count(conn: Connection, workspace_id: int) -> int:
    stmt = select(func.count()).select_from(mentions).where(mentions.c.workspace_id == workspace_id)
    return int(conn.execute(stmt).scalar_one())


def refresh_statistics(conn: Connection) -> None:
    """Let PostgreSQL's planner see tables that grew fast (a bulk import).

    Without fresh statistics a table filled in one import still looks empty to the
    planner, which then scans it instead of using the unique index. SQLite needs nothing.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE mentions, mention_bands, mention_watches, authors")
