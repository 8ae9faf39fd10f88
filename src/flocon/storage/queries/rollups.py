"""Rollups: counts per watch × bucket × sentiment × source kind × language.

They change with every write that changes what a watch holds or how a mention is
classified, inside the same transaction:

* :func:`flocon.storage.queries.watches.link` / ``unlink`` add / subtract the pairs;
* :func:`flocon.storage.queries.analysis.store_results` (and corrections) subtract the
  mentions' old keys and add the new ones.

The facet rollups (:mod:`flocon.storage.queries.facets`: distinct matched mentions of the
workspace, of each group and of each watch) follow in the same calls: a mention is added to a
scope with its first link to a watch of the scope, subtracted with its last one, and moved
when its sentiment changes; :func:`forget_watch` and :func:`change_group` (called by
:mod:`flocon.storage.queries.watches` before a watch is removed or changes group) keep the
group and workspace scopes right.

Readers (:func:`series`) aggregate the dimensions they do not need. :func:`expected`
recomputes everything from the raw data; ``flocon rollups check`` compares, ``rebuild``
replaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, and_, case, delete, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from flocon.storage.queries import facets
from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import (
    authors,
    facet_rollups,
    mention_watches,
    mentions,
    rollups,
    sources,
    watches,
)

__all__ = [
    "BUCKETS",
    "Key",
    "apply_mentions",
    "apply_pairs",
    "bucket_start",
    "change_group",
    "expected",
    "forget_watch",
    "rebuild_all",
    "replace",
    "series",
    "stored",
]

#: Bucket sizes in seconds: 5 minutes (detectors, recent activity) and 1 hour (baselines,
#: dashboards).
BUCKETS: Final = (300, 3600)
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True, order=True)
class Key:
    watch_id: int
    bucket_s: int
    bucket_start: datetime
    sentiment: str
    source_kind: str
    lang: str


def bucket_start(at: datetime, bucket_s: int) -> datetime:
    """The start of the ``bucket_s``-second bucket holding ``at`` (UTC, aligned on the epoch)."""
    ts = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(ts - ts % bucket_s, UTC)


def _keys(watch_id: int, row: Any) -> Iterator[Key]:
    for size in BUCKETS:
        yield Key(
            watch_id,
            size,
            bucket_start(row.occurred_at, size),
            row.sentiment or "",
            row.kind,
            row.lang or "",
        )


def _mention_rows(conn: Connection, mention_ids: Sequence[int]) -> dict[int, Any]:
    """The rollup (and facet) dimensions of original (non-duplicate) mentions, by id."""
    out: dict[int, Any] = {}
    for start in range(0, len(mention_ids), _CHUNK):
        chunk = mention_ids[start : start + _CHUNK]
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
            )
            .select_from(
                mentions.join(sources, sources.c.id == mentions.c.source_id).outerjoin(
                    authors, authors.c.id == mentions.c.author_id
                )
            )
            .where(one_of(conn, mentions.c.id, chunk), mentions.c.duplicate_of.is_(None))
        )
        out.update((row.id, row) for row in conn.execute(stmt))
    return out


def _upsert(conn: Connection, deltas: Mapping[Key, int]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "watch_id": k.watch_id,
            "bucket_s": k.bucket_s,
            "bucket_start": k.bucket_start,
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
    stmt = dialect.insert(rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            rollups.c.watch_id,
            rollups.c.bucket_s,
            rollups.c.bucket_start,
            rollups.c.sentiment,
            rollups.c.source_kind,
            rollups.c.lang,
        ],
        set_={"count": rollups.c.count + stmt.excluded.count},
    )
    conn.execute(stmt, rows)
    if any(r["count"] < 0 for r in rows):
        watch_ids = sorted({r["watch_id"] for r in rows})
        conn.execute(
            delete(rollups).where(one_of(conn, rollups.c.watch_id, watch_ids), rollups.c.count <= 0)
        )


def _links(conn: Connection, mention_ids: Sequence[int]) -> dict[int, list[int]]:
    """The watches each mention is linked to now."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(mention_ids), _CHUNK):
        chunk = mention_ids[start : start + _CHUNK]
        stmt = select(mention_watches.c.mention_id, mention_watches.c.watch_id).where(
            one_of(conn, mention_watches.c.mention_id, chunk)
        )
        for m, w in conn.execute(stmt):
            out.setdefault(int(m), []).append(int(w))
    return out


