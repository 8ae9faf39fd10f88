"""The ``youtube`` connector: video comments from the YouTube Data API v3, within a daily quota.

:func:`parse_threads` (a ``commentThreads.list`` page → drafts of the top-level
comments and the replies it includes) and :func:`parse_replies` (a ``comments.list``
page) are pure. :class:`YouTubeConnector` reads:

* ``video:ID`` (or a watch URL): the comment threads of one video, newest first;
* ``channel:ID``: the channel's uploads playlist, then the threads of its latest
  ``max_videos`` videos;
* ``search:QUERY`` / ``watches``: a video search (100 units!) then the threads of
  the videos found and of those found before (``max_videos`` in all).

Every call costs quota units (``search.list`` 100, the others 1). The units used
today, in Pacific time (when Google resets quotas), live in ``cursor["quota"]``;
a fetch that would pass ``daily_quota`` stops and *returns* what it found with the
units it used, asking (``FetchResult.retry_after_s``) not to run again before
midnight Pacific time. The API key never appears in a note.

New replies to older threads: ``cursor["threads"]`` keeps, per video, the reply
count seen for each thread active in the last ``REPLY_WINDOW_S`` (at most
``MAX_THREADS_PER_VIDEO`` per video, ``MAX_THREADS`` in all). Threads are read back
(``max_pages`` at most) until the oldest tracked one; a thread whose
``totalReplyCount`` grew gets its new replies, from those the thread includes or
else from ``comments.list?parentId=`` (stopping at replies already seen).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.values import as_datetime, as_int, as_str, base_url_option, check_options
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import AuthFailed, ParseError, RateLimited

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient

__all__ = [
    "COSTS",
    "WATCHES",
    "YouTubeConnector",
    "YouTubeOptions",
    "parse_options",
    "parse_replies",
    "parse_target",
    "parse_threads",
    "quota_day",
    "seconds_to_quota_reset",
]

logger = logging.getLogger(__name__)

KIND: Final = "youtube"
WATCHES: Final = "watches"
DEFAULT_BASE_URL: Final = "https://www.googleapis.com/youtube/v3"
WATCH_URL: Final = "https://www.youtube.com/watch?v="
PACIFIC: Final = ZoneInfo("America/Los_Angeles")
#: Quota units per call (https://developers.google.com/youtube/v3/determine_quota_cost).
COSTS: Final = {
    "commentThreads": 1,
    "comments": 1,
    "channels": 1,
    "playlistItems": 1,
    "search": 100,
}
MAX_KEYWORDS: Final = 5
#: Videos remembered in the cursor (searched and channel targets).
MAX_TRACKED: Final = 50
#: Threads whose reply counts are watched: active (posted or replied to) in the last
#: 30 days, at most 100 per video (one page of threads) and 1,000 in all.
REPLY_WINDOW_S: Final = 30 * 24 * 3600
MAX_THREADS_PER_VIDEO: Final = 100
MAX_THREADS: Final = 1000
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_OPTION_RANGES: Final = {
    "daily_quota": (1, 10_000_000),
    "max_pages": (1, 20),
    "max_videos": (1, 50),
    "lookback_hours": (1, 24 * 30),
}


# --------------------------------------------------------------------------- parsing


def parse_threads(payload: Any, *, source_name: str) -> list[Draft]:
    """Top-level comments and included replies of one ``commentThreads.list`` page; no I/O."""
    drafts: list[Draft] = []
    for item in _items(payload, source_name):
        snippet = _mapping(item.get("snippet"))
        top = _mapping(snippet.get("topLevelComment"))
        video_id = as_str(snippet.get("videoId")) or as_str(
            _mapping(top.get("snippet")).get("videoId")
        )
        thread = _comment(
            top,
            source_name,
            video_id=video_id,
            replies=as_int(snippet.get("totalReplyCount"), digits=True),
        )
        drafts.append(thread)
        for reply in _mapping(item.get("replies")).get("comments") or []:
            draft = _comment(_mapping(reply), source_name, video_id=video_id)
            drafts.append(_with_parent(draft, thread.external_id or ""))
    return drafts


def threads_missing_replies(payload: Any) -> list[tuple[str, str | None]]:
    """``(top-level comment id, video id)`` of threads with more replies than included."""
    missing = []
    items = payload.get("items") if isinstance(payload, Mapping) else None
    for item in items if isinstance(items, list) else []:
        snippet = _mapping(_mapping(item).get("snippet"))
        total = as_int(snippet.get("totalReplyCount"), digits=True) or 0
        included = _mapping(_mapping(item).get("replies")).get("comments")
        count = len(included) if isinstance(included, list) else 0
        top_id = as_str(_mapping(snippet.get("topLevelComment")).get("id"))
        if top_id and total > count:
            missing.append((top_id, as_str(snippet.get("videoId"))))
    return missing


def parse_replies(payload: Any, *, source_name: str, video_id: str | None) -> list[Draft]:
    """The replies of one ``comments.list?parentId=…`` page; no I/O."""
    return [_comment(item, source_name, video_id=video_id) for item in _items(payload, source_name)]


def _items(payload: Any, source_name: str) -> list[Mapping[str, Any]]:
    items = payload.get("items") if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise ParseError("YouTube response has no 'items' list", source=source_name)
    if not all(isinstance(item, Mapping) for item in items):
        raise ParseError("YouTube response item is not an object", source=source_name)
    return items


def _comment(
    comment: Mapping[str, Any],
    source_name: str,
    *,
    video_id: str | None,
    replies: int | None = None,
) -> Draft:
    comment_id = as_str(comment.get("id"))
    if comment_id is None:
        raise ParseError("YouTube comment without an id", source=source_name)
    snippet = _mapping(comment.get("snippet"))
    video_id = as_str(snippet.get("videoId")) or video_id
    parent = as_str(snippet.get("parentId"))
    if parent is None and video_id:
        parent = f"video:{video_id}"
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        external_id=comment_id,
        text=as_str(snippet.get("textOriginal")) or as_str(snippet.get("textDisplay")) or "",
        url=f"{WATCH_URL}{video_id}&lc={comment_id}" if video_id else None,
        author=_author(snippet),
        published_at=as_datetime(snippet.get("publishedAt")),
        likes=as_int(snippet.get("likeCount"), digits=True),
        replies=replies,
        parent_external_id=parent,
    )


def _author(snippet: Mapping[str, Any]) -> AuthorRef | None:
    name = as_str(snippet.get("authorDisplayName"))
    channel_url = as_str(snippet.get("authorChannelUrl")) or ""
    handle = None
    if name and name.startswith("@"):
        handle = name[1:]
    elif "/@" in channel_url:
        handle = channel_url.rsplit("/@", 1)[1].strip("/") or None
    if handle is None:
        handle = as_str(_mapping(snippet.get("authorChannelId")).get("value"))
    if name is None and handle is None:
        return None
    return AuthorRef(handle=handle, name=name)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _rfc3339(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- quota


def quota_day(now: float) -> str:
    """The quota day (``YYYY-MM-DD`` in Pacific time) of a UNIX time."""
    return datetime.fromtimestamp(now, PACIFIC).date().isoformat()


def seconds_to_quota_reset(now: float) -> float:
    """Seconds from ``now`` to the next midnight Pacific time."""
    local = datetime.fromtimestamp(now, PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return max(1.0, midnight.timestamp() - now)


class _QuotaSpent(Exception):
    """The next call would pass the daily quota: return what was found (``drafts``).

    Caught by ``fetch`` whether or not anything was found: the run returns, so the units
    spent are stored with the cursor (a raised error would keep the old cursor).
    """

    def __init__(self) -> None:
        super().__init__("daily quota spent")
        self.drafts: list[Draft] = []


@dataclass
class _Quota:
    day: str
    used: int
    limit: int
    now: float
    stopped: bool = False

    def spend(self, cost: int) -> None:
        if self.used + cost <= self.limit:
            self.used += cost
            return
        self.stopped = True
        raise _QuotaSpent


# --------------------------------------------------------------------------- targets and options


def parse_target(target: str) -> tuple[str, str]:
    """``(mode, value)``: ``video``/``channel``/``search``/``watches``; raises ValueError."""
    text = target.strip()
    if text.lower() == WATCHES:
        return "watches", ""
    mode, sep, value = text.partition(":")
    mode, value = mode.lower().strip(), value.strip()
    if text.startswith(("http://", "https://")):
        mode, value = "video", text
    if sep and mode == "video":
        video_id = _video_id(value)
        if video_id is None:
            raise ValueError(f"{value!r} is not a YouTube video id or watch address")
        return "video", video_id
    if sep and mode == "channel":
        if not _CHANNEL_ID.fullmatch(value):
            raise ValueError("channel: needs a channel id (UC… , 24 characters)")
        return "channel", value
    if sep and mode == "search":
        query = " ".join(value.split())
        if not query:
            raise ValueError("the YouTube search is empty")
        return "search", query
    raise ValueError(
        "a youtube target is video:ID (or a watch address), channel:UC…, search:QUERY or watches"
    )


def _video_id(value: str) -> str | None:
    if _VIDEO_ID.fullmatch(value):
        return value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if host == "youtu.be":
        candidate = parts.path.strip("/")
    elif host.endswith("youtube.com"):
        if parts.path.startswith(("/shorts/", "/live/", "/embed/")):
            candidate = parts.path.split("/")[2]
        else:
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
    else:
        return None
    return candidate if _VIDEO_ID.fullmatch(candidate) else None


@dataclass(frozen=True, slots=True)
class YouTubeOptions:
    """``--option`` values of a youtube source."""

    base_url: str = DEFAULT_BASE_URL
    daily_quota: int = 10_000
    max_pages: int = 3
    max_videos: int = 5
    lookback_hours: int = 72


def parse_options(options: Mapping[str, str]) -> YouTubeOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url",), ranges=_OPTION_RANGES)
    base_url = base_url_option(options, "base_url", DEFAULT_BASE_URL)
    return YouTubeOptions(base_url=base_url, **numbers)


# --------------------------------------------------------------------------- fetching


@dataclass
class _Run:
    http: HttpClient
    opts: YouTubeOptions
    key: str
    quota: _Quota
    source_name: str

    async def call(self, method: str, params: dict[str, str]) -> Any:
        self.quota.spend(COSTS[method])
        url = f"{self.opts.base_url}/{method}"
        response = await self.http.get(url, params={**params, "key": self.key})
        return response.json()


class YouTubeConnector:
    """Reads YouTube comments of videos, channels and searches, within a daily quota."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "YouTube comments of a video, a channel's videos, or a video search"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``video:ID``, ``channel:UC…``, ``search:QUERY`` or ``watches``."""
        parse_options(options)
        mode, value = parse_target(target)
        return WATCHES if mode == "watches" else f"{mode}:{value}"

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """New comments since the cursor, stopping before the daily quota is passed."""
        opts = parse_options(source.options)
        mode, value = parse_target(source.target)
        key = source.credentials.get("api_key", "").strip()
        if not key:
            raise AuthFailed(
                "a youtube source needs an api_key credential (YouTube Data API v3)",
                source=source.name,
            )
        now = self._clock()
        stored = _mapping(source.cursor.get("quota"))
        day = quota_day(now)
        used = as_int(stored.get("used"), digits=True) if stored.get("day") == day else 0
        quota = _Quota(day, used or 0, opts.daily_quota, now)
        run = _Run(http, opts, key, quota, source.name)
        videos = {
            k: float(v)
            for k, v in _mapping(source.cursor.get("videos")).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        searched = {
            k: float(v)
            for k, v in _mapping(source.cursor.get("searched")).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        threads = _stored_threads(source.cursor.get("threads"))
        cursor: dict[str, Any] = dict(source.cursor)
        found: dict[str, Draft] = {}
        notes: list[str] = []
        try:
            if mode == "watches":
                keywords = keywords_from_queries(source.queries)
                if not keywords:
                    notes.append("no watch has a keyword to search on YouTube")
                order = sorted(keywords, key=lambda k: searched.get(k, 0))[:MAX_KEYWORDS]
                to_read = await self._search_all(run, order, searched, now, videos)
            elif mode == "search":
                to_read = await self._search_all(run, [value], searched, now, videos)
            elif mode == "channel":
                to_read = await self._channel_videos(run, value, cursor)
            else:
                to_read = [value]
            for video_id in to_read:
                seen = threads.setdefault(video_id, {})
                drafts, newest = await self._video(run, video_id, videos.get(video_id, 0.0), seen)
                for draft in drafts:
                    found.setdefault(draft.external_id or "", draft)
                videos[video_id] = max(newest, videos.get(video_id, 0.0))
        except _QuotaSpent as spent:
            # The interrupted video keeps its cursor: what was missed comes next time.
            for draft in spent.drafts:
                found.setdefault(draft.external_id or "", draft)
        except RateLimited as exc:
            if not found:
                raise
            notes.append(f"stopped early: {exc}")
        retry_after_s = None
        if quota.stopped:
            retry_after_s = seconds_to_quota_reset(now)
            notes.append(
                f"stopped before passing the daily quota ({quota.used} of {quota.limit} units "
                f"used today); the rest after midnight Pacific time, in "
                f"{retry_after_s / 3600:.1f} h"
            )
        recent = sorted(videos, key=lambda v: videos[v], reverse=True)[:MAX_TRACKED]
        cursor.update(
            quota={"day": quota.day, "used": quota.used},
            videos={v: videos[v] for v in recent},
            searched=searched,
            threads=_bounded_threads(threads, recent, now),
        )
        summary = f"{len(found)} comments from YouTube ({quota.used} quota units used today)"
        return FetchResult(
            list(found.values()),
            cursor,
            note="; ".join([summary, *notes]),
            retry_after_s=retry_after_s,
        )

    async def _search_all(
        self,
        run: _Run,
        queries: list[str],
        searched: dict[str, float],
        now: float,
        videos: dict[str, float],
    ) -> list[str]:
        """Videos found by each search (newest first), then those tracked, up to max_videos."""
        new: list[str] = []
        for query in queries:
            since = searched.get(query) or now - run.opts.lookback_hours * 3600
            payload = await run.call(
                "search",
                {
                    "part": "snippet",
                    "type": "video",
                    "q": query,
                    "order": "date",
                    "publishedAfter": _rfc3339(since),
                    "maxResults": str(run.opts.max_videos),
                },
            )
            searched[query] = now
            for item in _items(payload, run.source_name):
                video_id = as_str(_mapping(item.get("id")).get("videoId"))
                if video_id and video_id not in new:
                    new.append(video_id)
        tracked = sorted(videos, key=lambda v: videos[v], reverse=True)
        ordered = list(dict.fromkeys([*new, *tracked]))
        return ordered[: run.opts.max_videos]

    async def _channel_videos(
        self, run: _Run, channel_id: str, cursor: dict[str, Any]
    ) -> list[str]:
        uploads = as_str(_mapping(cursor.get("uploads")).get(channel_id))
        if uploads is None:
            payload = await run.call("channels", {"part": "contentDetails", "id": channel_id})
            items = _items(payload, run.source_name)
            if not items:
                raise ParseError(f"YouTube knows no channel {channel_id}", source=run.source_name)
            details = _mapping(_mapping(items[0].get("contentDetails")).get("relatedPlaylists"))
            uploads = as_str(details.get("uploads"))
            if uploads is None:
                raise ParseError("the channel has no uploads playlist", source=run.source_name)
            cursor["uploads"] = {channel_id: uploads}
        payload = await run.call(
            "playlistItems",
            {
                "part": "contentDetails",
                "playlistId": uploads,
                "maxResults": str(run.opts.max_videos),
            },
        )
        found = []
        for item in _items(payload, run.source_name):
            video_id = as_str(_mapping(item.get("contentDetails")).get("videoId"))
            if video_id:
                found.append(video_id)
        return found[: run.opts.max_videos]

    async def _video(
        self, run: _Run, video_id: str, since: float, seen: dict[str, list[int]]
    ) -> tuple[list[Draft], float]:
        """Threads newer than ``since`` with all their replies, and the new replies of
        the tracked threads in ``seen`` (updated in place, thread by thread)."""
        drafts: list[Draft] = []
        try:
            newest = await self._video_pages(run, video_id, since, drafts, seen)
        except _QuotaSpent as spent:
            spent.drafts = drafts
            raise
        return drafts, newest

    async def _video_pages(
        self,
        run: _Run,
        video_id: str,
        since: float,
        drafts: list[Draft],
        seen: dict[str, list[int]],
    ) -> float:
        newest = since
        # Tracked threads may lie further back than the new ones: read until the oldest.
        horizon = min((state[1] for state in seen.values()), default=None)
        token: str | None = None
        for _ in range(run.opts.max_pages):
            params = {
                "part": "snippet,replies",
                "videoId": video_id,
                "order": "time",
                "maxResults": "100",
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            payload = await run.call("commentThreads", params)
            page = parse_threads(payload, source_name=run.source_name)
            tops = [d for d in page if d.parent_external_id == f"video:{video_id}"]
            fresh_tops = {
                d.external_id
                for d in tops
                if d.published_at is None or d.published_at.timestamp() > since
            }
            drafts.extend(
                d for d in page if d.external_id in fresh_tops or d.parent_external_id in fresh_tops
            )
            missing = {top_id for top_id, _ in threads_missing_replies(payload)}
            for top in tops:
                top_id = top.external_id or ""
                included = [d for d in page if d.parent_external_id == top_id]
                if top_id in fresh_tops:
                    replies = included
                    if top_id in missing:
                        replies = await self._replies(run, top_id, video_id, drafts)
                    _remember(seen, top, replies, run.quota.now)
                else:
                    await self._old_thread(run, video_id, top, included, seen, drafts)
            stamps = [d.published_at.timestamp() for d in tops if d.published_at is not None]
            if stamps:
                newest = max(newest, *stamps)
            token = as_str(payload.get("nextPageToken")) if isinstance(payload, Mapping) else None
            tracked_further = horizon is not None and bool(stamps) and min(stamps) > horizon
            if not token or (len(fresh_tops) < len(tops) and not tracked_further):
                break
        return newest

    async def _old_thread(
        self,
        run: _Run,
        video_id: str,
        top: Draft,
        included: list[Draft],
        seen: dict[str, list[int]],
        drafts: list[Draft],
    ) -> None:
        """New replies of a thread already seen: none when its reply count did not grow."""
        top_id = top.external_id or ""
        total = top.replies or 0
        state = seen.get(top_id)
        if state is None:  # not tracked yet (older, or the first fetch): counts from now on
            _remember(seen, top, included, run.quota.now)
            return
        count, _, last_seen = state
        if total <= count:
            state[0] = total  # unchanged (or replies deleted): no call
            return
        new = [r for r in included if _after(r, last_seen)]
        if len(new) < total - count:
            new = await self._new_replies(run, top_id, video_id, last_seen, total - count)
        drafts.extend(new)
        _remember(seen, top, new, run.quota.now, previous=state)

    async def _new_replies(
        self, run: _Run, parent_id: str, video_id: str, last_seen: int, wanted: int
    ) -> list[Draft]:
        """Replies posted after ``last_seen``, newest first, until one already seen."""
        new: list[Draft] = []
        token: str | None = None
        for _ in range(run.opts.max_pages):
            payload = await run.call("comments", _replies_params(parent_id, token))
            page = [
                _with_parent(d, parent_id)
                for d in parse_replies(payload, source_name=run.source_name, video_id=video_id)
            ]
            new.extend(d for d in page if _after(d, last_seen))
            token = as_str(payload.get("nextPageToken")) if isinstance(payload, Mapping) else None
            if not token or len(new) >= wanted or any(not _after(d, last_seen) for d in page):
                break
        return new

    async def _replies(
        self, run: _Run, parent_id: str, video_id: str, drafts: list[Draft]
    ) -> list[Draft]:
        """All replies of a new thread (``max_pages`` pages at most), added to ``drafts``."""
        replies: list[Draft] = []
        token: str | None = None
        for _ in range(run.opts.max_pages):
            payload = await run.call("comments", _replies_params(parent_id, token))
            page = [
                _with_parent(d, parent_id)
                for d in parse_replies(payload, source_name=run.source_name, video_id=video_id)
            ]
            drafts.extend(page)
            replies.extend(page)
            token = as_str(payload.get("nextPageToken")) if isinstance(payload, Mapping) else None
            if not token:
                break
        return replies


def _replies_params(parent_id: str, token: str | None) -> dict[str, str]:
    params = {
        "part": "snippet",
        "parentId": parent_id,
        "maxResults": "100",
        "textFormat": "plainText",
    }
    if token:
        params["pageToken"] = token
    return params


def _with_parent(draft: Draft, parent_id: str) -> Draft:
    if draft.parent_external_id == parent_id:
        return draft
    return replace(draft, parent_external_id=parent_id)


def _after(draft: Draft, stamp: int) -> bool:
    """Whether a reply is newer than ``stamp`` (one without a date counts as new)."""
    return draft.published_at is None or draft.published_at.timestamp() > stamp


# --------------------------------------------------------------------------- tracked threads


def _remember(
    seen: dict[str, list[int]],
    top: Draft,
    replies: list[Draft],
    now: float,
    previous: list[int] | None = None,
) -> None:
    """Record a thread as ``[reply count, published, last activity]`` (UNIX seconds)."""
    published = int(top.published_at.timestamp()) if top.published_at else int(now)
    stamps = [int(r.published_at.timestamp()) for r in replies if r.published_at is not None]
    last = max([published, *stamps, *(previous[2:3] if previous else [])])
    seen[top.external_id or ""] = [top.replies or 0, published, last]


def _stored_threads(value: Any) -> dict[str, dict[str, list[int]]]:
    """``cursor["threads"]`` as stored, without malformed entries."""
    threads: dict[str, dict[str, list[int]]] = {}
    for video_id, entries in _mapping(value).items():
        kept = {}
        for thread_id, state in _mapping(entries).items():
            if (
                isinstance(state, list)
                and len(state) == 3
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in state)
            ):
                kept[thread_id] = [int(x) for x in state]
        threads[str(video_id)] = kept
    return threads


def _bounded_threads(
    threads: dict[str, dict[str, list[int]]], videos: list[str], now: float
) -> dict[str, dict[str, list[int]]]:
    """Threads of tracked videos active within the window, the most recent first:
    at most ``MAX_THREADS_PER_VIDEO`` per video and ``MAX_THREADS`` in all."""
    oldest = now - REPLY_WINDOW_S
    candidates: list[tuple[int, str, str]] = []
    for video_id in videos:
        entries = threads.get(video_id, {})
        active = sorted(
            ((state[2], thread_id) for thread_id, state in entries.items() if state[2] >= oldest),
            reverse=True,
        )[:MAX_THREADS_PER_VIDEO]
        candidates.extend((stamp, video_id, thread_id) for stamp, thread_id in active)
    candidates.sort(reverse=True)
    kept: dict[str, dict[str, list[int]]] = {}
    for _, video_id, thread_id in candidates[:MAX_THREADS]:
        kept.setdefault(video_id, {})[thread_id] = threads[video_id][thread_id]
    return kept
