"""Replies and moderation on Discourse, against a local server implementing its posts API."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.server import Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import ModerationAction, Posted, ReplyTarget
from flocon.posting.discourse import DiscourseConnector
from posting.helpers import Platform, json_reply, sent_form, sent_json

API_KEY = "discourse-api-key-secret"
TOPIC = "https://forum.example/t/panne-sync/123"


def created(number: int = 5) -> Reply:
    return json_reply(
        200, {"id": 9001, "post_number": number, "topic_id": 123, "topic_slug": "panne-sync"}
    )


def flagged(hidden: bool = True) -> Reply:
    return json_reply(200, {"id": 777, "post_number": 4, "hidden": hidden})


def errors(status: int, *messages: str, error_type: str = "invalid_parameters") -> Reply:
    return json_reply(status, {"errors": list(messages), "error_type": error_type})


def target(external_id: str = f"{TOPIC}/4", **extra: str) -> ReplyTarget:
    return ReplyTarget("web", external_id, external_id, extra=extra)


def reply(platform: Platform, to: ReplyTarget | None = None) -> Posted:
    account = platform.account("discourse", api_key=API_KEY, api_username="brand")
    return platform.run(
        lambda http: DiscourseConnector().reply(http, account, to or target(), "Merci !")
    )


def moderate(
    platform: Platform,
    action: ModerationAction,
    reason: str | None = None,
    to: ReplyTarget | None = None,
) -> None:
    account = platform.account("discourse", api_key=API_KEY, api_username="brand")
    platform.run(
        lambda http: DiscourseConnector().moderate(
            http, account, to or target(), action, reason=reason
        )
    )


def serve_post(platform: Platform) -> None:
    platform.server.route_handler(
        "/posts/by_number/123/4.json", lambda _r: json_reply(200, {"id": 777, "post_number": 4})
    )


# --------------------------------------------------------------------------- replies


def test_reply_to_a_post_answers_its_number_with_the_api_key(platform: Platform) -> None:
    platform.server.route_handler("/posts.json", lambda _r: created())
    posted = reply(platform)
    assert posted == Posted(f"{TOPIC}/5", platform.url("/t/panne-sync/123/5"))
    (post,) = platform.requests("/posts.json")
    assert post.method == "POST"
    assert post.headers["api-key"] == API_KEY
    assert post.headers["api-username"] == "brand"
    assert sent_json(post) == {"topic_id": 123, "raw": "Merci !", "reply_to_post_number": 4}


def test_reply_to_the_topic_has_no_post_number(platform: Platform) -> None:
    platform.server.route_handler("/posts.json", lambda _r: created())
    reply(platform, target(TOPIC))
    (post,) = platform.requests("/posts.json")
    assert sent_json(post) == {"topic_id": 123, "raw": "Merci !"}


def test_address_that_is_not_a_topic_is_refused_before_sending(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="not a topic or post address"):
        reply(platform, target("https://forum.example/c/support/4"))
    assert platform.server.requests == []


def test_validation_errors_are_rejected_with_discourse_words(platform: Platform) -> None:
    platform.server.route_handler(
        "/posts.json",
        lambda _r: errors(422, "Body is too short (minimum is 20 characters)"),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform)
    assert str(caught.value) == (
        "Discourse refused the reply: Body is too short (minimum is 20 characters)"
    )


def test_forbidden_is_an_auth_failure_that_hides_the_key(platform: Platform) -> None:
    platform.server.route_handler(
        "/posts.json",
        lambda _r: errors(
            403,
            "You are not permitted to view the requested resource.",
            error_type="invalid_access",
        ),
    )
    with pytest.raises(AuthFailed, match="not permitted") as caught:
        reply(platform)
    assert API_KEY not in str(caught.value)


def test_missing_topic_is_gone(platform: Platform) -> None:
    platform.server.route_handler(
        "/posts.json",
        lambda _r: errors(404, "The requested URL or resource could not be found."),
    )
    with pytest.raises(SourceGone, match="could not be found"):
        reply(platform)


def test_429_gives_the_wait(platform: Platform) -> None:
    platform.server.route(
        "/posts.json",
        429,
        b'{"errors":["You have performed this action too many times."],"error_type":"rate_limit"}',
        {"Retry-After": "500"},
    )
    with pytest.raises(RateLimited) as caught:
        reply(platform)
    assert caught.value.retry_after == 500


def test_server_error_is_not_retried(platform: Platform) -> None:
    platform.server.route_sequence("/posts.json", [Reply(502), created()])
    with pytest.raises(FetchError, match="server error 502"):
        reply(platform)
    assert len(platform.requests("/posts.json")) == 1


def test_malformed_answer_is_a_parse_error(platform: Platform) -> None:
    platform.server.route("/posts.json", 200, b"<!DOCTYPE html>")
    with pytest.raises(ParseError, match="Discourse answered the reply with something"):
        reply(platform)


# --------------------------------------------------------------------------- moderation


def flag_of(platform: Platform) -> dict[str, Any]:
    (flag,) = platform.requests("/post_actions")
    assert flag.method == "POST"
    assert flag.headers["api-key"] == API_KEY
    return sent_form(flag)


def test_hold_hides_the_post_into_the_review_queue(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/post_actions", lambda _r: flagged())
    moderate(platform, "hold")
    (lookup,) = platform.requests("/posts/by_number/123/4.json")
    assert lookup.method == "GET"
    assert flag_of(platform) == {
        "id": "777",
        "post_action_type_id": "4",
        "queue_for_review": "true",
    }


def test_spam_is_a_staff_spam_flag(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/post_actions", lambda _r: flagged())
    moderate(platform, "spam")
    assert flag_of(platform) == {"id": "777", "post_action_type_id": "8", "take_action": "true"}


def test_hide_flags_then_replies_with_the_public_reason(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/post_actions", lambda _r: flagged())
    platform.server.route_handler("/posts.json", lambda _r: created())
    moderate(platform, "hide", "Message masqué : données personnelles.")
    assert flag_of(platform) == {"id": "777", "post_action_type_id": "4", "take_action": "true"}
    (notice,) = platform.requests("/posts.json")
    assert sent_json(notice) == {
        "topic_id": 123,
        "raw": "Message masqué : données personnelles.",
        "reply_to_post_number": 4,
    }
    assert {r.method for r in platform.server.requests} <= {"GET", "POST", "PUT"}  # never DELETE


def test_approve_unhides_the_post(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/posts/777/unhide", lambda _r: json_reply(200, {}))
    moderate(platform, "approve")
    (unhide,) = platform.requests("/posts/777/unhide")
    assert unhide.method == "PUT"


def test_known_post_id_skips_the_lookup(platform: Platform) -> None:
    platform.server.route_handler("/post_actions", lambda _r: flagged())
    moderate(platform, "spam", to=target(post_id="777"))
    assert [r.route for r in platform.server.requests] == ["/post_actions"]


def test_flag_that_did_not_hide_says_the_account_must_moderate(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/post_actions", lambda _r: flagged(hidden=False))
    with pytest.raises(PostRejected, match="'brand' must be a moderator"):
        moderate(platform, "hold")


def test_hide_needs_a_public_reason(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="needs a public reason"):
        moderate(platform, "hide")
    assert platform.server.requests == []


def test_hidden_post_whose_reason_fails_says_so(platform: Platform) -> None:
    serve_post(platform)
    platform.server.route_handler("/post_actions", lambda _r: flagged())
    platform.server.route_handler("/posts.json", lambda _r: errors(422, "This topic is closed."))
    with pytest.raises(PostRejected) as caught:
        moderate(platform, "hide", "Données personnelles.")
    assert str(caught.value) == (
        "The post is hidden, but Discourse refused the public reason: This topic is closed."
    )