def _groups(conn: Connection, watch_ids: Iterable[int]) -> dict[int, str | None]:
    """The group of each watch (None: none)."""
    ids = sorted(set(watch_ids))
    out: dict[int, str | None] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt = select(watches.c.id, watches.c.group_name).where(one_of(conn, watches.c.id, chunk))
        out.update((int(w), g or None) for w, g in conn.execute(stmt))
    return out


def _apply_watches(
    conn: Connection, rows: Mapping[int, Any], by_mention: Mapping[int, list[int]], sign: int
) -> None:
    deltas: Counter[Key] = Counter()
    for mention_id, row in rows.items():
        for watch_id in by_mention[mention_id]:
            for key in _keys(watch_id, row):
                deltas[key] += sign
    _upsert(conn, deltas)


def _edge_scopes(
    pairs: list[int], linked: list[int], groups: Mapping[int, str | None], *, own: bool = True
) -> list[facets.Scoped]:
    """The facet scopes a mention enters (or leaves) when its links to ``pairs`` are added
    (or removed), ``linked`` being all its links with them: each watch's, each group's whose
    every linked watch is among ``pairs``, the workspace's when all its links are."""
    chosen = set(pairs)
    rest = [w for w in linked if w not in chosen]
    out: list[facets.Scoped] = []
    if not rest:
        out.append((facets.WORKSPACE, True))
    other_groups = {groups.get(w) for w in rest}
    for g in sorted({g for w in chosen if (g := groups.get(w))}):
        if g not in other_groups:
            out.append((facets.group_scope(g), True))
    if own:
        out.extend((facets.watch_scope(w), False) for w in sorted(chosen))
    return out


def apply_pairs(conn: Connection, pairs: Iterable[tuple[int, int]], sign: int) -> None:
    """Add (``sign`` = 1) or subtract (−1) (mention_id, watch_id) pairs from the rollups.

    Called after the pairs are linked (+1) or before they are unlinked (−1): a mention is
    added to (or subtracted from) the facet rollups of each scope (workspace, group) whose
    links to it are all among these pairs, and of each watch of the pairs."""
    by_mention: dict[int, list[int]] = {}
    for mention_id, watch_id in pairs:
        by_mention.setdefault(mention_id, []).append(watch_id)
    if not by_mention:
        return
    ids = sorted(by_mention)
    rows = _mention_rows(conn, ids)
    _apply_watches(conn, rows, by_mention, sign)
    if rows:
        links = _links(conn, sorted(rows))
        groups = _groups(conn, {w for ws in links.values() for w in ws})
        facets.apply_rows(
            conn,
            (
                (row, _edge_scopes(by_mention[m], links.get(m, by_mention[m]), groups))
                for m, row in rows.items()
            ),
            sign,
        )


def apply_mentions(conn: Connection, mention_ids: Sequence[int], sign: int) -> None:
    """Add or subtract mentions under every watch they are linked to, and in the facet
    rollups of all their scopes when they are linked to any (before and after their analysis
    columns change)."""
    by_mention = _links(conn, sorted(set(mention_ids)))
    if not by_mention:
        return
    rows = _mention_rows(conn, sorted(by_mention))
    _apply_watches(conn, rows, by_mention, sign)
    groups = _groups(conn, {w for ws in by_mention.values() for w in ws})
    facets.apply_rows(
        conn, ((row, facets.scopes_of(by_mention[m], groups)) for m, row in rows.items()), sign
    )


def _watch_mentions(conn: Connection, watch_id: int) -> list[int]:
    stmt = select(mention_watches.c.mention_id).where(mention_watches.c.watch_id == watch_id)
    return sorted(int(m) for m in conn.execute(stmt).scalars())


def forget_watch(conn: Connection, watch_id: int) -> None:
    """Before a watch and its links are deleted (its own rollups go with it): drop its facet
    scope, and subtract from the workspace's and its group's the mentions that no other
    watch (of the group) links."""
    watch = conn.execute(
        select(watches.c.workspace_id, watches.c.group_name).where(watches.c.id == watch_id)
    ).first()
    if watch is None:
        return
    facets.forget_scope(conn, int(watch.workspace_id), facets.watch_scope(watch_id))
    ids = _watch_mentions(conn, watch_id)
    links = _links(conn, ids)
    groups = _groups(conn, {w for ws in links.values() for w in ws})
    rows = _mention_rows(conn, ids)
    facets.apply_rows(
        conn,
        ((row, _edge_scopes([watch_id], links[m], groups, own=False)) for m, row in rows.items()),
        -1,
    )


