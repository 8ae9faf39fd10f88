"""The ``mastodon`` connector: hashtag and public timelines, and status search, of one instance.

:func:`parse_statuses` (one API response → drafts) and :func:`parse_target` are pure.
:class:`MastodonConnector` reads, for each timeline or keyword of the target, the
statuses newer than the ``min_id`` it keeps in the cursor, page by page.

Targets (``@instance`` is a host name such as ``mastodon.social``):

* ``#hashtag@instance``: ``GET /api/v1/timelines/tag/:hashtag`` (public, no token);
* ``public@instance``: ``GET /api/v1/timelines/public`` (option ``local=true``: this
  instance's users only);
* ``search:QUERY@instance`` and ``watches@instance``: ``GET /api/v2/search?type=statuses``,
  which needs an access token (credential ``access_token``); ``watches`` searches each
  keyword the workspace's watches require (see :func:`keywords_from_queries`).

Ids: a status is ``instance:id`` (its id on the instance read), so that a reply's
``in_reply_to_id`` names its parent with the same scheme.

With the option ``stream=true``, a hashtag or public target is followed in real time
through the streaming API (``GET /api/v1/streaming/hashtag?tag=`` or ``/public``,
Server-Sent Events): :meth:`MastodonConnector.stream` opens the stream, then reads the
timeline from the cursor's ``min_id`` (the stream has no replay), then the stream's
``update`` events, each batch moving the same ``min_id``. ``fetch`` reads the stream for
the ``window`` option's seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import quote, urlsplit

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.streaming import Reconnects, StreamItem, batches, open_sse
from flocon.connectors.values import (
    as_datetime,
    as_int,
    as_str,
    base_url_option,
    check_options,
    http_url,
    int_map,
    str_map,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import AuthFailed, ConnectorError, FetchError, ParseError, RateLimited

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

__all__ = [
    "MastodonConnector",
    "MastodonOptions",
    "MastodonTarget",
    "parse_options",
    "parse_statuses",
    "parse_target",
]

logger = logging.getLogger(__name__)

KIND: Final = "mastodon"
WATCHES: Final = "watches"
TAG_PATH: Final = "/api/v1/timelines/tag/"
PUBLIC_PATH: Final = "/api/v1/timelines/public"
SEARCH_PATH: Final = "/api/v2/search"
STREAM_PATHS: Final = {
    ("tag", False): "/api/v1/streaming/hashtag",
    ("tag", True): "/api/v1/streaming/hashtag/local",
    ("public", False): "/api/v1/streaming/public",
    ("public", True): "/api/v1/streaming/public/local",
}
#: Seconds of stream ``fetch`` reads (option ``window``) by default.
DEFAULT_WINDOW: Final = 30
#: A streamed source stores a batch at least this often, even without news (a sign of life).
IDLE_YIELD_S: Final = 60.0
#: Timeline reads, of ``max_pages`` pages each, to catch up before streaming.
MAX_CATCH_UP_READS: Final = 10
#: The most statuses one timeline or search page may hold (Mastodon's maximum is 40).
PAGE_LIMIT: Final = 40
#: Keyword searches per fetch; with more keywords, the least recently searched go first.
MAX_KEYWORDS: Final = 10
MAX_QUERY_CHARS: Final = 200
DEFAULT_MAX_PAGES: Final = 3
_OPTION_RANGES: Final = {"max_pages": (1, 10), "window": (1, 300)}
_BOOLEANS: Final = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}

Mode = Literal["tag", "public", "search", "watches"]


# --------------------------------------------------------------------------- target


@dataclass(frozen=True, slots=True)
class MastodonTarget:
    """What a target names: a ``mode``, its ``value`` (hashtag or search) and the instance."""

    mode: Mode
    value: str
    instance: str

    def __str__(self) -> str:
        if self.mode == "tag":
            return f"#{self.value}@{self.instance}"
        if self.mode == "search":
            return f"search:{self.value}@{self.instance}"
        return f"{self.mode}@{self.instance}"


_TARGET_HELP: Final = (
    "a mastodon target is '#hashtag@instance', 'public@instance', "
    "'search:QUERY@instance' or 'watches@instance' (e.g. '#rstats@fosstodon.org')"
)


def parse_target(target: str) -> MastodonTarget:
    """Read a target (``#tag@instance``...); raises ValueError with a clear message."""
    text = " ".join(target.split())
    what, at, host = text.rpartition("@")
    if not at or not what:
        raise ValueError(_TARGET_HELP)
    instance = _instance(host)
    lowered = what.lower()
    if what.startswith("#"):
        tag = what[1:]
        if not tag or not all(c.isalnum() or c == "_" for c in tag):
            raise ValueError(f"{what!r} is not a hashtag (letters, digits and _ only)")
        return MastodonTarget("tag", tag.lower(), instance)
    if lowered == "public":
        return MastodonTarget("public", "", instance)
    if lowered == WATCHES:
        return MastodonTarget("watches", "", instance)
    if lowered.startswith("search:"):
        query = what[len("search:") :].strip()
        if not query:
            raise ValueError("a mastodon search target needs a query: 'search:QUERY@instance'")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"a Mastodon search has at most {MAX_QUERY_CHARS} characters")
        return MastodonTarget("search", query, instance)
    raise ValueError(_TARGET_HELP)


