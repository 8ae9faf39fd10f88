"""Replies on Bluesky: an ``app.bsky.feed.post`` record whose ``reply`` names the thread.

Three calls to the account's PDS (``base_url``, e.g. ``https://bsky.social``): open a
session with the handle and an app password (``com.atproto.server.createSession``),
read the post to answer (``app.bsky.feed.getPosts``: its ``cid``, and the thread's
root from its own ``record.reply.root``, else the post itself), then write the record
(``com.atproto.repo.createRecord``). Links in the text get link facets so they are
clickable. The text is checked against Bluesky's limits (300 graphemes, 3,000 bytes)
before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from flocon.connectors.bluesky import POST_COLLECTION, SESSION_PATH, post_url
from flocon.connectors.http import HttpClient, HttpResponse
from flocon.connectors.values import as_str
from flocon.errors import PostRejected, SourceGone
from flocon.posting.base import Posted, PostingAccount, ReplyTarget, credential
from flocon.posting.exchange import Platform, Step, body, json_message, send, unexpected
from flocon.posting.text import graphemes, link_facets

MAX_GRAPHEMES: Final = 300
MAX_BYTES: Final = 3000
GET_POSTS_PATH: Final = "/xrpc/app.bsky.feed.getPosts"
CREATE_RECORD_PATH: Final = "/xrpc/com.atproto.repo.createRecord"

_SESSION = Step("the sign-in", "the account", writes=False, idempotent=True)
_FIND = Step(
    "the lookup of the post to reply to", "the post to reply to", writes=False, idempotent=True
)
_REPLY = Step("the reply", "the post to reply to", writes=True, idempotent=False)


def explain(response: HttpResponse) -> str | None:
    """XRPC's ``{"error": ..., "message": ...}``; a length error becomes "text too long"."""
    said = json_message(response, "message", "error")
    if said and "graphemes" in said and "longer than" in said:
        return f"text too long ({MAX_GRAPHEMES} characters max)"
    return said


BLUESKY: Final = Platform("bluesky", "Bluesky", explain)


def check_length(text: str) -> None:
    """PostRejected when ``text`` is over Bluesky's limits."""
    count = graphemes(text)
    if count > MAX_GRAPHEMES:
        raise PostRejected(
            f"Bluesky refused the reply: text too long ({MAX_GRAPHEMES} characters max, "
            f"this one has {count})",
            source=BLUESKY.name,
        )
    if len(text.encode()) > MAX_BYTES:
        raise PostRejected(
            f"Bluesky refused the reply: text too long ({MAX_BYTES} bytes max)",
            source=BLUESKY.name,
        )
    if not text.strip():
        raise PostRejected("Bluesky refused the reply: the text is empty", source=BLUESKY.name)


def _strong_ref(value: Any) -> dict[str, str] | None:
    """``{"uri", "cid"}`` of a ``com.atproto.repo.strongRef`` value, or None."""
    if not isinstance(value, Mapping):
        return None
    uri, cid = as_str(value.get("uri")), as_str(value.get("cid"))
    return {"uri": uri, "cid": cid} if uri and cid else None


class BlueskyPoster:
    """Posts a reply with ``identifier`` (handle or e-mail) and ``app_password``."""

    platform = "bluesky"
    credential_sets: tuple[frozenset[str], ...] = (frozenset({"identifier", "app_password"}),)

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted:
        check_length(text)
        if not target.external_id.startswith("at://"):
            raise PostRejected(
                f"flocon cannot reply on Bluesky: {target.external_id!r} is not an at:// post "
                "address",
                source=self.platform,
            )
        base = account.base_url.rstrip("/")
        did, handle, token = await self._session(http, base, account)
        auth = {"Authorization": f"Bearer {token}"}
        parent, root = await self._thread(http, base, auth, target.external_id)
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "reply": {"root": root, "parent": parent},
        }
        if facets := link_facets(text):
            record["facets"] = facets
        payload = {"repo": did, "collection": POST_COLLECTION, "record": record}
        response = await send(
            http, BLUESKY, _REPLY, "POST", base + CREATE_RECORD_PATH, headers=auth, json=payload
        )
        created = body(BLUESKY, _REPLY, response)
        uri = as_str(created.get("uri")) if isinstance(created, Mapping) else None
        if uri is None:
            raise unexpected(BLUESKY, _REPLY, response, "the address of the new post")
        return Posted(external_id=uri, url=post_url(uri, handle))

    async def _session(
        self, http: HttpClient, base: str, account: PostingAccount
    ) -> tuple[str, str | None, str]:
        """``(did, handle, access token)`` of a new session."""
        credentials = {
            "identifier": credential(account, "identifier"),
            "password": credential(account, "app_password"),
        }
        response = await send(
            http, BLUESKY, _SESSION, "POST", base + SESSION_PATH, json=credentials
        )
        data = body(BLUESKY, _SESSION, response)
        if not isinstance(data, Mapping):
            raise unexpected(BLUESKY, _SESSION, response, "a session")
        did, token = as_str(data.get("did")), as_str(data.get("accessJwt"))
        if did is None or token is None:
            raise unexpected(BLUESKY, _SESSION, response, "the account's did and access token")
        return did, as_str(data.get("handle")), token

    async def _thread(
        self, http: HttpClient, base: str, auth: Mapping[str, str], uri: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``(parent, root)`` strong references of the post ``uri``."""
        response = await send(
            http, BLUESKY, _FIND, "GET", base + GET_POSTS_PATH, headers=auth, params={"uris": uri}
        )
        data = body(BLUESKY, _FIND, response)
        posts = data.get("posts") if isinstance(data, Mapping) else None
        if not isinstance(posts, list):
            raise unexpected(BLUESKY, _FIND, response, "a list of posts")
        post = next((p for p in posts if isinstance(p, Mapping) and p.get("uri") == uri), None)
        if post is None:
            raise SourceGone(
                "Bluesky cannot find the post to reply to: it was deleted, or its author "
                "blocks the account",
                source=self.platform,
            )
        parent = _strong_ref(post)
        if parent is None:
            raise unexpected(BLUESKY, _FIND, response, "the post's uri and cid")
        viewer = post.get("viewer")
        if isinstance(viewer, Mapping) and viewer.get("replyDisabled") is True:
            raise PostRejected(
                "Bluesky refused the reply: the author only lets some people reply to this thread",
                source=self.platform,
            )
        record = post.get("record")
        reply = record.get("reply") if isinstance(record, Mapping) else None
        root = _strong_ref(reply.get("root")) if isinstance(reply, Mapping) else None
        return parent, root or parent
