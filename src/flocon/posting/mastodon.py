"""Replies on Mastodon: a status posted ``in_reply_to_id`` the mention, from the brand's account.

The reading connector names a status ``{instance}:{id}``, where the id is the one of
the instance it was read from. Ids are local to an instance: when the brand's
account lives elsewhere, the status is first looked up on the account's instance
by its address (``/api/v2/search?resolve=true``), as a Mastodon app does.

Following Mastodon's custom, the reply starts with the author's ``@handle`` unless
the text already names them, and keeps the thread's visibility when it is narrower
than public. The request carries an ``Idempotency-Key`` made from the target and the
text, so that a retry, by the client or by an agent within the hour, never posts
twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, urlsplit

from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.values import as_str, http_url
from flocon.errors import PostRejected, SourceGone
from flocon.posting.base import Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Platform, Step, body, json_message, send, unexpected

_LIMIT_RE: Final = re.compile(r"character limit of (\d+) exceeded", re.IGNORECASE)
_NARROW: Final = frozenset({"unlisted", "private", "direct"})

_FIND = Step(
    "the lookup of the status to reply to", "the status to reply to", writes=False, idempotent=True
)
# Idempotent thanks to the Idempotency-Key: the client may retry it after a 5xx.
_REPLY = Step("the reply", "the status to reply to", writes=True, idempotent=True)


def explain(response: HttpResponse) -> str | None:
    """Mastodon's ``{"error": ...}``; a character limit becomes "text too long (N max)"."""
    said = json_message(response, "error", "error_description")
    if said and (match := _LIMIT_RE.search(said)):
        return f"text too long ({match.group(1)} characters max)"
    return said


MASTODON: Final = Platform("mastodon", "Mastodon", explain)


def split_id(external_id: str) -> tuple[str, str]:
    """``fosstodon.org:1135`` → ``("fosstodon.org", "1135")``; ValueError when not that shape."""
    instance, sep, status_id = external_id.rpartition(":")
    if not sep or not instance or not status_id.isdigit():
        raise ValueError(f"{external_id!r} is not a Mastodon status id (instance:number)")
    return instance.lower(), status_id


def with_mention(text: str, acct: str | None) -> str:
    """``text`` starting with ``@acct`` unless it already names that account."""
    if not acct:
        return text
    handle = "@" + acct.lstrip("@")
    if re.search(rf"(?<![\w@]){re.escape(handle)}(?![\w@.-])", text, re.IGNORECASE):
        return text
    return f"{handle} {text}"


def idempotency_key(in_reply_to_id: str, status: str) -> str:
    """The same reply to the same status always gets the same key (Mastodon keeps it 1 h)."""
    return hashlib.sha256(f"{in_reply_to_id}\n{status}".encode()).hexdigest()


class MastodonPoster:
    """Posts a reply status with the account's ``access_token`` (scope ``write:statuses``,
    and ``read:search`` when replying to statuses of other instances)."""

    platform = "mastodon"
    credential_sets: tuple[frozenset[str], ...] = (frozenset({"access_token"}),)

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        base = account.base_url.rstrip("/")
        host = (urlsplit(base).hostname or "").lower()
        auth = {"Authorization": f"Bearer {credential(account, 'access_token')}"}
        status, local_id = await self._find(http, base, host, auth, target)
        author = status.get("account")
        acct = as_str(author.get("acct")) if isinstance(author, Mapping) else None
        full = with_mention(text, acct)
        payload: dict[str, Any] = {"status": full, "in_reply_to_id": local_id}
        visibility = as_str(status.get("visibility"))
        if visibility in _NARROW:
            payload["visibility"] = visibility
        headers = {**auth, "Idempotency-Key": idempotency_key(local_id, full)}
        try:
            response = await send(
                http,
                MASTODON,
                _REPLY,
                "POST",
                f"{base}/api/v1/statuses",
                headers=headers,
                json=payload,
            )
        except PostRejected as exc:
            if full != text and "too long" in str(exc):
                raise PostRejected(
                    f"{exc} (the @{acct} that starts a Mastodon reply counts too)",
                    source=exc.source,
                    url=exc.url,
                ) from exc
            raise
        created = body(MASTODON, _REPLY, response)
        new_id = as_str(created.get("id")) if isinstance(created, Mapping) else None
        if new_id is None:
            raise unexpected(MASTODON, _REPLY, response, "the id of the new status")
        url = http_url(created.get("url")) or http_url(created.get("uri"))
        return Posted(external_id=f"{host}:{new_id}", url=url)

    async def _find(
        self,
        http: HttpClient,
        base: str,
        host: str,
        auth: Mapping[str, str],
        target: ReplyTarget,
    ) -> tuple[Mapping[str, Any], str]:
        """The status to answer, as the account's instance knows it, and its id there."""
        try:
            instance, status_id = split_id(target.external_id)
        except ValueError as exc:
            raise PostRejected(
                f"flocon cannot reply on Mastodon: {exc}", source=self.platform
            ) from exc
        if instance == host:
            url = f"{base}/api/v1/statuses/{quote(status_id, safe='')}"
            response = await send(http, MASTODON, _FIND, "GET", url, headers=auth)
            found = body(MASTODON, _FIND, response)
        else:
            if not target.url:
                raise PostRejected(
                    f"flocon cannot reply from {host}: the status is on {instance} and "
                    "flocon has no address to look it up with",
                    source=self.platform,
                )
            params = {"q": target.url, "type": "statuses", "resolve": "true", "limit": "1"}
            response = await send(
                http, MASTODON, _FIND, "GET", f"{base}/api/v2/search", headers=auth, params=params
            )
            data = body(MASTODON, _FIND, response)
            statuses = data.get("statuses") if isinstance(data, Mapping) else None
            if not isinstance(statuses, list):
                raise unexpected(MASTODON, _FIND, response, "a list of statuses")
            if not statuses:
                raise SourceGone(
                    f"Mastodon ({host}) cannot find the status to reply to ({target.url}): "
                    "it was deleted or its server does not let others fetch it",
                    source=self.platform,
                )
            found = statuses[0]
        local_id = as_str(found.get("id")) if isinstance(found, Mapping) else None
        if not isinstance(found, Mapping) or local_id is None:
            raise unexpected(MASTODON, _FIND, response, "the status and its id")
        return found, local_id
