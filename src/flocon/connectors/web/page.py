"""One fetched web page to drafts: its main text, then its comments or posts (pure).

Engines are tried from the most specific: WordPress comment markup, phpBB posts, then
schema.org (microdata and JSON-LD). Each page also tells the fetcher where its next
page is and whether a WordPress REST API can give the comments instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from selectolax.lexbor import LexborHTMLParser

from flocon.connectors.http.response import charset_of, decode_text
from flocon.connectors.web.article import canonical_url, extract_article
from flocon.connectors.web.common import PageContext
from flocon.connectors.web.engines import (
    WordPressApi,
    is_phpbb,
    next_page,
    phpbb_posts,
    wordpress_api,
    wordpress_comments,
)
from flocon.connectors.web.structured import jsonld_comments, microdata_comments
from flocon.domain.models import Draft
from flocon.errors import ParseError

_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_META_CHARSET_RE: Final = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedPage:
    """What a page holds: ``drafts`` (main text first, when asked for), in page order.

    ``engine`` names the markup the comments were read from (``wordpress``, ``phpbb``,
    ``schema.org`` or ``none``); ``next_url`` is the next page of the thread or comments.
    """

    article_id: str
    drafts: list[Draft]
    engine: str
    next_url: str | None
    wordpress: WordPressApi | None


def check_content_type(content_type: str | None, *, url: str, source_name: str) -> None:
    """Raise :class:`ParseError` unless ``content_type`` is absent or HTML."""
    if not content_type:
        return
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime not in _HTML_TYPES:
        raise ParseError(f"not a web page: content type {mime}", source=source_name, url=url)


def decode_page(raw: bytes, content_type: str | None) -> str:
    """The page as text: the declared charset, else ``<meta charset>``, else UTF-8.

    A page that says UTF-8 (or nothing) but is not valid UTF-8 is read as windows-1252,
    which keeps the accents of Latin-1 pages mislabelled as UTF-8.
    """
    charset = charset_of(content_type)
    if charset is None and (match := _META_CHARSET_RE.search(raw[:4096])):
        charset = match.group(1).decode("ascii").lower()
    if charset in (None, "utf-8", "utf8"):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")
    return decode_text(raw, charset)


def parse_page(
    raw: bytes,
    *,
    source_name: str,
    page_url: str,
    content_type: str | None = None,
    article_id: str | None = None,
    with_article: bool = True,
) -> ParsedPage:
    """Parse one HTML page (no I/O).

    ``article_id`` is given for the later pages of a thread (their own canonical URL
    may differ from the first page's); ``with_article`` False skips the main text.
    """
    check_content_type(content_type, url=page_url, source_name=source_name)
    html = decode_page(raw, content_type)
    tree = LexborHTMLParser(html)
    if tree.body is None and tree.head is None:
        raise ParseError("not a web page: no HTML in the body", source=source_name, url=page_url)
    article = article_id or canonical_url(tree, page_url)
    context = PageContext(source_name=source_name, page_url=page_url, article_id=article)
    next_url = next_page(tree, page_url)
    if is_phpbb(tree):
        drafts = phpbb_posts(tree, context, first_is_article=with_article)
        return ParsedPage(article, drafts, "phpbb", next_url, None)
    drafts = []
    if with_article:
        main = extract_article(
            html, tree, source_name=source_name, page_url=page_url, article_id=article
        )
        if main is not None:
            drafts.append(main)
    if comments := wordpress_comments(tree, context):
        engine = "wordpress"
    else:
        comments = _unique(microdata_comments(tree, context) + jsonld_comments(tree, context))
        engine = "schema.org" if comments else "none"
    drafts.extend(comments)
    return ParsedPage(article, drafts, engine, next_url, wordpress_api(tree, page_url))


def _unique(drafts: list[Draft]) -> list[Draft]:
    seen: set[str | None] = set()
    kept: list[Draft] = []
    for draft in drafts:
        if draft.external_id not in seen:
            seen.add(draft.external_id)
            kept.append(draft)
    return kept
