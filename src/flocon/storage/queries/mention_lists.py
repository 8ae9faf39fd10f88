"""SQL for reading mention lists: filters, full-text search, keyset pages, tags and threads.

:func:`conditions` turns a :class:`MentionFilter` into WHERE conditions; the mentions page,
the API and the dashboards (flocon.storage.queries.dashboard) share it, so a chart's figure
and the list it drills down to select the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    func,
    literal_column,
    or_,
    select,
    text,
)

from flocon.domain.models import Mention
from flocon.storage.queries.mentions import chunks, one_of
from flocon.storage.tables import (
    authors,
    mention_tags,
    mention_watches,
    mentions,
    mutes,
    sources,
    watches,
)


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """Which mentions to list or count. Names are resolved to ids by the caller.

    ``watch_id`` and ``watch_ids`` together: mentions linked to any of them; neither:
    mentions that matched some watch, unless ``include_unmatched``. ``sentiment`` may be
    ``"unknown"`` (not analysed). ``author`` is an author key (handle or name, lower case,
    no ``@``). ``after`` is the keyset position (occurred_at, id) of the last mention of the
    previous page, in the newest-first order.
    """

    workspace_id: int
    watch_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    lang: str | None = None
    include_unmatched: bool = False
    include_duplicates: bool = True
    limit: int = 50
    sentiment: str | None = None
    needs_answer: bool | None = None
    watch_ids: tuple[int, ...] = ()
    source_kind: str | None = None
    site: str | None = None
    author: str | None = None
    tag: str | None = None
    include_muted: bool = False
    after: tuple[datetime, int] | None = None


def _search_condition(conn: Connection, folded_terms: Sequence[str]) -> Any:
    if conn.dialect.name == "sqlite":
        fts_query = " ".join('"' + t.replace('"', '""') + '"' for t in folded_terms)
        return mentions.c.id.in_(
            select(literal_column("rowid"))
            .select_from(text("mention_fts"))
            .where(text("mention_fts MATCH :fts_query").bindparams(fts_query=fts_query))
        )
    plain = " ".join(folded_terms)
    # Stemmed in French and in English, and unstemmed, so either language's forms match.
    tsq = text(
        "(plainto_tsquery('french', :ts_q) || plainto_tsquery('english', :ts_q) "
        "|| plainto_tsquery('simple', :ts_q))"
    ).bindparams(ts_q=plain)
    return literal_column("mentions.search_vector").op("@@")(tsq)


def not_muted(conn: Connection, workspace_id: int) -> list[ColumnElement[bool]]:
    """Conditions on ``mentions`` that leave out muted authors and sites (a muted site also
    mutes its subdomains). None when nothing is muted, so the usual case costs nothing."""
    stmt = select(mutes.c.kind, mutes.c.value).where(mutes.c.workspace_id == workspace_id)
    rows = conn.execute(stmt).all()
    sites = sorted(str(v) for k, v in rows if k == "site")
    keys = sorted(str(v) for k, v in rows if k == "author")
    out: list[ColumnElement[bool]] = []
    if sites:
        hits: list[ColumnElement[bool]] = [mentions.c.site.in_(sites)]
        hits.extend(mentions.c.site.endswith("." + s, autoescape=True) for s in sites)
        out.append(~or_(*hits))
    if keys:
        muted = (
            select(authors.c.id)
            .where(authors.c.workspace_id == workspace_id, authors.c.key.in_(keys))
            .correlate(None)
        )
        out.append(or_(mentions.c.author_id.is_(None), mentions.c.author_id.not_in(muted)))
    return out


def conditions(
    conn: Connection, flt: MentionFilter, folded_terms: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``mentions`` of a filter (everything but ``after`` and
    ``limit``); dashboards reuse them so that their figures and the lists agree."""
    out: list[ColumnElement[bool]] = [mentions.c.workspace_id == flt.workspace_id]
    ids = sorted({*flt.watch_ids, *([flt.watch_id] if flt.watch_id is not None else [])})
    if ids:
        linked = select(mention_watches.c.mention_id)
        if len(ids) == 1:
            linked = linked.where(mention_watches.c.watch_id == ids[0])
        else:
            linked = linked.where(mention_watches.c.watch_id.in_(ids))
        out.append(mentions.c.id.in_(linked))
    elif not flt.include_unmatched:
        out.append(
            select(mention_watches.c.mention_id)
            .where(mention_watches.c.mention_id == mentions.c.id)
            .exists()
        )
    if flt.since is not None:
        out.append(mentions.c.occurred_at >= flt.since)
    if flt.until is not None:
        out.append(mentions.c.occurred_at < flt.until)
    if flt.lang:
        out.append(mentions.c.lang == flt.lang)
    if not flt.include_duplicates:
        out.append(mentions.c.duplicate_of.is_(None))
    if flt.sentiment == "unknown":
        out.append(mentions.c.sentiment.is_(None))
    elif flt.sentiment:
        out.append(mentions.c.sentiment == flt.sentiment)
    if flt.needs_answer is not None:
        out.append(mentions.c.needs_answer.is_(flt.needs_answer))
    if flt.source_kind:
        out.append(
            mentions.c.source_id.in_(
                select(sources.c.id)
                .where(
                    sources.c.workspace_id == flt.workspace_id, sources.c.kind == flt.source_kind
                )
                .correlate(None)
            )
        )
    if flt.site:
        out.append(mentions.c.site == flt.site)
    if flt.author:
        out.append(
            mentions.c.author_id.in_(
                select(authors.c.id)
                .where(authors.c.workspace_id == flt.workspace_id, authors.c.key == flt.author)
                .correlate(None)
            )
        )
    if flt.tag:
        out.append(
            select(mention_tags.c.mention_id)
            .where(mention_tags.c.mention_id == mentions.c.id, mention_tags.c.tag == flt.tag)
            .exists()
        )
    if not flt.include_muted:
        out.extend(not_muted(conn, flt.workspace_id))
    if folded_terms:
        out.append(_search_condition(conn, folded_terms))
    return out


