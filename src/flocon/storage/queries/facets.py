"""Facet rollups: a workspace's *distinct* matched original mentions per UTC day × source kind,
language, site or author (and per UTC hour for the total), × sentiment.

A mention counts once, whatever the number of watches it matches, from its first watch link
to the loss of its last one; a duplicate never counts. They are kept by
:mod:`flocon.storage.queries.rollups` in the same transaction as the per-watch rollups
(``apply_pairs`` / ``apply_mentions``, and ``forget_watch`` when a watch is removed).
:func:`expected` recomputes them from the raw data;
``flocon rollups check`` compares, ``rebuild`` replaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import facet_rollups, mention_watches, mentions, sources, workspaces

__all__ = [
    "DAY",
    "FACETS",
    "HOUR",
    "FacetKey",
    "apply_rows",
    "expected",
    "keys_of",
    "rebuild_all",
    "replace",
    "stored",
]

HOUR: Final = 3600
DAY: Final = 86400
#: Facets and their bucket size in seconds.
FACETS: Final = {"total": HOUR, "source_kind": DAY, "lang": DAY, "site": DAY, "author": DAY}


@dataclass(frozen=True, slots=True, order=True)
class FacetKey:
    workspace_id: int
    facet: str
    bucket_start: datetime
    key: str
    sentiment: str


def _start(at: datetime, size: int) -> datetime:
    ts = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(ts - ts % size, UTC)


def keys_of(row: Any) -> Iterator[FacetKey]:
    """The facet keys of an original mention's row (workspace_id, occurred_at, sentiment,
    kind, lang, site, author_id); no key for an unknown language, site or author."""
    ws, sentiment = int(row.workspace_id), row.sentiment or ""
    yield FacetKey(ws, "total", _start(row.occurred_at, HOUR), "", sentiment)
    day = _start(row.occurred_at, DAY)
    yield FacetKey(ws, "source_kind", day, str(row.kind), sentiment)
    if row.lang:
        yield FacetKey(ws, "lang", day, str(row.lang), sentiment)
    if row.site:
        yield FacetKey(ws, "site", day, str(row.site), sentiment)
    if row.author_id is not None:
        yield FacetKey(ws, "author", day, str(int(row.author_id)), sentiment)


def _upsert(conn: Connection, deltas: Mapping[FacetKey, int]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "workspace_id": k.workspace_id,
            "facet": k.facet,
            "bucket_start": k.bucket_start,
            "key": k.key,
            "sentiment": k.sentiment,
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
        index_elements=[
            facet_rollups.c.workspace_id,
            facet_rollups.c.facet,
            facet_rollups.c.bucket_start,
            facet_rollups.c.key,
            facet_rollups.c.sentiment,
        ],
        set_={"count": facet_rollups.c.count + stmt.excluded.count},
    )
    conn.execute(stmt, rows)
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


def apply_rows(conn: Connection, rows: Iterable[Any], sign: int) -> None:
    """Add (``sign`` = 1) or subtract (−1) original mentions, given as rows (see
    :func:`keys_of`)."""
    deltas: Counter[FacetKey] = Counter()
    for row in rows:
        for key in keys_of(row):
            deltas[key] += sign
    _upsert(conn, deltas)


def expected(conn: Connection, workspace_id: int | None) -> Counter[FacetKey]:
    """The facet rollups recomputed from the mentions (one workspace, or all when None)."""
    linked = (
        select(mention_watches.c.mention_id)
        .where(mention_watches.c.mention_id == mentions.c.id)
        .exists()
    )
    stmt = (
        select(
            mentions.c.workspace_id,
            mentions.c.occurred_at,
            mentions.c.sentiment,
            mentions.c.lang,
            mentions.c.site,
            mentions.c.author_id,
            sources.c.kind,
        )
        .join(sources, sources.c.id == mentions.c.source_id)
        .where(mentions.c.duplicate_of.is_(None), linked)
    )
    if workspace_id is not None:
        stmt = stmt.where(mentions.c.workspace_id == workspace_id)
    out: Counter[FacetKey] = Counter()
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        for key in keys_of(row):
            out[key] += 1
    return out


def stored(conn: Connection, workspace_id: int | None) -> Counter[FacetKey]:
    stmt = select(facet_rollups)
    if workspace_id is not None:
        stmt = stmt.where(facet_rollups.c.workspace_id == workspace_id)
    out: Counter[FacetKey] = Counter()
    for row in conn.execute(stmt):
        key = FacetKey(int(row.workspace_id), row.facet, row.bucket_start, row.key, row.sentiment)
        out[key] += int(row._mapping["count"])
    return out


def replace(conn: Connection, workspace_id: int, counts: Mapping[FacetKey, int]) -> None:
    """Replace the facet rollups of a workspace with ``counts``."""
    conn.execute(delete(facet_rollups).where(facet_rollups.c.workspace_id == workspace_id))
    _upsert(conn, {k: n for k, n in counts.items() if n > 0 and k.workspace_id == workspace_id})


def rebuild_all(conn: Connection) -> None:
    """Recompute every workspace's facet rollups from the mentions."""
    counts = expected(conn, None)
    for ws in conn.execute(select(workspaces.c.id)).scalars():
        replace(conn, int(ws), counts)
