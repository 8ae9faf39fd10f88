"""Replies and moderation on the brand's WordPress site, through its REST API.

The account is a WordPress user with an application password (Users → Profile →
Application Passwords), sent as HTTP basic auth; ``base_url`` is the site's root
(``https://blog.example``) or its REST root (``.../wp-json``).

The web connector names a comment ``{article URL}#comment-{id}`` and the article
itself ``{article URL}``. A reply to a comment needs the comment's post id: taken
from ``extra["post_id"]`` when the services know it, else read from the comment
(``GET /wp/v2/comments/{id}``). A reply to the article needs ``extra["post_id"]``.

Moderation sets the comment's status (``POST /wp/v2/comments/{id}``): ``hold``
(back to the moderation queue), ``approved``, ``spam``. WordPress has no "hidden with
a note" state, so *hide* = ``hold`` plus a public comment, by the brand, giving the
reason where the hidden comment stood (as a reply to its parent, or on the article).
Nothing is ever deleted or trashed: every decision can be undone from WordPress.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from typing import Any, Final

from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.values import as_int, as_str, http_url
from flocon.errors import ConnectorError, FetchError, ParseError, PostRejected
from flocon.posting.base import ModerationAction, Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Kind, Platform, Step, body, send, short, unexpected

_COMMENT_RE: Final = re.compile(r"#comment-(\d+)$")
_TAGS_RE: Final = re.compile(r"<[^>]+>")
#: Error codes that refuse the content or the place, not the credentials.
_REJECTED: Final = frozenset(
    {
        "rest_comment_closed",
        "rest_comment_draft_post",
        "rest_comment_trash_post",
        "rest_comment_password_post",
        "rest_comment_content_invalid",
        "rest_comment_invalid_status",
        "comment_duplicate",
        "comment_content_column_length",
    }
)
_GONE: Final = frozenset(
    {"rest_post_invalid_id", "rest_comment_invalid_id", "rest_comment_invalid_post_id"}
)
STATUSES: Final[Mapping[ModerationAction, str]] = {
    "hold": "hold",
    "approve": "approved",
    "spam": "spam",
    "hide": "hold",
}

_FIND = Step("the lookup of the comment", "the comment", writes=False, idempotent=True)
_REPLY = Step("the reply", "the comment or article to reply to", writes=True, idempotent=False)
_MODERATE = Step("the moderation", "the comment to moderate", writes=True, idempotent=True)
_NOTICE = Step(
    "the public reason", "the article of the hidden comment", writes=True, idempotent=False
)


def _error(response: HttpResponse) -> tuple[str | None, str | None]:
    """``(code, message)`` of a WordPress error ``{"code", "message", "data"}``."""
    try:
        data = response.json()
    except ParseError:
        return None, None
    if not isinstance(data, Mapping):
        return None, None
    message = as_str(data.get("message"))
    if message is not None:
        message = short(html.unescape(_TAGS_RE.sub("", message)))
    return as_str(data.get("code")), message or None


def explain(response: HttpResponse) -> str | None:
    return _error(response)[1]


def classify(response: HttpResponse) -> Kind | None:
    code = _error(response)[0]
    if code in _REJECTED:
        return "rejected"
    if code in _GONE:
        return "gone"
    if code == "comment_flood":
        return "rate_limited"
    return None


WORDPRESS: Final = Platform("wordpress", "WordPress", explain, classify)


def comment_id(target: ReplyTarget) -> int | None:
    """The comment id of ``extra["comment_id"]`` or of ``…#comment-N``; None for an article."""
    if (given := target.extra.get("comment_id", "").strip()).isdigit():
        return int(given)
    match = _COMMENT_RE.search(target.external_id)
    return int(match.group(1)) if match else None


def article_id(target: ReplyTarget) -> str:
    """The reading connector's id of the article the target belongs to."""
    return _COMMENT_RE.sub("", target.external_id)


def api_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/wp-json") else base + "/wp-json"


