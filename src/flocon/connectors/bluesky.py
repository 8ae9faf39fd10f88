"""The ``bluesky`` connector: posts matching a search, via ``app.bsky.feed.searchPosts``.

:func:`parse_posts` (one search response → drafts) is pure. :class:`BlueskyConnector`
logs in with an app password (``com.atproto.server.createSession`` on the PDS, option
``service``), keeps the access token in memory only, and asks searchPosts for each
keyword, newest first, page by page, from the newest ``indexedAt`` it saw last time
(kept in the cursor, per keyword).

The target is a search or ``watches`` (one search per keyword the workspace's watches
require; see :func:`~flocon.connectors.hackernews.keywords_from_queries`). The
Jetstream firehose is not used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import quote

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.values import (
    as_datetime,
    as_int,
    as_str,
    base_url_option,
    check_options,
    str_map,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import AuthFailed, FetchError, ParseError

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

__all__ = [
    "BlueskyConnector",
    "BlueskyOptions",
    "parse_options",
    "parse_posts",
    "post_url",
]

logger = logging.getLogger(__name__)

KIND: Final = "bluesky"
WATCHES: Final = "watches"
DEFAULT_SERVICE: Final = "https://bsky.social"
SESSION_PATH: Final = "/xrpc/com.atproto.server.createSession"
SEARCH_PATH: Final = "/xrpc/app.bsky.feed.searchPosts"
APP_URL: Final = "https://bsky.app/profile/"
PAGE_LIMIT: Final = 100
MAX_KEYWORDS: Final = 10
MAX_QUERY_CHARS: Final = 200
#: How far before the cursor each search starts: ``since`` filters on a post's ``sortAt``
#: (the earlier of createdAt and indexedAt) while the cursor keeps the newest indexedAt,
#: and the search index can lag. What comes back twice is deduplicated on ingest.
INDEX_LAG: Final = timedelta(minutes=10)
_OPTION_RANGES: Final = {"lookback_hours": (1, 24 * 30), "max_pages": (1, 10)}
_CREDENTIALS_HELP: Final = (
    "add the credentials identifier (your handle, e.g. name.bsky.social, or e-mail) and "
    "app_password (Bluesky: Settings → Privacy and security → App passwords)"
)


# --------------------------------------------------------------------------- parsing


def parse_posts(payload: Any, *, source_name: str) -> list[Draft]:
    """The drafts of one searchPosts response (``{"posts": [...], "cursor": ...}``); no I/O."""
    posts = payload.get("posts") if isinstance(payload, Mapping) else None
    if not isinstance(posts, list):
        raise ParseError("Bluesky search response has no 'posts' list", source=source_name)
    return [_post_draft(post, source_name) for post in posts]


def post_url(uri: str, handle: str | None) -> str | None:
    """``https://bsky.app/profile/{handle}/post/{rkey}`` for an ``at://`` post URI."""
    if not uri.startswith("at://"):
        return None
    parts = uri[len("at://") :].split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post" or not parts[2]:
        return None
    who = handle if handle and handle != "handle.invalid" else parts[0]
    return f"{APP_URL}{quote(who, safe='.:')}/post/{quote(parts[2], safe='')}"


def _post_draft(post: Any, source_name: str) -> Draft:
    if not isinstance(post, Mapping):
        raise ParseError("Bluesky post is not an object", source=source_name)
    uri = as_str(post.get("uri"))
    if uri is None or not uri.startswith("at://"):
        raise ParseError("Bluesky post without an at:// uri", source=source_name)
    record = post.get("record")
    record = record if isinstance(record, Mapping) else {}
    author = post.get("author")
    author = author if isinstance(author, Mapping) else {}
    handle = as_str(author.get("handle"))
    langs = record.get("langs")
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, Mapping) else None
    reposts, quotes = as_int(post.get("repostCount")), as_int(post.get("quoteCount"))
    shares = None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0)
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        external_id=uri,
        text=as_str(record.get("text")) or "",
        url=post_url(uri, handle),
        author=AuthorRef(handle=handle, name=as_str(author.get("displayName")))
        if handle or author.get("displayName")
        else None,
        published_at=as_datetime(record.get("createdAt")) or as_datetime(post.get("indexedAt")),
        lang=as_str(langs[0]) if isinstance(langs, list) and langs else None,
        parent_external_id=as_str(parent.get("uri")) if isinstance(parent, Mapping) else None,
        likes=as_int(post.get("likeCount")),
        shares=shares,
        replies=as_int(post.get("replyCount")),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class BlueskyOptions:
    """``--option`` values of a bluesky source."""

    service: str = DEFAULT_SERVICE
    lookback_hours: int = 24
    max_pages: int = 3


