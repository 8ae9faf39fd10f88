"""The ``reddit`` connector: posts and comments from Reddit's listing and search endpoints.

:func:`parse_listing` (a ``Listing`` of posts or comments → drafts) and
:func:`parse_comment_tree` (the ``/comments/ID`` response → one draft per comment,
each pointing at its parent) are pure. :class:`RedditConnector` moves the bytes:

* with ``client_id`` + ``client_secret`` credentials it asks an application token
  (``client_credentials``, or ``password`` when ``username``/``password`` are given
  for a "script" app) and calls ``https://oauth.reddit.com``;
* without them it reads the public ``https://www.reddit.com/….json`` pages (much
  lower limits) and says so in the note.

Targets: ``search:QUERY``, ``r/SUB``, ``r/SUB?q=QUERY``, ``watches`` (one search per
keyword of the workspace's watches) and ``comments:URL`` (the comments of one post,
with those Reddit left out behind ``more`` stubs: ``/api/morechildren`` and "continue
this thread" pages, at most ``max_more`` calls per fetch, the rest kept in the cursor).
The cursor keeps, per target or keyword, the newest ``created_utc`` seen and the
fullnames already returned (bounded). Reddit's ``X-Ratelimit-*`` headers are obeyed.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import quote, urlsplit

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.values import as_int, as_str, base_url_option, check_options, http_url
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import AuthFailed, ConnectorError, ParseError, RateLimited, SourceGone

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

__all__ = [
    "WATCHES",
    "MoreStub",
    "RedditConnector",
    "RedditOptions",
    "Target",
    "parse_comment_page",
    "parse_comment_tree",
    "parse_listing",
    "parse_more_children",
    "parse_options",
    "parse_target",
]

logger = logging.getLogger(__name__)

KIND: Final = "reddit"
WATCHES: Final = "watches"
WWW: Final = "https://www.reddit.com"
OAUTH_BASE_URL: Final = "https://oauth.reddit.com"
AUTH_URL: Final = "https://www.reddit.com/api/v1/access_token"
#: Keyword searches per fetch; with more keywords, the least recently searched go first.
MAX_KEYWORDS: Final = 10
MAX_QUERY_CHARS: Final = 512
#: Fullnames remembered per target, to drop what was already returned.
MAX_SEEN: Final = 500
#: Look back this far before the cursor: search indexes lag a little behind.
INDEX_LAG_S: Final = 3600
_OPTION_RANGES: Final = {"limit": (1, 100), "max_pages": (1, 10), "max_more": (0, 50)}
#: Comment ids per ``/api/morechildren`` call (Reddit's own limit).
MORE_BATCH: Final = 100
#: Comment ids (and "continue this thread" parents) left for the next fetch, per post.
MAX_PENDING: Final = 2000
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
_SHORT_ID = re.compile(r"[a-z0-9]{1,13}")
_POST_ID = re.compile(r"/comments/([a-z0-9]{1,12})(?:/|$)")
_DELETED = frozenset({"[deleted]", "[removed]"})


# --------------------------------------------------------------------------- parsing


def parse_listing(payload: Any, *, source_name: str) -> list[Draft]:
    """The drafts of one ``Listing`` (posts ``t3`` and comments ``t1``); no I/O."""
    children = _children(payload, source_name)
    drafts = []
    for child in children:
        kind, data = _thing(child, source_name)
        if kind == "t3":
            drafts.append(_post_draft(data, source_name))
        elif kind == "t1":
            drafts.append(_comment_draft(data, source_name, title=as_str(data.get("link_title"))))
    return drafts


def parse_comment_tree(payload: Any, *, source_name: str) -> list[Draft]:
    """Every comment of a ``/comments/ID`` response (``[post listing, comment listing]``).

    Replies are walked depth first; each draft's ``parent_external_id`` is the
    fullname of its parent (``t1_…`` for a reply, ``t3_…`` for a top-level comment).
    ``more`` stubs (comments Reddit did not include) are left out: see
    :func:`parse_comment_page` for them.
    """
    return parse_comment_page(payload, source_name=source_name)[0]


@dataclass(frozen=True, slots=True)
class MoreStub:
    """A ``more`` thing: comments Reddit left out of a response.

    ``children`` are the short ids to ask ``/api/morechildren`` for; a stub without
    children ("continue this thread", ``id`` ``_``) stands for the replies below
    ``parent_id``, read from that comment's own page (``/comments/POST/_/PARENT``).
    """

    parent_id: str
    children: tuple[str, ...]
    count: int = 0

    @property
    def is_thread(self) -> bool:
        return not self.children


def parse_comment_page(
    payload: Any, *, source_name: str
) -> tuple[list[Draft], list[MoreStub], str | None]:
    """A ``/comments/ID`` response: its comments, its ``more`` stubs and the post's title."""
    if not isinstance(payload, list) or len(payload) != 2:
        raise ParseError("Reddit comments response is not [post, comments]", source=source_name)
    posts = _children(payload[0], source_name)
    title = None
    if posts:
        _, post = _thing(posts[0], source_name)
        title = as_str(post.get("title"))
    drafts, stubs = _walk(_children(payload[1], source_name), source_name, title)
    return drafts, stubs, title


