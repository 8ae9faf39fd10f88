"""Replies and moderation on WordPress, against a local server implementing /wp-json/wp/v2/comments."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from connectors.server import RecordedRequest, Reply
from flocon.errors import AuthFailed, FetchError, ParseError, PostRejected, RateLimited, SourceGone
from flocon.posting import ModerationAction, Posted, PostingAccount, ReplyTarget
from flocon.posting.wordpress import WordPressConnector
from posting.helpers import Platform, json_reply, sent_json

APP_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
ARTICLE = "https://blog.example/2024/11/lancement/"
COMMENTS = "/wp-json/wp/v2/comments"


def wp_error(status: int, code: str, message: str) -> Reply:
    return json_reply(status, {"code": code, "message": message, "data": {"status": status}})


def created(comment_id: int = 90, **fields: Any) -> Reply:
    return json_reply(
        201,
        {
            "id": comment_id,
            "post": 7,
            "status": "approved",
            "link": f"{ARTICLE}#comment-{comment_id}",
            **fields,
        },
    )


def target(comment: int | None = 42, **extra: str) -> ReplyTarget:
    external_id = f"{ARTICLE}#comment-{comment}" if comment else ARTICLE
    return ReplyTarget("web", external_id, external_id, extra=extra)


def reply(platform: Platform, to: ReplyTarget, text: str = "Merci !") -> Posted:
    account = platform.account("wordpress", username="brand", application_password=APP_PASSWORD)
    return platform.run(lambda http: WordPressConnector().reply(http, account, to, text))


def moderate(
    platform: Platform, action: ModerationAction, reason: str | None = None, comment: int = 42
) -> None:
    account = platform.account("wordpress", username="brand", application_password=APP_PASSWORD)
    platform.run(
        lambda http: WordPressConnector().moderate(
            http, account, target(comment), action, reason=reason
        )
    )


def basic(request: RecordedRequest) -> str:
    scheme, _, value = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


# --------------------------------------------------------------------------- replies


def test_reply_to_a_comment_posts_under_it_with_the_application_password(
    platform: Platform,
) -> None:
    platform.server.route_handler(COMMENTS, lambda _r: created())
    posted = reply(platform, target(post_id="7"))
    assert posted == Posted(f"{ARTICLE}#comment-90", f"{ARTICLE}#comment-90")
    (post,) = platform.requests(COMMENTS)
    assert post.method == "POST"
    assert basic(post) == f"brand:{APP_PASSWORD}"
    assert sent_json(post) == {"post": 7, "parent": 42, "content": "Merci !"}


def test_post_id_is_read_from_the_comment_when_not_given(platform: Platform) -> None:
    platform.server.route_handler(
        f"{COMMENTS}/42", lambda _r: json_reply(200, {"id": 42, "post": 7, "parent": 0})
    )
    platform.server.route_handler(COMMENTS, lambda _r: created())
    reply(platform, target())
    (lookup,) = platform.requests(f"{COMMENTS}/42")
    assert lookup.method == "GET"
    assert lookup.query == {"context": ["edit"]}
    assert basic(lookup) == f"brand:{APP_PASSWORD}"
    (post,) = platform.requests(COMMENTS)
    assert sent_json(post)["post"] == 7


def test_reply_to_the_article_is_a_top_level_comment(platform: Platform) -> None:
    platform.server.route_handler(COMMENTS, lambda _r: created())
    posted = reply(platform, target(None, post_id="7"))
    (post,) = platform.requests(COMMENTS)
    assert sent_json(post) == {"post": 7, "parent": 0, "content": "Merci !"}
    assert posted.external_id == f"{ARTICLE}#comment-90"


def test_reply_to_the_article_needs_its_post_id(platform: Platform) -> None:
    with pytest.raises(PostRejected, match=r"extra\['post_id'\]"):
        reply(platform, target(None))
    assert platform.server.requests == []


def test_api_root_may_be_given_as_base_url(platform: Platform) -> None:
    platform.server.route_handler(COMMENTS, lambda _r: created())
    credentials = {"username": "brand", "application_password": "x"}
    rooted = PostingAccount("wordpress", platform.url("/wp-json"), credentials)
    platform.run(
        lambda http: WordPressConnector().reply(http, rooted, target(post_id="7"), "Merci")
    )
    assert len(platform.requests(COMMENTS)) == 1


def test_closed_comments_are_a_rejection_not_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(
            403, "rest_comment_closed", "Sorry, comments are closed for this item."
        ),
    )
    with pytest.raises(PostRejected) as caught:
        reply(platform, target(post_id="7"))
    assert str(caught.value) == (
        "WordPress refused the reply: Sorry, comments are closed for this item."
    )


def test_duplicate_comment_message_is_plain_text(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(
            409,
            "comment_duplicate",
            "Duplicate comment detected; it looks as though you&#8217;ve already said that!",
        ),
    )
    with pytest.raises(PostRejected, match="you’ve already said that!"):
        reply(platform, target(post_id="7"))


def test_wrong_application_password_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(401, "incorrect_password", "The provided password is an invalid."),
    )
    with pytest.raises(AuthFailed, match="401") as caught:
        reply(platform, target(post_id="7"))
    assert APP_PASSWORD not in str(caught.value)


def test_unknown_post_is_gone(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS, lambda _r: wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
    )
    with pytest.raises(SourceGone, match="Invalid post ID"):
        reply(platform, target(post_id="7"))


def test_comment_flood_is_a_rate_limit(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(400, "comment_flood", "You are posting comments too quickly."),
    )
    with pytest.raises(RateLimited, match="too quickly"):
        reply(platform, target(post_id="7"))


def test_429_gives_the_wait(platform: Platform) -> None:
    platform.server.route(COMMENTS, 429, b"{}", {"Retry-After": "400"})
    with pytest.raises(RateLimited) as caught:
        reply(platform, target(post_id="7"))
    assert caught.value.retry_after == 400


def test_invalid_content_is_rejected(platform: Platform) -> None:
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(400, "rest_comment_content_invalid", "Invalid comment content."),
    )
    with pytest.raises(PostRejected, match="Invalid comment content"):
        reply(platform, target(post_id="7"))


def test_server_error_is_not_retried(platform: Platform) -> None:
    platform.server.route_sequence(COMMENTS, [Reply(500), created()])
    with pytest.raises(FetchError, match="check the thread"):
        reply(platform, target(post_id="7"))
    assert len(platform.requests(COMMENTS)) == 1


def test_malformed_answer_is_a_parse_error(platform: Platform) -> None:
    platform.server.route(COMMENTS, 201, b"<br />\n<b>Fatal error</b>")
    with pytest.raises(ParseError, match="WordPress answered the reply with something"):
        reply(platform, target(post_id="7"))


# --------------------------------------------------------------------------- moderation


@pytest.mark.parametrize(
    ("action", "status"), [("hold", "hold"), ("approve", "approved"), ("spam", "spam")]
)
def test_moderation_sets_the_comment_status(
    platform: Platform, action: ModerationAction, status: str
) -> None:
    platform.server.route_handler(
        f"{COMMENTS}/42", lambda _r: json_reply(200, {"id": 42, "post": 7, "parent": 0})
    )
    moderate(platform, action)
    (update,) = platform.server.requests
    assert (update.method, update.route) == ("POST", f"{COMMENTS}/42")
    assert basic(update) == f"brand:{APP_PASSWORD}"
    assert sent_json(update) == {"status": status}


def test_hide_holds_the_comment_and_posts_the_reason_where_it_stood(
    platform: Platform,
) -> None:
    platform.server.route_handler(
        f"{COMMENTS}/42", lambda _r: json_reply(200, {"id": 42, "post": 7, "parent": 30})
    )
    platform.server.route_handler(COMMENTS, lambda _r: created(91))
    moderate(platform, "hide", "Un commentaire a été masqué : propos insultants.")
    update, notice = platform.server.requests
    assert sent_json(update) == {"status": "hold"}
    assert notice.route == COMMENTS
    assert sent_json(notice) == {
        "post": 7,
        "parent": 30,
        "content": "Un commentaire a été masqué : propos insultants.",
    }
    assert {r.method for r in platform.server.requests} == {"POST"}  # never DELETE


def test_hide_needs_a_public_reason(platform: Platform) -> None:
    with pytest.raises(PostRejected, match="needs a public reason"):
        moderate(platform, "hide", "  ")
    assert platform.server.requests == []


def test_hidden_comment_whose_reason_fails_says_so(platform: Platform) -> None:
    platform.server.route_handler(
        f"{COMMENTS}/42", lambda _r: json_reply(200, {"id": 42, "post": 7, "parent": 0})
    )
    platform.server.route_handler(
        COMMENTS,
        lambda _r: wp_error(
            403, "rest_comment_closed", "Sorry, comments are closed for this item."
        ),
    )
    with pytest.raises(PostRejected) as caught:
        moderate(platform, "hide", "Propos insultants.")
    assert str(caught.value) == (
        "The comment is hidden, but WordPress refused the public reason: "
        "Sorry, comments are closed for this item."
    )


def test_moderation_without_the_right_is_an_auth_failure(platform: Platform) -> None:
    platform.server.route_handler(
        f"{COMMENTS}/42",
        lambda _r: wp_error(403, "rest_cannot_edit", "Sorry, you are not allowed to edit this."),
    )
    with pytest.raises(AuthFailed, match="not allowed to edit"):
        moderate(platform, "spam")


def test_article_itself_cannot_be_moderated(platform: Platform) -> None:
    account = platform.account("wordpress", username="brand", application_password="x")
    with pytest.raises(PostRejected, match="applies to comments"):
        platform.run(
            lambda http: WordPressConnector().moderate(
                http, account, target(None), "hold", reason=None
            )
        )
    assert platform.server.requests == []
