"""The ``hackernews`` connector: stories and comments from the Algolia HN Search API.

:func:`parse_hits` (one search response → drafts) and :func:`keywords_from_queries`
(watch queries → keyword searches) are pure. :class:`HackerNewsConnector` asks
``/api/v1/search_by_date`` for each keyword, newest first, page by page, and keeps
in the cursor, per keyword, the newest ``created_at_i`` it saw.

The target is either a search typed by the user or ``watches``: one search per
keyword the workspace's watches require (the ingest service then applies each
full boolean query locally, so a keyword search only has to find a superset).
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.values import (
    as_datetime,
    as_int,
    as_str,
    base_url_option,
    check_options,
    http_url,
    int_map,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.domain.query.keywords import keywords_from_queries, query_keywords
from flocon.errors import ParseError

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient

__all__ = [
    "MAX_KEYWORDS",
    "WATCHES",
    "HackerNewsConnector",
    "HackerNewsOptions",
    "keywords_from_queries",
    "parse_hits",
    "parse_options",
    "query_keywords",
]

logger = logging.getLogger(__name__)

KIND: Final = "hackernews"
#: The target meaning "search the keywords of the workspace's watches".
WATCHES: Final = "watches"
DEFAULT_BASE_URL: Final = "https://hn.algolia.com"
SEARCH_PATH: Final = "/api/v1/search_by_date"
ITEM_URL: Final = "https://news.ycombinator.com/item?id="
HITS_PER_PAGE: Final = 100
#: Keyword searches per fetch; with more keywords, the least recently searched go first.
MAX_KEYWORDS: Final = 10
MAX_QUERY_CHARS: Final = 200
_OPTION_RANGES: Final = {"lookback_hours": (1, 24 * 30), "max_pages": (1, 10)}


# --------------------------------------------------------------------------- parsing


def parse_hits(payload: Mapping[str, Any], *, source_name: str) -> list[Draft]:
    """The drafts of one search response (``{"hits": [...], ...}``); no I/O."""
    hits = payload.get("hits")
    if not isinstance(hits, list):
        raise ParseError("HN search response has no 'hits' list", source=source_name)
    return [_hit_draft(hit, source_name) for hit in hits]


def _hit_draft(hit: Any, source_name: str) -> Draft:
    if not isinstance(hit, Mapping):
        raise ParseError("HN search hit is not an object", source=source_name)
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or object_id == "":
        raise ParseError("HN search hit without an objectID", source=source_name)
    item_id = str(object_id)
    tags = hit.get("_tags")
    tags = tags if isinstance(tags, list) else []
    title = as_str(hit.get("title"))
    comment_text = as_str(hit.get("comment_text"))
    author = as_str(hit.get("author"))
    common: dict[str, Any] = {
        "source_kind": KIND,
        "source_name": source_name,
        "external_id": item_id,
        "author": AuthorRef(handle=author) if author else None,
        "published_at": _created(hit),
        "likes": as_int(hit.get("points"), digits=True),
    }
    if "comment" in tags or (comment_text is not None and title is None):
        parent = as_int(hit.get("parent_id"), digits=True)
        return Draft(
            text=comment_text or "",
            title=as_str(hit.get("story_title")),
            url=ITEM_URL + item_id,
            parent_external_id=str(parent) if parent is not None else None,
            **common,
        )
    story_text = as_str(hit.get("story_text"))
    if title and story_text:
        text = f"<p>{html.escape(title, quote=False)}</p>\n{story_text}"
    else:
        text = title or story_text or ""
    return Draft(
        text=text,
        title=title,
        url=http_url(hit.get("url")) or ITEM_URL + item_id,
        replies=as_int(hit.get("num_comments"), digits=True),
        **common,
    )


def _created(hit: Mapping[str, Any]) -> datetime | None:
    stamp = as_int(hit.get("created_at_i"), digits=True)
    if stamp is not None:
        try:
            return datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return as_datetime(hit.get("created_at"))


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True, slots=True)
class HackerNewsOptions:
    """``--option`` values of a hackernews source."""

    base_url: str = DEFAULT_BASE_URL
    lookback_hours: int = 24
    max_pages: int = 5


def parse_options(options: Mapping[str, str]) -> HackerNewsOptions:
    """Check a source's options; raises ValueError naming the bad one."""
    numbers = check_options(options, known=("base_url",), ranges=_OPTION_RANGES)
    base_url = base_url_option(options, "base_url", DEFAULT_BASE_URL)
    return HackerNewsOptions(base_url=base_url, **numbers)