def parse_more_children(
    payload: Any, *, source_name: str, title: str | None = None
) -> tuple[list[Draft], list[MoreStub]]:
    """An ``/api/morechildren?api_type=json`` response (``json.data.things``): its
    comments (``t1``, flat, each with its ``parent_id``) and its further ``more`` stubs."""
    body = payload.get("json") if isinstance(payload, Mapping) else None
    if not isinstance(body, Mapping):
        raise ParseError("Reddit morechildren response has no json object", source=source_name)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        raise ParseError(f"Reddit refused morechildren: {errors[0]!r}", source=source_name)
    data = body.get("data")
    things = data.get("things") if isinstance(data, Mapping) else None
    if things is None and not errors:
        return [], []  # Reddit answers {"json": {"errors": []}} when nothing is left
    if not isinstance(things, list):
        raise ParseError("Reddit morechildren response has no things", source=source_name)
    return _walk(things, source_name, title)


def _walk(
    children: list[Any], source_name: str, title: str | None
) -> tuple[list[Draft], list[MoreStub]]:
    """Comments of a list of things and of their replies, depth first, and the stubs."""
    drafts: list[Draft] = []
    stubs: list[MoreStub] = []
    stack = list(reversed(children))
    while stack:
        kind, data = _thing(stack.pop(), source_name)
        if kind == "more":
            if (stub := _stub(data)) is not None:
                stubs.append(stub)
            continue
        if kind != "t1":
            continue
        drafts.append(_comment_draft(data, source_name, title=title))
        replies = data.get("replies")
        if isinstance(replies, Mapping):
            stack.extend(reversed(_children(replies, source_name)))
    return drafts, stubs


def _stub(data: Mapping[str, Any]) -> MoreStub | None:
    parent = as_str(data.get("parent_id"))
    raw = data.get("children")
    ids = (
        tuple(c for c in raw if isinstance(c, str) and _SHORT_ID.fullmatch(c))
        if isinstance(raw, list)
        else ()
    )
    count = as_int(data.get("count"), floats=True) or 0
    if parent is None:
        return None
    thread = parent.startswith("t1_") and _SHORT_ID.fullmatch(parent[3:]) is not None
    if not ids and not (thread and as_str(data.get("id")) == "_"):
        return None
    return MoreStub(parent, ids, count)


def _children(payload: Any, source_name: str) -> list[Any]:
    data = payload.get("data") if isinstance(payload, Mapping) else None
    children = data.get("children") if isinstance(data, Mapping) else None
    if not isinstance(children, list):
        raise ParseError("Reddit response is not a Listing with children", source=source_name)
    return children


def _thing(child: Any, source_name: str) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(child, Mapping) or not isinstance(child.get("data"), Mapping):
        raise ParseError("Reddit listing child is not a thing", source=source_name)
    return str(child.get("kind", "")), child["data"]


def _fullname(data: Mapping[str, Any], prefix: str, source_name: str) -> str:
    name = as_str(data.get("name"))
    if name is None and (short := as_str(data.get("id"))):
        name = f"{prefix}_{short}"
    if name is None:
        raise ParseError("Reddit item without a name or id", source=source_name)
    return name


def _common(data: Mapping[str, Any], fullname: str, source_name: str) -> dict[str, Any]:
    author = as_str(data.get("author"))
    permalink = as_str(data.get("permalink"))
    return {
        "source_kind": KIND,
        "source_name": source_name,
        "external_id": fullname,
        "url": WWW + permalink if permalink and permalink.startswith("/") else None,
        "author": AuthorRef(handle=author) if author and author not in _DELETED else None,
        "published_at": _created(data),
        "likes": as_int(data.get("score"), floats=True),
    }


