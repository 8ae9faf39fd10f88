"""Replies and moderation on the brand's Discourse forum, through its API.

The account is an API key (Admin → API) with the username it acts as, sent in the
``Api-Key`` and ``Api-Username`` headers. The web connector names the first post
of a topic by the topic's address (``https://forum.example/t/slug/123``) and post N
by that address plus ``/N``; ``extra["topic_id"]`` and ``extra["post_id"]`` may give
the numbers when the services know them.

A reply is ``POST /posts.json`` with ``topic_id``, ``raw`` and, below the first
post, ``reply_to_post_number``. Moderation needs a moderator account, acts on the
post's id (``GET /posts/by_number/{topic}/{n}.json``) and never deletes:

* ``hold``: a staff flag "inappropriate" with ``queue_for_review``: the post is
  hidden and waits in the review queue;
* ``hide``: a staff flag "inappropriate" with ``take_action`` (hidden at once), then
  a reply to the post giving the public reason;
* ``spam``: a staff flag "spam" with ``take_action``;
* ``approve``: ``PUT /posts/{id}/unhide``.

Discourse answers a flag with the post; if it is not hidden afterwards (the account
is not a moderator), flocon says so instead of reporting success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.values import as_int, as_str
from flocon.errors import ConnectorError, FetchError, ParseError, PostRejected
from flocon.posting.base import ModerationAction, Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Platform, Step, body, send, short, unexpected

_POST_PATH_RE: Final = re.compile(r"^/t/([^/]+)/(\d+)(?:/(\d+))?/?$")
INAPPROPRIATE: Final = 4
SPAM: Final = 8

_FIND = Step("the lookup of the post", "the post", writes=False, idempotent=True)
_REPLY = Step("the reply", "the topic to reply to", writes=True, idempotent=False)
_MODERATE = Step("the moderation", "the post to moderate", writes=True, idempotent=True)
_NOTICE = Step("the public reason", "the topic of the hidden post", writes=True, idempotent=False)


def explain(response: HttpResponse) -> str | None:
    """Discourse's ``{"errors": [...]}`` (or ``error``), joined."""
    try:
        data = response.json()
    except ParseError:
        return None
    if not isinstance(data, Mapping):
        return None
    errors = data.get("errors")
    if isinstance(errors, list):
        said = "; ".join(e.strip() for e in errors if isinstance(e, str) and e.strip())
        if said:
            return short(said)
    error = as_str(data.get("error"))
    return short(error) if error else None


DISCOURSE: Final = Platform("discourse", "Discourse", explain)


@dataclass(frozen=True, slots=True)
class PostRef:
    """Where a post stands: its topic's address and id, and its number in the topic."""

    topic_url: str
    topic_id: int
    number: int


def post_ref(target: ReplyTarget) -> PostRef:
    """The topic and post number of ``target`` (``…/t/slug/123`` or ``…/t/slug/123/4``)."""
    parts = urlsplit(target.external_id)
    match = _POST_PATH_RE.match(parts.path)
    topic = as_int(target.extra.get("topic_id", "").strip(), digits=True)
    if match is None or not parts.scheme or not parts.netloc:
        if topic is None:
            raise PostRejected(
                f"flocon cannot reply on Discourse: {target.external_id!r} is not a topic or "
                "post address (/t/slug/123/4)",
                source=DISCOURSE.name,
            )
        return PostRef(target.external_id, topic, 1)
    slug, topic_id, number = match.group(1), int(match.group(2)), match.group(3)
    topic_url = urlunsplit((parts.scheme, parts.netloc, f"/t/{slug}/{topic_id}", "", ""))
    return PostRef(topic_url, topic or topic_id, int(number) if number else 1)


def _headers(account: PostingAccount) -> dict[str, str]:
    return {
        "Api-Key": credential(account, "api_key"),
        "Api-Username": credential(account, "api_username"),
        "Accept": "application/json",
    }


