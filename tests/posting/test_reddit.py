"""Replying on Reddit, against a local server implementing /api/comment and the token endpoint."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from connectors.server import Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import Posted, ReplyTarget
from flocon.posting.reddit import RedditPoster
from posting.helpers import Platform, json_reply, sent_form

TOKEN = "reddit-user-token"
CREATED = {
    "json": {
        "errors": [],
        "data": {
            "things": [
                {
                    "kind": "t1",
                    "data": {
                        "name": "t1_new1",
                        "id": "new1",
                        "permalink": "/r/selfhosted/comments/abc/title/new1/",
                    },
                }
            ]
        },
    }
}


def errors(*codes: list[str], ratelimit: float | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"errors": list(codes)}
    if ratelimit is not None:
        result["ratelimit"] = ratelimit
    return {"json": result}


def reply(
    platform: Platform, thing: str = "t1_abc", text: str = "Merci !", **credentials: str
) -> Posted:
    account = platform.account("reddit", **(credentials or {"access_token": TOKEN}))
    poster = RedditPoster(auth_url=platform.url("/api/v1/access_token"))
    target = ReplyTarget("reddit", thing, None)
    return platform.run(lambda http: poster.reply(http, account, target, text))


def test_comment_is_posted_under_the_thing_with_the_token(platform: Platform) -> None:
    platform.server.route_handler("/api/comment", lambda _r: json_reply(200, CREATED))
    posted = reply(platform)
    assert posted == Posted(
        "t1_new1", "https://www.reddit.com/r/selfhosted/comments/abc/title/new1/"
    )
    (comment,) = platform.requests("/api/comment")
    assert comment.method == "POST"
    assert comment.headers["authorization"] == f"bearer {TOKEN}"
    assert sent_form(comment) == {"api_type": "json", "thing_id": "t1_abc", "text": "Merci !"}


def test_script_app_credentials_get_a_user_token_first(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/v1/access_token", lambda _r: json_reply(200, {"access_token": "issued"})
    )
    platform.server.route_handler("/api/comment", lambda _r: json_reply(200, CREATED))
    reply(platform, client_id="cid", client_secret="csecret", username="brand", password="pw")
    (token,) = platform.requests("/api/v1/access_token")
    assert token.headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert sent_form(token) == {"grant_type": "password", "username": "brand", "password": "pw"}
    (comment,) = platform.requests("/api/comment")
    assert comment.headers["authorization"] == "bearer issued"


def test_refused_script_app_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/v1/access_token", lambda _r: json_reply(200, {"error": "invalid_grant"})
    )
    with pytest.raises(AuthFailed, match="invalid_grant") as caught:
        reply(platform, client_id="cid", client_secret="csecret", username="brand", password="pw")
    assert "csecret" not in str(caught.value)
    assert platform.requests("/api/comment") == []


def test_locked_thread_is_rejected_with_reddit_words(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment",
        lambda _r: json_reply(200, errors(["THREAD_LOCKED", "Comments are locked.", "parent"])),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform)
    assert str(caught.value) == "Reddit refused the reply: Comments are locked. (THREAD_LOCKED)"


def test_ratelimit_error_gives_reddits_wait(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment",
        lambda _r: json_reply(
            200,
            errors(["RATELIMIT", "Take a break for 3 minutes.", "ratelimit"], ratelimit=172.5),
        ),
    )
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 172.5


def test_ratelimit_error_without_number_reads_the_message(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment",
        lambda _r: json_reply(
            200, errors(["RATELIMIT", "Take a break for 5 minutes before trying again.", "x"])
        ),
    )
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 300


def test_deleted_comment_is_gone(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment",
        lambda _r: json_reply(200, errors(["DELETED_COMMENT", "that comment is deleted", "p"])),
    )
    with pytest.raises(SourceGone, match="DELETED_COMMENT"):
        reply(platform)


def test_banned_account_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment", lambda _r: json_reply(403, {"message": "Forbidden", "error": 403})
    )
    with pytest.raises(AuthFailed, match="403 forbidden: Forbidden") as caught:
        reply(platform)
    assert TOKEN not in str(caught.value)


def test_429_gives_the_wait(platform: Platform) -> None:
    platform.server.route("/api/comment", 429, b"{}", {"Retry-After": "600"})
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 600


def test_server_error_is_not_retried(platform: Platform) -> None:
    platform.server.route_sequence("/api/comment", [Reply(500), json_reply(200, CREATED)])
    with pytest.raises(FetchError, match="server error 500"):
        reply(platform)
    assert len(platform.requests("/api/comment")) == 1


def test_malformed_answer_is_a_parse_error(platform: Platform) -> None:
    platform.server.route("/api/comment", 200, b"<html>")
    with pytest.raises(ParseError, match="check the thread"):
        reply(platform)


def test_answer_without_the_comment_is_a_parse_error(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/comment", lambda _r: json_reply(200, {"json": {"errors": [], "data": {}}})
    )
    with pytest.raises(ParseError, match="without the new comment's id"):
        reply(platform)


def test_thing_that_is_not_a_post_or_comment_is_refused_before_sending(
    platform: Platform,
) -> None:
    with pytest.raises(PostRejected, match="not a post"):
        reply(platform, thing="t5_sub")
    assert platform.server.requests == []


def test_text_over_10000_characters_is_refused_before_sending(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="text too long"):
        reply(platform, text="x" * 10_001)
    assert platform.server.requests == []
