"""Reading stored mentions: filters, full-text search, keyset pages, one mention and its thread.

:class:`MentionQuery` is the one description of "which mentions" that the mentions page, the
REST API and the dashboards' drill-down links share; :meth:`MentionQuery.to_params` and
:meth:`MentionQuery.from_params` turn it into query-string pairs and back.

Pages are cut with a keyset cursor on (occurred_at, id), newest first, so a page never
repeats or skips a mention when new ones arrive meanwhile. The cursor is an opaque string
(:func:`encode_cursor`); a damaged one raises :class:`BadCursor`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine

from flocon.domain.models import Mention
from flocon.domain.search import search_terms
from flocon.errors import ConfigError, NotFound
from flocon.services.tags import author_key, normalise_tag, site_key
from flocon.storage.engine import read
from flocon.storage.queries import mention_lists as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = [
    "MAX_LIMIT",
    "SENTIMENTS",
    "BadCursor",
    "BadFilter",
    "MentionPage",
    "MentionQuery",
    "Thread",
    "count_mentions",
    "decode_cursor",
    "encode_cursor",
    "get_mention",
    "list_mentions",
    "page_mentions",
    "thread",
]

#: Sentiment filter values; "unknown" selects mentions not analysed (yet).
SENTIMENTS: Final = ("positive", "neutral", "negative", "unknown")
#: The largest page.
MAX_LIMIT: Final = 500
#: A thread shows at most this many parents above the mention, replies below it, and levels.
THREAD_ANCESTORS: Final = 50
THREAD_REPLIES: Final = 500
THREAD_DEPTH: Final = 20

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR: Final = re.compile(r"^(-?\d{1,20})\.(\d{1,20})$")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class BadFilter(ConfigError):
    """A filter value of a mentions list is invalid (the message names it)."""


class BadCursor(BadFilter):
    """A page cursor is damaged or was not made by :func:`encode_cursor`."""


@dataclass(frozen=True, slots=True)
class MentionQuery:
    """Which mentions, by names and values a person can read.

    ``watches``: mentions of any of these watches (none: of any watch, or also unmatched
    ones with ``include_unmatched``); ``since`` is included, ``until`` excluded;
    ``search``: every word must appear (full-text, accents and case folded); ``author``: a
    handle or name (``@`` and case do not matter); ``site``: a host (``www.`` does not
    matter); ``include_muted``: also mentions of muted authors and sites, hidden by default.
    """

    watches: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    sentiment: str | None = None
    lang: str | None = None
    source_kind: str | None = None
    site: str | None = None
    author: str | None = None
    tag: str | None = None
    needs_answer: bool | None = None
    include_unmatched: bool = False
    include_duplicates: bool = True
    include_muted: bool = False

    def __post_init__(self) -> None:
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise BadFilter(f"sentiment must be one of {', '.join(SENTIMENTS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise BadFilter(f"{name} must be a timezone-aware datetime")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise BadFilter("since must come before until")

    def to_params(self) -> list[tuple[str, str]]:
        """Query-string pairs (``urlencode`` them); defaults are left out, ``watch`` repeats."""
        out = [("watch", w) for w in self.watches]
        for name in ("since", "until"):
            value: datetime | None = getattr(self, name)
            if value is not None:
                out.append((name, value.astimezone(UTC).isoformat()))
        for name in ("search", "sentiment", "lang", "source_kind", "site", "author", "tag"):
            text: str | None = getattr(self, name)
            if text:
                out.append((name, text))
        if self.needs_answer is not None:
            out.append(("needs_answer", "true" if self.needs_answer else "false"))
        if self.include_unmatched:
            out.append(("include_unmatched", "true"))
        if not self.include_duplicates:
            out.append(("include_duplicates", "false"))
        if self.include_muted:
            out.append(("include_muted", "true"))
        return out

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> MentionQuery:
        """The query of query-string pairs (Starlette's ``query_params.multi_items()``).

        Empty values count as absent (a form's blank choice); names that are not filters
        (``cursor``, ``limit``...) are ignored; a date without a time zone is UTC. Raises
        :class:`BadFilter` naming the parameter that is wrong.
        """
        watches: list[str] = []
        values: dict[str, str] = {}
        for name, raw in params:
            value = raw.strip()
            if not value:
                continue
            if name == "watch":
                if value not in watches:
                    watches.append(value)
            else:
                values[name] = value
        return cls(
            watches=tuple(watches),
            since=_when(values, "since"),
            until=_when(values, "until"),
            search=values.get("search"),
            sentiment=values.get("sentiment"),
            lang=values.get("lang"),
            source_kind=values.get("source_kind"),
            site=values.get("site"),
            author=values.get("author"),
            tag=values.get("tag"),
            needs_answer=_flag(values, "needs_answer"),
            include_unmatched=_flag(values, "include_unmatched") or False,
            include_duplicates=_flag(values, "include_duplicates") is not False,
            include_muted=_flag(values, "include_muted") or False,
        )


def _when(values: dict[str, str], name: str) -> datetime | None:
    raw = values.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadFilter(f"{name} must be an ISO 8601 date or datetime (got {raw!r})") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _flag(values: dict[str, str], name: str) -> bool | None:
    raw = values.get(name)
    if raw is None:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadFilter(f"{name} must be true or false (got {raw!r})")


@dataclass(frozen=True, slots=True)
class MentionPage:
    """One page, newest first; ``next_cursor`` is None on the last page."""

    items: list[Mention]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Thread:
    """A mention in its conversation.

    ``root`` is the mention asked for; ``ancestors`` its parents from the top of the thread
    down to its direct parent; ``replies`` everything below it, depth first (each reply
    followed by its own replies, oldest first), with its depth (1: a direct reply).
    ``truncated``: the thread was longer than the limits (THREAD_*) and was cut.
    """

    root: Mention
    ancestors: list[Mention]
    replies: list[tuple[int, Mention]]
    truncated: bool = False


def encode_cursor(occurred_at: datetime, mention_id: int) -> str:
    """The opaque cursor of a keyset position (the last mention of a page)."""
    micros = (occurred_at - _EPOCH) // timedelta(microseconds=1)
    raw = f"{micros}.{mention_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The keyset position of a cursor; :class:`BadCursor` when it is not one."""
    bad = BadCursor("this page link is damaged or out of date: start again from the first page")
    if not cursor or len(cursor) > 64:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad from exc
    match = _CURSOR.match(raw)
    if match is None:
        raise bad
    try:
        at = _EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError as exc:
        raise bad from exc
    return at, int(match.group(2))


def _filter(
    conn: Connection, workspace_id: int, query: MentionQuery, *, limit: int = 50
) -> q.MentionFilter:
    """The storage filter of a query (watch names resolved: NotFound for an unknown one)."""
    watch_ids = tuple(wq.get_by_name(conn, workspace_id, name).id for name in query.watches)
    return q.MentionFilter(
        workspace_id=workspace_id,
        watch_ids=watch_ids,
        since=query.since,
        until=query.until,
        search=query.search,
        lang=query.lang.strip().lower() if query.lang else None,
        include_unmatched=query.include_unmatched,
        include_duplicates=query.include_duplicates,
        limit=limit,
        sentiment=query.sentiment,
        needs_answer=query.needs_answer,
        source_kind=query.source_kind.strip().lower() if query.source_kind else None,
        site=site_key(query.site) if query.site else None,
        author=author_key(query.author) if query.author else None,
        tag=normalise_tag(query.tag) if query.tag else None,
        include_muted=query.include_muted,
    )


def _terms(query: MentionQuery) -> list[str]:
    return search_terms(query.search) if query.search else []


def list_mentions(
    engine: Engine,
    workspace: str,
    *,
    watch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    lang: str | None = None,
    limit: int = 50,
    include_unmatched: bool = False,
    include_duplicates: bool = True,
    sentiment: str | None = None,
    needs_answer: bool | None = None,
    watches: Iterable[str] = (),
    source_kind: str | None = None,
    site: str | None = None,
    author: str | None = None,
    tag: str | None = None,
    include_muted: bool = False,
) -> list[Mention]:
    """Mentions newest first. Without ``watch``/``watches``, only items that matched some
    watch, unless ``include_unmatched``. Muted authors and sites are left out unless
    ``include_muted``."""
    names = tuple(dict.fromkeys([*([watch] if watch else []), *watches]))
    query = MentionQuery(
        watches=names,
        since=since,
        until=until,
        search=search,
        sentiment=sentiment,
        lang=lang,
        source_kind=source_kind,
        site=site,
        author=author,
        tag=tag,
        needs_answer=needs_answer,
        include_unmatched=include_unmatched,
        include_duplicates=include_duplicates,
        include_muted=include_muted,
    )
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.list_mentions(conn, _filter(conn, ws.id, query, limit=limit), _terms(query))


def page_mentions(
    engine: Engine,
    workspace: str,
    query: MentionQuery | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> MentionPage:
    """One page of the mentions ``query`` selects, newest first, after ``cursor`` (the
    previous page's ``next_cursor``; None: the first page)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadFilter(f"limit must be between 1 and {MAX_LIMIT}")
    after = decode_cursor(cursor) if cursor else None
    query = query or MentionQuery()
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        flt = replace(_filter(conn, ws.id, query, limit=limit + 1), after=after)
        rows = q.page(conn, flt, _terms(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return MentionPage(
        items=[r.mention for r in rows],
        next_cursor=encode_cursor(last.occurred_at, last.mention.id) if last else None,
    )


def count_mentions(
    engine: Engine,
    workspace: str,
    query: MentionQuery | None = None,
    *,
    at_most: int | None = None,
) -> int:
    """How many mentions ``query`` selects (for "N mentions" and previews); with ``at_most``,
    counting stops there (a list's "10,000+ mentions" need not read a million rows)."""
    query = query or MentionQuery()
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.count_matching(conn, _filter(conn, ws.id, query), _terms(query), at_most=at_most)


def get_mention(engine: Engine, workspace: str, mention_id: int) -> Mention:
    """One mention of the workspace; NotFound when it has no such mention (another
    workspace's id included)."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        found = q.by_ids(conn, ws.id, [mention_id]).get(mention_id)
    if found is None:
        raise NotFound(f"mention {mention_id} does not exist in this workspace")
    return found


def thread(engine: Engine, workspace: str, mention_id: int) -> Thread:
    """The mention with its parents and its replies (built from ``parent_id``; see
    :class:`Thread`). Muted authors' replies are shown: a thread is read whole."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        root = q.by_ids(conn, ws.id, [mention_id]).get(mention_id)
        if root is None:
            raise NotFound(f"mention {mention_id} does not exist in this workspace")
        truncated = False
        up: list[int] = []
        seen = {mention_id}
        parent = root.parent_id
        while parent is not None and parent not in seen:
            if len(up) >= THREAD_ANCESTORS:
                truncated = True
                break
            up.append(parent)
            seen.add(parent)
            parent = q.parent_of(conn, ws.id, parent)
        children: dict[int, list[int]] = {}
        frontier = [mention_id]
        found = 0
        for _depth in range(THREAD_DEPTH):
            if not frontier:
                break
            pairs = q.replies_to(conn, ws.id, frontier, THREAD_REPLIES - found + 1)
            pairs = [(c, p) for c, p in pairs if c not in seen]
            if found + len(pairs) > THREAD_REPLIES:
                pairs = pairs[: THREAD_REPLIES - found]
                truncated = True
            for child, par in pairs:
                children.setdefault(par, []).append(child)
                seen.add(child)
            found += len(pairs)
            frontier = [c for c, _ in pairs]
            if truncated:
                break
        else:
            truncated = truncated or bool(frontier and q.replies_to(conn, ws.id, frontier, 1))
        loaded = q.by_ids(conn, ws.id, [*up, *seen])
    ordered: list[tuple[int, Mention]] = []
    stack = [(1, c) for c in reversed(children.get(mention_id, []))]
    while stack:
        depth, node = stack.pop()
        if node in loaded:
            ordered.append((depth, loaded[node]))
        stack.extend((depth + 1, c) for c in reversed(children.get(node, [])))
    ancestors = [loaded[i] for i in reversed(up) if i in loaded]
    return Thread(root=root, ancestors=ancestors, replies=ordered, truncated=truncated)