def _instance(host: str) -> str:
    host = host.strip().lower()
    if "://" in host:
        host = urlsplit(host).hostname or ""
    host = host.rstrip("/")
    labels = host.split(".")
    if (
        len(labels) < 2
        or not all(labels)
        or not all(c.isalnum() or c in "-." for c in host)
        or len(host) > 253
    ):
        raise ValueError(f"{host!r} is not an instance name (e.g. 'mastodon.social')")
    return host


# --------------------------------------------------------------------------- parsing


def parse_statuses(payload: Any, *, instance: str, source_name: str) -> list[Draft]:
    """The drafts of a timeline (a list of statuses) or a v2 search (``{"statuses": [...]}``).

    A reblog becomes the status it reblogs. No I/O.
    """
    if isinstance(payload, Mapping):
        payload = payload.get("statuses")
    if not isinstance(payload, list):
        raise ParseError("Mastodon response has no list of statuses", source=source_name)
    return [_status_draft(status, instance, source_name) for status in payload]


def _status_draft(status: Any, instance: str, source_name: str) -> Draft:
    if not isinstance(status, Mapping):
        raise ParseError("Mastodon status is not an object", source=source_name)
    reblog = status.get("reblog")
    if isinstance(reblog, Mapping):
        status = reblog
    status_id = _id(status.get("id"))
    if status_id is None:
        raise ParseError("Mastodon status without an id", source=source_name)
    parent = _id(status.get("in_reply_to_id"))
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        external_id=f"{instance}:{status_id}",
        text=as_str(status.get("content")) or "",
        title=as_str(status.get("spoiler_text")),
        url=http_url(status.get("url")) or http_url(status.get("uri")),
        author=_author(status.get("account"), instance),
        published_at=as_datetime(status.get("created_at")),
        lang=as_str(status.get("language")),
        parent_external_id=f"{instance}:{parent}" if parent is not None else None,
        likes=as_int(status.get("favourites_count")),
        shares=as_int(status.get("reblogs_count")),
        replies=as_int(status.get("replies_count")),
    )


def _author(account: Any, instance: str) -> AuthorRef | None:
    if not isinstance(account, Mapping):
        return None
    acct = as_str(account.get("acct"))
    if acct is not None and "@" not in acct:
        acct = f"{acct}@{instance}"  # a local account: its acct has no domain
    return AuthorRef(
        handle=acct,
        name=as_str(account.get("display_name")),
        followers=as_int(account.get("followers_count")),
    )


def _id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return as_str(value)


def _page_ids(payload: Any) -> list[str]:
    """The ids of a page's own statuses: a reblog's, not the reblogged one's (min_id follows
    the timeline's ids)."""
    statuses = payload.get("statuses") if isinstance(payload, Mapping) else payload
    if not isinstance(statuses, list):
        return []
    ids = (_id(status.get("id")) for status in statuses if isinstance(status, Mapping))
    return [i for i in ids if i is not None]


def _newest(ids: list[str], current: str | None) -> str | None:
    """The greatest status id (Mastodon ids are numbers as strings, sortable as numbers)."""
    known = [i for i in [*ids, current] if i is not None]
    if not known:
        return None
    return max(known, key=lambda i: (len(i), i) if i.isdigit() else (0, i))


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class MastodonOptions:
    """``--option`` values of a mastodon source; ``base_url`` None: ``https://instance``."""

    base_url: str | None = None
    local: bool = False
    max_pages: int = DEFAULT_MAX_PAGES
    stream: bool = False
    window: int = DEFAULT_WINDOW


