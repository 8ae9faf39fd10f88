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
``in_reply_to_id`` names its parent with the same scheme. The streaming API is not used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import quote, urlsplit

from flocon.connectors.base import FetchResult, SourceSpec
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
from flocon.errors import AuthFailed, ParseError, RateLimited

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
#: The most statuses one timeline or search page may hold (Mastodon's maximum is 40).
PAGE_LIMIT: Final = 40
#: Keyword searches per fetch; with more keywords, the least recently searched go first.
MAX_KEYWORDS: Final = 10
MAX_QUERY_CHARS: Final = 200
DEFAULT_MAX_PAGES: Final = 3
_OPTION_RANGES: Final = {"max_pages": (1, 10)}
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


def parse_options(options: Mapping[str, str]) -> MastodonOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url", "local"), ranges=_OPTION_RANGES)
    max_pages = numbers.get("max_pages", DEFAULT_MAX_PAGES)
    local = False
    if "local" in options:
        flag = _BOOLEANS.get(options["local"].strip().lower())
        if flag is None:
            raise ValueError("option local must be true or false")
        local = flag
    base_url = base_url_option(options, "base_url")
    return MastodonOptions(base_url=base_url, local=local, max_pages=max_pages)


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

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``#tag@instance``, ``public@instance``, ``search:QUERY@instance``, ``watches@instance``."""
        parse_options(options)
        return str(parse_target(target))

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Statuses newer than the cursor's ``min_id`` of each timeline or keyword."""
        target = parse_target(source.target)
        opts = parse_options(source.options)
        token = (source.credentials.get("access_token") or "").strip()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
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
        elif target.mode == "tag":
            keys = [f"#{target.value}"]
            params = {"local": "true"} if opts.local else {}
            streams = [_Stream(keys[0], TAG_PATH + quote(target.value, safe=""), params)]
        else:
            keys = ["public"]
            params = {"local": "true"} if opts.local else {}
            streams = [_Stream("public", PUBLIC_PATH, params)]
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


def _rate_limit_wait(response: HttpResponse, now: float) -> float | None:
    """Seconds until the window resets when ``X-RateLimit-Remaining`` is 0, else None."""
    remaining = response.headers.get("x-ratelimit-remaining")
    if remaining is None or remaining.strip() != "0":
        return None
    reset = as_datetime(response.headers.get("x-ratelimit-reset"))
    if reset is None:
        return 300.0  # Mastodon's windows last 5 minutes
    return max(0.0, reset.timestamp() - now)
