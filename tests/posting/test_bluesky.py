"""Replying on Bluesky, against a local PDS implementing createSession, getPosts and createRecord."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.server import Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import Posted, ReplyTarget
from flocon.posting.bluesky import BlueskyPoster
from flocon.posting.text import graphemes, links
from posting.helpers import Platform, json_reply, sent_json

PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:brand"
PARENT = "at://did:plc:claire/app.bsky.feed.post/3kparent"
ROOT = {"uri": "at://did:plc:alice/app.bsky.feed.post/3kroot", "cid": "bafyroot"}
SESSION = "/xrpc/com.atproto.server.createSession"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
CREATE = "/xrpc/com.atproto.repo.createRecord"
NEW = "at://did:plc:brand/app.bsky.feed.post/3knew"


def post_view(reply: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": "hello"}
    if reply:
        record["reply"] = reply
    return {"uri": PARENT, "cid": "bafyparent", "record": record, **extra}


def serve(platform: Platform, post: dict[str, Any] | None = None) -> None:
    platform.server.route_handler(
        SESSION,
        lambda _r: json_reply(
            200, {"did": DID, "handle": "brand.example", "accessJwt": "jwt-1", "refreshJwt": "r"}
        ),
    )
    platform.server.route_handler(
        GET_POSTS, lambda _r: json_reply(200, {"posts": [post or post_view()]})
    )
    platform.server.route_handler(CREATE, lambda _r: json_reply(200, {"uri": NEW, "cid": "c"}))


def reply(platform: Platform, text: str = "Merci !") -> Posted:
    account = platform.account("bluesky", identifier="brand.example", app_password=PASSWORD)
    target = ReplyTarget("bluesky", PARENT, None)
    return platform.run(lambda http: BlueskyPoster().reply(http, account, target, text))


def record_of(platform: Platform) -> dict[str, Any]:
    (create,) = platform.requests(CREATE)
    body: dict[str, Any] = sent_json(create)
    return body


def test_session_is_opened_with_the_app_password(platform: Platform) -> None:
    serve(platform)
    reply(platform)
    (session,) = platform.requests(SESSION)
    assert session.method == "POST"
    assert sent_json(session) == {"identifier": "brand.example", "password": PASSWORD}


def test_post_to_answer_is_read_with_the_session_token(platform: Platform) -> None:
    serve(platform)
    reply(platform)
    (lookup,) = platform.requests(GET_POSTS)
    assert lookup.method == "GET"
    assert lookup.query == {"uris": [PARENT]}
    assert lookup.headers["authorization"] == "Bearer jwt-1"


def test_reply_to_a_thread_start_has_it_as_root_and_parent(platform: Platform) -> None:
    serve(platform)
    posted = reply(platform)
    assert posted == Posted(NEW, "https://bsky.app/profile/brand.example/post/3knew")
    sent = record_of(platform)
    parent = {"uri": PARENT, "cid": "bafyparent"}
    assert sent["repo"] == DID
    assert sent["collection"] == "app.bsky.feed.post"
    assert sent["record"]["reply"] == {"root": parent, "parent": parent}
    assert sent["record"]["text"] == "Merci !"
    assert sent["record"]["$type"] == "app.bsky.feed.post"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sent["record"]["createdAt"])
    (create,) = platform.requests(CREATE)
    assert create.headers["authorization"] == "Bearer jwt-1"


def test_reply_deeper_in_a_thread_keeps_the_thread_root(platform: Platform) -> None:
    serve(platform, post_view({"root": ROOT, "parent": ROOT}))
    reply(platform)
    assert record_of(platform)["record"]["reply"] == {
        "root": ROOT,
        "parent": {"uri": PARENT, "cid": "bafyparent"},
    }


def test_links_become_facets_at_byte_offsets(platform: Platform) -> None:
    serve(platform)
    reply(platform, "Voilà : https://flocon.example/aide.")
    assert record_of(platform)["record"]["facets"] == [
        {
            "index": {"byteStart": 9, "byteEnd": 36},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://flocon.example/aide"}
            ],
        }
    ]


def test_text_over_300_graphemes_is_refused_before_sending(platform: Platform) -> None:
    with pytest.raises(
        PostRejected, match=r"text too long \(300 characters max, this one has 301\)"
    ):
        reply(platform, "é" * 301)
    assert platform.server.requests == []


def test_300_emoji_with_skin_tones_fit() -> None:
    assert graphemes("👍🏽" * 300) == 300
    assert graphemes("e\u0301") == 1
    assert graphemes("👨‍👩‍👧 🇫🇷") == 3


def test_link_keeps_balanced_parentheses_and_drops_trailing_punctuation() -> None:
    text = "(voir https://fr.wikipedia.org/wiki/Flocon_(neige)), https://a.example/x!"
    assert [url for _, _, url in links(text)] == [
        "https://fr.wikipedia.org/wiki/Flocon_(neige)",
        "https://a.example/x",
    ]


def test_wrong_app_password_is_an_auth_failure_that_hides_it(platform: Platform) -> None:
    platform.server.route_handler(
        SESSION,
        lambda _r: json_reply(
            401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        ),
    )
    with pytest.raises(AuthFailed, match="Invalid identifier or password") as caught:
        reply(platform)
    assert PASSWORD not in str(caught.value)


def test_deleted_post_is_gone(platform: Platform) -> None:
    serve(platform)
    platform.server.route_handler(GET_POSTS, lambda _r: json_reply(200, {"posts": []}))
    with pytest.raises(SourceGone, match="cannot find the post to reply to"):
        reply(platform)
    assert platform.requests(CREATE) == []


def test_thread_closed_to_replies_is_refused_before_writing(platform: Platform) -> None:
    serve(platform, post_view(viewer={"replyDisabled": True}))
    with pytest.raises(PostRejected, match="only lets some people reply"):
        reply(platform)
    assert platform.requests(CREATE) == []


def test_invalid_record_is_rejected_with_the_platform_message(platform: Platform) -> None:
    serve(platform)
    platform.server.route_handler(
        CREATE,
        lambda _r: json_reply(
            400,
            {
                "error": "InvalidRequest",
                "message": "Invalid app.bsky.feed.post record: Record/text must not be longer "
                "than 300 graphemes",
            },
        ),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform)
    assert str(caught.value) == "Bluesky refused the reply: text too long (300 characters max)"


def test_rate_limit_gives_the_wait(platform: Platform) -> None:
    serve(platform)
    platform.server.route(CREATE, 429, b'{"error":"RateLimitExceeded"}', {"Retry-After": "90"})
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 90


def test_server_error_on_the_write_is_not_retried(platform: Platform) -> None:
    serve(platform)
    platform.server.route_sequence(CREATE, [Reply(502), json_reply(200, {"uri": NEW})])
    with pytest.raises(FetchError, match="check the thread before retrying") as caught:
        reply(platform)
    assert caught.value.retryable is True
    assert len(platform.requests(CREATE)) == 1


def test_malformed_answer_is_a_parse_error(platform: Platform) -> None:
    serve(platform)
    platform.server.route(CREATE, 200, b"{not json")
    with pytest.raises(ParseError, match="Bluesky answered the reply with something that is not"):
        reply(platform)


def test_at_uri_is_required(platform: Platform) -> None:
    account = platform.account("bluesky", identifier="b", app_password=PASSWORD)
    target = ReplyTarget("bluesky", "https://bsky.app/profile/x/post/1", None)
    with pytest.raises(PostRejected, match="not an at:// post address"):
        platform.run(lambda http: BlueskyPoster().reply(http, account, target, "hi"))
    assert platform.server.requests == []
