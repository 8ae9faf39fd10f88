"""The ``web`` connector's fetcher: moves pages and API answers, keeps the cursor.

Discourse topics are read from their JSON API; other pages are fetched one after the
other (following "next" links up to ``max_pages``); a WordPress page's comments are
read from its REST API when it answers, else from the markup. The cursor keeps keys
of the items already returned (bounded), where to resume a paginated thread, and the
Discourse post ids already read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.robots import robots_for
from flocon.connectors.seen import remember, seen_keys, select_new
from flocon.connectors.web.apis import (
    discourse_posts,
    discourse_stream,
    discourse_topic_id,
    discourse_topic_url,
    wordpress_api_comments,
)
from flocon.connectors.web.common import KIND, PageContext
from flocon.connectors.web.engines import WordPressApi
from flocon.connectors.web.page import parse_page
from flocon.domain.models import Draft
from flocon.errors import (
    BlockedAddress,
    DisallowedByRobots,
    FetchError,
    ParseError,
    SourceGone,
)

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient

logger = logging.getLogger(__name__)

#: How many item keys the cursor remembers.
SEEN_LIMIT: Final = 5000
DEFAULT_MAX_PAGES: Final = 10
MAX_MAX_PAGES: Final = 100
#: Pages of 100 comments read from a WordPress REST API in one fetch.
WORDPRESS_API_PAGES: Final = 50
DISCOURSE_CHUNK: Final = 20
_API_SOFT_FAILURES: Final = (400, 401, 403, 404, 410)


def max_pages(options: Mapping[str, str]) -> int:
    """The ``max_pages`` option (1 to 100, default 10); ValueError when it is not one."""
    raw = options.get("max_pages")
    if raw is None or not str(raw).strip():
        return DEFAULT_MAX_PAGES
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"max_pages must be a whole number (got {raw!r})") from None
    if not 1 <= value <= MAX_MAX_PAGES:
        raise ValueError(f"max_pages must be between 1 and {MAX_MAX_PAGES} (got {value})")
    return value


class WebConnector:
    """Reads one web page (article, review page, forum thread) with its comments or posts."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = (
        "a web page (article, blog post, forum thread, review page) and its comments"
    )

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """An absolute http(s) URL without fragment; scheme and host lower-cased."""
        max_pages(options)
        url = target.strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"a web target is the page's full address, starting with https:// "
                f"or http:// (got {target!r})"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("a page address must not contain a user name or password")
        netloc = parts.hostname + (f":{parts.port}" if parts.port is not None else "")
        return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Fetch the page (or topic) and return the items not returned before."""
        limit = max_pages(source.options)
        topic = discourse_topic_id(urlsplit(source.target).path)
        if topic is not None:
            result = await _fetch_discourse(source, http, topic, limit)
            if result is not None:
                return result
        return await _fetch_pages(source, http, limit)


# --------------------------------------------------------------------------- pages


async def _fetch_pages(source: SourceSpec, http: HttpClient, limit: int) -> FetchResult:
    cursor = source.cursor
    resume = cursor.get("resume_url")
    article_id = cursor.get("article_id")
    if not (isinstance(resume, str) and isinstance(article_id, str) and resume and article_id):
        resume, article_id = None, None
    url = resume or source.target
    robots = await robots_for(http, url)
    if not robots.can_fetch(url):
        raise DisallowedByRobots(
            f"the robots.txt of {urlsplit(url).netloc} does not let flocon read {url}"
            + (f" ({robots.note})" if robots.note else ""),
            source=source.name,
            url=url,
        )
    try:
        response = await http.get(url)
    except SourceGone:
        if resume is None:
            raise
        logger.info("resume page of %s is gone; starting again from the target", source.name)
        url, article_id = source.target, None
        response = await http.get(url)
    drafts: list[Draft] = []
    engines: list[str] = []
    visited = {url}
    pages = 0
    resume_url: str | None = None
    while True:
        pages += 1
        parsed = parse_page(
            response.content,
            source_name=source.name,
            page_url=response.url,
            content_type=response.headers.get("content-type"),
            article_id=article_id,
            with_article=url == source.target,
        )
        article_id = parsed.article_id
        if pages == 1 and url == source.target and parsed.wordpress is not None:
            context = PageContext(source.name, response.url, article_id)
            comments = await _wordpress_api(http, parsed.wordpress, context)
            if comments is not None:
                main = [d for d in parsed.drafts if d.external_id == article_id][:1]
                drafts = main + comments
                engines.append("wordpress-api")
                break
        drafts.extend(parsed.drafts)
        engines.append(parsed.engine)
        next_url = parsed.next_url
        if next_url is not None and not same_thread(next_url, source.target):
            next_url = None  # e.g. a blog's link to its next article
        if next_url is None or next_url in visited:
            resume_url = url if pages > 1 or resume else None
            break
        if pages >= limit:
            resume_url = next_url
            break
        visited.add(next_url)
        url = next_url
        response = await http.get(url)
    new_cursor: dict[str, Any] = {}
    if resume_url is not None:
        new_cursor["resume_url"] = resume_url
        new_cursor["article_id"] = article_id
    engine = ", ".join(dict.fromkeys(e for e in engines if e != "none")) or "no comments"
    return _result(drafts, cursor, new_cursor, note=f"{pages} page(s), {engine}")


def same_thread(url: str, target: str) -> bool:
    """Whether ``url`` is another page of ``target``'s thread: same host, same path
    (another query, as phpBB's ``&start=``) or a path below it (WordPress ``comment-page-2/``)."""
    page, first = urlsplit(url), urlsplit(target)
    if page.netloc.lower() != first.netloc.lower():
        return False
    base = first.path.rstrip("/")
    return page.path.rstrip("/") == base or page.path.startswith(base + "/")


async def _wordpress_api(
    http: HttpClient, api: WordPressApi, context: PageContext
) -> list[Draft] | None:
    """Every comment from the REST API; None when it does not answer (use the markup)."""
    if urlsplit(api.root).netloc != urlsplit(context.page_url).netloc:
        return None
    drafts: list[Draft] = []
    for page in range(1, WORDPRESS_API_PAGES + 1):
        params = {"post": str(api.post_id), "per_page": "100", "page": str(page)}
        try:
            response = await http.get(
                api.comments_url(), params=params, accept_statuses=_API_SOFT_FAILURES
            )
            if response.status != 200:
                raise FetchError(f"status {response.status}", url=response.url)
            data = response.json()
            drafts.extend(wordpress_api_comments(data, context))
        except (FetchError, ParseError, BlockedAddress) as exc:
            if page == 1:
                logger.info("WordPress API of %s unusable (%s): reading the markup", api.root, exc)
                return None
            logger.warning("WordPress API of %s failed on page %d: %s", api.root, page, exc)
            break
        total = response.headers.get("x-wp-totalpages", "")
        if len(data) < 100 or (total.isdigit() and page >= int(total)):
            break
    return drafts


# --------------------------------------------------------------------------- Discourse


async def _fetch_discourse(
    source: SourceSpec, http: HttpClient, topic: int, limit: int
) -> FetchResult | None:
    """The topic through its JSON API; None when the site does not answer as Discourse."""
    parts = urlsplit(source.target)
    origin = f"{parts.scheme}://{parts.netloc}"
    response = await http.get(f"{origin}/t/{topic}.json", accept_statuses=(404, 403))
    kind = response.headers.get("content-type", "")
    if response.status != 200 or "json" not in kind:
        return None
    data = response.json()
    article_id = discourse_topic_url(data, response.url)
    context = PageContext(source.name, source.target, article_id)
    drafts = discourse_posts(data, context)
    known = set(_ints(source.cursor.get("post_ids")))
    loaded = _loaded_ids(data)
    missing = [i for i in discourse_stream(data) if i not in known and i not in loaded]
    chunks = [missing[i : i + DISCOURSE_CHUNK] for i in range(0, len(missing), DISCOURSE_CHUNK)]
    for chunk in chunks[:limit]:
        query = urlencode([("post_ids[]", str(i)) for i in chunk])
        more = await http.get(f"{origin}/t/{topic}/posts.json?{query}")
        payload = more.json()
        drafts.extend(discourse_posts(payload, context))
        loaded |= _loaded_ids(payload)
    ids = list(dict.fromkeys([*sorted(loaded), *known]))[-SEEN_LIMIT:]
    note = f"Discourse topic, {len(chunks[:limit]) + 1} request(s)"
    if len(chunks) > limit:
        note += f"; {len(missing) - limit * DISCOURSE_CHUNK} posts left for the next fetch"
    return _result(drafts, source.cursor, {"post_ids": ids}, note=note)


def _loaded_ids(data: Any) -> set[int]:
    stream = data.get("post_stream") if isinstance(data, dict) else None
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(posts, list):
        return set()
    return {p["id"] for p in posts if isinstance(p, dict) and isinstance(p.get("id"), int)}


def _ints(value: Any) -> list[int]:
    return [i for i in value if isinstance(i, int)] if isinstance(value, list) else []


# --------------------------------------------------------------------------- cursor


def _result(
    drafts: Sequence[Draft], cursor: Mapping[str, Any], new_cursor: dict[str, Any], *, note: str
) -> FetchResult:
    seen_before = seen_keys(cursor)
    new, keys = select_new(drafts, seen_before, key_length=16)
    new_cursor["seen"] = remember(keys, seen_before, SEEN_LIMIT)
    return FetchResult(new, new_cursor, note=f"{len(new)} new of {len(keys)} items; {note}")