class DiscourseConnector:
    """Replies to and moderates posts of the brand's Discourse forum."""

    platform = "discourse"
    credential_sets: tuple[frozenset[str], ...] = (frozenset({"api_key", "api_username"}),)

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        ref = post_ref(target)
        created = await self._create(
            http, account.base_url.rstrip("/"), _headers(account), _REPLY, ref, text
        )
        number = as_int(created.get("post_number"))
        slug = as_str(created.get("topic_slug"))
        base = account.base_url.rstrip("/")
        url = f"{base}/t/{slug}/{ref.topic_id}/{number}" if slug else None
        return Posted(external_id=f"{ref.topic_url}/{number}", url=url)

    async def moderate(
        self,
        http: HttpClient,
        account: PostingAccount,
        target: ReplyTarget,
        action: ModerationAction,
        *,
        reason: str | None,
    ) -> None:
        if action == "hide" and not (reason and reason.strip()):
            raise PostRejected(
                "Hiding a Discourse post needs a public reason", source=self.platform
            )
        base, headers = account.base_url.rstrip("/"), _headers(account)
        ref = post_ref(target)
        post_id = await self._post_id(http, base, headers, ref, target)
        if action == "approve":
            await send(
                http,
                DISCOURSE,
                _MODERATE,
                "PUT",
                f"{base}/posts/{post_id}/unhide",
                headers=headers,
            )
            return
        form = {"id": str(post_id), "post_action_type_id": str(INAPPROPRIATE)}
        if action == "spam":
            form["post_action_type_id"] = str(SPAM)
        form["queue_for_review" if action == "hold" else "take_action"] = "true"
        response = await send(
            http, DISCOURSE, _MODERATE, "POST", f"{base}/post_actions", headers=headers, data=form
        )
        post = body(DISCOURSE, _MODERATE, response)
        if not isinstance(post, Mapping):
            raise unexpected(DISCOURSE, _MODERATE, response, "the flagged post")
        if post.get("hidden") is not True:
            raise PostRejected(
                "Discourse recorded the flag but did not hide the post: the account "
                f"{credential(account, 'api_username')!r} must be a moderator",
                source=self.platform,
            )
        if action != "hide" or reason is None:
            return
        try:
            await self._create(http, base, headers, _NOTICE, ref, reason)
        except ConnectorError as exc:
            error = FetchError if exc.retryable else PostRejected
            raise error(
                f"The post is hidden, but {exc}", source=self.platform, url=exc.url
            ) from exc

    async def _post_id(
        self,
        http: HttpClient,
        base: str,
        headers: Mapping[str, str],
        ref: PostRef,
        target: ReplyTarget,
    ) -> int:
        if (given := as_int(target.extra.get("post_id", "").strip(), digits=True)) is not None:
            return given
        url = f"{base}/posts/by_number/{ref.topic_id}/{ref.number}.json"
        response = await send(http, DISCOURSE, _FIND, "GET", url, headers=headers)
        post = body(DISCOURSE, _FIND, response)
        post_id = as_int(post.get("id")) if isinstance(post, Mapping) else None
        if post_id is None:
            raise unexpected(DISCOURSE, _FIND, response, "the post's id")
        return post_id

    async def _create(
        self,
        http: HttpClient,
        base: str,
        headers: Mapping[str, str],
        step: Step,
        ref: PostRef,
        text: str,
    ) -> Mapping[str, Any]:
        payload: dict[str, Any] = {"topic_id": ref.topic_id, "raw": text}
        if ref.number > 1:
            payload["reply_to_post_number"] = ref.number
        response = await send(
            http, DISCOURSE, step, "POST", f"{base}/posts.json", headers=headers, json=payload
        )
        created = body(DISCOURSE, step, response)
        if not isinstance(created, Mapping) or as_int(created.get("post_number")) is None:
            raise unexpected(DISCOURSE, step, response, "the new post's number")
        return created
