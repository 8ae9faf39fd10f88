"""The ``bluesky`` connector: posts matching a search, via ``app.bsky.feed.searchPosts``.

:func:`parse_posts` (one search response → drafts) is pure. :class:`BlueskyConnector`
logs in with an app password (``com.atproto.server.createSession`` on the PDS, option
``service``), keeps the access token in memory only, and asks searchPosts for each
keyword, newest first, page by page, from the newest ``indexedAt`` it saw last time
(kept in the cursor, per keyword).

The target is a search or ``watches`` (one search per keyword the workspace's watches
require; see :func:`~flocon.domain.query.keywords.keywords_from_queries`).

The target ``jetstream`` (or ``jetstream@HOST``) follows every new post of the network
through a Jetstream WebSocket (``/subscribe?wantedCollections=app.bsky.feed.post``) and
keeps those that contain a keyword of the watches (:func:`parse_jetstream_event` and
:func:`keyword_filter` are pure). The cursor is the ``time_us`` of the last event read;
a reconnection asks Jetstream to replay from it. No account is needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import quote, urlencode, urlsplit

from websockets.exceptions import ConnectionClosed

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.streaming import Reconnects, StreamItem, batches, open_websocket
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
from flocon.domain.search import fold
from flocon.errors import AuthFailed, ConnectorError, FetchError, ParseError

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

__all__ = [
    "BlueskyConnector",
    "BlueskyOptions",
    "JetstreamOptions",
    "keyword_filter",
    "parse_jetstream_event",
    "parse_jetstream_options",
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
JETSTREAM: Final = "jetstream"
DEFAULT_JETSTREAM_HOST: Final = "jetstream2.us-east.bsky.network"
POST_COLLECTION: Final = "app.bsky.feed.post"
SUBSCRIBE_PATH: Final = "/subscribe"
#: Seconds a Jetstream ``fetch`` reads at most (option ``window``) by default.
DEFAULT_WINDOW: Final = 30
#: A streamed source stores a batch at least this often, even without news.
IDLE_YIELD_S: Final = 60.0
_JETSTREAM_RANGES: Final = {"window": (1, 300)}
_WORDS: Final = re.compile(r"\w+")
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


def parse_jetstream_event(message: Any, *, source_name: str) -> tuple[int, Draft | None]:
    """The ``time_us`` of one Jetstream event, and the draft of the post it creates (None
    for any other event: identity, account, deletion, another collection); no I/O.

    The post id is its ``at://did/app.bsky.feed.post/rkey`` URI, as in a search, so that
    replies name their parent the same way. The author is known by DID only.
    """
    if not isinstance(message, Mapping):
        raise ParseError("Jetstream event is not an object", source=source_name)
    time_us = as_int(message.get("time_us"))
    if time_us is None:
        raise ParseError("Jetstream event without a time_us", source=source_name)
    commit = message.get("commit")
    if message.get("kind") != "commit" or not isinstance(commit, Mapping):
        return time_us, None
    if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION:
        return time_us, None
    did, rkey = as_str(message.get("did")), as_str(commit.get("rkey"))
    record = commit.get("record")
    if did is None or rkey is None or not isinstance(record, Mapping):
        raise ParseError("Jetstream post without did, rkey or record", source=source_name)
    uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
    langs = record.get("langs")
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, Mapping) else None
    return time_us, Draft(
        source_kind=KIND,
        source_name=source_name,
        external_id=uri,
        text=as_str(record.get("text")) or "",
        url=post_url(uri, None),
        author=AuthorRef(handle=did),
        published_at=as_datetime(record.get("createdAt"))
        or datetime.fromtimestamp(time_us / 1e6, UTC),
        lang=as_str(langs[0]) if isinstance(langs, list) and langs else None,
        parent_external_id=as_str(parent.get("uri")) if isinstance(parent, Mapping) else None,
    )


def keyword_filter(keywords: Sequence[str]) -> Callable[[str], bool]:
    """Whether a text contains one of ``keywords`` at the start of a word (case and accents
    ignored; a keyword may be a phrase or a prefix, as those of a watch query are)."""
    wanted = [" " + " ".join(_WORDS.findall(fold(k))) for k in keywords]
    wanted = [w for w in wanted if w.strip()]

    def matches(text: str) -> bool:
        folded = " " + " ".join(_WORDS.findall(fold(text)))
        return any(w in folded for w in wanted)

    return matches


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class BlueskyOptions:
    """``--option`` values of a bluesky source."""

    service: str = DEFAULT_SERVICE
    lookback_hours: int = 24
    max_pages: int = 3


def parse_options(options: Mapping[str, str]) -> BlueskyOptions:
    """Check a search source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("service",), ranges=_OPTION_RANGES)
    service = base_url_option(options, "service", DEFAULT_SERVICE)
    return BlueskyOptions(service=service, **numbers)


