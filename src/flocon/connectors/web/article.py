"""The main text of a page (article, review, first post) and its canonical address.

The text, title, author and date come from trafilatura, handed the HTML string (it
does no network I/O then); a precise publication time from the page's own metadata
(``article:published_time``, JSON-LD ``datePublished``) is preferred to trafilatura's
day-only date.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from flocon.connectors.web.common import KIND, absolute, parse_date, strip_fragment, text_of
from flocon.domain.models import AuthorRef, Draft

logger = logging.getLogger(__name__)

_TIME_METAS: Final = (
    'meta[property="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="date"]',
    'meta[name="dc.date"]',
)
_ARTICLE_TYPES: Final = frozenset(
    {"Article", "BlogPosting", "NewsArticle", "DiscussionForumPosting", "Review", "WebPage"}
)


def canonical_url(tree: LexborHTMLParser, page_url: str) -> str:
    """The page's ``<link rel="canonical">`` (or ``og:url``), else the page URL, no fragment."""
    for selector, attr in (
        ('link[rel="canonical"]', "href"),
        ('meta[property="og:url"]', "content"),
    ):
        node = tree.css_first(selector)
        if node is not None and (url := absolute(node.attributes.get(attr), page_url)):
            return strip_fragment(url)
    return strip_fragment(page_url)


def extract_article(
    html: str,
    tree: LexborHTMLParser,
    *,
    source_name: str,
    page_url: str,
    article_id: str,
) -> Draft | None:
    """The main text of the page as a draft, or None when trafilatura finds no text."""
    document = trafilatura.bare_extraction(
        html,
        url=page_url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
    )
    if document is None:
        return None
    fields: dict[str, Any] = document if isinstance(document, dict) else document.as_dict()
    text = text_of(fields.get("text"))
    if text is None:
        return None
    lang = text_of(fields.get("language")) or _page_lang(tree)
    return Draft(
        source_kind=KIND,
        source_name=source_name,
        text=text,
        external_id=article_id,
        title=text_of(fields.get("title")),
        url=article_id,
        author=AuthorRef(name=author) if (author := text_of(fields.get("author"))) else None,
        published_at=_published_at(tree) or _day(fields.get("date")),
        lang=lang,
    )


def _page_lang(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("html")
    value = text_of(node.attributes.get("lang")) if node is not None else None
    if value is None:
        return None
    primary = value.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _published_at(tree: LexborHTMLParser) -> datetime | None:
    for selector in _TIME_METAS:
        node = tree.css_first(selector)
        if node is not None and (date := parse_date(node.attributes.get("content"))):
            return date
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text())
        except ValueError:
            continue
        if date := _ld_published(data):
            return date
    return None


def _ld_published(data: Any) -> datetime | None:
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(graph := item.get("@graph"), list) and (date := _ld_published(graph)):
            return date
        types = item.get("@type")
        names = set(types) if isinstance(types, list) else {types}
        if names & _ARTICLE_TYPES and (
            date := parse_date(item.get("datePublished") or item.get("dateCreated"))
        ):
            return date
    return None


def _day(value: Any) -> datetime | None:
    """trafilatura's ``YYYY-MM-DD`` as midnight UTC."""
    date = parse_date(value)
    return date.astimezone(UTC) if date else None
