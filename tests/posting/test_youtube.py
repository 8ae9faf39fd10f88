"""Replying on YouTube, against a local server implementing comments.insert and the token endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.server import Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import Posted, ReplyTarget
from flocon.posting.youtube import YouTubePoster
from posting.helpers import Platform, json_reply, sent_form, sent_json

TOKEN = "ya29.youtube-token"
WATCH = "https://www.youtube.com/watch?v=vid123&lc=Ugtop"
CREATED = {"kind": "youtube#comment", "id": "Ugtop.new", "snippet": {"parentId": "Ugtop"}}


def google_error(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "youtube.commentThread", "reason": reason}],
        }
    }


def reply(platform: Platform, comment: str = "Ugtop", **credentials: str) -> Posted:
    account = platform.account("youtube", **(credentials or {"access_token": TOKEN}))
    poster = YouTubePoster(token_url=platform.url("/token"))
    target = ReplyTarget("youtube", comment, WATCH, "video:vid123")
    return platform.run(lambda http: poster.reply(http, account, target, "Merci !"))


def test_reply_goes_under_the_comment_with_the_token(platform: Platform) -> None:
    platform.server.route_handler("/comments", lambda _r: json_reply(200, CREATED))
    posted = reply(platform)
    assert posted == Posted("Ugtop.new", "https://www.youtube.com/watch?v=vid123&lc=Ugtop.new")
    (insert,) = platform.requests("/comments")
    assert insert.method == "POST"
    assert insert.query == {"part": ["snippet"]}
    assert insert.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent_json(insert) == {"snippet": {"parentId": "Ugtop", "textOriginal": "Merci !"}}


def test_reply_to_a_reply_goes_under_the_top_level_comment(platform: Platform) -> None:
    platform.server.route_handler("/comments", lambda _r: json_reply(200, CREATED))
    reply(platform, comment="Ugtop.AZreply")
    (insert,) = platform.requests("/comments")
    assert sent_json(insert)["snippet"]["parentId"] == "Ugtop"


def test_refresh_token_is_exchanged_for_an_access_token(platform: Platform) -> None:
    platform.server.route_handler("/token", lambda _r: json_reply(200, {"access_token": "fresh"}))
    platform.server.route_handler("/comments", lambda _r: json_reply(200, CREATED))
    reply(platform, client_id="cid", client_secret="cs", refresh_token="rt")
    (token,) = platform.requests("/token")
    assert sent_form(token) == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "cs",
        "refresh_token": "rt",
    }
    (insert,) = platform.requests("/comments")
    assert insert.headers["authorization"] == "Bearer fresh"


def test_revoked_refresh_token_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/token",
        lambda _r: json_reply(
            400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
        ),
    )
    with pytest.raises(AuthFailed, match="Token has been revoked") as caught:
        reply(platform, client_id="cid", client_secret="client-secret-xyz", refresh_token="rt")
    assert "client-secret-xyz" not in str(caught.value)


def test_comments_disabled_is_rejected_not_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(
            403, google_error(403, "commentsDisabled", "The video has disabled comments.")
        ),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform)
    assert str(caught.value) == "YouTube refused the reply: The video has disabled comments."


def test_quota_exceeded_is_a_rate_limit(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(403, google_error(403, "quotaExceeded", "Quota exceeded.")),
    )
    with pytest.raises(RateLimited, match="Quota exceeded"):
        reply(platform)


def test_missing_permission_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(
            403, google_error(403, "insufficientPermissions", "Insufficient Permission")
        ),
    )
    with pytest.raises(AuthFailed, match="Insufficient Permission"):
        reply(platform)


def test_expired_token_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(401, google_error(401, "authError", "Invalid Credentials")),
    )
    with pytest.raises(AuthFailed, match="401: Invalid Credentials") as caught:
        reply(platform)
    assert TOKEN not in str(caught.value)


def test_deleted_parent_is_gone(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(
            404, google_error(404, "parentCommentNotFound", "The parent comment was not found.")
        ),
    )
    with pytest.raises(SourceGone, match="The parent comment was not found"):
        reply(platform)


def test_text_too_long_is_rejected(platform: Platform) -> None:
    platform.server.route_handler(
        "/comments",
        lambda _r: json_reply(
            400, google_error(400, "commentTextTooLong", "The comment text is too long.")
        ),
    )
    with pytest.raises(PostRejected, match="The comment text is too long"):
        reply(platform)


def test_429_gives_the_wait(platform: Platform) -> None:
    platform.server.route("/comments", 429, b"{}", {"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 3600


def test_server_error_is_not_retried(platform: Platform) -> None:
    platform.server.route_sequence("/comments", [Reply(503), json_reply(200, CREATED)])
    with pytest.raises(FetchError, match="server error 503"):
        reply(platform)
    assert len(platform.requests("/comments")) == 1


def test_malformed_answer_is_a_parse_error(platform: Platform) -> None:
    platform.server.route("/comments", 200, b"[")
    with pytest.raises(ParseError, match="YouTube answered the reply with something"):
        reply(platform)


def test_video_itself_is_not_a_comment_to_reply_to(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="YouTube comments only"):
        reply(platform, comment="video:vid123")
    assert platform.server.requests == []
