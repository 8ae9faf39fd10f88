"""Lists of the dashboard: top source kinds, sites and authors, open alerts, and what the
filter menus offer (see flocon.services.dashboard for what each counts; emerging themes are
in flocon.services.dashboard.themes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from flocon.services.dashboard.common import (
    DashboardFilter,
    drill,
    facet_scope,
    mention_filter,
    reading,
    scope_of,
    whole_days,
)
from flocon.services.mentions import SENTIMENTS, BadFilter, MentionQuery
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import dashboard as q
from flocon.storage.queries import tags as tq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.mention_lists import not_muted

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
    with reading(engine) as conn:
        scope = scope_of(conn, workspace, flt)
        if not scope.watches:
            return []
        mf = mention_filter(scope, flt, muted=False, since=flt.start, until=flt.end)
        facet = facet_scope(scope, flt)
        days = whole_days(flt.start, flt.end) if facet is not None else None
        if days is not None and not_muted(conn, scope.workspace_id):
            days = None
        found = q.top(conn, mf, dimension, limit, scope=facet, whole_days=days)
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
    with reading(engine) as conn:
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
    with reading(engine) as conn:
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
    with reading(engine) as conn:
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
