"""Replies on Reddit: ``POST /api/comment`` under a post (``t3_``) or a comment (``t1_``).

The account gives either a user ``access_token`` (scope ``submit``), or the four keys
of a Reddit "script" app (``client_id``, ``client_secret``, ``username``,
``password``) from which a token is asked with the ``password`` grant for each reply.
An application-only token cannot post.

Reddit answers most refusals with status 200 and a ``json.errors`` list of
``[CODE, message, field]`` (``RATELIMIT``, ``THREAD_LOCKED``, ``TOO_LONG``...); each
code becomes the error the inbox needs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Final

from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.reddit import AUTH_URL, WWW
from flocon.connectors.values import as_str
from flocon.errors import AuthFailed, ConnectorError, PostRejected, RateLimited, SourceGone
from flocon.posting.base import Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Platform, Step, body, json_message, send, short, unexpected

MAX_CHARS: Final = 10_000
_THING_RE: Final = re.compile(r"^t[13]_[0-9a-z]+$")
_WAIT_RE: Final = re.compile(r"(\d+)\s*(second|minute|hour)", re.IGNORECASE)
_UNIT: Final = {"second": 1, "minute": 60, "hour": 3600}
_GONE: Final = frozenset(
    {"DELETED_COMMENT", "DELETED_LINK", "NO_THING_ID", "SUBREDDIT_NOEXIST", "NOT_FOUND"}
)
_AUTH: Final = frozenset({"USER_REQUIRED", "INVALID_USER", "OAUTH2_ACCESS_DENIED"})

_TOKEN = Step("the sign-in", "the Reddit app", writes=False, idempotent=True)
_REPLY = Step("the reply", "the post or comment to reply to", writes=True, idempotent=False)


def explain(response: HttpResponse) -> str | None:
    """Reddit's ``message``/``reason`` of an error status."""
    return json_message(response, "explanation", "message", "reason", "error")


REDDIT: Final = Platform("reddit", "Reddit", explain)


def wait_of(message: str, ratelimit: Any) -> float | None:
    """Seconds to wait from ``json.ratelimit`` or from "try again in 5 minutes"."""
    if isinstance(ratelimit, int | float) and not isinstance(ratelimit, bool) and ratelimit > 0:
        return float(ratelimit)
    match = _WAIT_RE.search(message)
    if match is None:
        return None
    return float(int(match.group(1)) * _UNIT[match.group(2).lower()])


def api_error(errors: list[Any], ratelimit: Any, url: str) -> ConnectorError:
    """The error of the first ``[CODE, message, field]`` of ``json.errors``."""
    first = errors[0] if isinstance(errors[0], list) and errors[0] else ["UNKNOWN"]
    code = str(first[0]).upper()
    message = short(str(first[1])) if len(first) > 1 and first[1] else code.lower()
    said = f"Reddit refused the reply: {message} ({code})"
    if code == "RATELIMIT":
        return RateLimited(said, retry_after=wait_of(message, ratelimit), source="reddit", url=url)
    if code in _GONE:
        return SourceGone(said, source="reddit", url=url)
    if code in _AUTH:
        return AuthFailed(said, source="reddit", url=url)
    return PostRejected(said, source="reddit", url=url)


class RedditPoster:
    """Posts a comment; ``auth_url`` is where script-app credentials are exchanged."""

    platform = "reddit"
    credential_sets: tuple[frozenset[str], ...] = (
        frozenset({"access_token"}),
        frozenset({"client_id", "client_secret", "username", "password"}),
    )

    def __init__(self, *, auth_url: str = AUTH_URL) -> None:
        self.auth_url = auth_url

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        thing = target.external_id.strip()
        if not _THING_RE.match(thing):
            raise PostRejected(
                f"flocon cannot reply on Reddit: {thing!r} is not a post (t3_) or comment (t1_) id",
                source=self.platform,
            )
        if len(text) > MAX_CHARS:
            raise PostRejected(
                f"Reddit refused the reply: text too long ({MAX_CHARS:,} characters max)",
                source=self.platform,
            )
        token = await self._token(http, account)
        url = account.base_url.rstrip("/") + "/api/comment"
        response = await send(
            http,
            REDDIT,
            _REPLY,
            "POST",
            url,
            headers={"Authorization": f"bearer {token}"},
            data={"api_type": "json", "thing_id": thing, "text": text},
        )
        answer = body(REDDIT, _REPLY, response)
        result = answer.get("json") if isinstance(answer, Mapping) else None
        if not isinstance(result, Mapping):
            raise unexpected(REDDIT, _REPLY, response, "its json result")
        errors = result.get("errors")
        if isinstance(errors, list) and errors:
            raise api_error(errors, result.get("ratelimit"), url)
        data = result.get("data")
        things = data.get("things") if isinstance(data, Mapping) else None
        first = things[0] if isinstance(things, list) and things else None
        comment = first.get("data") if isinstance(first, Mapping) else None
        name = as_str(comment.get("name")) if isinstance(comment, Mapping) else None
        if comment is None or name is None:
            raise unexpected(REDDIT, _REPLY, response, "the new comment's id")
        permalink = as_str(comment.get("permalink"))
        return Posted(
            external_id=name,
            url=WWW + permalink if permalink and permalink.startswith("/") else None,
        )

    async def _token(self, http: HttpClient, account: PostingAccount) -> str:
        credentials = account.credentials
        if token := credentials.get("access_token", "").strip():
            return token
        pair = f"{credential(account, 'client_id')}:{credential(account, 'client_secret')}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        form = {
            "grant_type": "password",
            "username": credential(account, "username"),
            "password": credential(account, "password"),
        }
        response = await send(
            http,
            REDDIT,
            _TOKEN,
            "POST",
            self.auth_url,
            headers={"Authorization": f"Basic {basic}"},
            data=form,
        )
        payload = body(REDDIT, _TOKEN, response)
        issued = as_str(payload.get("access_token")) if isinstance(payload, Mapping) else None
        if issued is None:
            error = as_str(payload.get("error")) if isinstance(payload, Mapping) else None
            raise AuthFailed(
                f"Reddit gave no access token ({error or 'unexpected answer'}): check the "
                "client_id, client_secret, username and password of the app",
                source=self.platform,
                url=self.auth_url,
            )
        return issued
