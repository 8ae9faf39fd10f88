"""Replies sent from a case to a local Mastodon-compatible server: stored before sending, a
platform failure kept with its error and retried until it is sent, a refusal not retried,
and the first response time set by the sent reply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.server import LocalHTTPServer, RecordedRequest, Reply
from flocon.services import cases as svc
from flocon.settings import Settings
from support.seeding import import_lines, member

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def mastodon() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def open_case(
    engine: Engine, settings: Settings, line: dict[str, Any], *, base: str, token: str
) -> svc.Case:
    """A case on ``line``, a mention from the local Mastodon at ``base``, where the brand has a
    posting account (access token ``token``)."""
    (mention_id,) = import_lines(engine, settings, [line], source="mastodon:local")
    svc.add_account(
        engine,
        "default",
        platform="mastodon",
        name="brand",
        base_url=base,
        credentials={"access_token": token},
        settings=settings,
        actor="cli",
    )
    return svc.create_case(engine, "default", mention_id=mention_id, actor="cli")


def test_a_failed_post_is_kept_then_sent_on_retry(
    engine: Engine, mastodon: LocalHTTPServer
) -> None:
    settings = Settings(allow_private_addresses=True, http_retries=0, sentiment_profile="fast")
    base = mastodon.url("/").rstrip("/")
    line = {
        "id": "127.0.0.1:109",
        "text": "@acme my order never arrived, three weeks now",
        "url": f"{base}/@claire/109",
        "author": {"handle": "claire", "followers": 300},
        "published_at": datetime.now(UTC).isoformat(),
    }
    agent = member(engine, "agent@example.com")
    case = open_case(engine, settings, line, base=base, token="tok-123")
    assert svc.can_send(engine, "default", case.id, settings=settings)

    mastodon.route_handler(
        "/api/v1/statuses/109",
        lambda _r: _json(200, {"id": "109", "account": {"acct": "claire"}, "visibility": "public"}),
    )
    answers = iter(
        [
            _json(503, {"error": "down for maintenance"}),
            _json(200, {"id": "555", "url": f"{base}/@brand/555"}),
        ]
    )
    mastodon.route_handler("/api/v1/statuses", lambda _r: next(answers))

    failed = svc.send_reply(
        engine,
        "default",
        case.id,
        actor=agent,
        settings=settings,
        text="So sorry Claire: I've sent you a DM to sort it today.",
    )
    assert (failed.status, failed.retryable, failed.attempts) == ("failed", True, 1)
    assert failed.error and "Mastodon" in failed.error
    after_failure = svc.get_case(engine, "default", case.id).case
    assert after_failure.first_response_seconds is None

    sent = svc.send_reply(
        engine, "default", case.id, actor=agent, settings=settings, reply_id=failed.id
    )
    assert (sent.id, sent.status, sent.attempts) == (failed.id, "sent", 2)
    assert sent.external_id == "127.0.0.1:555" and sent.url == f"{base}/@brand/555"
    posts = [r for r in mastodon.requests if r.method == "POST"]
    assert len(posts) == 2
    last: RecordedRequest = posts[-1]
    assert last.headers["authorization"] == "Bearer tok-123"
    payload = json.loads(last.body)
    assert payload["in_reply_to_id"] == "109"
    assert payload["status"].startswith("@claire So sorry Claire")
    detail = svc.get_case(engine, "default", case.id)
    assert detail.case.first_response_seconds is not None
    assert [e.kind for e in detail.events] == ["created", "reply_failed", "reply"]
    with pytest.raises(svc.BadTransition):
        svc.send_reply(
            engine, "default", case.id, actor=agent, settings=settings, reply_id=failed.id
        )


def test_a_refused_post_is_not_retried(engine: Engine, mastodon: LocalHTTPServer) -> None:
    settings = Settings(allow_private_addresses=True, http_retries=0, sentiment_profile="fast")
    base = mastodon.url("/").rstrip("/")
    line = {"id": "127.0.0.1:7", "text": "acme?"}
    case = open_case(engine, settings, line, base=base, token="t")
    mastodon.route_handler(
        "/api/v1/statuses/7", lambda _r: _json(200, {"id": "7", "account": {"acct": "x"}})
    )
    mastodon.route_handler(
        "/api/v1/statuses",
        lambda _r: _json(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
    )
    refused = svc.send_reply(
        engine, "default", case.id, actor="cli", settings=settings, text="x" * 600
    )
    assert (refused.status, refused.retryable) == ("failed", False)
    assert "too long" in (refused.error or "")
    with pytest.raises(svc.BadTransition, match="refused"):
        svc.send_reply(
            engine, "default", case.id, actor="cli", settings=settings, reply_id=refused.id
        )