@dataclass(frozen=True, slots=True)
class JetstreamOptions:
    """``--option`` values of a jetstream source; ``base_url`` None: ``wss://HOST``."""

    base_url: str | None = None
    window: int = DEFAULT_WINDOW


def parse_jetstream_options(options: Mapping[str, str]) -> JetstreamOptions:
    """Check a jetstream source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url",), ranges=_JETSTREAM_RANGES)
    base_url = None
    if "base_url" in options:
        base_url = options["base_url"].strip().rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"option base_url must be a ws(s):// address (got {base_url!r})")
    return JetstreamOptions(base_url=base_url, window=numbers.get("window", DEFAULT_WINDOW))


def _jetstream_host(target: str) -> str | None:
    """The host of a ``jetstream[@HOST]`` target; None for another target."""
    name, at, host = target.partition("@")
    if name.lower() != JETSTREAM:
        return None
    if not at:
        return DEFAULT_JETSTREAM_HOST
    host = host.strip().lower().rstrip("/")
    labels = host.split(".")
    if len(labels) < 2 or not all(labels) or not all(c.isalnum() or c in "-." for c in host):
        raise ValueError(f"{host!r} is not a Jetstream host (e.g. {DEFAULT_JETSTREAM_HOST!r})")
    return host


# --------------------------------------------------------------------------- fetching


class BlueskyConnector:
    """Searches Bluesky posts, newest first, since the last fetch (needs an app password)."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "Bluesky posts matching a search or your watches (app password)"

    def __init__(self, *, clock: Callable[[], float] = time.time, reconnect_s: float = 1.0) -> None:
        self._clock = clock
        #: The first pause before reopening a dropped Jetstream (it doubles, up to a minute).
        self._reconnect_s = reconnect_s
        #: Access tokens by (service, identifier), in memory only.
        self._tokens: dict[tuple[str, str], str] = {}

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``watches``, ``jetstream[@HOST]``, or a search (spaces collapsed, at most 200
        characters)."""
        query = " ".join(target.split())
        host = _jetstream_host(query)
        if host is not None:
            parse_jetstream_options(options)
            return JETSTREAM if host == DEFAULT_JETSTREAM_HOST else f"{JETSTREAM}@{host}"
        parse_options(options)
        if query.lower() == WATCHES:
            return WATCHES
        if not query:
            raise ValueError("a bluesky target is a search (e.g. 'sqlite lang:fr') or 'watches'")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"a Bluesky search has at most {MAX_QUERY_CHARS} characters")
        return query

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Search each keyword for posts indexed since the cursor, following pages up to a cap
        (a ``jetstream`` target: read the stream from the cursor until caught up, at most
        ``window`` seconds)."""
        if _jetstream_host(source.target) is not None:
            return await self._fetch_window(source, http)
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

    # -- jetstream ----------------------------------------------------------------------

    def is_streamed(self, source: SourceSpec) -> bool:
        """Whether the target is ``jetstream[@HOST]``."""
        try:
            return _jetstream_host(source.target) is not None
        except ValueError:
            return False

    async def stream(
        self,
        source: SourceSpec,
        http: HttpClient,
        *,
        max_seconds: float | None,
        max_items: int | None,
    ) -> AsyncGenerator[FetchResult, None]:
        """Batches of the posts with a keyword of the watches, from the cursor's ``time_us``."""
        items = self._items(source, http, until_us=None)
        async for batch in batches(
            items,
            cursor=source.cursor,
            max_seconds=max_seconds,
            max_items=max_items,
            idle_yield_s=IDLE_YIELD_S,
        ):
            yield batch

    async def _fetch_window(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """From the cursor until an event of the time the read started, at most ``window``
        seconds (without a cursor: ``window`` seconds of new posts), as one result."""
        opts = parse_jetstream_options(source.options)
        started_us = int(self._clock() * 1_000_000)
        caught_up = started_us if _time_us(source.cursor) is not None else None
        until = asyncio.get_running_loop().time() + opts.window
        found: dict[str, Draft] = {}
        cursor = dict(source.cursor)
        items = self._items(source, http, until_us=caught_up)
        try:
            async for batch in batches(
                items, cursor=cursor, max_seconds=None, max_items=None, until=until
            ):
                for draft in batch.drafts:
                    found.setdefault(draft.external_id or "", draft)
                cursor = batch.cursor
        except ConnectorError as exc:
            if not isinstance(exc, FetchError) or not found:
                raise
            note = f"{len(found)} posts; the stream stopped early ({exc})"
            return FetchResult(list(found.values()), cursor, note=note)
        behind = _time_us(cursor)
        late = "" if caught_up is None or (behind or 0) >= caught_up else ", not caught up yet"
        return FetchResult(list(found.values()), cursor, note=f"{len(found)} posts{late}")

    async def _items(
        self, source: SourceSpec, http: HttpClient, *, until_us: int | None
    ) -> AsyncGenerator[StreamItem, None]:
        """Every event as a stream item (a draft for a post with a keyword), reconnecting
        from the last ``time_us`` read; ends at an event of ``until_us`` or later."""
        host = _jetstream_host(source.target) or DEFAULT_JETSTREAM_HOST
        opts = parse_jetstream_options(source.options)
        keywords = keywords_from_queries(source.queries)
        if not keywords:
            raise FetchError(
                "no watch has a keyword to look for in the Jetstream: add a watch",
                source=source.name,
            )
        wanted = keyword_filter(keywords)
        base = (opts.base_url or f"wss://{host}") + SUBSCRIBE_PATH
        last = _time_us(source.cursor)
        reconnects = Reconnects(first_s=self._reconnect_s)
        skipped = 0
        while True:
            params = {"wantedCollections": POST_COLLECTION}
            if last is not None:
                params["cursor"] = str(last)
            url = f"{base}?{urlencode(params)}"
            try:
                async with await open_websocket(http, url, source=source.name) as ws:
                    reconnects.opened()
                    async for message in ws:
                        try:
                            time_us, draft = parse_jetstream_event(
                                json.loads(message), source_name=source.name
                            )
                        except (ValueError, ParseError) as exc:
                            skipped += 1
                            logger.warning(
                                "bluesky %s: skipped a malformed Jetstream message (%d so far): %s",
                                source.name,
                                skipped,
                                exc,
                            )
                            continue
                        reconnects.received()
                        if last is not None and time_us < last:
                            continue  # replayed from before the cursor
                        last = time_us
                        if draft is not None and not wanted(f"{draft.text}"):
                            draft = None
                        yield StreamItem(draft, {"time_us": time_us})
                        if until_us is not None and time_us >= until_us:
                            return
                raise FetchError(f"the Jetstream {host} closed the connection", source=source.name)
            except ConnectionClosed as exc:
                error = FetchError(f"the Jetstream {host} dropped: {exc}", source=source.name)
                if until_us is not None:
                    raise error from exc
                await reconnects.after(error, what=f"bluesky {source.name}")
            except FetchError as exc:
                if until_us is not None:
                    raise
                await reconnects.after(exc, what=f"bluesky {source.name}")

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


def _time_us(cursor: Mapping[str, Any]) -> int | None:
    return as_int(cursor.get("time_us"))


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
