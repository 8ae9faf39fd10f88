"""Replying on Mastodon, against a local server implementing /api/v1/statuses and /api/v2/search."""

from __future__ import annotations

import pytest

from connectors.server import Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import Posted, ReplyTarget
from flocon.posting.mastodon import MastodonPoster, idempotency_key, with_mention
from posting.helpers import Platform, json_reply, sent_json

TOKEN = "masto-secret-token"
STATUS = {
    "id": "111",
    "url": "http://127.0.0.1/@claire/111",
    "visibility": "public",
    "account": {"acct": "claire"},
}


def target(external_id: str = "127.0.0.1:111", url: str | None = None) -> ReplyTarget:
    return ReplyTarget("mastodon", external_id, url)


def reply(platform: Platform, text: str = "Merci !", to: ReplyTarget | None = None) -> Posted:
    account = platform.account("mastodon", access_token=TOKEN)
    return platform.run(lambda http: MastodonPoster().reply(http, account, to or target(), text))


def serve(platform: Platform, status: dict[str, object] | None = None) -> None:
    platform.server.route_handler(
        "/api/v1/statuses/111", lambda _r: json_reply(200, status or STATUS)
    )
    platform.server.route_handler(
        "/api/v1/statuses",
        lambda _r: json_reply(200, {"id": "222", "url": "http://127.0.0.1/@brand/222"}),
    )


def test_reply_posts_a_status_in_reply_to_the_mention(platform: Platform) -> None:
    serve(platform)
    posted = reply(platform)
    assert posted == Posted("127.0.0.1:222", "http://127.0.0.1/@brand/222")
    (post,) = platform.requests("/api/v1/statuses")
    assert post.method == "POST"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent_json(post) == {"status": "@claire Merci !", "in_reply_to_id": "111"}


def test_reply_carries_an_idempotency_key_of_the_status_and_text(platform: Platform) -> None:
    serve(platform)
    reply(platform)
    (post,) = platform.requests("/api/v1/statuses")
    assert post.headers["idempotency-key"] == idempotency_key("111", "@claire Merci !")


def test_author_already_named_is_not_mentioned_twice(platform: Platform) -> None:
    serve(platform)
    reply(platform, "Bonjour @Claire, merci !")
    (post,) = platform.requests("/api/v1/statuses")
    assert sent_json(post)["status"] == "Bonjour @Claire, merci !"


def test_a_longer_handle_does_not_count_as_the_author() -> None:
    assert with_mention("cc @claire2", "claire") == "@claire cc @claire2"
    assert with_mention("cc @claire@piaille.fr", "claire") == "@claire cc @claire@piaille.fr"


def test_reply_keeps_a_followers_only_thread_followers_only(platform: Platform) -> None:
    serve(platform, {**STATUS, "visibility": "private"})
    reply(platform)
    (post,) = platform.requests("/api/v1/statuses")
    assert sent_json(post)["visibility"] == "private"


def test_status_of_another_instance_is_resolved_by_its_address(platform: Platform) -> None:
    remote = "https://piaille.fr/@claire/999"
    platform.server.route_handler(
        "/api/v2/search",
        lambda _r: json_reply(
            200, {"statuses": [{**STATUS, "id": "555", "account": {"acct": "claire@piaille.fr"}}]}
        ),
    )
    serve(platform)
    reply(platform, to=target("piaille.fr:999", remote))
    (search,) = platform.requests("/api/v2/search")
    assert search.query == {
        "q": [remote],
        "type": ["statuses"],
        "resolve": ["true"],
        "limit": ["1"],
    }
    assert search.headers["authorization"] == f"Bearer {TOKEN}"
    (post,) = platform.requests("/api/v1/statuses")
    assert sent_json(post) == {
        "status": "@claire@piaille.fr Merci !",
        "in_reply_to_id": "555",
    }


def test_status_another_instance_cannot_find_is_gone(platform: Platform) -> None:
    platform.server.route_handler("/api/v2/search", lambda _r: json_reply(200, {"statuses": []}))
    with pytest.raises(SourceGone, match="cannot find the status to reply to"):
        reply(platform, to=target("piaille.fr:999", "https://piaille.fr/@claire/999"))
    assert platform.requests("/api/v1/statuses") == []