def _post_draft(data: Mapping[str, Any], source_name: str) -> Draft:
    fullname = _fullname(data, "t3", source_name)
    title = as_str(data.get("title"))
    body_html = as_str(data.get("selftext_html"))
    body = as_str(data.get("selftext"))
    if body_html:
        text = f"<p>{html.escape(title or '', quote=False)}</p>\n{body_html}"
    elif body:
        text = f"{title or ''}\n\n{body}".strip()
    else:
        text = title or ""
    common = _common(data, fullname, source_name)
    if common["url"] is None:
        common["url"] = http_url(data.get("url"))
    return Draft(
        text=text, title=title, replies=as_int(data.get("num_comments"), floats=True), **common
    )


def _comment_draft(data: Mapping[str, Any], source_name: str, *, title: str | None) -> Draft:
    fullname = _fullname(data, "t1", source_name)
    return Draft(
        text=as_str(data.get("body")) or "",
        title=title,
        parent_external_id=as_str(data.get("parent_id")),
        **_common(data, fullname, source_name),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _created(data: Mapping[str, Any]) -> datetime | None:
    stamp = _number(data.get("created_utc"))
    if stamp is None:
        return None
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------- targets and options


@dataclass(frozen=True, slots=True)
class Target:
    """What one reddit source reads. ``mode``: search, subreddit, comments or watches."""

    mode: str
    query: str = ""
    subreddit: str = ""
    post_id: str = ""

    def canonical(self) -> str:
        if self.mode == "watches":
            return WATCHES
        if self.mode == "comments":
            return f"comments:{WWW}/comments/{self.post_id}"
        if self.mode == "subreddit":
            return f"r/{self.subreddit}" + (f"?q={self.query}" if self.query else "")
        return f"search:{self.query}"


def parse_target(target: str) -> Target:
    """Read a target; raises ValueError with the accepted forms."""
    text = target.strip()
    if text.lower() == WATCHES:
        return Target("watches")
    lowered = text.lower()
    if lowered.startswith("search:"):
        return Target("search", query=_query(text[len("search:") :]))
    if lowered.startswith("comments:"):
        url = text[len("comments:") :].strip()
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == "redd.it":
            post_id = parts.path.strip("/")
        elif host == "reddit.com" or host.endswith(".reddit.com"):
            match = _POST_ID.search(parts.path + "/")
            post_id = match.group(1) if match else ""
        else:
            post_id = ""
        if not re.fullmatch(r"[a-z0-9]{1,12}", post_id):
            raise ValueError("comments: needs a Reddit post address (…/comments/ID/…)")
        return Target("comments", post_id=post_id)
    if lowered.startswith(("r/", "/r/")):
        name, _, rest = text.lstrip("/")[2:].partition("?")
        name = name.strip().strip("/")
        if not _SUBREDDIT.fullmatch(name):
            raise ValueError(f"{name!r} is not a subreddit name")
        query = ""
        if rest:
            if not rest.startswith("q="):
                raise ValueError("a subreddit search is written r/SUBREDDIT?q=QUERY")
            query = _query(rest[2:])
        return Target("subreddit", subreddit=name, query=query)
    raise ValueError(
        "a reddit target is search:QUERY, r/SUBREDDIT, r/SUBREDDIT?q=QUERY, "
        "comments:POST_URL or watches"
    )


def _query(raw: str) -> str:
    query = " ".join(raw.split())
    if not query:
        raise ValueError("the Reddit search is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"a Reddit search has at most {MAX_QUERY_CHARS} characters")
    return query


@dataclass(frozen=True, slots=True)
class RedditOptions:
    """``--option`` values of a reddit source (``base_url``/``auth_url`` are for tests)."""

    base_url: str | None = None
    auth_url: str = AUTH_URL
    limit: int = 100
    max_pages: int = 3
    #: ``/api/morechildren`` and "continue this thread" calls per fetch of a post's comments.
    max_more: int = 10


def parse_options(options: Mapping[str, str]) -> RedditOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url", "auth_url"), ranges=_OPTION_RANGES)
    urls = {name: base_url_option(options, name) for name in ("base_url", "auth_url")}
    return RedditOptions(
        base_url=urls["base_url"], auth_url=urls["auth_url"] or AUTH_URL, **numbers
    )


# --------------------------------------------------------------------------- fetching


class _Stop(Exception):
    """Reddit's rate-limit window is used up: return what was found (``drafts``)."""

    def __init__(self) -> None:
        super().__init__("rate limit used up")
        self.drafts: list[Draft] = []


@dataclass
class _Session:
    """One fetch's way to call Reddit: base, token, rate-limit state."""

    http: HttpClient
    base: str
    token: str | None
    source_name: str
    remaining: float | None = None
    reset: float | None = None
    found_any: bool = False
    calls: int = field(default=0)
    notes: list[str] = field(default_factory=list)

    async def get(self, path: str, params: dict[str, str]) -> Any:
        if self.remaining is not None and self.remaining < 1:
            if not self.found_any:
                raise RateLimited(
                    f"Reddit's rate limit is used up; it resets in {self.reset or 0:.0f} s",
                    retry_after=self.reset,
                    source=self.source_name,
                )
            raise _Stop
        headers = {"Authorization": f"bearer {self.token}"} if self.token else None
        url = self.base + (path if self.token else path + ".json")
        response = await self.http.get(url, headers=headers, params={**params, "raw_json": "1"})
        self.calls += 1
        self._read_limits(response)
        return response.json()

    def _read_limits(self, response: HttpResponse) -> None:
        remaining = _number(response.headers.get("x-ratelimit-remaining"))
        if remaining is not None:
            self.remaining = remaining
            self.reset = _number(response.headers.get("x-ratelimit-reset"))
            used = response.headers.get("x-ratelimit-used")
            logger.debug("reddit rate limit: used %s, remaining %s", used, remaining)


@dataclass
class _Progress:
    since: float
    seen: list[str]
    #: Comments target only: ids of ``more`` stubs not expanded yet, and the parents of
    #: "continue this thread" stubs not read yet (older than ``since``, never returned).
    more: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"since": self.since, "seen": self.seen}
        if self.more:
            state["more"] = self.more
        if self.threads:
            state["threads"] = self.threads
        return state


@dataclass
class _Expansion:
    """One queued call for left-out comments; ``old``: asked for by the cursor, so it is
    returned even when older than ``since`` (only what was seen is dropped)."""

    ids: tuple[str, ...]
    thread: str = ""
    old: bool = False


class RedditConnector:
    """Reads Reddit searches, subreddits and post comments, newest first, since the last fetch."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "Reddit posts and comments: searches, subreddits, a post's comments"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``search:…``, ``r/…``, ``r/…?q=…``, ``comments:…`` or ``watches``, in canonical form."""
        parse_options(options)
        return parse_target(target).canonical()

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Each search or listing since the cursor, page by page, within Reddit's rate limit."""
        opts = parse_options(source.options)
        target = parse_target(source.target)
        now = self._clock()
        notes: list[str] = []
        if target.mode == "watches":
            keywords = keywords_from_queries(source.queries)
            if not keywords:
                note = "no watch has a keyword to search on Reddit"
                return FetchResult([], dict(source.cursor), note=note)
        else:
            keywords = [target.canonical()]
        session = await self._session(source, http, opts, notes)
        cursor_targets = source.cursor.get("targets")
        stored = cursor_targets if isinstance(cursor_targets, Mapping) else {}
        checked = {
            k: v
            for k, v in (_mapping(source.cursor.get("checked"))).items()
            if isinstance(v, int | float)
        }
        batch = sorted(keywords, key=lambda k: checked.get(k, 0))[:MAX_KEYWORDS]
        progress = {k: _progress(stored.get(k)) for k in keywords}
        found: dict[str, Draft] = {}
        for key in batch:
            try:
                drafts, newest, left = await self._read(session, opts, target, key, progress[key])
            except _Stop as stop:
                # The interrupted target keeps its cursor: its older pages come next time.
                for draft in stop.drafts:
                    found.setdefault(draft.external_id or "", draft)
                notes.append(
                    f"Reddit's rate limit is used up (resets in {session.reset or 0:.0f} s); "
                    "the rest next time"
                )
                break
            except RateLimited as exc:
                if not found:
                    raise
                notes.append(f"stopped early: {exc}")
                break
            for draft in drafts:
                found.setdefault(draft.external_id or "", draft)
            session.found_any = session.found_any or bool(drafts)
            prog = progress[key]
            seen = [d.external_id for d in drafts if d.external_id] + prog.seen
            progress[key] = _Progress(
                max(prog.since, newest),
                list(dict.fromkeys(seen))[:MAX_SEEN],
                *left,
            )
            checked[key] = now
        if len(keywords) > len(batch):
            notes.append(f"searched {len(batch)} of {len(keywords)} keywords, the rest next time")
        cursor: dict[str, Any] = {
            "targets": {k: p.state() for k, p in progress.items()},
            "checked": {k: checked[k] for k in keywords if k in checked},
        }
        summary = f"{len(found)} items from Reddit ({session.calls} requests)"
        note = "; ".join([summary, *session.notes, *notes])
        return FetchResult(list(found.values()), cursor, note=note)

    async def _session(
        self, source: SourceSpec, http: HttpClient, opts: RedditOptions, notes: list[str]
    ) -> _Session:
        client_id = source.credentials.get("client_id", "").strip()
        secret = source.credentials.get("client_secret", "").strip()
        if not (client_id and secret):
            notes.append(
                "no Reddit app credentials: reading the public JSON pages, which Reddit "
                "limits much more (add client_id and client_secret)"
            )
            return _Session(http, opts.base_url or WWW, None, source.name)
        username = source.credentials.get("username", "").strip()
        password = source.credentials.get("password", "")
        form = (
            {"grant_type": "password", "username": username, "password": password}
            if username and password
            else {"grant_type": "client_credentials"}
        )
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
        response = await http.post(
            opts.auth_url, data=form, headers={"Authorization": f"Basic {basic}"}
        )
        payload = response.json()
        token = payload.get("access_token") if isinstance(payload, Mapping) else None
        if not isinstance(token, str) or not token:
            error = payload.get("error") if isinstance(payload, Mapping) else None
            raise AuthFailed(
                f"Reddit gave no access token ({error or 'unexpected answer'}): check the "
                "client_id, client_secret, username and password of the app",
                source=source.name,
                url=opts.auth_url,
            )
        return _Session(http, opts.base_url or OAUTH_BASE_URL, token, source.name)

    async def _read(
        self, session: _Session, opts: RedditOptions, target: Target, key: str, prog: _Progress
    ) -> tuple[list[Draft], float, tuple[list[str], list[str]]]:
        """New items of one target or keyword: drafts, the newest created_utc, and (for a
        post's comments) the left-out comment ids and thread parents kept for next time."""
        if target.mode == "comments":
            return await self._read_comments(session, opts, target.post_id, prog)
        path, params = _listing_request(target, key)
        drafts: list[Draft] = []
        newest = prog.since
        after: str | None = None
        for _ in range(opts.max_pages):
            page_params = {**params, "limit": str(opts.limit)}
            if after:
                page_params["after"] = after
            try:
                payload = await session.get(path, page_params)
            except _Stop as stop:
                stop.drafts = drafts
                raise
            items = parse_listing(payload, source_name=session.source_name)
            fresh, page_newest = self._fresh(items, prog)
            drafts.extend(fresh)
            session.found_any = session.found_any or bool(fresh)
            newest = max(newest, page_newest)
            data = payload.get("data") if isinstance(payload, Mapping) else None
            after = as_str(data.get("after")) if isinstance(data, Mapping) else None
            reached_old = any(
                d.published_at is not None and d.published_at.timestamp() < prog.since
                for d in items
            )
            if not after or not items or reached_old:
                break
        return drafts, newest, ([], [])

    async def _read_comments(
        self, session: _Session, opts: RedditOptions, post_id: str, prog: _Progress
    ) -> tuple[list[Draft], float, tuple[list[str], list[str]]]:
        """A post's comment tree, then the comments its ``more`` stubs left out, at most
        ``max_more`` calls; what is left is kept in the cursor for the next fetch."""
        payload = await session.get(f"/comments/{post_id}", {"sort": "new", "limit": "500"})
        items, stubs, title = parse_comment_page(payload, source_name=session.source_name)
        drafts, newest = self._fresh(items, prog)
        session.found_any = session.found_any or bool(drafts)
        seen = set(prog.seen) | {d.external_id for d in items if d.external_id}
        queue: deque[_Expansion] = deque()
        for start in range(0, len(prog.more), MORE_BATCH):
            queue.append(_Expansion(tuple(prog.more[start : start + MORE_BATCH]), old=True))
        queue.extend(_Expansion((), thread=parent, old=True) for parent in prog.threads)
        queued = set(prog.more) | {f"thread:{t}" for t in prog.threads}

        def enqueue(found: list[MoreStub], *, old: bool) -> None:
            for stub in found:
                if stub.is_thread:
                    parent = stub.parent_id.removeprefix("t1_")
                    if f"thread:{parent}" not in queued:
                        queued.add(f"thread:{parent}")
                        queue.append(_Expansion((), thread=parent, old=old))
                    continue
                ids = [c for c in stub.children if c not in queued and f"t1_{c}" not in seen]
                queued.update(ids)
                for start in range(0, len(ids), MORE_BATCH):
                    queue.append(_Expansion(tuple(ids[start : start + MORE_BATCH]), old=old))

        enqueue(stubs, old=False)
        calls = 0
        stopped = False
        while queue and calls < opts.max_more:
            job = queue[0]
            try:
                if job.thread:
                    page = await session.get(
                        f"/comments/{post_id}/_/{job.thread}", {"sort": "new", "limit": "500"}
                    )
                    found, more, _ = parse_comment_page(page, source_name=session.source_name)
                else:
                    params = {
                        "link_id": f"t3_{post_id}",
                        "children": ",".join(job.ids),
                        "api_type": "json",
                        "sort": "new",
                    }
                    page = await session.get("/api/morechildren", params)
                    found, more = parse_more_children(
                        page, source_name=session.source_name, title=title
                    )
            except (_Stop, RateLimited) as exc:
                reason = "Reddit's rate limit is used up" if isinstance(exc, _Stop) else str(exc)
                session.notes.append(
                    f"{reason} while reading left-out comments; the rest next time"
                )
                stopped = True
                break
            except (ParseError, SourceGone) as exc:
                # a deleted thread, a refused batch: the others may still be read
                session.notes.append(f"skipped some left-out comments: {exc}")
                found, more = [], []
            except ConnectorError as exc:
                session.notes.append(
                    f"stopped reading left-out comments: {exc}; the rest next time"
                )
                stopped = True
                break
            queue.popleft()
            calls += 1
            fresh = [d for d in found if d.external_id not in seen]
            if not job.old:
                fresh, _ = self._fresh(fresh, prog)
            seen.update(d.external_id for d in found if d.external_id)
            drafts.extend(fresh)
            session.found_any = session.found_any or bool(fresh)
            stamps = [d.published_at.timestamp() for d in fresh if d.published_at is not None]
            newest = max([newest, *stamps])
            enqueue(more, old=job.old)
        more_ids = [i for job in queue for i in job.ids][:MAX_PENDING]
        threads = [job.thread for job in queue if job.thread][:MAX_PENDING]
        if queue and not stopped:
            left = len(more_ids) + len(threads)
            session.notes.append(
                f"{left} left-out comment ids or threads of post {post_id} not read yet "
                f"(max_more={opts.max_more} calls per fetch): the rest next time"
            )
        return drafts, newest, (more_ids, threads)

    @staticmethod
    def _fresh(items: list[Draft], prog: _Progress) -> tuple[list[Draft], float]:
        seen = set(prog.seen)
        floor = prog.since - INDEX_LAG_S if prog.since else 0
        fresh = [
            d
            for d in items
            if d.external_id not in seen
            and (d.published_at is None or d.published_at.timestamp() >= floor)
        ]
        stamps = [d.published_at.timestamp() for d in fresh if d.published_at is not None]
        return fresh, max([prog.since, *stamps])


def _listing_request(target: Target, key: str) -> tuple[str, dict[str, str]]:
    if target.mode == "subreddit" and not target.query:
        return f"/r/{target.subreddit}/new", {}
    if target.mode == "subreddit":
        path = f"/r/{quote(target.subreddit)}/search"
        return path, {"q": target.query, "restrict_sr": "on", "sort": "new", "type": "link"}
    query = key if target.mode == "watches" else target.query
    return "/search", {"q": query, "sort": "new", "type": "link"}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _progress(value: Any) -> _Progress:
    data = _mapping(value)
    since = _number(data.get("since")) or 0.0
    return _Progress(
        since,
        _strings(data.get("seen"))[:MAX_SEEN],
        [i for i in _strings(data.get("more")) if _SHORT_ID.fullmatch(i)][:MAX_PENDING],
        [i for i in _strings(data.get("threads")) if _SHORT_ID.fullmatch(i)][:MAX_PENDING],
    )


def _strings(value: Any) -> list[str]:
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []
