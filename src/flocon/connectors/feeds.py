"""The ``feed`` connector: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

:func:`parse_feed` is pure: bytes in, drafts out. XML feeds go through feedparser
(always handed a byte stream, never a string: feedparser would fetch a URL string
or open a path string); JSON Feed, which feedparser 6 does not read, is parsed here.
:class:`FeedConnector` does a conditional GET and keeps, in the cursor, the
validators of the last response and the keys of the entries already seen, so a
fetch returns only new entries.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import feedparser  # type: ignore[import-untyped]
from feedparser.exceptions import (  # type: ignore[import-untyped]
    CharacterEncodingOverride,
    NonXMLContentType,
)

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.seen import item_key, seen_keys
from flocon.connectors.seen import remember as seen_remember
from flocon.connectors.seen import select_new as seen_select_new
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ParseError

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient

__all__ = [
    "SEEN_LIMIT",
    "FeedConnector",
    "ParsedFeed",
    "advertised_feeds",
    "entry_key",
    "parse_feed",
    "remember",
    "select_new",
]

logger = logging.getLogger(__name__)

KIND: Final = "feed"
#: How many entry keys the cursor remembers (a feed rarely lists more than 100).
SEEN_LIMIT: Final = 500
ENTRY_KEY_LENGTH: Final = 20

_GOOGLE_HOSTS: Final = frozenset({"www.google.com", "google.com"})
_BOLD_RE: Final = re.compile(r"</?b>", re.IGNORECASE)
_LANG_RE: Final = re.compile(r"[a-z]{2,3}")
_JSON_FEED_PREFIX: Final = "https://jsonfeed.org/version/"
_LINK_TAG_RE: Final = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR_RE: Final = re.compile(r"""([\w:-]+)\s*=\s*(["'])(.*?)\2""", re.DOTALL)
_FEED_TYPES: Final = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
_MAX_PAGE_SCAN: Final = 256 * 1024
# feedparser flags these even on a feed it read completely.
_BENIGN_BOZO: Final = (CharacterEncodingOverride, NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: its title, one draft per entry, and why it was malformed (None: it was not)."""

    title: str | None
    drafts: list[Draft]
    bozo_reason: str | None = None


# --------------------------------------------------------------------------- parsing


def parse_feed(
    raw: bytes, *, source_name: str, base_url: str, content_type: str | None = None
) -> ParsedFeed:
    """Parse an RSS, Atom or JSON Feed document into drafts (no I/O).

    ``base_url`` is the URL the document was fetched from: relative links are made
    absolute against it. A malformed feed that still yields entries is kept, with
    ``bozo_reason`` set; a payload that is no feed at all raises :class:`ParseError`.
    """
    body = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        raise ParseError("not a feed: the body is empty", source=source_name, url=base_url)
    if body.startswith(b"{") or "json" in (content_type or "").lower():
        return _parse_json_feed(body, source_name=source_name, base_url=base_url)
    return _parse_xml_feed(
        raw, source_name=source_name, base_url=base_url, content_type=content_type
    )


def _parse_xml_feed(
    raw: bytes, *, source_name: str, base_url: str, content_type: str | None
) -> ParsedFeed:
    # No Content-Location: feedparser would resolve non-permalink guids against it,
    # and ids must not change when a feed moves. Links are made absolute below.
    headers = {"content-type": content_type or "application/xml"}
    result = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    entries: list[Any] = dict.get(result, "entries") or []
    version: str = dict.get(result, "version") or ""
    exc = dict.get(result, "bozo_exception") if dict.get(result, "bozo") else None
    reason = _describe(exc) if exc is not None else None
    if not entries and (not version or (exc is not None and not isinstance(exc, _BENIGN_BOZO))):
        why = (reason if version else None) or "no RSS, Atom or RDF root element"
        if advertised := advertised_feeds(raw, base_url):
            why += f"; this looks like a web page, its feed may be {' or '.join(advertised)}"
        raise ParseError(f"not a feed: {why}", source=source_name, url=base_url)
    feed: Any = dict.get(result, "feed") or {}
    feed_lang = _lang(_get(feed, "language"))
    feed_author = _author_name(feed)
    google = str(_get(feed, "id") or "").startswith("tag:google.com,") or any(
        str(_get(e, "id") or "").startswith("tag:google.com,2013:googlealerts/") for e in entries
    )
    drafts = [
        _entry_draft(
            entry,
            source_name=source_name,
            base_url=base_url,
            feed_lang=feed_lang,
            feed_author=feed_author,
            google=google,
        )
        for entry in entries
    ]
    return ParsedFeed(title=_text(_get(feed, "title")), drafts=drafts, bozo_reason=reason)


def _entry_draft(
    entry: Any,
    *,
    source_name: str,
    base_url: str,
    feed_lang: str | None,
    feed_author: str | None,
    google: bool,
) -> Draft:
    title = _text(_get(entry, "title"))
    if title is not None and google:
        title = _BOLD_RE.sub("", title)
    summary = _text(_get(entry, "summary"))
    content = _best_content(_get(entry, "content"))
    link = _text(_get(entry, "link"))
    url = _absolute_url(link, base_url, unwrap_google=google)
    parsed_date = _get(entry, "published_parsed") or _get(entry, "updated_parsed")
    author = _author_name(entry) or feed_author
    lang = _lang(_detail_language(entry)) or feed_lang
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        text=content or summary or title or "",
        external_id=_text(_get(entry, "id")) or url or link or _content_key(title, summary),
        title=title,
        url=url,
        author=AuthorRef(name=author) if author else None,
        published_at=_from_struct_time(parsed_date),
        lang=lang,
    )


def _parse_json_feed(body: bytes, *, source_name: str, base_url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(
            f"not a feed: invalid JSON ({exc})", source=source_name, url=base_url
        ) from None
    version = doc.get("version") if isinstance(doc, dict) else None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_PREFIX)):
        raise ParseError(
            "not a feed: JSON without a JSON Feed version", source=source_name, url=base_url
        )
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without items", source=source_name, url=base_url)
    feed_url = _text(doc.get("feed_url"))
    base = urljoin(base_url, feed_url) if feed_url else base_url
    feed_lang = _lang(doc.get("language"))
    feed_author = _json_author(doc)
    drafts: list[Draft] = []
    skipped: list[int] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(index)
            continue
        drafts.append(
            _json_item_draft(
                item,
                source_name=source_name,
                base_url=base,
                feed_lang=feed_lang,
                feed_author=feed_author,
            )
        )
    reason = f"items {skipped} are not JSON objects" if skipped else None
    return ParsedFeed(title=_text(doc.get("title")), drafts=drafts, bozo_reason=reason)


def _json_item_draft(
    item: Mapping[str, Any],
    *,
    source_name: str,
    base_url: str,
    feed_lang: str | None,
    feed_author: str | None,
) -> Draft:
    title = _text(item.get("title"))
    summary = _text(item.get("summary"))
    content = _text(item.get("content_html")) or _text(item.get("content_text"))
    link = _text(item.get("url")) or _text(item.get("external_url"))
    raw_id = item.get("id")
    item_id = str(raw_id).strip() if isinstance(raw_id, str | int) else None
    published = _from_iso(item.get("date_published")) or _from_iso(item.get("date_modified"))
    author = _json_author(item) or feed_author
    url = _absolute_url(link, base_url, unwrap_google=False)
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        text=content or summary or title or "",
        external_id=item_id or url or link or _content_key(title, summary),
        title=title,
        url=url,
        author=AuthorRef(name=author) if author else None,
        published_at=published,
        lang=_lang(item.get("language")) or feed_lang,
    )


def advertised_feeds(page: bytes, base_url: str) -> list[str]:
    """Feed addresses an HTML page announces (``<link rel="alternate" type="...rss+xml">``)."""
    found: dict[str, None] = {}
    text = page[:_MAX_PAGE_SCAN].decode("utf-8", errors="replace")
    for tag in _LINK_TAG_RE.findall(text):
        attrs = {name.lower(): value for name, _, value in _ATTR_RE.findall(tag)}
        rels = attrs.get("rel", "").lower().split()
        if "alternate" in rels and attrs.get("type", "").lower() in _FEED_TYPES:
            url = _absolute_url(html.unescape(attrs.get("href", "")), base_url, unwrap_google=False)
            if url:
                found.setdefault(url, None)
    return list(found)


# --------------------------------------------------------------------------- field helpers


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` without feedparser's deprecated updated→published fallback."""
    return dict.get(obj, key) if isinstance(obj, dict) else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _describe(exc: object) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _best_content(contents: Any) -> str | None:
    """The HTML content block if there is one, else the first non-empty one."""
    if not isinstance(contents, list):
        return None
    values = [(str(_get(c, "type") or ""), _text(_get(c, "value"))) for c in contents]
    for ctype, value in values:
        if value and "html" in ctype:
            return value
    return next((value for _, value in values if value), None)


def _detail_language(entry: Any) -> Any:
    for key in ("content", "summary_detail", "title_detail"):
        detail = _get(entry, key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        language = _get(detail, "language")
        if language:
            return language
    return _get(entry, "language")


def _author_name(obj: Any) -> str | None:
    detail = _get(obj, "author_detail")
    return _text(_get(detail, "name")) or (None if detail else _text(_get(obj, "author")))


def _json_author(obj: Mapping[str, Any]) -> str | None:
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _text(author.get("name"))):
            return name
    return None


def _lang(value: Any) -> str | None:
    """``fr-FR`` → ``fr``; None for anything that is not a language tag."""
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return primary if _LANG_RE.fullmatch(primary) else None


def _from_struct_time(value: Any) -> datetime | None:
    # feedparser gives every date as a UTC struct_time.
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _from_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _content_key(title: str | None, summary: str | None) -> str:
    digest = hashlib.sha256(f"{title or ''}\n{summary or ''}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def _absolute_url(link: str | None, base_url: str, *, unwrap_google: bool) -> str | None:
    """``link`` made absolute against ``base_url``; None unless it is http(s).

    With ``unwrap_google``, ``https://www.google.com/url?...&url=REAL`` gives ``REAL``.
    """
    if not link:
        return None
    url = urljoin(base_url, link)
    parts = urlsplit(url)
    if unwrap_google and parts.hostname in _GOOGLE_HOSTS and parts.path == "/url":
        query = parse_qs(parts.query)
        real = (query.get("url") or query.get("q") or [""])[0]
        if real:
            url, parts = real, urlsplit(real)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


# --------------------------------------------------------------------------- fetching


class FeedConnector:
    """Reads one feed URL, with a conditional GET and a cursor of entries already seen."""

    kind: ClassVar[str] = KIND
    summary: ClassVar[str] = "RSS, Atom or JSON Feed of a blog, news site, forum or Google Alert"

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        """An absolute http(s) URL, without fragment; scheme and host lower-cased."""
        url = target.strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"a feed target is the feed's full address, starting with https:// "
                f"or http:// (got {target!r})"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("a feed address must not contain a user name or password")
        netloc = parts.hostname + (f":{parts.port}" if parts.port is not None else "")
        return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))

    async def fetch(self, source: SourceSpec, http: HttpClient) -> FetchResult:
        """GET the feed (conditionally) and return the entries not seen before."""
        cursor = source.cursor
        headers: dict[str, str] = {}
        if isinstance(etag := cursor.get("etag"), str) and etag:
            headers["If-None-Match"] = etag
        if isinstance(last_modified := cursor.get("last_modified"), str) and last_modified:
            headers["If-Modified-Since"] = last_modified
        response = await http.get(source.target, headers=headers, accept_statuses=(304,))
        if response.status == 304:
            return FetchResult([], dict(cursor), not_modified=True, note="not modified")
        parsed = parse_feed(
            response.content,
            source_name=source.name,
            base_url=response.url,
            content_type=response.headers.get("content-type"),
        )
        seen_before = seen_keys(cursor)
        new, keys = select_new(parsed.drafts, seen_before)
        new_cursor: dict[str, Any] = {"seen": remember(keys, seen_before)}
        if etag := response.headers.get("etag"):
            new_cursor["etag"] = etag
        if last_modified := response.headers.get("last-modified"):
            new_cursor["last_modified"] = last_modified
        note = f"{len(new)} new of {len(parsed.drafts)} entries"
        if parsed.bozo_reason:
            logger.warning("feed %s is malformed: %s", source.name, parsed.bozo_reason)
            note += f"; feed is malformed but readable ({parsed.bozo_reason})"
        return FetchResult(new, new_cursor, note=note)


def entry_key(draft: Draft) -> str:
    """What the cursor remembers of an entry: a short hash of its id (ids can be long URLs)."""
    return item_key(draft, ENTRY_KEY_LENGTH)


def select_new(drafts: Sequence[Draft], seen: Sequence[str]) -> tuple[list[Draft], list[str]]:
    """The drafts whose key is not in ``seen`` (first of each key), and every key in feed order."""
    return seen_select_new(drafts, seen, key_length=ENTRY_KEY_LENGTH)


def remember(current: Sequence[str], seen: Sequence[str], limit: int = SEEN_LIMIT) -> list[str]:
    """The keys to keep: the feed's current keys first, then older ones, at most ``limit``."""
    return seen_remember(current, seen, limit)