def test_status_of_another_instance_without_address_is_refused_before_sending(
    platform: Platform,
) -> None:
    with pytest.raises(PostRejected, match=r"on piaille\.fr"):
        reply(platform, to=target("piaille.fr:999"))
    assert platform.server.requests == []


def test_text_too_long_is_rejected_with_the_limit(platform: Platform) -> None:
    serve(platform)
    platform.server.route_handler(
        "/api/v1/statuses",
        lambda _r: json_reply(
            422, {"error": "Validation failed: Text character limit of 500 exceeded"}
        ),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform, "x" * 495)
    assert str(caught.value).startswith(
        "Mastodon refused the reply: text too long (500 characters max)"
    )
    assert "@claire" in str(caught.value)
    assert caught.value.retryable is False


def test_bad_token_is_an_auth_failure_that_hides_the_token(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/v1/statuses/111", lambda _r: json_reply(401, {"error": "The access token is invalid"})
    )
    with pytest.raises(AuthFailed, match="The access token is invalid") as caught:
        reply(platform)
    assert TOKEN not in str(caught.value)
    assert caught.value.retryable is False


def test_forbidden_reply_is_an_auth_failure(platform: Platform) -> None:
    serve(platform)
    platform.server.route_handler(
        "/api/v1/statuses", lambda _r: json_reply(403, {"error": "This action is not allowed"})
    )
    with pytest.raises(AuthFailed, match="403 forbidden: This action is not allowed"):
        reply(platform)


def test_deleted_status_is_gone(platform: Platform) -> None:
    platform.server.route_handler(
        "/api/v1/statuses/111", lambda _r: json_reply(404, {"error": "Record not found"})
    )
    with pytest.raises(SourceGone, match="cannot find the status to reply to"):
        reply(platform)
    assert platform.requests("/api/v1/statuses") == []


def test_rate_limit_says_how_long_to_wait(platform: Platform) -> None:
    serve(platform)
    platform.server.route(
        "/api/v1/statuses", 429, b'{"error":"Too many requests"}', {"Retry-After": "120"}
    )
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 120
    assert caught.value.retryable is True
    assert str(caught.value).startswith("Mastodon is limiting how often flocon may send the reply")


def test_server_error_is_retried_with_the_same_idempotency_key(platform: Platform) -> None:
    serve(platform)
    platform.server.route_sequence(
        "/api/v1/statuses",
        [Reply(503), json_reply(200, {"id": "222", "url": "http://127.0.0.1/@brand/222"})],
    )
    assert reply(platform).external_id == "127.0.0.1:222"
    first, second = platform.requests("/api/v1/statuses")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_server_down_is_a_retryable_fetch_error(platform: Platform) -> None:
    serve(platform)
    platform.server.route("/api/v1/statuses", 502)
    with pytest.raises(FetchError, match="Mastodon could not be reached for the reply") as caught:
        reply(platform)
    assert caught.value.retryable is True
    assert len(platform.requests("/api/v1/statuses")) == 3  # the client's 2 retries


def test_malformed_answer_says_the_reply_may_exist(platform: Platform) -> None:
    serve(platform)
    platform.server.route("/api/v1/statuses", 200, b"<html>oops", {"Content-Type": "text/html"})
    with pytest.raises(ParseError, match="not JSON; it may have been saved") as caught:
        reply(platform)
    assert caught.value.retryable is False


def test_answer_without_id_is_a_parse_error(platform: Platform) -> None:
    serve(platform)
    platform.server.route_handler("/api/v1/statuses", lambda _r: json_reply(200, {"ok": True}))
    with pytest.raises(ParseError, match="without the id of the new status"):
        reply(platform)


def test_id_that_is_not_instance_and_number_is_refused(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="not a Mastodon status id"):
        reply(platform, to=target("https://example.org/statuses/1"))
    assert platform.server.requests == []
