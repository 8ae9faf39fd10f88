"""The ``site`` connector: the pages of a site, or of a section of it, following its links.

A fetch reads the site's robots.txt, its sitemaps, then crawls breadth-first from
the target, staying on the target's host and under its path. Each page goes
through the ``web`` connector's pure :func:`~flocon.connectors.web.parse_page`
(main text and comments). The cursor remembers, for at most :data:`URL_LIMIT`
pages, a hash of what each page gave and its sitemap ``<lastmod>``: a page the
sitemap says is unchanged is not fetched again, a fetched page whose content did
not change is not returned again. The frontier itself is rebuilt at each fetch;
pages never fetched, then those fetched longest ago, go first when ``max_pages``
cuts the crawl short.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.robots import Robots, robots_for
from flocon.connectors.sitemap import parse_lastmod, parse_sitemap
from flocon.connectors.web.page import decode_page, parse_page
from flocon.domain.models import Draft
from flocon.domain.normalize import canonical_url
from flocon.errors import (
    AuthFailed,
    BlockedAddress,
    ConnectorError,
    FetchError,
    ParseError,
    RateLimited,
    ResponseTooLarge,
    SourceGone,
)

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient, HttpResponse

logger = logging.getLogger(__name__)

KIND: Final = "site"
DEFAULT_MAX_DEPTH: Final = 2
MAX_MAX_DEPTH: Final = 10
DEFAULT_MAX_PAGES: Final = 50
MAX_MAX_PAGES: Final = 500
#: Pages the cursor remembers (hash and lastmod).
URL_LIMIT: Final = 5000
#: Sitemap files (index and children) read in one fetch.
MAX_SITEMAP_FILES: Final = 20
#: Longest total wait a ``Crawl-delay`` may impose on one fetch; fewer pages are read.
MAX_CRAWL_WAIT_S: Final = 600.0
#: Failed pages named in the note.
_NAMED_FAILURES: Final = 5
_SKIPPED_SCHEMES: Final = ("mailto:", "javascript:", "tel:", "data:", "ftp:", "sms:")
_SKIPPED_EXTENSIONS: Final = frozenset(
    "7z apk atom avi avif bmp css csv dmg doc docx eot epub exe gif gz ico jpeg jpg js json "
    "m4a m4v mkv mov mp3 mp4 mpeg odp ods odt ogg pdf png ppt pptx rar rss svg tar tgz tif "
    "tiff ttf txt wav webm webp woff woff2 xls xlsx xml zip".split()
)

Sleep = Callable[[float], Awaitable[None]]


# --------------------------------------------------------------------------- options, scope


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    """The options of a ``site`` source, checked."""

    max_depth: int = DEFAULT_MAX_DEPTH
    max_pages: int = DEFAULT_MAX_PAGES
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None


def crawl_options(options: Mapping[str, str]) -> CrawlOptions:
    """The options, checked; ValueError with a clear message when one is wrong."""
    return CrawlOptions(
        max_depth=_bounded(options, "max_depth", DEFAULT_MAX_DEPTH, 0, MAX_MAX_DEPTH),
        max_pages=_bounded(options, "max_pages", DEFAULT_MAX_PAGES, 1, MAX_MAX_PAGES),
        include=_pattern(options, "include"),
        exclude=_pattern(options, "exclude"),
    )


def _bounded(options: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = str(options.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number (got {raw!r})") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high} (got {value})")
    return value


def _pattern(options: Mapping[str, str], name: str) -> re.Pattern[str] | None:
    raw = str(options.get(name) or "").strip()
    if not raw:
        return None
    try:
        return re.compile(raw)
    except re.error as exc:
        raise ValueError(f"{name} is not a valid regular expression ({exc})") from None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which URLs a crawl may visit: same scheme and host, under ``base``, include/exclude.

    ``base`` is the target's path without its trailing slash (its folder when the
    target is a file such as ``/blog/index.html``); ``""`` is the whole site. The
    regexes are searched in the path with its query (``/actualites/a?page=2``).
    """

    scheme: str
    netloc: str
    base: str
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    @classmethod
    def of(cls, target: str, options: CrawlOptions) -> Scope:
        parts = urlsplit(target)
        path = parts.path or "/"
        last = path.rsplit("/", 1)[-1]
        base = path.rsplit("/", 1)[0] if "." in last else path.rstrip("/")
        return cls(parts.scheme, parts.netloc, base, options.include, options.exclude)

    def contains(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme != self.scheme or parts.netloc != self.netloc:
            return False
        path = parts.path or "/"
        if self.base and path != self.base and not path.startswith(self.base + "/"):
            return False
        where = f"{path}?{parts.query}" if parts.query else path
        if self.include is not None and not self.include.search(where):
            return False
        return self.exclude is None or not self.exclude.search(where)


# --------------------------------------------------------------------------- pure parts


def page_links(raw: bytes, *, page_url: str, content_type: str | None = None) -> list[str]:
    """The canonical http(s) links of an HTML page, in order, once each (no I/O).

    Fragments, ``mailto:``/``javascript:``/``tel:`` links and links to files that are
    not web pages (images, PDF, archives, feeds...) are left out.
    """
    tree = LexborHTMLParser(decode_page(raw, content_type))
    base = page_url
    if (node := tree.css_first("base[href]")) is not None and (href := node.attributes.get("href")):
        base = urljoin(page_url, href.strip())
    links: dict[str, None] = {}
    for node in tree.css("a[href], area[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(_SKIPPED_SCHEMES):
            continue
        url = canonical_url(urljoin(base, href))
        if url is not None and not _is_file(url):
            links[url] = None
    return list(links)


def _is_file(url: str) -> bool:
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[-1].lower() in _SKIPPED_EXTENSIONS


def page_hash(drafts: Iterable[Draft]) -> str:
    """A short hash of what a page gave (ids, titles, texts, parents)."""
    content = [[d.external_id, d.title, d.text, d.parent_external_id] for d in drafts]
    encoded = json.dumps(content, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Known:
    """What the cursor remembers of one page: its content hash and sitemap lastmod."""

    hash: str | None
    lastmod: datetime | None


def read_cursor(cursor: Mapping[str, Any]) -> dict[str, Known]:
    """The pages of the cursor, most recently fetched first (bad entries are dropped)."""
    pages = cursor.get("pages")
    known: dict[str, Known] = {}
    for entry in pages if isinstance(pages, list) else []:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)):
            continue
        url, digest, lastmod = entry
        known[url] = Known(
            digest if isinstance(digest, str) else None,
            parse_lastmod(lastmod) if isinstance(lastmod, str) else None,
        )
    return known


def write_cursor(fresh: Mapping[str, Known], old: Mapping[str, Known]) -> dict[str, Any]:
    """The pages seen this fetch first, then older ones, at most :data:`URL_LIMIT`."""
    merged = {**fresh, **{u: k for u, k in old.items() if u not in fresh}}
    pages = [
        [url, k.hash, k.lastmod.isoformat() if k.lastmod else None]
        for url, k in list(merged.items())[:URL_LIMIT]
    ]
    return {"pages": pages}


# --------------------------------------------------------------------------- connector


class SiteConnector:
    """Crawls a site or a section of it; ``sleep`` replaces :func:`asyncio.sleep` (tests)."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "the pages of a site or a section of it, following its links"

    def __init__(self, *, sleep: Sleep | None = None) -> None:
        self._sleep: Sleep = sleep or asyncio.sleep

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """The start page as a canonical http(s) URL; the options are checked too."""
        crawl_options(options)
        parts = urlsplit(target.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "a site target is the full address of its start page, starting with "
                f"https:// or http:// (got {target!r})"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("a site address must not contain a user name or password")
        url = canonical_url(target)
        if url is None:
            raise ValueError(f"{target!r} is not a valid web address")
        return url

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """Crawl from the target and return the pages new or changed since the cursor."""
        options = crawl_options(source.options)
        target = canonical_url(source.target) or source.target
        robots = await robots_for(http, target)
        if robots.disallow_all or not robots.can_fetch(target):
            note = robots.note or "robots.txt does not allow flocon to fetch the start page"
            return FetchResult([], dict(source.cursor), note=f"nothing crawled: {note}")
        crawl = _Crawl(source, http, robots, options, target, self._sleep)
        return await crawl.run()


@dataclass(slots=True)
class _Tally:
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    sitemap_skips: int = 0
    not_html: int = 0
    left: int = 0


class _Crawl:
    """One fetch of a site: its state and the requests it makes, paced by Crawl-delay."""

    def __init__(
        self,
        source: SourceSpec,
        http: HttpClient,
        robots: Robots,
        options: CrawlOptions,
        target: str,
        sleep: Sleep,
    ) -> None:
        self.source, self.http, self.robots, self.target = source, http, robots, target
        self.options = options
        self.scope = Scope.of(target, options)
        self.sleep = sleep
        self.delay = robots.crawl_delay or 0.0
        self.known = read_cursor(source.cursor)
        self.fresh: dict[str, Known] = {}
        self.sitemap: dict[str, datetime | None] = {}
        self.drafts: dict[str | None, Draft] = {}
        self.tally = _Tally()
        self.failures: list[str] = []
        self.notes: list[str] = [robots.note] if robots.note else []

    def allowed(self, url: str) -> bool:
        return self.scope.contains(url) and self.robots.can_fetch(url)

    async def get(self, url: str, *, accept: tuple[int, ...] = ()) -> HttpResponse:
        """One request, after the site's ``Crawl-delay`` (robots.txt came first)."""
        if self.delay > 0:
            await self.sleep(self.delay)
        return await self.http.get(url, accept_statuses=accept)

    async def run(self) -> FetchResult:
        limit = self.options.max_pages
        if self.delay > 0 and (self.delay * limit > MAX_CRAWL_WAIT_S):
            limit = max(1, int(MAX_CRAWL_WAIT_S // self.delay))
            self.notes.append(f"Crawl-delay of {self.delay:g} s: at most {limit} page(s) per fetch")
        try:
            await self.read_sitemaps()
            await self.crawl(limit)
        except RateLimited as exc:
            if not self.fresh:
                raise
            self.notes.append(f"stopped early: {exc}")
        return self.result()

    # ----------------------------------------------------------------- sitemaps

    async def read_sitemaps(self) -> None:
        origin = f"{self.scope.scheme}://{self.scope.netloc}"
        declared = [u for u in self.robots.sitemaps if urlsplit(u).netloc == self.scope.netloc]
        queue = declared or [f"{origin}/sitemap.xml"]
        quiet = not declared  # a missing /sitemap.xml is no news
        done: set[str] = set()
        while queue and len(done) < MAX_SITEMAP_FILES:
            url = queue.pop(0)
            if url in done or not self.robots.can_fetch(url):
                continue
            done.add(url)
            try:
                response = await self.get(url, accept=(401, 403, 404, 410))
                if response.status != 200:
                    if not quiet:
                        self.notes.append(f"sitemap {url} answered status {response.status}")
                    continue
                parsed = parse_sitemap(response.content, url=url)
            except (FetchError, BlockedAddress, ResponseTooLarge, ParseError) as exc:
                if not quiet:
                    self.notes.append(f"sitemap {url} unusable ({exc})")
                logger.info("sitemap %s of %s unusable: %s", url, self.source.name, exc)
                continue
            queue.extend(u for u, _ in parsed.sitemaps if urlsplit(u).netloc == self.scope.netloc)
            for page, lastmod in parsed.pages:
                canonical = canonical_url(page)
                if canonical is not None and self.allowed(canonical):
                    self.sitemap[canonical] = lastmod

    def unchanged_per_sitemap(self, url: str) -> bool:
        lastmod = self.sitemap.get(url)
        known = self.known.get(url)
        return (
            lastmod is not None
            and known is not None
            and known.hash is not None
            and known.lastmod is not None
            and lastmod <= known.lastmod
        )

    # ----------------------------------------------------------------- pages

    async def crawl(self, limit: int) -> None:
        level, depth = [self.target], 0
        seen = {self.target}
        while level:
            following: list[str] = []
            for url in self.ordered(level):
                if url != self.target and self.unchanged_per_sitemap(url):
                    self.tally.sitemap_skips += 1
                    self.fresh[url] = self.known[url]
                    continue
                if self.tally.fetched >= limit:
                    self.tally.left += 1
                    continue
                links = await self.visit(url)
                if depth < self.options.max_depth:
                    for link in links:
                        if link not in seen and self.allowed(link):
                            seen.add(link)
                            following.append(link)
            if depth == 0:
                extra = [u for u in self.sitemap if u not in seen]
                seen.update(extra)
                following = extra + following
            if self.tally.fetched >= limit:
                self.tally.left += len(following)
                break
            level, depth = following, depth + 1

    def ordered(self, urls: list[str]) -> list[str]:
        """Sitemap pages most recently changed first, then pages never fetched, then
        the others, fetched longest ago first."""
        age = {url: i for i, url in enumerate(self.known)}

        def key(url: str) -> tuple[int, float]:
            if (lastmod := self.sitemap.get(url)) is not None:
                return (0, -lastmod.timestamp())
            if url not in age:
                return (1, 0.0)
            return (2, -age[url])

        return sorted(urls, key=key)

    async def visit(self, url: str) -> list[str]:
        """Fetch one page, keep its drafts when they changed; its links (none on failure)."""
        self.tally.fetched += 1
        try:
            response = await self.get(url)
            final = canonical_url(response.url) or url
            if final != url and not self.scope.contains(final):
                self.failures.append(f"{url} (redirected out of the crawl to {final})")
                return []
            content_type = response.headers.get("content-type")
            parsed = parse_page(
                response.content,
                source_name=self.source.name,
                page_url=final,
                content_type=content_type,
                article_id=final,
            )
        except ParseError:
            if url == self.target:
                raise
            self.tally.not_html += 1
            return []
        except (SourceGone, AuthFailed, FetchError, BlockedAddress, ResponseTooLarge) as exc:
            if url == self.target:
                raise
            self.failures.append(_failure(url, exc))
            return []
        digest = page_hash(parsed.drafts)
        before = self.known.get(url)
        self.fresh[url] = Known(digest, self.sitemap.get(url))
        if before is not None and before.hash == digest:
            self.tally.unchanged += 1
        else:
            self.tally.changed += 1
            for draft in parsed.drafts:
                self.drafts.setdefault(draft.external_id, replace(draft, source_kind=KIND))
        return page_links(response.content, page_url=final, content_type=content_type)

    # ----------------------------------------------------------------- result

    def result(self) -> FetchResult:
        t = self.tally
        parts = [
            f"{t.fetched} page(s) fetched: {t.changed} new or changed, {t.unchanged} unchanged"
        ]
        if t.sitemap_skips:
            parts.append(f"{t.sitemap_skips} unchanged per the sitemap (not fetched)")
        if t.not_html:
            parts.append(f"{t.not_html} not HTML (skipped)")
        if t.left:
            parts.append(f"max_pages reached: {t.left} page(s) left for the next fetch")
        if self.failures:
            named = "; ".join(self.failures[:_NAMED_FAILURES])
            more = len(self.failures) - _NAMED_FAILURES
            parts.append(
                f"{len(self.failures)} page(s) skipped: {named}"
                + (f" (+{more} more)" if more > 0 else "")
            )
        parts.extend(self.notes)
        cursor = write_cursor(self.fresh, self.known)
        return FetchResult(list(self.drafts.values()), cursor, note="; ".join(parts))


def _failure(url: str, exc: ConnectorError) -> str:
    if isinstance(exc, SourceGone):
        return f"{url} not found"
    return f"{url} ({exc})"
