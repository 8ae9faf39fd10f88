"""Lists of the dashboard: top source kinds, sites and authors, emerging themes, open alerts,
and what the filter menus offer (see flocon.services.dashboard for what each counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from sqlalchemy import Engine

from flocon.analysis.topics import TopicInput, emerging_themes
from flocon.domain.query.keywords import keywords_from_queries
from flocon.services.dashboard.common import (
    DashboardFilter,
    drill,
    mention_filter,
    scope_of,
    whole_days,
    whole_workspace,
)
from flocon.services.mentions import SENTIMENTS, BadFilter, MentionQuery
from flocon.storage.engine import read
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import dashboard as q
from flocon.storage.queries import tags as tq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.mention_lists import MentionFilter, not_muted

#: Emerging themes need this many mentions in the period and in the one before it.
EMERGING_MIN_MENTIONS: Final = 20
#: Mentions read for emerging themes: the period's newest, and the period before's newest.
EMERGING_FOCUS: Final = 2000
EMERGING_BACKGROUND: Final = 3000


# -- top lists -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopRow:
    """``key``: the value to filter on (source kind, site, author key); ``label``: to show."""

    key: str
    label: str
    count: int
    negative: int
    drill: MentionQuery


def _top(
    engine: Engine, workspace: str, flt: DashboardFilter, dimension: q.Dimension, limit: int
) -> list[TopRow]:
    if not 1 <= limit <= 100:
        raise BadFilter("a top list holds 1 to 100 rows")
    with read(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        if not scope.watches:
            return []
        mf = mention_filter(scope, flt, muted=False, since=flt.start, until=flt.end)
        days = whole_days(flt.start, flt.end) if whole_workspace(scope, flt) else None
        if days is not None and not_muted(conn, scope.workspace_id):
            days = None
        found = q.top(conn, mf, dimension, limit, whole_days=days)
    return [
        TopRow(
            key=t.key,
            label=t.label,
            count=t.count,
            negative=t.negative,
            drill=drill(scope.names, flt, flt.start, flt.end, muted=False, **{dimension: t.key}),
        )
        for t in found
    ]


def top_sources(
    engine: Engine, workspace: str, flt: DashboardFilter, *, limit: int = 10
) -> list[TopRow]:
    """Source kinds (rss, reddit, mastodon...) with the most mentions; muted authors and
    sites left out."""
    return _top(engine, workspace, flt, "source_kind", limit)


def top_sites(
    engine: Engine, workspace: str, flt: DashboardFilter, *, limit: int = 10
) -> list[TopRow]:
    """Sites with the most mentions; muted authors and sites left out."""
    return _top(engine, workspace, flt, "site", limit)


def top_authors(
    engine: Engine, workspace: str, flt: DashboardFilter, *, limit: int = 10
) -> list[TopRow]:
    """Authors (by key: one person across platforms when the handle is the same) with the
    most mentions; muted authors and sites left out."""
    return _top(engine, workspace, flt, "author", limit)


# -- emerging themes -----------------------------------------------------------------------


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
    engine: Engine, workspace: str, flt: DashboardFilter, *, limit: int = 8
) -> list[EmergingTheme]:
    """Emerging themes of the scope (flocon.analysis.topics.emerging_themes), muted authors
    and sites left out; [] with fewer than 20 mentions in the period or in the one before.
    Reads at most the 2,000 newest mentions of the period and 3,000 of the one before."""
    span = flt.end - flt.start
    with read(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        if not scope.watches:
            return []
        focus_flt = mention_filter(scope, flt, muted=False, since=flt.start, until=flt.end)
        focus = q.newest(conn, _limited(focus_flt, EMERGING_FOCUS))
        if len(focus) < EMERGING_MIN_MENTIONS:
            return []
        back_flt = mention_filter(scope, flt, muted=False, since=flt.start - span, until=flt.start)
        background = q.newest(conn, _limited(back_flt, EMERGING_BACKGROUND))
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


def _limited(flt: MentionFilter, limit: int) -> MentionFilter:
    return replace(flt, limit=limit)


def _inputs(rows: Sequence[q.ThemeRow]) -> list[TopicInput]:
    items = [
        TopicInput(id=r.id, text=f"{r.title}\n{r.text}" if r.title else r.text, lang=r.lang)
        for r in rows
    ]
    return sorted(items, key=lambda item: item.id)


# -- alerts, filter menus ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DashboardAlert:
    """An open or acknowledged alert; ``status`` is "open" or "acked"."""

    id: int
    kind: str
    status: str
    severity: str
    watch: str | None
    detected_at: datetime
    updated_at: datetime
    explanation: str
    evidence: tuple[int, ...]


def open_alerts(engine: Engine, workspace: str, *, limit: int = 10) -> list[DashboardAlert]:
    """Open and acknowledged alerts, newest first."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        rows = aq.list_alerts(conn, ws.id, statuses=("open", "acked"), limit=limit)
    return [
        DashboardAlert(
            id=r.id,
            kind=r.kind,
            status=r.status,
            severity=r.severity,
            watch=names.get(r.watch_id) if r.watch_id is not None else None,
            detected_at=r.detected_at,
            updated_at=r.updated_at,
            explanation=r.explanation,
            evidence=tuple(r.evidence),
        )
        for r in rows
    ]


def groups(engine: Engine, workspace: str) -> list[str]:
    """The workspace's watch groups, in alphabetical order."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.groups(conn, ws.id)


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """What the dashboard's and the mentions page's filter menus offer."""

    #: (name, group) of every watch, by name.
    watches: tuple[tuple[str, str | None], ...]
    groups: tuple[str, ...]
    #: Languages and source kinds found among the watches' mentions.
    langs: tuple[str, ...]
    source_kinds: tuple[str, ...]
    sentiments: tuple[str, ...]
    #: Tags in use, most used first.
    tags: tuple[str, ...]
    #: Muted authors and sites, as (kind, value).
    mutes: tuple[tuple[str, str], ...]


def filter_options(engine: Engine, workspace: str) -> FilterOptions:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        every = wq.list_all(conn, ws.id)
        langs, kinds = q.present_in_workspace(conn, ws.id)
        tags = tq.tag_counts(conn, ws.id)
        mutes = tq.list_mutes(conn, ws.id)
        group_names = q.groups(conn, ws.id)
    return FilterOptions(
        watches=tuple((w.name, w.group) for w in every),
        groups=tuple(group_names),
        langs=tuple(langs),
        source_kinds=tuple(kinds),
        sentiments=SENTIMENTS,
        tags=tuple(t for t, _ in tags),
        mutes=tuple((m.kind, m.value) for m in mutes),
    )
