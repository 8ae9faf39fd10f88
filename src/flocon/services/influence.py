"""Influence use cases: score the authors of a watch (or of a workspace) from the stored
mentions, store the scores with their inputs, and read them back.

Interactions come from what is stored:

* reply: the author of a mention → the author of the mention it replies to
  (``parent_id``), when either of the two is in the scope;
* mention: the author of a mention in the scope → each author of the same
  platform whose handle appears as ``@handle`` in its text (not the author
  replied to, which the reply already counts);
* share: none yet, as no connector stores who shared whom; a connector that
  does only has to add :attr:`EdgeKind.SHARE` interactions here.

Reading and computing happen outside the write transaction, which only replaces
the scope's rows, so a long computation never blocks ingest on SQLite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from flocon.analysis.influence import (
    AuthorActivity,
    EdgeKind,
    Influence,
    Interaction,
    score_authors,
)
from flocon.domain.text import fold, tokens
from flocon.errors import NotFound
from flocon.storage.engine import read, write
from flocon.storage.queries import influence as iq
from flocon.storage.queries import mention_lists as mlq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = [
    "AuthorProfile",
    "AuthorScore",
    "InfluenceReport",
    "author_profile",
    "compute_influence",
    "explain_author",
    "scores_state",
    "top_authors",
]


@dataclass(frozen=True, slots=True)
class InfluenceReport:
    """What a computation did: authors scored, mentions read, interactions by kind."""

    authors: int
    mentions: int
    interactions: Mapping[str, int]
    seconds: float
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorScore:
    """A stored score, with the author it belongs to and every input behind it."""

    author_id: int
    platform: str
    handle: str | None
    name: str | None
    score: float
    stance: str
    followers: int | None
    mentions: int
    engagement: int
    pagerank: float
    lift: float
    replies_received: int
    mentioned_by: int
    shared_by: int
    sentiment_mean: float | None
    since: datetime | None
    computed_at: datetime
    inputs: Mapping[str, Any] = field(repr=False)


def _handle_index(rows: Sequence[iq.AuthorRow]) -> dict[tuple[str, str], int]:
    """(platform, folded handle) → author id; ``user@instance`` is also found as ``user``
    unless two authors of the platform share that name."""
    index: dict[tuple[str, str], int] = {}
    local: dict[tuple[str, str], int | None] = {}
    for row in rows:
        key = fold(row.key)
        index[(row.platform, key)] = row.id
        if "@" in key:
            short = (row.platform, key.split("@", 1)[0])
            local[short] = row.id if short not in local else None
    for short, author_id in local.items():
        if author_id is not None:
            index.setdefault(short, author_id)
    return index


def _interactions(
    scope: Sequence[iq.ScopeMention],
    outside: Sequence[tuple[int, int]],
    handles: Mapping[tuple[str, str], int],
) -> list[Interaction]:
    found: list[Interaction] = []
    for m in scope:
        if m.author_id is None:
            continue
        if m.parent_author_id is not None:
            found.append(Interaction(m.author_id, m.parent_author_id, EdgeKind.REPLY))
        if m.platform is None or "@" not in m.text:
            continue
        named = {
            handles.get((m.platform, token[1:]))
            for token in tokens(m.text)
            if token.startswith("@")
        }
        named -= {None, m.author_id, m.parent_author_id}
        found.extend(
            Interaction(m.author_id, target, EdgeKind.MENTION)
            for target in sorted(t for t in named if t is not None)
        )
    found.extend(Interaction(child, parent, EdgeKind.REPLY) for child, parent in outside)
    return found


def _activities(
    scope: Sequence[iq.ScopeMention], followers: Mapping[int, int | None]
) -> list[AuthorActivity]:
    """One per author involved (``followers`` has them all), active in the scope or not."""
    grouped: dict[int, list[iq.ScopeMention]] = {a: [] for a in followers}
    for m in scope:
        if m.author_id is not None:
            grouped.setdefault(m.author_id, []).append(m)
    return [
        AuthorActivity(
            author_id=author_id,
            followers=followers.get(author_id),
            mentions=len(items),
            likes=sum(m.likes for m in items),
            shares=sum(m.shares for m in items),
            replies=sum(m.replies for m in items),
            sentiments=tuple(m.sentiment_score for m in items if m.sentiment_score is not None),
        )
        for author_id, items in grouped.items()
    ]


def _row(
    result: Influence,
    *,
    workspace_id: int,
    watch_id: int | None,
    since: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "watch_id": watch_id,
        "author_id": result.author_id,
        "score": result.score,
        "pagerank": result.pagerank,
        "lift": result.lift,
        "followers": result.followers,
        "mentions": result.mentions,
        "engagement": result.engagement,
        "replies_received": result.replies_received,
        "mentioned_by": result.mentioned_by,
        "shared_by": result.shared_by,
        "stance": result.stance.value,
        "sentiment_mean": result.sentiment_mean,
        "since": since,
        "computed_at": now,
        "inputs": json.dumps(result.inputs, ensure_ascii=False),
    }


def compute_influence(
    engine: Engine, workspace: str, *, watch: str | None = None, since: datetime | None = None
) -> InfluenceReport:
    """Score the authors of ``watch`` (default: of every watch together) from the
    mentions since ``since``, and replace that scope's stored scores."""
    started = time.perf_counter()
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch_id = wq.get_by_name(conn, ws.id, watch).id if watch else None
        scope = iq.scope_mentions(conn, ws.id, watch_id=watch_id, since=since)
        outside = iq.replies_from_outside(conn, ws.id, watch_id=watch_id, since=since)
        platforms = sorted({m.platform for m in scope if m.platform and "@" in m.text})
        handles = _handle_index(iq.authors_of(conn, ws.id, platforms=platforms))
        interactions = _interactions(scope, outside, handles)
        involved = {m.author_id for m in scope if m.author_id is not None}
        involved.update(i.source for i in interactions)
        involved.update(i.target for i in interactions)
        followers = {a.id: a.followers for a in iq.authors_of(conn, ws.id, ids=sorted(involved))}
    results = score_authors(_activities(scope, followers), interactions)
    now = datetime.now(UTC)
    rows = [_row(r, workspace_id=ws.id, watch_id=watch_id, since=since, now=now) for r in results]
    with write(engine) as conn:
        iq.replace_scores(conn, ws.id, watch_id, rows)
    counts = {kind.value: 0 for kind in EdgeKind}
    for i in interactions:
        counts[i.kind.value] += i.times
    return InfluenceReport(
        authors=len(rows),
        mentions=len(scope),
        interactions=counts,
        seconds=time.perf_counter() - started,
        computed_at=now,
    )


