"""SQL for author influence: the mentions and interactions of a scope, stored scores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, not_, or_, select

from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import author_scores, authors, mention_watches, mentions


def _in_scope(mention: Any, workspace_id: int, watch_id: int | None, since: datetime | None) -> Any:
    """The condition for a mention (table or alias) to be in the scope.

    The scope is a watch's mentions, or every mention that matched a watch.
    """
    link = select(mention_watches.c.mention_id).where(mention_watches.c.mention_id == mention.c.id)
    if watch_id is not None:
        link = link.where(mention_watches.c.watch_id == watch_id)
    conditions = [mention.c.workspace_id == workspace_id, link.exists()]
    if since is not None:
        conditions.append(mention.c.occurred_at >= since)
    return and_(*conditions)


@dataclass(frozen=True, slots=True)
class ScopeMention:
    id: int
    author_id: int | None
    platform: str | None
    text: str
    likes: int
    shares: int
    replies: int
    sentiment_score: float | None
    parent_author_id: int | None


def scope_mentions(
    conn: Connection, workspace_id: int, *, watch_id: int | None, since: datetime | None
) -> list[ScopeMention]:
    """The scope's mentions with their author's platform and their parent's author."""
    parent = mentions.alias("parent")
    stmt: Select[Any] = (
        select(
            mentions.c.id,
            mentions.c.author_id,
            authors.c.platform,
            mentions.c.text,
            mentions.c.likes,
            mentions.c.shares,
            mentions.c.replies,
            mentions.c.sentiment_score,
            parent.c.author_id.label("parent_author_id"),
        )
        .outerjoin(authors, authors.c.id == mentions.c.author_id)
        .outerjoin(parent, parent.c.id == mentions.c.parent_id)
        .where(_in_scope(mentions, workspace_id, watch_id, since))
        .order_by(mentions.c.id)
    )
    return [
        ScopeMention(
            id=r.id,
            author_id=r.author_id,
            platform=r.platform,
            text=r.text,
            likes=int(r.likes or 0),
            shares=int(r.shares or 0),
            replies=int(r.replies or 0),
            sentiment_score=r.sentiment_score,
            parent_author_id=r.parent_author_id,
        )
        for r in conn.execute(stmt)
    ]


def replies_from_outside(
    conn: Connection, workspace_id: int, *, watch_id: int | None, since: datetime | None
) -> list[tuple[int, int]]:
    """(replier, replied-to author) for stored replies to the scope's mentions that are
    not in the scope themselves (a reply rarely repeats the brand's name)."""
    child, parent = mentions.alias("child"), mentions.alias("parent")
    stmt = (
        select(child.c.author_id, parent.c.author_id.label("parent_author_id"))
        .join(parent, parent.c.id == child.c.parent_id)
        .where(
            child.c.workspace_id == workspace_id,
            child.c.author_id.is_not(None),
            parent.c.author_id.is_not(None),
            _in_scope(parent, workspace_id, watch_id, since),
            not_(_in_scope(child, workspace_id, watch_id, since)),
        )
    )
    return [(r.author_id, r.parent_author_id) for r in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class AuthorRow:
    id: int
    platform: str
    key: str
    followers: int | None


def authors_of(
    conn: Connection,
    workspace_id: int,
    *,
    platforms: Sequence[str] = (),
    ids: Sequence[int] = (),
) -> list[AuthorRow]:
    """Authors of these platforms, or with these ids (both: either)."""
    conditions = []
    if platforms:
        conditions.append(one_of(conn, authors.c.platform, list(platforms)))
    if ids:
        conditions.append(one_of(conn, authors.c.id, list(ids)))
    if not conditions:
        return []
    stmt = select(authors.c.id, authors.c.platform, authors.c.key, authors.c.followers).where(
        authors.c.workspace_id == workspace_id, or_(*conditions)
    )
    return [AuthorRow(r.id, r.platform, r.key, r.followers) for r in conn.execute(stmt)]


def replace_scores(
    conn: Connection, workspace_id: int, watch_id: int | None, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Replace the scope's stored scores with ``rows`` (author_scores columns)."""
    conn.execute(delete(author_scores).where(_scope_condition(workspace_id, watch_id)))
    if rows:
        conn.execute(insert(author_scores), [dict(r) for r in rows])


@dataclass(frozen=True, slots=True)
class ScoreRow:
    author_id: int
    platform: str
    handle: str | None
    name: str | None
    key: str
    score: float
    pagerank: float
    lift: float
    followers: int | None
    mentions: int
    engagement: int
    replies_received: int
    mentioned_by: int
    shared_by: int
    stance: str
    sentiment_mean: float | None
    since: datetime | None
    computed_at: datetime
    inputs: str


def _scope_condition(workspace_id: int, watch_id: int | None) -> Any:
    scope = (
        author_scores.c.watch_id.is_(None)
        if watch_id is None
        else author_scores.c.watch_id == watch_id
    )
    return and_(author_scores.c.workspace_id == workspace_id, scope)


def list_scores(
    conn: Connection,
    workspace_id: int,
    watch_id: int | None,
    *,
    stance: str | None = None,
    keys: Iterable[str] = (),
    limit: int | None = None,
) -> list[ScoreRow]:
    """Stored scores of the scope, best first; ``keys`` keeps only those authors."""
    stmt = (
        select(
            author_scores,
            authors.c.platform,
            authors.c.handle,
            authors.c.name,
            authors.c.key,
        )
        .join(authors, authors.c.id == author_scores.c.author_id)
        .where(_scope_condition(workspace_id, watch_id))
        .order_by(author_scores.c.score.desc(), author_scores.c.pagerank.desc(), authors.c.id)
    )
    if stance is not None:
        stmt = stmt.where(author_scores.c.stance == stance)
    wanted = list(keys)
    if wanted:
        stmt = stmt.where(one_of(conn, authors.c.key, wanted))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        ScoreRow(
            author_id=r.author_id,
            platform=r.platform,
            handle=r.handle,
            name=r.name,
            key=r.key,
            score=r.score,
            pagerank=r.pagerank,
            lift=r.lift,
            followers=r.followers,
            mentions=r.mentions,
            engagement=r.engagement,
            replies_received=r.replies_received,
            mentioned_by=r.mentioned_by,
            shared_by=r.shared_by,
            stance=r.stance,
            sentiment_mean=r.sentiment_mean,
            since=r.since,
            computed_at=r.computed_at,
            inputs=r.inputs,
        )
        for r in conn.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class ScopeState:
    authors: int
    since: datetime | None
    computed_at: datetime


def scope_state(conn: Connection, workspace_id: int, watch_id: int | None) -> ScopeState | None:
    """When the scope's scores were computed and over which period; None if never."""
    row = conn.execute(
        select(
            func.count().label("n"),
            func.max(author_scores.c.computed_at).label("computed_at"),
            func.max(author_scores.c.since).label("since"),
        ).where(_scope_condition(workspace_id, watch_id))
    ).one()
    if not row.n:
        return None
    return ScopeState(authors=int(row.n), since=row.since, computed_at=row.computed_at)
