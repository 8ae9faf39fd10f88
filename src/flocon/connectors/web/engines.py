"""Comment and post markup of known engines (WordPress, phpBB) and pagination links.

Also what a page says about itself that the fetcher needs: the WordPress REST API
root and post id, and the link to the next page of comments or posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from selectolax.lexbor import LexborHTMLParser, LexborNode

from flocon.connectors.web.common import (
    PageContext,
    absolute,
    make_draft,
    node_text,
    parse_date,
    strip_fragment,
    text_of,
)
from flocon.domain.models import Draft

_WP_COMMENT_ID_RE: Final = re.compile(r"^(?:div-)?comment-(\d+)$")
_WP_POST_CLASS_RE: Final = re.compile(r"\bpostid-(\d+)\b")
_WP_POST_LINK_RE: Final = re.compile(r"/wp-json/wp/v2/posts/(\d+)")
_PHPBB_ID_RE: Final = re.compile(r"^p(\d+)$")
_NEXT_LABELS: Final = frozenset({"next", "suivant", "suivante", "page suivante", "›", "»"})
_NEXT_SELECTORS: Final = (
    'link[rel~="next"]',
    'a[rel~="next"]',
    ".pagination a.next",
    ".pagination li.next a",
    ".pagination li.arrow.next a",
    ".comment-navigation .nav-next a",
    ".nav-links a.next",
)


@dataclass(frozen=True, slots=True)
class WordPressApi:
    """Where a WordPress page's comments can be read: ``{root}wp/v2/comments?post={post_id}``."""

    root: str
    post_id: int

    def comments_url(self) -> str:
        return f"{self.root.rstrip('/')}/wp/v2/comments"


def wordpress_api(tree: LexborHTMLParser, page_url: str) -> WordPressApi | None:
    """The REST API root and post id a WordPress page announces, or None."""
    root_node = tree.css_first('link[rel="https://api.w.org/"]')
    root = absolute(root_node.attributes.get("href"), page_url) if root_node else None
    if root is None:
        return None
    for node in tree.css('link[rel="alternate"]'):
        match = _WP_POST_LINK_RE.search(node.attributes.get("href") or "")
        if match:
            return WordPressApi(root, int(match.group(1)))
    body = tree.body
    match = _WP_POST_CLASS_RE.search(body.attributes.get("class") or "") if body else None
    return WordPressApi(root, int(match.group(1))) if match else None


def next_page(tree: LexborHTMLParser, page_url: str) -> str | None:
    """The next page of the thread or of the comments, without fragment, or None."""
    for selector in _NEXT_SELECTORS:
        node = tree.css_first(selector)
        if node is not None and (url := absolute(node.attributes.get("href"), page_url)):
            return strip_fragment(url)
    for node in tree.css(".pagination a"):
        label = node.text(strip=True).lower()
        if label in _NEXT_LABELS and (url := absolute(node.attributes.get("href"), page_url)):
            return strip_fragment(url)
    return None


# --------------------------------------------------------------------------- WordPress


def wordpress_comments(tree: LexborHTMLParser, context: PageContext) -> list[Draft]:
    """Drafts of ``ol.comment-list li.comment`` items; ``ul.children`` nesting gives parents."""
    drafts: list[Draft] = []
    lists = tree.css("ol.comment-list, ol.commentlist, ul.comment-list, ul.commentlist")
    seen: set[int] = set()
    for comment_list in lists:
        for item in comment_list.css('li[id^="comment-"]'):
            if item.mem_id in seen:
                continue
            seen.add(item.mem_id)
            if (draft := _wordpress_comment(item, context)) is not None:
                drafts.append(draft)
    return drafts


