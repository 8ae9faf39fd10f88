"""Comments a page declares with schema.org: JSON-LD blocks and microdata.

JSON-LD: every ``Comment``, ``Answer`` or ``Review`` reachable through ``comment``,
``review``, ``suggestedAnswer``, ``acceptedAnswer`` or ``@graph``; a comment nested in
another comment's ``comment`` array is a reply to it. Microdata: every element with
``itemtype=".../Comment"``; one nested in another is a reply to it.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from selectolax.lexbor import LexborHTMLParser, LexborNode

from flocon.connectors.web.common import (
    PageContext,
    absolute,
    content_key,
    html_text,
    make_draft,
    node_text,
    parse_date,
    text_of,
)
from flocon.domain.models import Draft

logger = logging.getLogger(__name__)

_COMMENT_TYPES: Final = frozenset({"Comment", "Answer", "Review", "UserComments"})
_CHILD_KEYS: Final = ("comment", "review", "suggestedAnswer", "acceptedAnswer", "mainEntity")
_MAX_DEPTH: Final = 64


def jsonld_comments(tree: LexborHTMLParser, context: PageContext) -> list[Draft]:
    """Drafts of the comments, answers and reviews declared in JSON-LD blocks."""
    drafts: list[Draft] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text())
        except ValueError:
            logger.debug("skipping an invalid JSON-LD block on %s", context.page_url)
            continue
        _walk(data, None, context, drafts, depth=0)
    return drafts


def _types(item: dict[str, Any]) -> set[str]:
    value = item.get("@type")
    names = value if isinstance(value, list) else [value]
    return {name.rsplit("/", 1)[-1] for name in names if isinstance(name, str)}


def _walk(
    data: Any, parent: str | None, context: PageContext, out: list[Draft], *, depth: int
) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            _walk(item, parent, context, out, depth=depth + 1)
        return
    if not isinstance(data, dict):
        return
    own_id = parent
    if _types(data) & _COMMENT_TYPES:
        draft = _jsonld_draft(data, parent, context)
        if draft is not None:
            out.append(draft)
            own_id = draft.external_id
    for key in ("@graph", *_CHILD_KEYS):
        if key in data:
            _walk(data[key], own_id, context, out, depth=depth + 1)


def _jsonld_draft(item: dict[str, Any], parent: str | None, context: PageContext) -> Draft | None:
    raw = item.get("text") or item.get("reviewBody") or item.get("articleBody")
    text = html_text(raw) if isinstance(raw, str) else ""
    if not text:
        return None
    url = absolute(text_of(item.get("url")), context.page_url)
    author = _author_name(item.get("author"))
    date = item.get("dateCreated") or item.get("datePublished") or item.get("dateModified")
    identifier = text_of(item.get("@id")) or url or text_of(str(item.get("identifier") or ""))
    external_id = (
        absolute(identifier, context.page_url) or f"{context.article_id}#{identifier}"
        if identifier
        else f"{context.article_id}#ld-{content_key(author or '', str(date), text)}"
    )
    return make_draft(
        context,
        external_id=external_id,
        text=text,
        author=author,
        published_at=parse_date(date),
        url=url or external_id,
        parent=parent,
        title=text_of(item.get("headline")) or text_of(item.get("name")),
    )


def _author_name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return text_of(value.get("name")) or text_of(value.get("alternateName"))
    return text_of(value)


# --------------------------------------------------------------------------- microdata


def microdata_comments(tree: LexborHTMLParser, context: PageContext) -> list[Draft]:
    """Drafts of the elements marked ``itemscope itemtype="https://schema.org/Comment"``."""
    drafts: list[Draft] = []
    ids: dict[int, str] = {}
    for node in tree.css('[itemtype$="/Comment"], [itemtype$="/Answer"]'):
        parent = _enclosing_comment_id(node, ids)
        text = node_text(_own_prop(node, "text") or _own_prop(node, "reviewBody"))
        if not text:
            continue
        author_node = _own_prop(node, "author")
        author = None
        if author_node is not None:
            name = _own_prop(author_node, "name")
            author = (node_text(name) if name is not None else node_text(author_node)) or None
        date_node = _own_prop(node, "dateCreated") or _own_prop(node, "datePublished")
        date = None
        if date_node is not None:
            date = parse_date(
                date_node.attributes.get("datetime")
                or date_node.attributes.get("content")
                or date_node.text()
            )
        url_node = _own_prop(node, "url")
        url = (
            absolute(
                url_node.attributes.get("href") or url_node.attributes.get("content"),
                context.page_url,
            )
            if url_node is not None
            else None
        )
        html_id = text_of(node.attributes.get("id"))
        external_id = (
            f"{context.article_id}#{html_id}"
            if html_id
            else url or f"{context.article_id}#md-{content_key(author or '', str(date), text)}"
        )
        ids[node.mem_id] = external_id
        drafts.append(
            make_draft(
                context,
                external_id=external_id,
                text=text,
                author=author,
                published_at=date,
                url=url or (f"{context.page_url.split('#')[0]}#{html_id}" if html_id else None),
                parent=parent,
            )
        )
    return drafts


def _enclosing_comment_id(node: LexborNode, ids: dict[int, str]) -> str | None:
    current = node.parent
    while current is not None:
        if current.mem_id in ids:
            return ids[current.mem_id]
        current = current.parent
    return None


def _own_prop(node: LexborNode, name: str) -> LexborNode | None:
    """The first ``[itemprop=name]`` inside ``node`` that belongs to it, not to a nested item."""
    for found in node.css(f'[itemprop~="{name}"]'):
        current = found.parent
        while current is not None and current.mem_id != node.mem_id:
            if "itemscope" in current.attributes:
                break
            current = current.parent
        else:
            return found
    return None
