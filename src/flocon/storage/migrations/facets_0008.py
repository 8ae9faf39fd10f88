"""The facet rollups as schema 0008 shaped them (workspace only; per day × source kind,
language, site or author id, per hour in all, × sentiment), computed from the mentions: what
migration 0008 fills, and what 0010's downgrade puts back. A frozen copy, independent of
:mod:`flocon.storage.queries.facets`, which follows the current schema."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from flocon.storage.tables import UTCDateTime, mention_watches, mentions, sources

_HOUR = 3600
_DAY = 86400

facet_rollups_0008 = sa.table(
    "facet_rollups",
    sa.column("workspace_id", sa.Integer()),
    sa.column("facet", sa.String()),
    sa.column("bucket_start", UTCDateTime()),
    sa.column("key", sa.String()),
    sa.column("sentiment", sa.String()),
    sa.column("count", sa.Integer()),
)


def _start(at: datetime, size: int) -> datetime:
    ts = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(ts - ts % size, UTC)


def _keys(row: Any) -> list[tuple[int, str, datetime, str, str]]:
    ws, sentiment = int(row.workspace_id), row.sentiment or ""
    day = _start(row.occurred_at, _DAY)
    out = [
        (ws, "total", _start(row.occurred_at, _HOUR), "", sentiment),
        (ws, "source_kind", day, str(row.kind), sentiment),
    ]
    if row.lang:
        out.append((ws, "lang", day, str(row.lang), sentiment))
    if row.site:
        out.append((ws, "site", day, str(row.site), sentiment))
    if row.author_id is not None:
        out.append((ws, "author", day, str(int(row.author_id)), sentiment))
    return out


def fill(conn: Connection) -> None:
    """Fill the (empty) 0008-shaped ``facet_rollups`` from the mentions."""
    linked = (
        sa.select(mention_watches.c.mention_id)
        .where(mention_watches.c.mention_id == mentions.c.id)
        .exists()
    )
    stmt = (
        sa.select(
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
    counts: Counter[tuple[int, str, datetime, str, str]] = Counter()
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        counts.update(_keys(row))
    rows = [
        {
            "workspace_id": k[0],
            "facet": k[1],
            "bucket_start": k[2],
            "key": k[3],
            "sentiment": k[4],
            "count": n,
        }
        for k, n in sorted(counts.items())
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(sa.insert(facet_rollups_0008), rows[start : start + 5000])
