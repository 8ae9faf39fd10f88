"""Replies on YouTube: ``comments.insert`` under the top-level comment of the thread.

YouTube threads are one level deep: a reply to a reply is posted under the
top-level comment, whose id starts the reply's id (``TOP.REPLY``). The account
authorises with OAuth (scope ``youtube.force-ssl``): either a current
``access_token``, or ``client_id``, ``client_secret`` and ``refresh_token``, from
which a fresh access token is asked for each reply. ``base_url`` is the API root
(``https://www.googleapis.com/youtube/v3``). Each reply costs 50 quota units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlsplit

from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.values import as_str
from flocon.connectors.youtube import WATCH_URL
from flocon.errors import AuthFailed, ParseError, PostRejected
from flocon.posting.base import Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Kind, Platform, Step, body, send, short, unexpected

TOKEN_URL: Final = "https://oauth2.googleapis.com/token"
MAX_CHARS: Final = 10_000
_RATE: Final = frozenset(
    {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded"}
)
_REJECTED: Final = frozenset(
    {
        "commentsDisabled",
        "commentTextTooLong",
        "commentTextRequired",
        "invalidCommentMetadata",
        "operationNotSupported",
        "processingFailure",
    }
)
_AUTH: Final = frozenset({"ineligibleAccount", "insufficientPermissions", "forbidden"})
_GONE: Final = frozenset({"parentCommentNotFound", "commentNotFound", "videoNotFound"})

_TOKEN = Step("the sign-in", "the Google OAuth client", writes=False, idempotent=True)
_REPLY = Step("the reply", "the comment to reply to", writes=True, idempotent=False)


def _error(response: HttpResponse) -> tuple[str | None, str | None]:
    """``(reason, message)`` of a Google API error ``{"error": {"message", "errors"}}``."""
    try:
        data = response.json()
    except ParseError:
        return None, None
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, str):  # the OAuth token endpoint: {"error", "error_description"}
        description = as_str(data.get("error_description"))
        return error, short(description or error)
    if not isinstance(error, Mapping):
        return None, None
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    reason = as_str(first.get("reason")) if isinstance(first, Mapping) else None
    message = as_str(error.get("message"))
    return reason, short(message) if message else None


def explain(response: HttpResponse) -> str | None:
    return _error(response)[1]


def classify(response: HttpResponse) -> Kind | None:
    reason = _error(response)[0]
    if reason in _RATE:
        return "rate_limited"
    if reason in _REJECTED:
        return "rejected"
    if reason in _GONE:
        return "gone"
    if reason in _AUTH or reason == "invalid_grant":
        return "auth"
    return None


YOUTUBE: Final = Platform("youtube", "YouTube", explain, classify)


def parent_id(external_id: str) -> str:
    """The top-level comment a reply goes under: ``TOP.REPLY`` → ``TOP``."""
    return external_id.split(".", 1)[0]


def video_of(url: str | None) -> str | None:
    """The ``v`` parameter of a watch address, or None."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("v")
    return values[0] if values and values[0] else None


class YouTubePoster:
    """Posts a reply; ``token_url`` is where a refresh token is exchanged."""

    platform = "youtube"
    credential_sets: tuple[frozenset[str], ...] = (
        frozenset({"access_token"}),
        frozenset({"client_id", "client_secret", "refresh_token"}),
    )

    def __init__(self, *, token_url: str = TOKEN_URL) -> None:
        self.token_url = token_url

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        comment = target.external_id.strip()
        if not comment or comment.startswith("video:"):
            raise PostRejected(
                "flocon replies to YouTube comments only; this mention is not one",
                source=self.platform,
            )
        if len(text) > MAX_CHARS:
            raise PostRejected(
                f"YouTube refused the reply: text too long ({MAX_CHARS:,} characters max)",
                source=self.platform,
            )
        token = await self._token(http, account)
        url = account.base_url.rstrip("/") + "/comments?part=snippet"
        payload = {"snippet": {"parentId": parent_id(comment), "textOriginal": text}}
        response = await send(
            http,
            YOUTUBE,
            _REPLY,
            "POST",
            url,
            headers={"Authorization": f"Bearer {token}"},
            json=payload,
        )
        created = body(YOUTUBE, _REPLY, response)
        new_id = as_str(created.get("id")) if isinstance(created, Mapping) else None
        if new_id is None:
            raise unexpected(YOUTUBE, _REPLY, response, "the new comment's id")
        snippet = created.get("snippet")
        video = as_str(snippet.get("videoId")) if isinstance(snippet, Mapping) else None
        video = video or video_of(target.url)
        link = f"{WATCH_URL}{quote(video, safe='')}&lc={quote(new_id, safe='')}" if video else None
        return Posted(external_id=new_id, url=link)

    async def _token(self, http: HttpClient, account: PostingAccount) -> str:
        credentials = account.credentials
        if token := credentials.get("access_token", "").strip():
            return token
        form = {
            "grant_type": "refresh_token",
            "client_id": credential(account, "client_id"),
            "client_secret": credential(account, "client_secret"),
            "refresh_token": credential(account, "refresh_token"),
        }
        response = await send(http, YOUTUBE, _TOKEN, "POST", self.token_url, data=form)
        payload: Any = body(YOUTUBE, _TOKEN, response)
        issued = as_str(payload.get("access_token")) if isinstance(payload, Mapping) else None
        if issued is None:
            raise AuthFailed(
                "Google gave no access token: check the client_id, client_secret and "
                "refresh_token of the YouTube account",
                source=self.platform,
                url=self.token_url,
            )
        return issued