@dataclass(frozen=True, slots=True)
class Listed:
    """A listed mention and its keyset position."""

    mention: Mention
    occurred_at: datetime


def _select_mentions() -> Select[Any]:
    src = sources
    return select(mentions, src.c.kind.label("source_kind"), src.c.name.label("source_name")).join(
        src, src.c.id == mentions.c.source_id
    )


def page(conn: Connection, flt: MentionFilter, folded_terms: Sequence[str]) -> list[Listed]:
    """Mentions newest first (occurred_at, then id), at most ``flt.limit``, after ``flt.after``."""
    stmt = _select_mentions().where(*conditions(conn, flt, folded_terms))
    if flt.after is not None:
        at, last_id = flt.after
        # The first condition bounds the index range; the second breaks ties by id.
        stmt = stmt.where(
            mentions.c.occurred_at <= at,
            or_(mentions.c.occurred_at < at, mentions.c.id < last_id),
        )
    stmt = stmt.order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc()).limit(flt.limit)
    rows = conn.execute(stmt).all()
    built = _mentions(conn, rows)
    return [Listed(m, r.occurred_at) for m, r in zip(built, rows, strict=True)]


def list_mentions(
    conn: Connection, flt: MentionFilter, folded_terms: Sequence[str]
) -> list[Mention]:
    return [item.mention for item in page(conn, flt, folded_terms)]


def count_matching(
    conn: Connection,
    flt: MentionFilter,
    folded_terms: Sequence[str],
    *,
    at_most: int | None = None,
) -> int:
    """How many mentions the filter selects (``after`` and ``limit`` ignored); counting stops
    at ``at_most`` when given (the answer is then at most ``at_most``)."""
    cond = conditions(conn, flt, folded_terms)
    if at_most is None:
        stmt = select(func.count()).select_from(mentions).where(*cond)
    else:
        some = select(mentions.c.id).where(*cond).limit(at_most).subquery()
        stmt = select(func.count()).select_from(some)
    return int(conn.execute(stmt).scalar_one())