def parse_options(options: Mapping[str, str]) -> MastodonOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url", "local", "stream"), ranges=_OPTION_RANGES)
    return MastodonOptions(
        base_url=base_url_option(options, "base_url"),
        local=_flag(options, "local"),
        max_pages=numbers.get("max_pages", DEFAULT_MAX_PAGES),
        stream=_flag(options, "stream"),
        window=numbers.get("window", DEFAULT_WINDOW),
    )


def _flag(options: Mapping[str, str], name: str) -> bool:
    if name not in options:
        return False
    flag = _BOOLEANS.get(options[name].strip().lower())
    if flag is None:
        raise ValueError(f"option {name} must be true or false")
    return flag


def _check_stream(target: MastodonTarget, opts: MastodonOptions) -> None:
    if opts.stream and target.mode not in ("tag", "public"):
        raise ValueError("option stream=true is for '#hashtag@instance' and 'public@instance'")


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True, slots=True)
class _Stream:
    """One thing to read page by page: its cursor key, path and fixed parameters."""

    key: str
    path: str
    params: Mapping[str, str]


class MastodonConnector:
    """Reads a hashtag or public timeline, or searches statuses, on one Mastodon instance."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = (
        "Mastodon statuses: a hashtag or public timeline, or a search (with an access token)"
    )

    def __init__(self, *, clock: Callable[[], float] = time.time, reconnect_s: float = 1.0) -> None:
        self._clock = clock
        #: The first pause before reopening a dropped stream (it doubles, up to a minute).
        self._reconnect_s = reconnect_s

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``#tag@instance``, ``public@instance``, ``search:QUERY@instance``, ``watches@instance``."""
        opts = parse_options(options)
        parsed = parse_target(target)
        _check_stream(parsed, opts)
        return str(parsed)

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Statuses newer than the cursor's ``min_id`` of each timeline or keyword (of a
        streamed target: the timeline, then the stream for ``window`` seconds)."""
        target = parse_target(source.target)
        opts = parse_options(source.options)
        if opts.stream:
            _check_stream(target, opts)
            return await self._fetch_window(source, http, target, opts)
        headers = _auth(source)
        token = headers.get("Authorization")
        now = int(self._clock())
        min_ids = str_map(source.cursor.get("min_id"))
        checked = int_map(source.cursor.get("checked"))
        keys: list[str]
        if target.mode in ("search", "watches"):
            if not token:
                raise AuthFailed(
                    f"searching statuses on {target.instance} needs an access token: add the "
                    "credential access_token (Preferences → Development → New application, "
                    "scope read)",
                    source=source.name,
                )
            if target.mode == "watches":
                keys = keywords_from_queries(source.queries)
                if not keys:
                    note = "no watch has a keyword to search on Mastodon"
                    return FetchResult([], dict(source.cursor), note=note)
            else:
                keys = [target.value]
            streams = [
                _Stream(key, SEARCH_PATH, {"q": key, "type": "statuses", "resolve": "false"})
                for key in keys
            ]
        else:
            streams = [_timeline(target, opts)]
            keys = [streams[0].key]
        batch = sorted(streams, key=lambda s: checked.get(s.key, 0))[:MAX_KEYWORDS]
        base = opts.base_url or f"https://{target.instance}"
        found: dict[str, Draft] = {}
        notes: list[str] = []
        searched: list[str] = []
        for stream in batch:
            drafts, newest, note, wait = await self._read(
                http,
                base + stream.path,
                stream,
                min_ids.get(stream.key),
                headers=headers,
                opts=opts,
                instance=target.instance,
                name=source.name,
            )
            for draft in drafts:
                found.setdefault(draft.external_id or "", draft)
            if newest is not None:
                min_ids[stream.key] = newest
            checked[stream.key] = now
            searched.append(stream.key)
            if note:
                notes.append(note)
            if wait is not None:
                if not found:
                    raise RateLimited(
                        f"{target.instance} allows no more requests for now "
                        "(X-RateLimit-Remaining: 0)",
                        retry_after=wait,
                        source=source.name,
                    )
                notes.append(f"rate limit of {target.instance} reached; the rest in {wait:.0f} s")
                break
        if len(streams) > len(batch):
            notes.append(f"searched {len(batch)} of {len(streams)} keywords, the rest next time")
        cursor: dict[str, Any] = {
            "min_id": {k: min_ids[k] for k in keys if k in min_ids},
            "checked": {k: checked[k] for k in keys if k in checked},
        }
        summary = f"{len(found)} statuses for {', '.join(repr(k) for k in searched)}"
        return FetchResult(list(found.values()), cursor, note="; ".join([summary, *notes]))

    # -- streaming ----------------------------------------------------------------------

    def is_streamed(self, source: SourceSpec) -> bool:
        """Whether the source has ``stream=true`` (on a hashtag or public target)."""
        try:
            return parse_options(source.options).stream
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
        """Batches of the timeline since the cursor's ``min_id``, then of the stream."""
        target = parse_target(source.target)
        opts = parse_options(source.options)
        _check_stream(target, opts)
        items = self._items(source, http, target, opts, reconnect=True)
        async for batch in batches(
            items,
            cursor=source.cursor,
            max_seconds=max_seconds,
            max_items=max_items,
            idle_yield_s=IDLE_YIELD_S,
        ):
            yield batch

    async def _fetch_window(
        self, source: SourceSpec, http: HttpClient, target: MastodonTarget, opts: MastodonOptions
    ) -> FetchResult:
        """The timeline since the cursor, then ``window`` seconds of the stream, as one result."""
        until = asyncio.get_running_loop().time() + opts.window
        found: dict[str, Draft] = {}
        cursor = dict(source.cursor)
        items = self._items(source, http, target, opts, reconnect=False)
        try:
            async for batch in batches(
                items, cursor=cursor, max_seconds=None, max_items=None, until=until
            ):
                for draft in batch.drafts:
                    found.setdefault(draft.external_id or "", draft)
                cursor = batch.cursor
        except ConnectorError as exc:
            if isinstance(exc, AuthFailed | ParseError) or not found:
                raise
            note = f"{len(found)} statuses; the stream stopped early ({exc})"
            return FetchResult(list(found.values()), cursor, note=note)
        note = f"{len(found)} statuses from the timeline and {opts.window} s of the stream"
        return FetchResult(list(found.values()), cursor, note=note)

    async def _items(
        self,
        source: SourceSpec,
        http: HttpClient,
        target: MastodonTarget,
        opts: MastodonOptions,
        *,
        reconnect: bool,
    ) -> AsyncGenerator[StreamItem, None]:
        """Each connection: open the stream, read the timeline since ``min_id``, then the
        stream's statuses (those not newer than ``min_id`` are already read)."""
        timeline = _timeline(target, opts)
        base = opts.base_url or f"https://{target.instance}"
        headers = _auth(source)
        params = {"tag": target.value} if target.mode == "tag" else {}
        url = base + STREAM_PATHS[(target.mode, opts.local)]
        min_id = str_map(source.cursor.get("min_id")).get(timeline.key)
        reconnects = Reconnects(first_s=self._reconnect_s)
        while True:
            try:
                async with (
                    _stream_auth(target, source.name),
                    open_sse(
                        http, url, headers=headers, params=params, source=source.name
                    ) as events,
                ):
                    reconnects.opened()
                    catch_up = self._catch_up(http, base + timeline.path, timeline, min_id, source)
                    async for item in catch_up:
                        min_id = _cursor_min_id(item.cursor, timeline.key) or min_id
                        yield item
                    skipped = 0
                    async for event in events:
                        reconnects.received()
                        if event.event != "update":
                            continue
                        try:
                            status = json.loads(event.data)
                            (draft,) = parse_statuses(
                                [status], instance=target.instance, source_name=source.name
                            )
                        except (ValueError, ParseError) as exc:
                            skipped += 1
                            logger.warning(
                                "mastodon %s: skipped a malformed stream update (%d so far): %s",
                                source.name,
                                skipped,
                                exc,
                            )
                            continue
                        status_id = _page_ids([status])[0]
                        if min_id is not None and _newest([status_id], min_id) == min_id:
                            continue  # read from the timeline already
                        min_id = status_id
                        yield StreamItem(draft, _stream_cursor(timeline.key, min_id))
            except FetchError as exc:
                if not reconnect or isinstance(exc, RateLimited):
                    raise
                await reconnects.after(exc, what=f"mastodon {source.name}")

    async def _catch_up(
        self, http: HttpClient, url: str, timeline: _Stream, min_id: str | None, source: SourceSpec
    ) -> AsyncGenerator[StreamItem, None]:
        """The timeline's statuses newer than ``min_id`` (only the latest page without one),
        in reads of ``max_pages`` pages, up to :data:`MAX_CATCH_UP_READS` reads."""
        target = parse_target(source.target)
        opts = parse_options(source.options)
        newest = min_id
        for _ in range(MAX_CATCH_UP_READS):
            drafts, read_newest, note, wait = await self._read(
                http,
                url,
                timeline,
                newest,
                headers=_auth(source),
                opts=opts,
                instance=target.instance,
                name=source.name,
            )
            cursor = _stream_cursor(timeline.key, read_newest)
            for draft in drafts:
                yield StreamItem(draft, cursor)
            if not drafts:
                yield StreamItem(None, cursor)
            if wait is not None:
                if drafts:
                    return
                raise RateLimited(
                    f"{target.instance} allows no more requests for now (X-RateLimit-Remaining: 0)",
                    retry_after=wait,
                    source=source.name,
                )
            if not note or read_newest == newest:
                return
            newest = read_newest

    async def _read(
        self,
        http: HttpClient,
        url: str,
        stream: _Stream,
        min_id: str | None,
        *,
        headers: Mapping[str, str],
        opts: MastodonOptions,
        instance: str,
        name: str,
    ) -> tuple[list[Draft], str | None, str, float | None]:
        """Pages newer than ``min_id`` (only the latest page at first).

        Returns the drafts, the newest id, a note, and the seconds until the instance's
        rate-limit window resets when it said no request is left (None otherwise).
        """
        drafts: list[Draft] = []
        newest = min_id
        for page in range(opts.max_pages):
            params = {**stream.params, "limit": str(PAGE_LIMIT)}
            if newest is not None:
                params["min_id"] = newest
            response = await http.get(url, headers=headers, params=params)
            payload = response.json()
            found = parse_statuses(payload, instance=instance, source_name=name)
            drafts.extend(found)
            newest = _newest(_page_ids(payload), newest)
            exhausted = len(found) < PAGE_LIMIT or min_id is None
            wait = _rate_limit_wait(response, self._clock())
            if wait is not None:
                note = "" if exhausted else f"{stream.key!r}: stopped after {page + 1} pages"
                return drafts, newest, note, wait
            if exhausted:
                return drafts, newest, "", None
        note = f"{stream.key!r}: stopped after {opts.max_pages} pages, the rest next time"
        logger.warning("mastodon %s: %s", name, note)
        return drafts, newest, note, None