def _wordpress_comment(item: LexborNode, context: PageContext) -> Draft | None:
    match = _WP_COMMENT_ID_RE.match(item.attributes.get("id") or "")
    if match is None:
        return None
    comment_id = match.group(1)
    body = _own_body(item)
    content = _first(body, ".comment-content, .comment-text, .comment-body-content")
    if content is None:
        content = _paragraphs(body)
    text = node_text(content)
    if not text:
        return None
    author_node = _first(body, ".comment-author .fn, .comment-author cite, .fn, .comment-author")
    time_node = _first(body, "time[datetime]")
    date = parse_date(time_node.attributes.get("datetime")) if time_node else None
    if date is None:
        meta = _first(body, ".comment-metadata, .comment-meta, .commentmetadata")
        date = parse_date(meta.text(separator=" ")) if meta else None
    link = None
    for anchor in _all(body, 'a[href*="#comment-"]'):
        link = absolute(anchor.attributes.get("href"), context.page_url)
        break
    parent = _parent_comment_id(item)
    return make_draft(
        context,
        external_id=f"{context.article_id}#comment-{comment_id}",
        text=text,
        author=node_text(author_node) or None if author_node is not None else None,
        published_at=date,
        url=link or f"{context.article_id}#comment-{comment_id}",
        parent=f"{context.article_id}#comment-{parent}" if parent else None,
    )


def _own_body(item: LexborNode) -> list[LexborNode]:
    """The element children of a comment ``li`` except its nested replies."""
    nodes: list[LexborNode] = []
    child = item.child
    while child is not None:
        if child.is_element_node and not (
            child.tag in ("ul", "ol") and "children" in (child.attributes.get("class") or "")
        ):
            nodes.append(child)
        child = child.next
    return nodes


def _first(nodes: list[LexborNode], selectors: str) -> LexborNode | None:
    """The first match of the first of the comma-separated ``selectors`` that matches."""
    for selector in selectors.split(","):
        for node in nodes:
            if (found := node.css_first(selector.strip())) is not None:
                return found
    return None


def _all(nodes: list[LexborNode], selector: str) -> list[LexborNode]:
    found: list[LexborNode] = []
    for node in nodes:
        found.extend(node.css(selector))
    return found


def _paragraphs(nodes: list[LexborNode]) -> LexborNode | None:
    paragraphs = _all(nodes, "p")
    if not paragraphs:
        return None
    holder = LexborHTMLParser("".join(p.html or "" for p in paragraphs)).body
    return holder


def _parent_comment_id(item: LexborNode) -> str | None:
    current = item.parent
    while current is not None:
        if current.tag == "li" and (
            match := _WP_COMMENT_ID_RE.match(current.attributes.get("id") or "")
        ):
            return match.group(1)
        classes = current.attributes.get("class") or ""
        if current.tag in ("ol", "ul") and "comment" in classes and "children" not in classes:
            return None
        current = current.parent
    return None


# --------------------------------------------------------------------------- phpBB


def is_phpbb(tree: LexborHTMLParser) -> bool:
    return any(_PHPBB_ID_RE.match(node.attributes.get("id") or "") for node in tree.css("div.post"))


def phpbb_posts(
    tree: LexborHTMLParser, context: PageContext, *, first_is_article: bool
) -> list[Draft]:
    """Drafts of ``div.post`` blocks; the first of the thread's first page is its main text."""
    drafts: list[Draft] = []
    title_node = tree.css_first("h2.topic-title, h2")
    title = node_text(title_node) or None if title_node is not None else None
    for node in tree.css("div.post"):
        match = _PHPBB_ID_RE.match(node.attributes.get("id") or "")
        if match is None:
            continue
        post_id = match.group(1)
        text = node_text(node.css_first(".content"))
        if not text:
            continue
        author_node = node.css_first(
            ".author a.username, .author a.username-coloured, .author strong, .postprofile .username"
        )
        time_node = node.css_first("time[datetime]")
        date = parse_date(time_node.attributes.get("datetime")) if time_node else None
        if date is None and (author_line := node.css_first(".author")) is not None:
            date = parse_date(author_line.text(separator=" "))
        link_node = node.css_first(f'.author a[href*="#p{post_id}"], a[href*="p={post_id}"]')
        link = absolute(link_node.attributes.get("href"), context.page_url) if link_node else None
        url = link or f"{strip_fragment(context.page_url)}#p{post_id}"
        author = node_text(author_node) or None if author_node is not None else None
        if first_is_article and not drafts:
            drafts.append(
                make_draft(
                    context,
                    external_id=context.article_id,
                    text=text,
                    author=author,
                    published_at=date,
                    url=context.article_id,
                    title=text_of(title),
                    parent="",
                )
            )
            continue
        drafts.append(
            make_draft(
                context,
                external_id=f"{context.article_id}#p{post_id}",
                text=text,
                author=author,
                published_at=date,
                url=url,
            )
        )
    return drafts