def parse_options(options: Mapping[str, str]) -> BlueskyOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("service",), ranges=_OPTION_RANGES)
    service = base_url_option(options, "service", DEFAULT_SERVICE)
    return BlueskyOptions(service=service, **numbers)


# --------------------------------------------------------------------------- fetching


class BlueskyConnector:
    """Searches Bluesky posts, newest first, since the last fetch (needs an app password)."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "Bluesky posts matching a search or your watches (app password)"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: Access tokens by (service, identifier), in memory only.
        self._tokens: dict[tuple[str, str], str] = {}

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``watches``, or a search (spaces collapsed, at most 200 characters)."""
        parse_options(options)
        query = " ".join(target.split())
        if query.lower() == WATCHES:
            return WATCHES
        if not query:
            raise ValueError("a bluesky target is a search (e.g. 'sqlite lang:fr') or 'watches'")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"a Bluesky search has at most {MAX_QUERY_CHARS} characters")
        return query

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Search each keyword for posts indexed since the cursor, following pages up to a cap."""
        opts = parse_options(source.options)
        identifier = (source.credentials.get("identifier") or "").strip()
        password = source.credentials.get("app_password") or ""
        if not identifier or not password.strip():
            raise AuthFailed(
                f"Bluesky search needs an account: {_CREDENTIALS_HELP}", source=source.name
            )
        now = datetime.fromtimestamp(self._clock(), UTC)
        if source.target == WATCHES:
            keywords = keywords_from_queries(source.queries)
            if not keywords:
                note = "no watch has a keyword to search on Bluesky"
                return FetchResult([], dict(source.cursor), note=note)
        else:
            keywords = [source.target]
        since = str_map(source.cursor.get("since"))
        checked = str_map(source.cursor.get("checked"))
        batch = sorted(keywords, key=lambda k: checked.get(k, ""))[:MAX_KEYWORDS]
        session = _Session(self._tokens, http, opts.service, identifier, password, source.name)
        found: dict[str, Draft] = {}
        notes: list[str] = []
        for keyword in batch:
            last = as_datetime(since.get(keyword)) or now - timedelta(hours=opts.lookback_hours)
            drafts, newest, note = await self._search(session, opts, keyword, last, source.name)
            for draft in drafts:
                found.setdefault(draft.external_id or "", draft)
            since[keyword] = newest
            checked[keyword] = _iso(now)
            if note:
                notes.append(note)
        if len(keywords) > len(batch):
            notes.append(f"searched {len(batch)} of {len(keywords)} keywords, the rest next time")
        cursor: dict[str, Any] = {
            "since": {k: since[k] for k in keywords if k in since},
            "checked": {k: checked[k] for k in keywords if k in checked},
        }
        summary = f"{len(found)} posts for {', '.join(repr(k) for k in batch)}"
        return FetchResult(list(found.values()), cursor, note="; ".join([summary, *notes]))

    async def _search(
        self, session: _Session, opts: BlueskyOptions, keyword: str, last: datetime, name: str
    ) -> tuple[list[Draft], str, str]:
        """All pages (up to the cap) of one keyword since ``last`` (less :data:`INDEX_LAG`):
        drafts, newest indexedAt (never before ``last``), a note."""
        drafts: list[Draft] = []
        since = _iso(last - INDEX_LAG)
        newest = _iso(last)
        page_cursor: str | None = None
        for _ in range(opts.max_pages):
            params = {"q": keyword, "sort": "latest", "since": since, "limit": str(PAGE_LIMIT)}
            if page_cursor:
                params["cursor"] = page_cursor
            payload = await session.get(SEARCH_PATH, params)
            posts = parse_posts(payload, source_name=name)
            drafts.extend(posts)
            newest = _newest_indexed(payload, newest)
            page_cursor = as_str(payload.get("cursor"))
            if not posts or page_cursor is None:
                return drafts, newest, ""
        note = f"{keyword!r}: stopped after {opts.max_pages} pages, older posts skipped"
        logger.warning("bluesky %s: %s", name, note)
        return drafts, newest, note


class _Session:
    """Authenticated XRPC calls on one PDS: logs in when needed, once more if the token expired."""

    def __init__(
        self,
        tokens: dict[tuple[str, str], str],
        http: HttpClient,
        service: str,
        identifier: str,
        password: str,
        name: str,
    ) -> None:
        self._tokens = tokens
        self._http = http
        self._service = service
        self._key = (service, identifier)
        self._identifier = identifier
        self._password = password
        self._name = name

    async def get(self, path: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        url = self._service + path
        fresh = self._key not in self._tokens
        token = self._tokens.get(self._key) or await self._login()
        response = await self._call(url, params, token)
        if _expired(response) and not fresh:
            self._tokens.pop(self._key, None)
            response = await self._call(url, params, await self._login())
        if response.status in (400, 401):
            self._tokens.pop(self._key, None)
            error, message = _xrpc_error(response)
            if response.status == 401 or error in ("ExpiredToken", "InvalidToken"):
                raise AuthFailed(
                    f"Bluesky refused the session ({error or 401}: {message})",
                    source=self._name,
                    url=url,
                )
            raise FetchError(
                f"Bluesky refused the search ({error}: {message})", source=self._name, url=url
            )
        payload = response.json()
        if not isinstance(payload, Mapping):
            raise ParseError("Bluesky search response is not an object", source=self._name)
        return payload

    async def _call(self, url: str, params: Mapping[str, str], token: str) -> HttpResponse:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return await self._http.get(url, headers=headers, params=params, accept_statuses=(400, 401))

    async def _login(self) -> str:
        url = self._service + SESSION_PATH
        response = await self._http.post(
            url,
            json={"identifier": self._identifier, "password": self._password},
            accept_statuses=(400, 401),
        )
        if response.status in (400, 401):
            error, message = _xrpc_error(response)
            raise AuthFailed(
                f"Bluesky refused to log in as {self._identifier!r} "
                f"({error or response.status}: {message}); check the credentials identifier "
                "and app_password",
                source=self._name,
                url=url,
            )
        payload = response.json()
        token = as_str(payload.get("accessJwt")) if isinstance(payload, Mapping) else None
        if token is None:
            raise ParseError("Bluesky createSession answered without an accessJwt", url=url)
        self._tokens[self._key] = token
        return token


def _xrpc_error(response: HttpResponse) -> tuple[str, str]:
    """The ``error`` and ``message`` of an XRPC error body (empty strings when absent)."""
    try:
        body = response.json()
    except ParseError:
        return "", ""
    if not isinstance(body, Mapping):
        return "", ""
    error, message = body.get("error"), body.get("message")
    return (error if isinstance(error, str) else ""), (message if isinstance(message, str) else "")


def _expired(response: HttpResponse) -> bool:
    if response.status == 401:
        return True
    return response.status == 400 and _xrpc_error(response)[0] in ("ExpiredToken", "InvalidToken")


def _newest_indexed(payload: Mapping[str, Any], current: str) -> str:
    """The latest ``indexedAt`` of the page's posts, or ``current`` (as ISO text)."""
    newest = as_datetime(current)
    for post in payload.get("posts") or []:
        if isinstance(post, Mapping):
            moment = as_datetime(post.get("indexedAt"))
            if moment is not None and (newest is None or moment > newest):
                newest = moment
    return _iso(newest) if newest is not None else current