def _stream_cursor(key: str, min_id: str | None) -> dict[str, Any]:
    """The cursor of a streamed timeline: a fetch's ``min_id``."""
    return {"min_id": {key: min_id} if min_id is not None else {}}


@contextlib.asynccontextmanager
async def _stream_auth(target: MastodonTarget, name: str) -> AsyncIterator[None]:
    """A refused stream says what to do about it."""
    try:
        yield
    except AuthFailed as exc:
        raise AuthFailed(
            f"the streaming API of {target.instance} refused access ({exc}); add or renew "
            "the credential access_token (Preferences → Development → New application, "
            "scope read)",
            source=name,
            url=exc.url,
        ) from None


def _cursor_min_id(cursor: Mapping[str, Any], key: str) -> str | None:
    return str_map(cursor.get("min_id")).get(key)


def _timeline(target: MastodonTarget, opts: MastodonOptions) -> _Stream:
    """The timeline of a hashtag or public target."""
    params = {"local": "true"} if opts.local else {}
    if target.mode == "tag":
        return _Stream(f"#{target.value}", TAG_PATH + quote(target.value, safe=""), params)
    return _Stream("public", PUBLIC_PATH, params)


def _auth(source: SourceSpec) -> dict[str, str]:
    token = (source.credentials.get("access_token") or "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _rate_limit_wait(response: HttpResponse, now: float) -> float | None:
    """Seconds until the window resets when ``X-RateLimit-Remaining`` is 0, else None."""
    remaining = response.headers.get("x-ratelimit-remaining")
    if remaining is None or remaining.strip() != "0":
        return None
    reset = as_datetime(response.headers.get("x-ratelimit-reset"))
    if reset is None:
        return 300.0  # Mastodon's windows last 5 minutes
    return max(0.0, reset.timestamp() - now)
