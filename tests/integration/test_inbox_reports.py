"""Reports on the team's work (counts, median and 90th percentile response times by agent,
channel and priority, SLA compliance, CSV) and moderation of the brand's own WordPress site
against a local server: every action kept, a failure kept with its error, never a deletion."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.server import LocalHTTPServer, RecordedRequest, Reply
from flocon.errors import ConfigError
from flocon.services import accounts
from flocon.services import cases as svc
from flocon.services.cases import moderation
from flocon.services.cases.reports import percentile, report_csv, team_report
from flocon.settings import Settings
from support.seeding import import_lines, member

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("fast_hashing")


def seed(
    engine: Engine, lines: list[dict[str, Any]], source: str = "forum:forum.example"
) -> list[int]:
    """Import ``lines``, all published at T0; their mention ids."""
    return import_lines(
        engine, Settings(sentiment_profile="fast"), lines, source=source, published_at=T0
    )


def test_percentiles() -> None:
    assert percentile([], 0.5) is None
    assert percentile([10], 0.9) == 10
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


def test_the_team_report_counts_times_and_sla(engine: Engine) -> None:
    alice = member(engine, "alice@example.com")
    bob = member(engine, "bob@example.com")
    ids = seed(engine, [{"id": f"m{i}", "text": f"acme problem number {i}"} for i in range(4)])
    # Four cases opened at T0 (normal priority: first response due after 8 h, 24/7).
    opened = [
        svc.create_case(engine, "default", mention_id=m, actor="cli", now=T0, assignee=a)
        for m, a in zip(ids, [alice.email, alice.email, bob.email, None], strict=True)
    ]
    # Alice answers case 0 after 1 h and case 1 after 10 h (late); Bob answers case 2 after 2 h.
    for case, who, hours in [(0, alice, 1), (1, alice, 10), (2, bob, 2)]:
        svc.record_reply(
            engine,
            "default",
            opened[case].id,
            actor=who,
            text="Sorry, we're on it: DM sent.",
            now=T0 + timedelta(hours=hours),
        )
    svc.update_case(
        engine, "default", opened[0].id, actor=alice, status="resolved", now=T0 + timedelta(hours=5)
    )
    report = team_report(
        engine, "default", since=T0 - timedelta(days=1), until=T0 + timedelta(days=1)
    )
    total = report.total
    assert (total.opened, total.resolved) == (4, 1)
    assert sorted(total.first_response_s) == [3600, 7200, 36000]
    assert total.first_response_median_s == 7200
    assert total.first_response_p90_s == pytest.approx(3600 * 8.4)
    # Case 3 is unanswered past its due time: it counts as a miss, as does Alice's late one.
    assert (total.first_response_met, total.first_response_due) == (2, 4)
    assert total.first_response_sla_pct == 50.0
    assert total.resolution_median_s == 5 * 3600 and total.resolution_sla_pct == 100.0
    a = report.by["agent"]
    assert sorted(a["alice@example.com"].first_response_s) == [3600, 36000]
    assert a["bob@example.com"].first_response_sla_pct == 100.0
    assert a["unassigned"].opened == 1
    assert report.by["priority"]["normal"].opened == 4
    assert report.by["channel"]["forum"].opened == 4
    assert report.by["watch"]["Acme"].opened == 4
    assert sorted(report.by["watch"]["Acme"].first_response_s) == [3600, 7200, 36000]

    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert rows[0]["dimension"] == "all" and rows[0]["opened"] == "4"
    assert rows[0]["first_response_median_s"] == "7200"
    assert {r["key"] for r in rows if r["dimension"] == "agent"} == {
        "alice@example.com",
        "bob@example.com",
        "unassigned",
    }
    # Outside the period: nothing.
    empty = team_report(
        engine, "default", since=T0 + timedelta(days=5), until=T0 + timedelta(days=6)
    )
    assert empty.total.opened == 0 and empty.total.first_response_median_s is None
    with pytest.raises(ConfigError):
        team_report(engine, "default", since=T0, until=T0 - timedelta(days=1))


@pytest.fixture
def wordpress() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


def test_moderation_on_the_brands_wordpress_is_kept_on_record(
    engine: Engine, wordpress: LocalHTTPServer
) -> None:
    settings = Settings(allow_private_addresses=True, secret_key="")
    base = wordpress.url("/").rstrip("/")
    article = f"{base}/2026/11/launch/"
    statuses: list[dict[str, Any]] = []

    def comment(request: RecordedRequest) -> Reply:
        if request.method == "POST":
            statuses.append(json.loads(request.body or b"{}"))
        return Reply(
            200,
            json.dumps(
                {"id": 42, "post": 7, "status": "hold", "link": f"{article}#comment-42"}
            ).encode(),
            {"Content-Type": "application/json"},
        )

    wordpress.route_handler("/wp-json/wp/v2/comments/42", comment)
    (mid,) = seed(
        engine,
        [
            {
                "id": f"{article}#comment-42",
                "text": "acme sells my data",
                "url": f"{article}#comment-42",
            }
        ],
        source="web:blog",
    )
    agent = member(engine, "agent@example.com")
    assert not moderation.can_moderate(engine, "default", mid, settings=settings)
    with pytest.raises(svc.BadTransition, match="posting account"):
        moderation.moderate(
            engine, "default", mid, action="hold", reason=None, actor=agent, settings=settings
        )
    svc.add_account(
        engine,
        "default",
        platform="wordpress",
        name="blog",
        base_url=base,
        credentials={"username": "brand", "application_password": "abcd efgh"},
        settings=settings,
        actor="cli",
    )
    assert moderation.can_moderate(engine, "default", mid, settings=settings)
    done = moderation.moderate(
        engine, "default", mid, action="hold", reason=None, actor=agent, settings=settings
    )
    assert (done.status, done.action, done.actor) == ("done", "hold", "agent@example.com")
    assert statuses == [{"status": "hold"}]
    assert all(r.method != "DELETE" for r in wordpress.requests)
    with pytest.raises(ConfigError, match="reason"):
        moderation.moderate(
            engine, "default", mid, action="hide", reason="  ", actor=agent, settings=settings
        )
    # The site fails: the action is kept, failed, with the platform's error.
    wordpress.route(
        "/wp-json/wp/v2/comments/42",
        status=401,
        body=b'{"code":"rest_cannot_edit","message":"Sorry, you are not allowed to edit this comment."}',
        headers={"Content-Type": "application/json"},
    )
    failed = moderation.moderate(
        engine, "default", mid, action="spam", reason=None, actor=agent, settings=settings
    )
    assert failed.status == "failed" and failed.error
    assert [(r.action, r.status) for r in moderation.history(engine, "default", mid)] == [
        ("hold", "done"),
        ("spam", "failed"),
    ]
    audit = [e.action for e in accounts.audit_events(engine, "default")]
    assert "mention.moderate.hold" in audit and "mention.moderate.spam" in audit
