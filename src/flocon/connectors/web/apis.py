"""Comments and posts read from engine APIs: the WordPress REST API and Discourse.

Pure: each function takes the decoded JSON of one response and returns drafts.
"""

from __future__ import annotations

import re
from typing import Any, Final

from flocon.connectors.web.common import (
    PageContext,
    absolute,
    html_text,
    make_draft,
    parse_date,
    text_of,
)
from flocon.domain.models import Draft
from flocon.errors import ParseError

_DISCOURSE_TOPIC_RE: Final = re.compile(r"^/t/(?:([^/]+)/)?(\d+)(?:/\d+)?/?$")


def wordpress_api_comments(data: Any, context: PageContext) -> list[Draft]:
    """Drafts of one page of ``/wp-json/wp/v2/comments`` (a JSON array of comments)."""
    if not isinstance(data, list):
        raise ParseError(
            "the WordPress comments API did not answer with a list", url=context.page_url
        )
    drafts: list[Draft] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        content = item.get("content")
        rendered = content.get("rendered") if isinstance(content, dict) else None
        text = html_text(rendered if isinstance(rendered, str) else None)
        if not text:
            continue
        comment_id = item["id"]
        parent = item.get("parent")
        external_id = f"{context.article_id}#comment-{comment_id}"
        date = item.get("date_gmt")
        published = parse_date(date) if text_of(date) else parse_date(item.get("date"))
        drafts.append(
            make_draft(
                context,
                external_id=external_id,
                text=text,
                author=text_of(item.get("author_name")),
                published_at=published,
                url=absolute(text_of(item.get("link")), context.page_url) or external_id,
                parent=(
                    f"{context.article_id}#comment-{parent}"
                    if isinstance(parent, int) and parent > 0
                    else None
                ),
            )
        )
    return drafts


# --------------------------------------------------------------------------- Discourse


def discourse_topic_id(path: str) -> int | None:
    """The topic id of a Discourse topic path (``/t/slug/123``, ``/t/slug/123/4``), or None."""
    match = _DISCOURSE_TOPIC_RE.match(path)
    return int(match.group(2)) if match else None


def discourse_topic_url(data: Any, base_url: str) -> str:
    """The canonical address of a topic from its ``/t/ID.json``."""
    if not isinstance(data, dict):
        raise ParseError("a Discourse topic is a JSON object", url=base_url)
    slug = text_of(data.get("slug")) or "topic"
    topic_id = data.get("id")
    return absolute(f"/t/{slug}/{topic_id}", base_url) or base_url


def discourse_stream(data: Any) -> list[int]:
    """Every post id of the topic, in order (``post_stream.stream``)."""
    stream = _post_stream(data).get("stream")
    return [i for i in stream if isinstance(i, int)] if isinstance(stream, list) else []


def discourse_posts(data: Any, context: PageContext) -> list[Draft]:
    """Drafts of ``post_stream.posts``; post 1 is the topic's main text (id: the topic URL)."""
    posts = _post_stream(data).get("posts")
    if not isinstance(posts, list):
        raise ParseError("a Discourse answer without post_stream.posts", url=context.page_url)
    title = text_of(data.get("title")) if isinstance(data, dict) else None
    drafts: list[Draft] = []
    for post in posts:
        if not isinstance(post, dict) or not isinstance(post.get("post_number"), int):
            continue
        if post.get("hidden") or post.get("deleted_at") or post.get("action_code"):
            continue
        text = html_text(post.get("cooked") if isinstance(post.get("cooked"), str) else None)
        if not text:
            continue
        number = post["post_number"]
        external_id = post_id(context, number)
        reply_to = post.get("reply_to_post_number")
        if number == 1:
            parent = ""
        elif isinstance(reply_to, int) and reply_to > 0:
            parent = post_id(context, reply_to)
        else:
            parent = None
        likes = _likes(post)
        drafts.append(
            make_draft(
                context,
                external_id=external_id,
                text=text,
                author=text_of(post.get("name")) or text_of(post.get("username")),
                handle=text_of(post.get("username")),
                published_at=parse_date(post.get("created_at")),
                url=external_id,
                parent=parent,
                title=title if number == 1 else None,
                likes=likes,
            )
        )
    return drafts


def post_id(context: PageContext, number: int) -> str:
    """A post's id and permalink: the topic URL, plus ``/N`` after the first post."""
    return context.article_id if number == 1 else f"{context.article_id}/{number}"


def _post_stream(data: Any) -> dict[str, Any]:
    stream = data.get("post_stream") if isinstance(data, dict) else None
    return stream if isinstance(stream, dict) else {}


def _likes(post: dict[str, Any]) -> int | None:
    count = post.get("like_count")
    if isinstance(count, int):
        return count
    for action in post.get("actions_summary") or []:
        if (
            isinstance(action, dict)
            and action.get("id") == 2
            and isinstance(action.get("count"), int)
        ):
            return int(action["count"])
    return None
