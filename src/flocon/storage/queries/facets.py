"""Facet rollups: *distinct* matched original mentions per scope, per UTC day × source kind,
site or author (and per UTC hour for the totals), × sentiment × source kind × language.

Scopes (column ``scope``):

* ``""``: the whole workspace;
* ``"g:<group>"``: the watches of a group;
* ``"w:<watch id>"``: one watch.

A mention counts once in a scope, whatever the number of the scope's watches it matches,
from its first link to a watch of the scope to the loss of its last one; a duplicate never
counts. A mention of two watches of a group is in both watches' scopes and once in the
group's.

Facets (column ``facet``) and their bucket:

* ``total`` (hour; ``source_kind`` and ``lang`` are ``*``, all of them): every scope (a
  watch's is its rollups summed over source kinds and languages: 10 times fewer rows);
* ``hour`` (hour; split by source kind and language): workspace and group scopes, for
  volumes filtered by language or source kind (a watch's are its rollups);
* ``source_kind`` (day; ``key`` is the kind), ``site`` and ``author_split`` (day; ``key`` is
  the site, or the author's key: one person across platforms), every scope;
* ``author`` (day; as ``author_split`` with ``*`` for source kind and language: one row per
  author, day and sentiment, a third fewer rows to sum for top authors), every scope.

Every facet but ``total`` and ``author`` carries the mention's source kind and language
(``''``: unknown), so that any combination of the dashboard's sentiment, language and
source-kind filters reads them. They are kept by :mod:`flocon.storage.queries.rollups` in the same transaction as the
per-watch rollups (``apply_pairs`` / ``apply_mentions``, ``forget_watch`` when a watch is
removed, ``change_group`` when it changes group). :func:`expected` recomputes them from the
raw data; ``flocon rollups check`` compares, ``rebuild`` replaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import (
    authors,
    facet_rollups,
    mention_watches,
    mentions,
    sources,
    watches,
    workspaces,
)

__all__ = [
    "ANY",
    "DAY",
    "FACETS",
    "HOUR",
    "WORKSPACE",
    "FacetKey",
    "Scoped",
    "apply_rows",
    "expected",
    "group_scope",
    "keys_of",
    "rebuild_all",
    "replace",
    "scopes_of",
    "stored",
    "watch_scope",
]

HOUR: Final = 3600
DAY: Final = 86400
#: Facets and their bucket size in seconds.
FACETS: Final = {
    "total": HOUR,
    "hour": HOUR,
    "source_kind": DAY,
    "site": DAY,
    "author": DAY,
    "author_split": DAY,
}
#: The source kind and language of ``total`` rows: all of them.
ANY: Final = "*"
#: The scope of the whole workspace.
WORKSPACE: Final = ""


def watch_scope(watch_id: int) -> str:
    return f"w:{watch_id}"


def group_scope(group: str) -> str:
    return f"g:{group}"


@dataclass(frozen=True, slots=True, order=True)
class FacetKey:
    workspace_id: int
    scope: str
    facet: str
    bucket_start: datetime
    key: str
    sentiment: str
    source_kind: str
    lang: str


#: (scope, split_hours): a scope a mention counts in, and whether it has the ``hour`` facet.
Scoped = tuple[str, bool]


def scopes_of(watch_ids: Iterable[int], groups: Mapping[int, str | None]) -> list[Scoped]:
    """Every scope of a mention linked to ``watch_ids`` (``groups``: watch id → group)."""
    ids = sorted(set(watch_ids))
    out: list[Scoped] = [(WORKSPACE, True)]
    named = {g for w in ids if (g := groups.get(w))}
    out.extend((group_scope(g), True) for g in sorted(named))
    out.extend((watch_scope(w), False) for w in ids)
    return out


@lru_cache(maxsize=65536)
def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _start(ts: int, size: int) -> datetime:
    return _at(ts - ts % size)


def keys_of(row: Any, scope: str, *, split_hours: bool) -> Iterator[FacetKey]:
    """The facet keys of an original mention's row (workspace_id, occurred_at, sentiment,
    kind, lang, site, author_key) in ``scope``; no site or author key when unknown."""
    ws, sentiment = int(row.workspace_id), row.sentiment or ""
    kind, lang = str(row.kind), row.lang or ""
    ts = int(row.occurred_at.astimezone(UTC).timestamp())
    hour = _start(ts, HOUR)
    yield FacetKey(ws, scope, "total", hour, "", sentiment, ANY, ANY)
    if split_hours:
        yield FacetKey(ws, scope, "hour", hour, "", sentiment, kind, lang)
    day = _start(ts, DAY)
    yield FacetKey(ws, scope, "source_kind", day, kind, sentiment, kind, lang)
    if row.site:
        yield FacetKey(ws, scope, "site", day, str(row.site), sentiment, kind, lang)
    if row.author_key is not None:
        author = str(row.author_key)
        yield FacetKey(ws, scope, "author", day, author, sentiment, ANY, ANY)
        yield FacetKey(ws, scope, "author_split", day, author, sentiment, kind, lang)


_COLUMNS: Final = (
    "workspace_id",
    "scope",
    "facet",
    "bucket_start",
    "key",
    "sentiment",
    "source_kind",
    "lang",
)


def _upsert(conn: Connection, deltas: Mapping[FacetKey, int]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "workspace_id": k.workspace_id,
            "scope": k.scope,
            "facet": k.facet,
            "bucket_start": k.bucket_start,
            "key": k.key,
            "sentiment": k.sentiment,
            "source_kind": k.source_kind,
            "lang": k.lang,
            "count": n,
        }
        for k, n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(facet_rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=[facet_rollups.c[c] for c in _COLUMNS],
        set_={"count": facet_rollups.c.count + stmt.excluded.count},
    )
    for start in range(0, len(rows), 5000):
        conn.execute(stmt, rows[start : start + 5000])
    negative = [r for r in rows if r["count"] < 0]
    if negative:
        for ws in sorted({r["workspace_id"] for r in negative}):
            starts = sorted({r["bucket_start"] for r in negative if r["workspace_id"] == ws})
            conn.execute(
                delete(facet_rollups).where(
                    facet_rollups.c.workspace_id == ws,
                    one_of(conn, facet_rollups.c.bucket_start, starts),
                    facet_rollups.c.count <= 0,
                )
            )


def apply_rows(conn: Connection, rows: Iterable[tuple[Any, Iterable[Scoped]]], sign: int) -> None:
    """Add (``sign`` = 1) or subtract (−1) original mentions, given as (row, scopes) (see
    :func:`keys_of`)."""
    deltas: Counter[FacetKey] = Counter()
    for row, scoped in rows:
        for scope, split in scoped:
            for key in keys_of(row, scope, split_hours=split):
                deltas[key] += sign
    _upsert(conn, deltas)


def forget_scope(conn: Connection, workspace_id: int, scope: str) -> None:
    conn.execute(
        delete(facet_rollups).where(
            facet_rollups.c.workspace_id == workspace_id, facet_rollups.c.scope == scope
        )
    )


def expected(conn: Connection, workspace_id: int | None) -> Counter[FacetKey]:
    """The facet rollups recomputed from the mentions (one workspace, or all when None)."""
    groups: dict[int, str | None] = {
        int(w): g for w, g in conn.execute(select(watches.c.id, watches.c.group_name))
    }
    stmt = (
        select(
            mentions.c.id,
            mentions.c.workspace_id,
            mentions.c.occurred_at,
            mentions.c.sentiment,
            mentions.c.lang,
            mentions.c.site,
            authors.c.key.label("author_key"),
            sources.c.kind,
            mention_watches.c.watch_id,
        )
        .select_from(
            mention_watches.join(mentions, mentions.c.id == mention_watches.c.mention_id)
            .join(sources, sources.c.id == mentions.c.source_id)
            .outerjoin(authors, authors.c.id == mentions.c.author_id)
        )
        .where(mentions.c.duplicate_of.is_(None))
        .order_by(mentions.c.id)
    )
    if workspace_id is not None:
        stmt = stmt.where(mentions.c.workspace_id == workspace_id)
    out: Counter[FacetKey] = Counter()

    def add(row: Any, linked: list[int]) -> None:
        for scope, split in scopes_of(linked, groups):
            for key in keys_of(row, scope, split_hours=split):
                out[key] += 1

    current: Any = None
    linked: list[int] = []
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        if current is not None and row.id != current.id:
            add(current, linked)
            linked = []
        current = row
        linked.append(int(row.watch_id))
    if current is not None:
        add(current, linked)
    return out


def stored(conn: Connection, workspace_id: int | None) -> Counter[FacetKey]:
    stmt = select(facet_rollups)
    if workspace_id is not None:
        stmt = stmt.where(facet_rollups.c.workspace_id == workspace_id)
    out: Counter[FacetKey] = Counter()
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        key = FacetKey(*(row._mapping[c] for c in _COLUMNS))
        out[key] += int(row._mapping["count"])
    return out


def replace(conn: Connection, workspace_id: int, counts: Mapping[FacetKey, int]) -> None:
    """Replace the facet rollups of a workspace with ``counts``."""
    conn.execute(delete(facet_rollups).where(facet_rollups.c.workspace_id == workspace_id))
    _upsert(conn, {k: n for k, n in counts.items() if n > 0 and k.workspace_id == workspace_id})


def rebuild_all(conn: Connection) -> None:
    """Recompute every workspace's facet rollups from the mentions."""
    for ws in conn.execute(select(workspaces.c.id)).scalars():
        replace(conn, int(ws), expected(conn, int(ws)))
