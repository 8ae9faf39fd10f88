"""Emerging themes of the dashboard: the slowest figure (key-phrase extraction over up to
5,000 texts, 0.2–0.5 s), kept off the request path by a cache.

The themes of a scope are computed once and stored in ``theme_cache`` under a digest of what
they depend on: the watches in scope (ids and queries), the period widened to whole hours,
the sentiment, language and source-kind filters, the limit and the workspace's mutes. A
request reads them from there while they are younger than :data:`THEMES_FRESH` (30 minutes),
else computes and stores them again. So a mention appears in the themes at most 30 minutes
after it is stored (a period ending in the past changes only with late or backfilled
mentions); a change of watch, filter or mute is a new digest, seen at once. Entries older
than a day are deleted when new ones are stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from flocon.analysis.topics import TopicInput, emerging_themes
from flocon.domain.query.keywords import keywords_from_queries
from flocon.services.dashboard.common import (
    DashboardFilter,
    Scope,
    drill,
    mention_filter,
    reading,
    scope_of,
)
from flocon.services.mentions import MentionQuery
from flocon.storage.engine import write
from flocon.storage.queries import dashboard as q
from flocon.storage.queries import tags as tq
from flocon.storage.queries import theme_cache as cq

logger = logging.getLogger(__name__)

#: Emerging themes need this many mentions in the period and in the one before it.
EMERGING_MIN_MENTIONS: Final = 20
#: Mentions read for emerging themes: the period's newest, and the period before's newest.
EMERGING_FOCUS: Final = 2000
EMERGING_BACKGROUND: Final = 3000
#: How long computed themes are shown before they are computed again.
THEMES_FRESH: Final = timedelta(minutes=30)
#: Cached themes older than this are deleted.
THEMES_KEPT: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EmergingTheme:
    """A theme over-represented in the period against the period of the same length before.

    ``mentions`` of the period's ``of`` mentions hold it; ``z`` is the weighted log-odds
    z-score; ``mention_ids`` are those mentions (the drill-down's exact list), ``drill`` a
    full-text search of the theme's label over the period.
    """

    label: str
    phrases: tuple[str, ...]
    mentions: int
    of: int
    z: float
    mention_ids: tuple[int, ...]
    drill: MentionQuery


def emerging(
    engine: Engine,
    workspace: str,
    flt: DashboardFilter,
    *,
    limit: int = 8,
    now: datetime | None = None,
    cache: bool = True,
) -> list[EmergingTheme]:
    """Emerging themes of the scope (flocon.analysis.topics.emerging_themes), muted authors
    and sites left out; [] with fewer than 20 mentions in the period or in the one before.
    Reads at most the 2,000 newest mentions of the period and 3,000 of the one before; from
    the cache when computed less than :data:`THEMES_FRESH` before ``now`` (``cache`` False:
    computed, neither read from nor stored in the cache)."""
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        if not scope.watches:
            return []
        mutes = [(m.kind, m.value) for m in tq.list_mutes(conn, scope.workspace_id)]
        key = _digest(scope, flt, limit, mutes)
        fresh_since = now - THEMES_FRESH
        cached = cq.cached_themes(conn, scope.workspace_id, key, fresh_since=fresh_since)
    if cache and cached is not None:
        return [_theme(scope, flt, item) for item in json.loads(cached)]
    found = _compute(engine, scope, flt, limit)
    if not cache:
        return found
    payload = json.dumps([_stored(t) for t in found])
    try:
        with write(engine) as conn:
            cq.store_themes(conn, scope.workspace_id, key, now, payload, purge=now - THEMES_KEPT)
    except OperationalError:
        # The figures are right; only the next request will compute them again.
        logger.warning("emerging themes not cached (database busy)", exc_info=True)
    return found


def _digest(
    scope: Scope, flt: DashboardFilter, limit: int, mutes: Sequence[tuple[str, str]]
) -> str:
    what = {
        "watches": [(w.id, w.query) for w in scope.watches],
        "names": list(scope.names),
        "start": flt.start.isoformat(),
        "end": flt.end.isoformat(),
        "sentiment": flt.sentiment,
        "lang": flt.lang,
        "source_kind": flt.source_kind,
        "limit": limit,
        "mutes": list(mutes),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _stored(theme: EmergingTheme) -> dict[str, Any]:
    return {
        "label": theme.label,
        "phrases": list(theme.phrases),
        "mentions": theme.mentions,
        "of": theme.of,
        "z": theme.z,
        "mention_ids": list(theme.mention_ids),
    }


def _theme(scope: Scope, flt: DashboardFilter, item: dict[str, Any]) -> EmergingTheme:
    label = str(item["label"])
    return EmergingTheme(
        label=label,
        phrases=tuple(str(p) for p in item["phrases"]),
        mentions=int(item["mentions"]),
        of=int(item["of"]),
        z=float(item["z"]),
        mention_ids=tuple(int(i) for i in item["mention_ids"]),
        drill=drill(scope.names, flt, flt.start, flt.end, muted=False, search=label),
    )


def _compute(engine: Engine, scope: Scope, flt: DashboardFilter, limit: int) -> list[EmergingTheme]:
    span = flt.end - flt.start
    with reading(engine) as conn:
        focus_flt = mention_filter(scope, flt, muted=False, since=flt.start, until=flt.end)
        focus = q.newest(conn, replace(focus_flt, limit=EMERGING_FOCUS))
        if len(focus) < EMERGING_MIN_MENTIONS:
            return []
        back_flt = mention_filter(scope, flt, muted=False, since=flt.start - span, until=flt.start)
        background = q.newest(conn, replace(back_flt, limit=EMERGING_BACKGROUND))
    if len(background) < EMERGING_MIN_MENTIONS:
        return []
    drivers = emerging_themes(
        _inputs(focus),
        _inputs(background),
        exclude=keywords_from_queries([w.query for w in scope.watches]),
        limit=limit,
    )
    return [
        EmergingTheme(
            label=d.label,
            phrases=tuple(p.text for p in d.phrases),
            mentions=d.negative,
            of=d.negative_total,
            z=d.z,
            mention_ids=tuple(sorted(d.negative_ids)),
            drill=drill(scope.names, flt, flt.start, flt.end, muted=False, search=d.label),
        )
        for d in drivers
    ]


def _inputs(rows: Sequence[q.ThemeRow]) -> list[TopicInput]:
    items = [
        TopicInput(id=r.id, text=f"{r.title}\n{r.text}" if r.title else r.text, lang=r.lang)
        for r in rows
    ]
    return sorted(items, key=lambda item: item.id)