def _auth(account: PostingAccount) -> dict[str, str]:
    pair = f"{credential(account, 'username')}:{credential(account, 'application_password')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


class WordPressConnector:
    """Replies to and moderates comments of the brand's WordPress site."""

    platform = "wordpress"
    credential_sets: tuple[frozenset[str], ...] = (frozenset({"username", "application_password"}),)

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        root, auth = api_root(account.base_url), _auth(account)
        parent = comment_id(target)
        post = as_int(target.extra.get("post_id", "").strip(), digits=True)
        if post is None:
            if parent is None:
                raise PostRejected(
                    "flocon cannot reply on WordPress: the article's post id is unknown "
                    "(extra['post_id'])",
                    source=self.platform,
                )
            found = await self._comment(http, root, auth, parent)
            post = as_int(found.get("post"))
            if post is None:
                raise PostRejected(
                    "WordPress did not say which article the comment belongs to",
                    source=self.platform,
                )
        created = await self._create(
            http, root, auth, _REPLY, post=post, parent=parent or 0, text=text
        )
        new_id = as_int(created.get("id"))
        assert new_id is not None  # checked by _create
        return Posted(
            external_id=f"{article_id(target)}#comment-{new_id}",
            url=http_url(created.get("link")),
        )

    async def moderate(
        self,
        http: HttpClient,
        account: PostingAccount,
        target: ReplyTarget,
        action: ModerationAction,
        *,
        reason: str | None,
    ) -> None:
        comment = comment_id(target)
        if comment is None:
            raise PostRejected(
                "WordPress moderation applies to comments; this is not one", source=self.platform
            )
        if action == "hide" and not (reason and reason.strip()):
            raise PostRejected(
                "Hiding a WordPress comment needs a public reason", source=self.platform
            )
        root, auth = api_root(account.base_url), _auth(account)
        url = f"{root}/wp/v2/comments/{comment}"
        response = await send(
            http,
            WORDPRESS,
            _MODERATE,
            "POST",
            url,
            headers=auth,
            json={"status": STATUSES[action]},
        )
        updated = body(WORDPRESS, _MODERATE, response)
        if not isinstance(updated, Mapping):
            raise unexpected(WORDPRESS, _MODERATE, response, "the comment")
        if action != "hide" or reason is None:
            return
        post = as_int(updated.get("post"))
        if post is None:
            raise unexpected(WORDPRESS, _MODERATE, response, "the comment's article")
        parent = as_int(updated.get("parent")) or 0
        try:
            await self._create(http, root, auth, _NOTICE, post=post, parent=parent, text=reason)
        except ConnectorError as exc:
            error = FetchError if exc.retryable else PostRejected
            raise error(
                f"The comment is hidden, but {exc}", source=self.platform, url=exc.url
            ) from exc

    async def _comment(
        self, http: HttpClient, root: str, auth: Mapping[str, str], comment: int
    ) -> Mapping[str, Any]:
        url = f"{root}/wp/v2/comments/{comment}"
        response = await send(
            http, WORDPRESS, _FIND, "GET", url, headers=auth, params={"context": "edit"}
        )
        found = body(WORDPRESS, _FIND, response)
        if not isinstance(found, Mapping):
            raise unexpected(WORDPRESS, _FIND, response, "the comment")
        return found

    async def _create(
        self,
        http: HttpClient,
        root: str,
        auth: Mapping[str, str],
        step: Step,
        *,
        post: int,
        parent: int,
        text: str,
    ) -> Mapping[str, Any]:
        response = await send(
            http,
            WORDPRESS,
            step,
            "POST",
            f"{root}/wp/v2/comments",
            headers=auth,
            json={"post": post, "parent": parent, "content": text},
        )
        created = body(WORDPRESS, step, response)
        if not isinstance(created, Mapping) or as_int(created.get("id")) is None:
            raise unexpected(WORDPRESS, step, response, "the new comment's id")
        return created
