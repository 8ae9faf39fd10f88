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
keyword of the workspace's watches) and ``comments:URL`` (the comments of one post).
The cursor keeps, per target or keyword, the newest ``created_utc`` seen and the
fullnames already returned (bounded). Reddit's ``X-Ratelimit-*`` headers are obeyed.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import quote, urlsplit

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.values import as_int, as_str, base_url_option, check_options, http_url
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import AuthFailed, ParseError, RateLimited

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

__all__ = [
    "WATCHES",
    "RedditConnector",
    "RedditOptions",
    "Target",
    "parse_comment_tree",
    "parse_listing",
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
_OPTION_RANGES: Final = {"limit": (1, 100), "max_pages": (1, 10)}
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
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
    ``more`` stubs (comments Reddit did not include) are skipped.
    """
    if not isinstance(payload, list) or len(payload) != 2:
        raise ParseError("Reddit comments response is not [post, comments]", source=source_name)
    posts = _children(payload[0], source_name)
    title = None
    if posts:
        _, post = _thing(posts[0], source_name)
        title = as_str(post.get("title"))
    drafts: list[Draft] = []
    stack = list(reversed(_children(payload[1], source_name)))
    while stack:
        kind, data = _thing(stack.pop(), source_name)
        if kind != "t1":
            continue
        drafts.append(_comment_draft(data, source_name, title=title))
        replies = data.get("replies")
        if isinstance(replies, Mapping):
            stack.extend(reversed(_children(replies, source_name)))
    return drafts


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
                drafts, newest = await self._read(session, opts, target, key, progress[key])
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
            progress[key] = _Progress(max(prog.since, newest), list(dict.fromkeys(seen))[:MAX_SEEN])
            checked[key] = now
        if len(keywords) > len(batch):
            notes.append(f"searched {len(batch)} of {len(keywords)} keywords, the rest next time")
        cursor: dict[str, Any] = {
            "targets": {k: {"since": p.since, "seen": p.seen} for k, p in progress.items()},
            "checked": {k: checked[k] for k in keywords if k in checked},
        }
        summary = f"{len(found)} items from Reddit ({session.calls} requests)"
        return FetchResult(list(found.values()), cursor, note="; ".join([summary, *notes]))

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
    ) -> tuple[list[Draft], float]:
        """New items of one target or keyword: drafts and the newest created_utc."""
        if target.mode == "comments":
            path = f"/comments/{target.post_id}"
            payload = await session.get(path, {"sort": "new", "limit": "500"})
            items = parse_comment_tree(payload, source_name=session.source_name)
            return self._fresh(items, prog)
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
        return drafts, newest

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
    seen = data.get("seen")
    names = [s for s in seen if isinstance(s, str)] if isinstance(seen, list) else []
    return _Progress(since, names[:MAX_SEEN])
