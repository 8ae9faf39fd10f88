"""The inbox's services on SQLite and PostgreSQL: cases from mentions, risk order, views and
filters, every status transition, concurrent assignment, notes with @mentions, recorded
replies and response times, SLA due times, presence (collision warning) and workspace
isolation. Mentions come through the real import."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from flocon.errors import ConfigError, NotFound
from flocon.services import accounts
from flocon.services import cases as svc
from flocon.settings import Settings
from support.seeding import NOW, import_lines, member

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, sentiment_profile="fast")


Seed = Callable[..., list[int]]


@pytest.fixture
def seed(engine: Engine, settings: Settings) -> Seed:
    """``seed(lines, workspace="default")``: import lines (watch Acme: "acme"); their ids."""
    return functools.partial(import_lines, engine, settings)


ANGRY = {
    "text": "Acme is a scam, three weeks and no refund. Never again!",
    "author": {"handle": "bigvoice", "followers": 250_000},
}
MILD = {"text": "Does Acme deliver to Lyon?", "author": {"handle": "someone", "followers": 12}}


def test_a_case_opens_on_a_mention_once(engine: Engine, seed: Seed) -> None:
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli", now=NOW)
    assert (case.status, case.row.priority, case.row.origin) == ("new", "normal", "manual")
    assert case.row.channel == "mastodon" and case.row.title.startswith("Acme is a scam")
    assert case.row.watch_id is not None
    # Default SLA (24/7 until business hours are set): normal = 8 h first response.
    assert case.row.first_response_due_at == NOW + timedelta(hours=8)
    with pytest.raises(svc.CaseExists) as exists:
        svc.create_case(engine, "default", mention_id=mid, actor="cli")
    assert exists.value.case_id == case.id
    detail = svc.get_case(engine, "default", case.id)
    assert [e.kind for e in detail.events] == ["created"]
    assert detail.mention is not None and detail.mention.id == mid


def test_the_inbox_is_ordered_by_risk_with_its_factors_visible(engine: Engine, seed: Seed) -> None:
    mild, angry = seed([MILD, ANGRY])
    first = svc.create_case(engine, "default", mention_id=mild, actor="cli", now=NOW)
    second = svc.create_case(engine, "default", mention_id=angry, actor="cli", now=NOW)
    page = svc.list_cases(engine, "default", now=NOW)
    assert [c.id for c in page.cases] == [second.id, first.id]
    top = page.cases[0]
    assert set(top.risk_factors) >= {"snowball", "influence", "negativity", "waiting", "inputs"}
    assert top.risk_factors["influence"]["value"] > 0.8  # 250,000 followers
    assert top.risk_factors["inputs"]["followers"] == 250_000
    assert top.risk == pytest.approx(
        sum(v["contribution"] for k, v in top.risk_factors.items() if k != "inputs"), abs=0.05
    )
    # Waiting raises the risk of an unanswered case as time passes.
    later = svc.list_cases(engine, "default", now=NOW + timedelta(hours=24))
    assert later.cases[1].risk > page.cases[1].risk
    assert later.cases[1].risk_factors["waiting"]["value"] == pytest.approx(0.5)


def test_views_and_filters(engine: Engine, seed: Seed) -> None:
    agent = member(engine, "agent@example.com", "agent")
    a, b, c = seed([ANGRY, MILD, {"text": "acme en français, c'est nul", "lang": "fr"}])
    ca = svc.create_case(engine, "default", mention_id=a, actor="cli", priority="urgent", now=NOW)
    cb = svc.create_case(engine, "default", mention_id=b, actor="cli", assignee=agent.email)
    cc = svc.create_case(engine, "default", mention_id=c, actor="cli")
    svc.tag_case(engine, "default", cc.id, actor="cli", add=["Billing"])

    def ids(**kw: Any) -> set[int]:
        viewer = kw.pop("viewer_id", None)
        at = kw.pop("now", None)
        return {
            x.id
            for x in svc.list_cases(
                engine, "default", svc.CaseQuery(**kw), viewer_id=viewer, now=at
            ).cases
        }

    assert ids(view="mine", viewer_id=agent.id) == {cb.id}
    assert ids(view="unassigned") == {ca.id, cc.id}
    assert ids(assignee=agent.email) == {cb.id}
    assert ids(priorities=("urgent",)) == {ca.id}
    assert ids(lang="fr") == {cc.id}
    assert ids(tag="billing") == {cc.id}
    assert ids(channel="mastodon") == {ca.id, cb.id, cc.id}
    assert ids(watch="Acme") == {ca.id, cb.id, cc.id}
    # Urgent: first response due within the hour; two hours later it is overdue.
    assert ids(view="overdue", now=NOW + timedelta(hours=2)) == {ca.id}
    with pytest.raises(ConfigError):
        ids(view="everything")
    with pytest.raises(NotFound):
        ids(watch="Nope")


def test_every_transition_and_the_refused_ones(engine: Engine, seed: Seed) -> None:
    agent = member(engine, "agent@example.com", "agent")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli", now=NOW)
    opened = svc.update_case(engine, "default", case.id, actor=agent, assignee=agent.id)
    assert (opened.status, opened.row.assignee) == ("open", agent.email)
    waiting = svc.update_case(engine, "default", case.id, actor=agent, status="waiting")
    assert waiting.status == "waiting"
    with pytest.raises(svc.BadTransition):
        svc.update_case(engine, "default", case.id, actor=agent, status="new")
    with pytest.raises(svc.BadTransition, match="reason"):
        svc.update_case(engine, "default", case.id, actor=agent, status="ignored")
    resolved = svc.update_case(
        engine, "default", case.id, actor=agent, status="resolved", now=NOW + timedelta(hours=3)
    )
    assert resolved.resolution_seconds == 3 * 3600
    with pytest.raises(svc.BadTransition):
        svc.update_case(engine, "default", case.id, actor=agent, status="waiting")
    reopened = svc.update_case(engine, "default", case.id, actor=agent, status="open")
    assert reopened.row.resolved_at is None and reopened.resolution_seconds is None
    ignored = svc.update_case(
        engine, "default", case.id, actor=agent, status="ignored", reason="spam bot"
    )
    assert (ignored.status, ignored.row.ignored_reason) == ("ignored", "spam bot")
    kinds = [e.kind for e in svc.get_case(engine, "default", case.id).events]
    assert kinds == ["created", "assign", "status", "status", "status", "status", "status"]
    audit = [e.action for e in accounts.audit_events(engine, "default")]
    assert "case.assign" in audit and "case.status" in audit


def test_only_agents_and_above_of_the_workspace_can_hold_a_case(engine: Engine, seed: Seed) -> None:
    member(engine, "viewer@example.com", "viewer")
    member(engine, "stranger@example.com", "owner", workspace="other")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    with pytest.raises(ConfigError, match="viewer"):
        svc.update_case(engine, "default", case.id, actor="cli", assignee="viewer@example.com")
    with pytest.raises(NotFound):
        svc.update_case(engine, "default", case.id, actor="cli", assignee="stranger@example.com")
    unassigned = svc.update_case(engine, "default", case.id, actor="cli", assignee=None)
    assert unassigned.row.assignee is None


def test_two_agents_assigning_at_once_one_wins_the_other_is_told(
    engine: Engine, seed: Seed
) -> None:
    alice = member(engine, "alice@example.com", "agent")
    bob = member(engine, "bob@example.com", "agent")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def take(user: accounts.User) -> None:
        barrier.wait()
        try:
            outcomes[user.email] = svc.update_case(
                engine, "default", case.id, actor=user, assignee=user.id, version=case.row.version
            )
        except svc.CaseConflict as exc:
            outcomes[user.email] = exc

    threads = [threading.Thread(target=take, args=(u,)) for u in (alice, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    won = [o for o in outcomes.values() if isinstance(o, svc.Case)]
    lost = [o for o in outcomes.values() if isinstance(o, svc.CaseConflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].current_version == won[0].row.version
    final = svc.get_case(engine, "default", case.id).case
    assert final.row.assignee == won[0].row.assignee
    assert [e.kind for e in svc.get_case(engine, "default", case.id).events].count("assign") == 1


def test_notes_record_the_teammates_they_mention(engine: Engine, seed: Seed) -> None:
    alice = member(engine, "alice@example.com", "agent")
    member(engine, "bob.martin@example.com", "manager")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    note = svc.add_note(
        engine,
        "default",
        case.id,
        actor=alice,
        text="@bob.martin can you check the refund? cc @alice@example.com and @nobody",
    )
    bob = accounts.find_user(engine, "bob.martin@example.com")
    assert bob is not None
    assert sorted(note.mentioned) == sorted([bob.id, alice.id])
    with pytest.raises(ConfigError):
        svc.add_note(engine, "default", case.id, actor=alice, text="   ")
    mentioning = svc.list_cases(
        engine, "default", svc.CaseQuery(view="mentioning"), viewer_id=bob.id
    )
    assert [c.id for c in mentioning.cases] == [case.id]
    assert (
        svc.list_cases(engine, "default", svc.CaseQuery(view="mentioning"), viewer_id=12345).cases
        == []
    )
    events = svc.get_case(engine, "default", case.id).events
    assert events[-1].kind == "note"
    assert sorted(events[-1].details["mentioned"]) == [
        "alice@example.com",
        "bob.martin@example.com",
    ]


def test_a_recorded_reply_sets_the_first_response_time(engine: Engine, seed: Seed) -> None:
    agent = member(engine, "agent@example.com", "agent")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli", now=NOW)
    reply = svc.record_reply(
        engine,
        "default",
        case.id,
        actor=agent,
        text="Sorry about this: I've sent you a DM to sort the refund today.",
        url="https://forum.example/t/123#post-4",
        now=NOW + timedelta(minutes=25),
    )
    assert (reply.mode, reply.status, reply.url) == ("record", "recorded", reply.url)
    after = svc.get_case(engine, "default", case.id, now=NOW + timedelta(hours=1)).case
    assert after.first_response_seconds == 25 * 60
    assert after.status == "open" and not after.first_response_overdue
    # A second reply does not move the first response.
    svc.record_reply(
        engine,
        "default",
        case.id,
        actor=agent,
        text="Done, refund sent.",
        now=NOW + timedelta(hours=2),
    )
    again = svc.get_case(engine, "default", case.id).case
    assert again.first_response_seconds == 25 * 60
    with pytest.raises(ConfigError):
        svc.record_reply(
            engine, "default", case.id, actor=agent, text="x", url="javascript:alert(1)"
        )


def test_drafts_are_kept_with_their_tone_check(engine: Engine, seed: Seed) -> None:
    agent = member(engine, "agent@example.com", "agent")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    draft = svc.save_draft(
        engine, "default", case.id, actor=agent, text="As we already said, this is not our fault."
    )
    assert draft.status == "draft"
    assert draft.tone is not None and {"defensive", "no_apology"} <= {i["code"] for i in draft.tone}
    better = svc.save_draft(
        engine,
        "default",
        case.id,
        actor=agent,
        reply_id=draft.id,
        text="We're sorry for the wait. I've sent you a DM to sort the refund today.",
    )
    assert better.id == draft.id
    assert not [i for i in better.tone or [] if i["severity"] == "warning"]
    # Without a posting account, sending says what to do instead.
    with pytest.raises(svc.BadTransition, match="posting account"):
        svc.send_reply(
            engine, "default", case.id, actor=agent, settings=Settings(), reply_id=draft.id
        )


def test_presence_warns_of_a_colleague_on_the_same_case(engine: Engine, seed: Seed) -> None:
    alice = member(engine, "alice@example.com", "agent")
    bob = member(engine, "bob@example.com", "agent")
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    assert svc.see_case(engine, "default", case.id, user_id=alice.id, now=NOW) == []
    others = svc.see_case(
        engine,
        "default",
        case.id,
        user_id=bob.id,
        activity="replying",
        now=NOW + timedelta(seconds=30),
    )
    assert [(p.email, p.activity) for p in others] == [("alice@example.com", "viewing")]
    # Five minutes later Alice has left: no warning.
    assert (
        svc.see_case(engine, "default", case.id, user_id=bob.id, now=NOW + timedelta(minutes=5))
        == []
    )


def test_another_workspace_sees_nothing(engine: Engine, seed: Seed) -> None:
    (mine,) = seed([ANGRY])
    (theirs,) = seed([dict(ANGRY, id="x")], workspace="other")
    case = svc.create_case(engine, "default", mention_id=mine, actor="cli")
    with pytest.raises(NotFound):
        svc.get_case(engine, "other", case.id)
    with pytest.raises(NotFound):
        svc.update_case(engine, "other", case.id, actor="cli", status="open")
    with pytest.raises(NotFound):
        svc.create_case(engine, "default", mention_id=theirs, actor="cli")
    assert svc.list_cases(engine, "other").cases == []


def test_sla_due_times_follow_business_hours(engine: Engine, seed: Seed) -> None:
    (mid,) = seed([ANGRY])
    svc.set_inbox_settings(
        engine,
        "default",
        actor="cli",
        business_hours={
            "timezone": "Europe/Paris",
            "week": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    # Friday 2026-11-27 17:00 Paris (16:00 UTC): 1 business hour left that day, so an urgent
    # case (1 h first response) is due at 18:00 Paris, a normal one (8 h) on Monday 16:00.
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    case = svc.create_case(
        engine, "default", mention_id=mid, actor="cli", priority="urgent", now=friday
    )
    assert case.row.first_response_due_at == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    normal = svc.update_case(engine, "default", case.id, actor="cli", priority="normal")
    assert normal.row.first_response_due_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    with pytest.raises(ConfigError):
        svc.set_inbox_settings(
            engine, "default", actor="cli", business_hours={"timezone": "Mars/Olympus"}
        )


def test_a_note_or_a_tag_does_not_make_a_status_change_stale(engine: Engine, seed: Seed) -> None:
    (mid,) = seed([ANGRY])
    case = svc.create_case(engine, "default", mention_id=mid, actor="cli")
    svc.add_note(engine, "default", case.id, actor="cli", text="looking into it")
    svc.tag_case(engine, "default", case.id, actor="cli", add=["refund"])
    changed = svc.update_case(
        engine, "default", case.id, actor="cli", status="open", version=case.row.version
    )
    assert changed.status == "open" and changed.row.version == case.row.version + 1