def change_group(conn: Connection, watch_id: int, group: str | None) -> None:
    """Before a watch moves to ``group`` (None: none): move its mentions from its old
    group's facet rollups (those no other watch of that group links) to the new group's
    (those no other watch of the new group links yet)."""
    old = _groups(conn, [watch_id]).get(watch_id)
    new = group or None
    if old == new:
        return
    ids = _watch_mentions(conn, watch_id)
    links = _links(conn, ids)
    groups = _groups(conn, {w for ws in links.values() for w in ws})
    rows = _mention_rows(conn, ids)
    for name, sign in ((old, -1), (new, +1)):
        if name is None:
            continue
        scope = facets.group_scope(name)
        alone = [
            row
            for m, row in rows.items()
            if not any(groups.get(w) == name for w in links[m] if w != watch_id)
        ]
        facets.apply_rows(conn, ((row, [(scope, True)]) for row in alone), sign)


def expected(
    conn: Connection, workspace_id: int | None, watch_id: int | None = None
) -> Counter[Key]:
    """The rollups recomputed from the mentions (one workspace, or all when None)."""
    stmt = (
        select(
            mention_watches.c.watch_id,
            mentions.c.occurred_at,
            mentions.c.sentiment,
            mentions.c.lang,
            sources.c.kind,
        )
        .join(mentions, mentions.c.id == mention_watches.c.mention_id)
        .join(sources, sources.c.id == mentions.c.source_id)
        .join(watches, watches.c.id == mention_watches.c.watch_id)
        .where(mentions.c.duplicate_of.is_(None))
    )
    if workspace_id is not None:
        stmt = stmt.where(watches.c.workspace_id == workspace_id)
    if watch_id is not None:
        stmt = stmt.where(mention_watches.c.watch_id == watch_id)
    out: Counter[Key] = Counter()
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        for key in _keys(int(row.watch_id), row):
            out[key] += 1
    return out


def stored(conn: Connection, workspace_id: int | None, watch_id: int | None = None) -> Counter[Key]:
    stmt = select(rollups).join(watches, watches.c.id == rollups.c.watch_id)
    if workspace_id is not None:
        stmt = stmt.where(watches.c.workspace_id == workspace_id)
    if watch_id is not None:
        stmt = stmt.where(rollups.c.watch_id == watch_id)
    out: Counter[Key] = Counter()
    for row in conn.execute(stmt):
        key = Key(
            int(row.watch_id),
            int(row.bucket_s),
            row.bucket_start,
            row.sentiment,
            row.source_kind,
            row.lang,
        )
        out[key] += int(row._mapping["count"])
    return out


def replace(conn: Connection, watch_ids: Sequence[int], counts: Mapping[Key, int]) -> None:
    """Replace the rollups of ``watch_ids`` with ``counts``."""
    for start in range(0, len(watch_ids), _CHUNK):
        chunk = list(watch_ids[start : start + _CHUNK])
        conn.execute(delete(rollups).where(one_of(conn, rollups.c.watch_id, chunk)))
    _upsert(conn, {k: n for k, n in counts.items() if n > 0})


def rebuild_all(conn: Connection) -> None:
    """Recompute every rollup, per watch and per workspace (facets), from the mentions."""
    ids = [int(w) for w in conn.execute(select(watches.c.id)).scalars()]
    replace(conn, ids, expected(conn, None))
    # Migrations older than 0008 call this before the facet table exists.
    if inspect(conn).has_table(facet_rollups.name):
        facets.rebuild_all(conn)


@dataclass(frozen=True, slots=True)
class BucketCounts:
    total: int
    negative: int


def series(
    conn: Connection,
    watch_id: int,
    bucket_s: int,
    since: datetime,
    until: datetime,
    *,
    source_kind: str | None = None,
    lang: str | None = None,
) -> dict[datetime, BucketCounts]:
    """Total and negative mentions per bucket in [since, until), empty buckets omitted."""
    negative = func.sum(case((rollups.c.sentiment == "negative", rollups.c.count), else_=0))
    conditions = [
        rollups.c.watch_id == watch_id,
        rollups.c.bucket_s == bucket_s,
        rollups.c.bucket_start >= since,
        rollups.c.bucket_start < until,
    ]
    if source_kind is not None:
        conditions.append(rollups.c.source_kind == source_kind)
    if lang is not None:
        conditions.append(rollups.c.lang == lang)
    stmt = (
        select(rollups.c.bucket_start, func.sum(rollups.c.count), negative)
        .where(and_(*conditions))
        .group_by(rollups.c.bucket_start)
        .order_by(rollups.c.bucket_start)
    )
    return {
        start: BucketCounts(int(total), int(neg or 0)) for start, total, neg in conn.execute(stmt)
    }