INDEX_LAG_S = 600


class HackerNewsConnector:
    """Searches Hacker News stories and comments, newest first, since the last fetch."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "Hacker News stories and comments matching a search or your watches"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """``watches``, or a search (spaces collapsed, at most 200 characters)."""
        parse_options(options)
        query = " ".join(target.split())
        if query.lower() == WATCHES:
            return WATCHES
        if not query:
            raise ValueError("a hackernews target is a search (e.g. 'sqlite') or 'watches'")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"a Hacker News search has at most {MAX_QUERY_CHARS} characters")
        return query

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Search each keyword for items newer than the cursor, following pages up to a cap."""
        opts = parse_options(source.options)
        now = int(self._clock())
        if source.target == WATCHES:
            keywords = keywords_from_queries(source.queries)
            if not keywords:
                note = "no watch has a keyword to search on Hacker News"
                return FetchResult([], dict(source.cursor), note=note)
        else:
            keywords = [source.target]
        since = int_map(source.cursor.get("since"), digits=True)
        checked = int_map(source.cursor.get("checked"), digits=True)
        batch = sorted(keywords, key=lambda k: checked.get(k, 0))[:MAX_KEYWORDS]
        found: dict[str, Draft] = {}
        notes: list[str] = []
        for keyword in batch:
            start = since.get(keyword, now - opts.lookback_hours * 3600)
            drafts, newest, note = await self._search(http, opts, keyword, start, source.name)
            for draft in drafts:
                found.setdefault(draft.external_id or "", draft)
            since[keyword] = newest
            checked[keyword] = now
            if note:
                notes.append(note)
        if len(keywords) > len(batch):
            notes.append(f"searched {len(batch)} of {len(keywords)} keywords, the rest next time")
        cursor: dict[str, Any] = {
            "since": {k: since[k] for k in keywords if k in since},
            "checked": {k: checked[k] for k in keywords if k in checked},
        }
        summary = f"{len(found)} items for {', '.join(repr(k) for k in batch)}"
        return FetchResult(list(found.values()), cursor, note="; ".join([summary, *notes]))

    async def _search(
        self, http: HttpClient, opts: HackerNewsOptions, keyword: str, since: int, name: str
    ) -> tuple[list[Draft], int, str]:
        """All pages (up to the cap) of one keyword: drafts, newest created_at_i, a note."""
        url = opts.base_url + SEARCH_PATH
        drafts: list[Draft] = []
        newest = since
        total: int | None = None
        for page in range(opts.max_pages):
            params = {
                "query": keyword,
                "tags": "(story,comment)",
                # Look back a little before the cursor: Algolia can index an item after a
                # newer one was already seen. What comes back twice is deduplicated on ingest.
                "numericFilters": f"created_at_i>{max(0, since - INDEX_LAG_S)}",
                "hitsPerPage": str(HITS_PER_PAGE),
                "page": str(page),
            }
            response = await http.get(url, params=params)
            payload = response.json()
            if not isinstance(payload, Mapping):
                raise ParseError("HN search response is not an object", source=name, url=url)
            hits = parse_hits(payload, source_name=name)
            drafts.extend(hits)
            for draft in hits:
                if draft.published_at is not None:
                    newest = max(newest, int(draft.published_at.timestamp()))
            nb_pages = as_int(payload.get("nbPages"), digits=True) or 0
            total = as_int(payload.get("nbHits"), digits=True)
            if not hits or page + 1 >= nb_pages:
                return drafts, newest, ""
        note = (
            f"{keyword!r}: stopped after {opts.max_pages} pages"
            + (f" of {total} results" if total is not None else "")
            + ", older ones skipped (raise max_pages)"
        )
        logger.warning("hackernews %s: %s", name, note)
        return drafts, newest, note
