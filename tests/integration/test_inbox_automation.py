"""The inbox automation on SQLite and PostgreSQL: rules on new mentions (in order, disabled ones
left out), the cursor (first check, resume after a killed check without duplicates),
suggested cases from the needs-answer signal, escalation queued once through the alert
channels and received by a local webhook, rule use cases (audited, workspace-bound), and a
simulation that writes nothing. Mentions come through the real import."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from flocon.errors import AlreadyExists, ConfigError, NotFound, QuerySyntaxError
from flocon.services import alerting
from flocon.services import cases as cases_svc
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.cases import automation
from flocon.services.cases import rules as rules_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import inbox_rules as iq
from flocon.storage.tables import (
    audit_log,
    case_events,
    cases,
    deliveries,
    inbox_settings,
    mention_tags,
    mentions,
    mutes,
)

SECRET = "s3cret-for-tests-0123456789"


def later(minutes: float = 1) -> datetime:
    """A check time after the mentions stored so far have settled."""
    return datetime.now(UTC) + timedelta(seconds=automation.SETTLE_S, minutes=minutes)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        sentiment_profile="fast",
        webhook_secret=SECRET,
        allow_private_addresses=True,
        web_base_url="https://listen.example",
        model_dir=tmp_path / "models",
    )


class Seeder:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings, self.count = engine, settings, 0

    def __call__(self, lines: list[dict[str, Any]], workspace: str = "default") -> list[int]:
        with contextlib.suppress(AlreadyExists):
            workspaces_svc.add_workspace(self.engine, workspace)
        with contextlib.suppress(AlreadyExists):
            watches_svc.add_watch(self.engine, workspace, name="Acme", query="acme")
        wanted = []
        body = b""
        for line in lines:
            self.count += 1
            external = f"{workspace}-{self.count}"
            wanted.append(external)
            row = {
                "id": external,
                "published_at": datetime.now(UTC).isoformat(),
                "source": "mastodon:social.example",
                **line,
            }
            row.pop("analysis", None)
            body += json.dumps(row).encode() + b"\n"
        report = import_stream(
            self.engine, workspace, io.BytesIO(body), fmt="jsonl", settings=self.settings
        )
        assert not report.rejected
        found = mentions_svc.list_mentions(
            self.engine, workspace, include_unmatched=True, include_muted=True, limit=500
        )
        by_external = {m.external_id: m.id for m in found}
        ids = [by_external[e] for e in wanted]
        # The analysis is the analyzer's business: set what each test needs, explicitly.
        with write(self.engine) as conn:
            for mention_id, line in zip(ids, lines, strict=True):
                conn.execute(
                    update(mentions)
                    .where(mentions.c.id == mention_id)
                    .values(**line.get("analysis", {"sentiment": "neutral", "needs_answer": False}))
                )
        return ids


@pytest.fixture
def seed(engine: Engine, settings: Settings) -> Seeder:
    return Seeder(engine, settings)


def started(engine: Engine, settings: Settings, seed: Seeder) -> None:
    """A workspace whose inbox check already ran once (so that what follows is new)."""
    seed([{"text": "Acme, an old mention"}])
    report = automation.check_inbox(engine, settings, now=later())
    assert report.started == ["default"]


def spec(name: str, conditions: dict[str, Any], actions: dict[str, Any]) -> rules_svc.RuleSpec:
    return rules_svc.parse_spec(name, conditions, actions)


def case_of(engine: Engine, mention_id: int) -> Any:
    with read(engine) as conn:
        return conn.execute(select(cases).where(cases.c.mention_id == mention_id)).first()


def tags_of(engine: Engine, mention_id: int) -> set[str]:
    with read(engine) as conn:
        return set(
            conn.execute(
                select(mention_tags.c.tag).where(mention_tags.c.mention_id == mention_id)
            ).scalars()
        )


def count(engine: Engine, table: Any) -> int:
    with read(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


ANGRY = {
    "text": "Acme still has not refunded me, three weeks now",
    "author": {"handle": "bigvoice", "followers": 250_000},
    "analysis": {"sentiment": "negative", "needs_answer": True},
}
QUESTION = {
    "text": "Does Acme deliver to Lyon?",
    "author": {"handle": "someone", "followers": 12},
    "analysis": {"sentiment": "neutral", "needs_answer": True},
}
PRAISE = {
    "text": "Acme is lovely",
    "author": {"handle": "fan", "followers": 40},
    "analysis": {"sentiment": "positive", "needs_answer": False},
}


# -- the cursor --------------------------------------------------------------------------------


def test_the_first_check_records_where_the_inbox_starts_and_acts_on_nothing(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    (mid,) = seed([ANGRY])
    report = automation.check_inbox(engine, settings, now=later())
    assert report.started == ["default"] and report.mentions == 0
    assert case_of(engine, mid) is None
    with read(engine) as conn:
        assert iq.read_cursor(conn, 1) == mid


def test_on_a_new_install_the_first_mentions_are_new(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    # Saving settings does not start the inbox; the first check on an empty database does.
    cases_svc.set_inbox_settings(engine, "default", actor="cli", suggest=True)
    with read(engine) as conn:
        assert iq.read_cursor(conn, 1) is None
    first = automation.check_inbox(engine, settings, now=later())
    assert first.started == ["default"]
    with read(engine) as conn:
        assert iq.read_cursor(conn, 1) == 0
    (mid,) = seed([QUESTION])
    automation.check_inbox(engine, settings, now=later())
    case = case_of(engine, mid)
    assert case is not None and case.origin == "suggested"


def test_mentions_still_settling_wait_for_the_next_check(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    started(engine, settings, seed)
    (mid,) = seed([QUESTION])
    early = automation.check_inbox(engine, settings, now=datetime.now(UTC))
    assert early.mentions == 0 and case_of(engine, mid) is None
    assert automation.check_inbox(engine, settings, now=later()).suggested == 1


# -- rules -------------------------------------------------------------------------------------


def test_enabled_rules_act_on_new_mentions_in_order(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    started(engine, settings, seed)
    cases_svc.set_inbox_settings(engine, "default", actor="cli", suggest=False)
    first = rules_svc.add_rule(
        engine,
        "default",
        spec(
            "Angry",
            {"sentiment": ["negative"], "watch": "Acme"},
            {"create_case": True, "tag": ["angry"], "priority": "high"},
        ),
        actor="cli",
        enabled=True,
    )
    rules_svc.add_rule(
        engine,
        "default",
        spec("Refunds", {"query": "refund*"}, {"priority": "urgent", "tag": ["refund"]}),
        actor="cli",
        enabled=True,
    )
    rules_svc.add_rule(
        engine,
        "default",
        spec("Off", {"sentiment": ["negative"]}, {"tag": ["never"]}),
        actor="cli",
    )
    angry, praise = seed([ANGRY, PRAISE])
    report = automation.check_inbox(engine, settings, now=later())
    assert (report.mentions, report.rules_applied, report.cases_created) == (2, 2, 1)
    case = case_of(engine, angry)
    # Opened by the first rule; the highest priority asked wins.
    assert (case.origin, case.priority, case.created_by) == ("rule", "urgent", f"rule #{first.id}")
    assert tags_of(engine, angry) == {"angry", "refund"}
    assert tags_of(engine, praise) == set()
    assert case_of(engine, praise) is None
    detail = cases_svc.get_case(engine, "default", case.id)
    assert set(detail.case.tags) == {"angry", "refund"}


def test_a_rule_assigns_the_case_it_opens(engine: Engine, settings: Settings, seed: Seeder) -> None:
    from flocon.services import accounts

    started(engine, settings, seed)
    accounts.create_user(engine, email="ana@example.com", password="correct horse battery")
    accounts.add_member(engine, "default", email="ana@example.com", role="agent", actor="cli")
    rules_svc.add_rule(
        engine,
        "default",
        spec(
            "Big voices",
            {"min_followers": 100_000},
            {"create_case": True, "assign": "ana@example.com"},
        ),
        actor="cli",
        enabled=True,
    )
    angry, question = seed([ANGRY, QUESTION])
    automation.check_inbox(engine, settings, now=later())
    case = case_of(engine, angry)
    assert (case.status, case.assignee_id is not None) == ("open", True)
    # The question is no big voice: suggested (on by default), unassigned.
    other = case_of(engine, question)
    assert (other.origin, other.assignee_id) == ("suggested", None)


def test_a_killed_check_resumes_without_duplicates(
    engine: Engine, settings: Settings, seed: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    started(engine, settings, seed)
    rules_svc.add_rule(
        engine,
        "default",
        spec("Angry", {"sentiment": ["negative"]}, {"create_case": True, "tag": ["angry"]}),
        actor="cli",
        enabled=True,
    )
    (angry,) = seed([ANGRY])
    real = iq.set_cursor

    def killed(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(iq, "set_cursor", killed)
    report = automation.check_inbox(engine, settings, now=later())
    assert report.problems and "killed" in report.problems[0]
    assert case_of(engine, angry) is None and tags_of(engine, angry) == set()
    monkeypatch.setattr(iq, "set_cursor", real)
    first = automation.check_inbox(engine, settings, now=later())
    again = automation.check_inbox(engine, settings, now=later())
    assert (first.cases_created, again.mentions, again.cases_created) == (1, 0, 0)
    with read(engine) as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(cases).where(cases.c.mention_id == angry)
            ).scalar_one()
            == 1
        )


def test_a_mention_that_already_has_a_case_keeps_it(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    started(engine, settings, seed)
    rules_svc.add_rule(
        engine,
        "default",
        spec("Angry", {"sentiment": ["negative"]}, {"create_case": True}),
        actor="cli",
        enabled=True,
    )
    (angry,) = seed([ANGRY])
    manual = cases_svc.create_case(engine, "default", mention_id=angry, actor="cli")
    report = automation.check_inbox(engine, settings, now=later())
    assert (report.rules_applied, report.cases_created, report.suggested) == (1, 0, 0)
    assert case_of(engine, angry).id == manual.id


def test_mute_and_notify_actions(engine: Engine, settings: Settings, seed: Seeder) -> None:
    started(engine, settings, seed)
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(name="Team", channels=["webhook:http://127.0.0.1:9/hook"]),
    )
    rules_svc.add_rule(
        engine,
        "default",
        spec("Spam", {"query": "casino"}, {"mute": "author", "notify": ["Team"]}),
        actor="cli",
        enabled=True,
    )
    spam = {"text": "Acme casino bonus", "author": {"handle": "spammer"}}
    seed([spam, spam | {"text": "Acme casino again"}, PRAISE])
    report = automation.check_inbox(engine, settings, now=later())
    # The second spam comes after the mute, in the same batch: left alone.
    assert (report.muted, report.rules_applied, report.notifications) == (1, 1, 1)
    with read(engine) as conn:
        assert conn.execute(select(mutes.c.kind, mutes.c.value)).all() == [("author", "spammer")]
        row = conn.execute(select(deliveries)).one()
    assert row.subject == "[flocon] Inbox rule 'Spam': 1 new mention(s)"
    assert "https://listen.example/w/default/mentions/" in row.body
    assert json.loads(row.payload)["kind"] == "inbox_rule"


# -- suggestions -------------------------------------------------------------------------------


def test_suggested_cases_follow_the_needs_answer_signal(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    started(engine, settings, seed)
    question, praise = seed([QUESTION, PRAISE])
    unmatched = seed([{"text": "nothing to do with it", "analysis": {"needs_answer": True}}])[0]
    report = automation.check_inbox(engine, settings, now=later())
    assert report.suggested == 1
    assert case_of(engine, question).origin == "suggested"
    assert case_of(engine, praise) is None and case_of(engine, unmatched) is None


def test_no_suggestion_when_they_are_off(engine: Engine, settings: Settings, seed: Seeder) -> None:
    started(engine, settings, seed)
    cases_svc.set_inbox_settings(engine, "default", actor="cli", suggest=False)
    (question,) = seed([QUESTION])
    assert automation.check_inbox(engine, settings, now=later()).suggested == 0
    assert case_of(engine, question) is None


# -- escalation ---------------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_an_unanswered_case_is_escalated_once_through_the_alert_channels(
    engine: Engine, settings: Settings, seed: Seeder, receiver: Receiver
) -> None:
    started(engine, settings, seed)
    cases_svc.set_inbox_settings(engine, "default", actor="cli", suggest=False)
    watches_svc.add_watch(engine, "default", name="Other", query="other")
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(name="Acme team", channels=[f"webhook:{receiver.url}"], watch="Acme"),
    )
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(name="Other team", channels=[f"webhook:{receiver.url}"], watch="Other"),
    )
    (mid,) = seed([QUESTION])
    opened = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    case = cases_svc.create_case(engine, "default", mention_id=mid, actor="cli", now=opened)
    assert case.row.first_response_due_at == opened + timedelta(hours=8)
    quiet = automation.check_inbox(engine, settings, now=opened + timedelta(hours=7))
    assert quiet.escalated == 0
    late = opened + timedelta(hours=9)
    report = automation.check_inbox(engine, settings, now=late)
    assert (report.escalated, report.escalation_deliveries) == (1, 1)
    again = automation.check_inbox(engine, settings, now=late + timedelta(hours=1))
    assert again.escalated == 0
    with read(engine) as conn:
        row = conn.execute(select(deliveries)).one()
        events = conn.execute(
            select(case_events.c.kind, case_events.c.details).where(
                case_events.c.case_id == case.id
            )
        ).all()
        escalated_at = conn.execute(
            select(cases.c.escalated_at).where(cases.c.id == case.id)
        ).scalar_one()
    assert row.subject == f"[flocon] Case #{case.id} waits for a first response: due 17:00 UTC"
    assert f"https://listen.example/w/default/inbox/{case.id}" in row.body
    assert [k for k, _ in events] == ["created", "escalated"]
    assert json.loads(events[1][1])["alert_rules"] == ["Acme team"]
    assert escalated_at is not None
    sent = alerting.deliver_due(engine, settings, now=late)
    assert (sent.sent, sent.dead) == (1, 0)
    (message,) = receiver.received
    assert message["kind"] == "case_escalated" and message["case_id"] == case.id
    assert message["reason"] == "first_response"


def test_an_answered_case_is_escalated_only_past_its_resolution(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    started(engine, settings, seed)
    (mid,) = seed([QUESTION])
    opened = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    case = cases_svc.create_case(engine, "default", mention_id=mid, actor="cli", now=opened)
    with write(engine) as conn:
        conn.execute(
            update(cases)
            .where(cases.c.id == case.id)
            .values(first_response_at=opened + timedelta(hours=1))
        )
    assert case.row.resolution_due_at is not None
    before = automation.check_inbox(engine, settings, now=opened + timedelta(hours=9))
    after = automation.check_inbox(
        engine, settings, now=case.row.resolution_due_at + timedelta(minutes=1)
    )
    # No alert rule: the case is still escalated (the inbox shows it), nothing is queued.
    assert (before.escalated, after.escalated, after.escalation_deliveries) == (0, 1, 0)


# -- rule use cases ----------------------------------------------------------------------------


def test_rule_use_cases_are_audited_and_checked(engine: Engine, seed: Seeder) -> None:
    seed([PRAISE])
    rule = rules_svc.add_rule(
        engine,
        "default",
        spec("Praise", {"sentiment": ["positive"]}, {"tag": ["kind"]}),
        actor="cli",
    )
    assert (rule.enabled, rule.position) == (False, 0)
    with pytest.raises(AlreadyExists):
        rules_svc.add_rule(
            engine, "default", spec("Praise", {"lang": ["fr"]}, {"tag": ["x"]}), actor="cli"
        )
    with pytest.raises(ConfigError, match="no watch 'Nope'"):
        rules_svc.add_rule(
            engine, "default", spec("W", {"watch": "Nope"}, {"tag": ["x"]}), actor="cli"
        )
    with pytest.raises(ConfigError, match="no alert rule 'Nope'"):
        rules_svc.add_rule(
            engine, "default", spec("N", {"lang": ["fr"]}, {"notify": ["Nope"]}), actor="cli"
        )
    with pytest.raises(ConfigError, match="no member"):
        rules_svc.add_rule(
            engine, "default", spec("A", {"lang": ["fr"]}, {"assign": "x@example.com"}), actor="cli"
        )
    rules_svc.enable_rule(engine, "default", rule.id, actor="cli")
    edited = rules_svc.update_rule(
        engine,
        "default",
        "Praise",
        actor="cli",
        name="Kind words",
        actions=rules_svc.parse_actions({"tag": ["kind", "thanks"]}),
    )
    assert (edited.name, edited.enabled, edited.actions.tag) == (
        "Kind words",
        True,
        ("kind", "thanks"),
    )
    rules_svc.disable_rule(engine, "default", rule.id, actor="cli")
    rules_svc.remove_rule(engine, "default", rule.id, actor="cli")
    assert rules_svc.list_rules(engine, "default") == []
    with read(engine) as conn:
        actions = list(
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.object_type == "inbox_rule")
                .order_by(audit_log.c.id)
            ).scalars()
        )
    assert actions == [
        "inbox_rule.add",
        "inbox_rule.enable",
        "inbox_rule.edit",
        "inbox_rule.disable",
        "inbox_rule.remove",
    ]


def test_a_rule_of_another_workspace_is_not_found(engine: Engine, seed: Seeder) -> None:
    seed([PRAISE], workspace="other")
    seed([PRAISE])
    theirs = rules_svc.add_rule(
        engine, "other", spec("Theirs", {"lang": ["fr"]}, {"tag": ["x"]}), actor="cli"
    )
    with pytest.raises(NotFound):
        rules_svc.get_rule(engine, "default", theirs.id)
    with pytest.raises(NotFound):
        rules_svc.remove_rule(engine, "default", theirs.id, actor="cli")


def test_a_bad_query_names_its_position(engine: Engine, seed: Seeder) -> None:
    with pytest.raises(QuerySyntaxError) as bad:
        spec("Q", {"query": "acme AND (refund"}, {"tag": ["x"]})
    assert bad.value.position > 0


# -- simulation --------------------------------------------------------------------------------


def test_simulation_counts_what_a_rule_would_do_and_writes_nothing(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    angry, question, praise = seed([ANGRY, QUESTION, PRAISE])
    cases_svc.create_case(engine, "default", mention_id=question, actor="cli")
    tables = (cases, case_events, mention_tags, mutes, deliveries, audit_log, inbox_settings)
    before = {t.name: count(engine, t) for t in tables}
    result = rules_svc.simulate_rule(
        engine,
        "default",
        spec(
            "Needs us",
            {"needs_answer": True},
            {"create_case": True, "tag": ["todo"], "mute": "author", "priority": "high"},
        ),
        now=later(),
    )
    assert {t.name: count(engine, t) for t in tables} == before
    assert (result.matched, result.complete) == (2, True)
    assert result.actions == {"tag": 2, "create_case": 1, "priority": 2, "mute": 2}
    assert {m.id for m in result.samples} == {angry, question}
    assert praise not in {m.id for m in result.samples}
    assert result.since is not None and result.until is not None


def test_the_loop_checks_then_stops_when_told(
    engine: Engine, settings: Settings, seed: Seeder
) -> None:
    import asyncio

    seed([QUESTION])
    reports: list[automation.InboxReport] = []

    async def main() -> None:
        stop, wake = asyncio.Event(), asyncio.Event()

        def seen(report: automation.InboxReport) -> None:
            reports.append(report)
            stop.set()

        await asyncio.wait_for(
            automation.inbox_loop(engine, settings, stop, wake, every_s=30, on_report=seen), 20
        )

    asyncio.run(main())
    assert [r.started for r in reports] == [["default"]]