def _same_workspace(workspace_id: int) -> Any:
    """The workspace test of lookups by id or parent: written so that SQLite's planner, which
    has no statistics, uses the id or parent index rather than scanning the workspace's
    index (1.4 s for a busy thread at a million mentions, 0.1 ms this way)."""
    return (mentions.c.workspace_id + 0) == workspace_id


def by_ids(conn: Connection, workspace_id: int, ids: Sequence[int]) -> dict[int, Mention]:
    """Mentions of the workspace among ``ids``, by id (others are left out)."""
    found: dict[int, Mention] = {}
    for chunk in chunks(sorted(set(ids))):
        stmt = _select_mentions().where(
            _same_workspace(workspace_id), one_of(conn, mentions.c.id, chunk)
        )
        found.update((m.id, m) for m in _mentions(conn, conn.execute(stmt).all()))
    return found


def parent_of(conn: Connection, workspace_id: int, mention_id: int) -> int | None:
    stmt = select(mentions.c.parent_id).where(
        mentions.c.id == mention_id, mentions.c.workspace_id == workspace_id
    )
    found = conn.execute(stmt).scalar()
    return None if found is None else int(found)


def replies_to(
    conn: Connection, workspace_id: int, parent_ids: Sequence[int], limit: int
) -> list[tuple[int, int]]:
    """(reply id, parent id) of the replies to ``parent_ids``, oldest first, at most ``limit``."""
    out: list[tuple[int, int]] = []
    for chunk in chunks(sorted(set(parent_ids))):
        stmt = (
            select(mentions.c.id, mentions.c.parent_id)
            .where(
                _same_workspace(workspace_id),
                one_of(conn, mentions.c.parent_id, chunk),
            )
            .order_by(mentions.c.occurred_at, mentions.c.id)
            .limit(limit - len(out))
        )
        out.extend((int(i), int(p)) for i, p in conn.execute(stmt))
        if len(out) >= limit:
            break
    return out


def _mentions(conn: Connection, rows: Sequence[Any]) -> list[Mention]:
    ids = [r.id for r in rows]
    names = _watch_names(conn, ids)
    tags = tags_of(conn, ids)
    return [
        Mention(
            id=r.id,
            source_kind=r.source_kind,
            source_name=r.source_name,
            external_id=r.external_id,
            text=r.text,
            title=r.title,
            url=r.url,
            site=r.site,
            author_handle=r.author_handle,
            author_name=r.author_name,
            published_at=r.published_at,
            collected_at=r.collected_at,
            lang=r.lang,
            country=r.country,
            parent_id=r.parent_id,
            likes=r.likes,
            shares=r.shares,
            replies=r.replies,
            duplicate_of=r.duplicate_of,
            watches=tuple(names.get(r.id, ())),
            sentiment=r.sentiment,
            sentiment_score=r.sentiment_score,
            needs_answer=r.needs_answer,
            tags=tuple(tags.get(r.id, ())),
        )
        for r in rows
    ]


def _watch_names(conn: Connection, mention_ids: Sequence[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for chunk in chunks(list(mention_ids)):
        stmt = (
            select(mention_watches.c.mention_id, watches.c.name)
            .join(watches, watches.c.id == mention_watches.c.watch_id)
            .where(one_of(conn, mention_watches.c.mention_id, chunk))
            .order_by(watches.c.name)
        )
        for mid, name in conn.execute(stmt):
            names.setdefault(mid, []).append(name)
    return names


def tags_of(conn: Connection, mention_ids: Sequence[int]) -> dict[int, list[str]]:
    """Mention id → its tags, in alphabetical order."""
    out: dict[int, list[str]] = {}
    for chunk in chunks(sorted(set(mention_ids))):
        stmt = (
            select(mention_tags.c.mention_id, mention_tags.c.tag)
            .where(one_of(conn, mention_tags.c.mention_id, chunk))
            .order_by(mention_tags.c.tag)
        )
        for mid, tag in conn.execute(stmt):
            out.setdefault(int(mid), []).append(str(tag))
    return out