def _score(row: iq.ScoreRow) -> AuthorScore:
    return AuthorScore(
        author_id=row.author_id,
        platform=row.platform,
        handle=row.handle,
        name=row.name,
        score=row.score,
        stance=row.stance,
        followers=row.followers,
        mentions=row.mentions,
        engagement=row.engagement,
        pagerank=row.pagerank,
        lift=row.lift,
        replies_received=row.replies_received,
        mentioned_by=row.mentioned_by,
        shared_by=row.shared_by,
        sentiment_mean=row.sentiment_mean,
        since=row.since,
        computed_at=row.computed_at,
        inputs=json.loads(row.inputs),
    )


def _scope(conn: Any, workspace: str, watch: str | None) -> tuple[int, int | None]:
    ws = wsq.get_by_name(conn, workspace)
    return ws.id, (wq.get_by_name(conn, ws.id, watch).id if watch else None)


def scores_state(
    engine: Engine, workspace: str, *, watch: str | None = None
) -> iq.ScopeState | None:
    """When the scope's scores were computed, over which period; None if never."""
    with read(engine) as conn:
        ws_id, watch_id = _scope(conn, workspace, watch)
        return iq.scope_state(conn, ws_id, watch_id)


def top_authors(
    engine: Engine,
    workspace: str,
    *,
    watch: str | None = None,
    stance: str | None = None,
    limit: int = 20,
) -> list[AuthorScore]:
    """The stored scores of a scope, best first (see :func:`compute_influence`)."""
    with read(engine) as conn:
        ws_id, watch_id = _scope(conn, workspace, watch)
        rows = iq.list_scores(conn, ws_id, watch_id, stance=stance, limit=limit)
    return [_score(r) for r in rows]


def explain_author(
    engine: Engine, workspace: str, handle: str, *, watch: str | None = None
) -> list[AuthorScore]:
    """The stored score and inputs of the author(s) with this handle (one per platform)."""
    key = handle.strip().lstrip("@").lower()
    with read(engine) as conn:
        ws_id, watch_id = _scope(conn, workspace, watch)
        rows = iq.list_scores(conn, ws_id, watch_id, keys=[key])
    if not rows:
        raise NotFound(f"no score for author {handle!r} in this scope (compute with --recompute)")
    return [_score(r) for r in rows]


@dataclass(frozen=True, slots=True)
class AuthorProfile:
    """One author of a workspace: who, where, their audience, and their stored score in
    the scope (None when the scope was never computed or they are not in it)."""

    author_id: int
    platform: str
    #: The key ingest files them under (handle or name, lower case, no ``@``): the
    #: mentions list's ``author`` filter.
    key: str
    handle: str | None
    name: str | None
    followers: int | None
    score: AuthorScore | None


def author_profile(
    engine: Engine, workspace: str, author_id: int, *, watch: str | None = None
) -> AuthorProfile:
    """The author ``author_id`` of the workspace (:class:`NotFound` otherwise, another
    workspace's author included), with their score in the scope of ``watch``."""
    with read(engine) as conn:
        ws_id, watch_id = _scope(conn, workspace, watch)
        found = iq.authors_of(conn, ws_id, ids=[author_id])
        if not found:
            raise NotFound(f"author {author_id} does not exist in this workspace")
        author = found[0]
        rows = [
            r
            for r in iq.list_scores(conn, ws_id, watch_id, keys=[author.key])
            if r.author_id == author_id
        ]
        latest = mlq.page(
            conn,
            mlq.MentionFilter(
                workspace_id=ws_id,
                author=author.key,
                source_kind=author.platform,
                include_unmatched=True,
                include_muted=True,
                limit=1,
            ),
            [],
        )
    score = _score(rows[0]) if rows else None
    handle = score.handle if score else None
    name = score.name if score else None
    if latest and not (handle or name):
        handle, name = latest[0].mention.author_handle, latest[0].mention.author_name
    return AuthorProfile(
        author_id=author.id,
        platform=author.platform,
        key=author.key,
        handle=handle,
        name=name,
        followers=author.followers,
        score=score,
    )
