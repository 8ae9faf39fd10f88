"""The alerts pages: the timeline with explanation and evidence, acknowledge and resolve, the
alert-rule editor and the deliveries, with their roles, CSRF and workspace isolation.

Alerts come from the real detectors: a mention by an author with 50,000 followers is
imported, then ``signals.evaluate`` opens an ``influencer`` alert with that mention as its
evidence (see ``influencer_alert``). Deliveries are stored rows (the query layer's
``add_delivery``): these tests only need a failed one to replay.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts, alerting, signals
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import workspaces as wsq

SECRET = "webhook-secret-for-tests-0123456789"
HOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Signed webhooks need a secret."""
    return Settings(database_url=database_url, webhook_secret=SECRET)


def influencer_alert(
    engine: Engine,
    settings: Settings,
    workspace: str = "default",
    *,
    name: str = "Léa",
    url: str = "https://social.example/@lea/1",
    text: str = "Acme lost my parcel again",
) -> int:
    """An alert opened by the real influencer detector, with one mention as evidence."""
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name="Acme", query="acme")
    now = datetime.now(UTC)
    line = {
        "id": f"{workspace}-1",
        "text": text,
        "url": url,
        "published_at": (now - timedelta(minutes=1)).isoformat(),
        "author": {"handle": "lea", "name": name, "followers": 50_000},
        "source": "mastodon:social.example",
    }
    stream = io.BytesIO(json.dumps(line).encode() + b"\n")
    import_stream(engine, workspace, stream, fmt="jsonl", settings=settings)
    events = signals.evaluate(engine, settings, workspace, now=now)
    (event,) = [e for e in events if e.kind == "influencer"]
    return event.alert_id


def _signed(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], role: str
) -> str:
    return sign_in(client, make_member(role))


def test_timeline_shows_the_alert_its_explanation_and_times(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    _signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/alerts")
    assert page.status_code == 200
    assert f'id="alert-{alert_id}"' in page.text
    assert "Influential author" in page.text
    assert "lea (50,000 followers on mastodon) mentioned Acme" in page.text
    # A viewer reads, but is offered no button it could not use.
    assert f"/alerts/{alert_id}/ack" not in page.text


def test_alert_page_shows_the_evidence_escaped_with_safe_links(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(
        engine, settings, name='<img src=x onerror="alert(1)">', url="javascript:alert(1)"
    )
    _signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/alerts/{alert_id}")
    assert page.status_code == 200
    assert "Acme lost my parcel again" in page.text
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=" in page.text
    assert "javascript:" not in page.text
    assert 'href="/w/default/mentions/1"' in page.text


def test_evidence_links_to_the_original_when_it_is_http(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    _signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/alerts/{alert_id}")
    assert 'href="https://social.example/@lea/1"' in page.text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", True),
        ("?status=open", True),
        ("?status=resolved", False),
        ("?kind=influencer", True),
        ("?kind=spike", False),
        ("?severity=medium", True),
        ("?severity=high", False),
        ("?watch=Acme", True),
    ],
)
def test_timeline_filters(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    query: str,
    shown: bool,
) -> None:
    alert_id = influencer_alert(engine, settings)
    _signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/alerts{query}")
    assert page.status_code == 200
    assert (f'id="alert-{alert_id}"' in page.text) is shown


def test_timeline_refuses_an_unknown_filter_value(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    _signed(client, make_member, sign_in, "viewer")
    assert client.get("/w/default/alerts?status=nope").status_code == 400
    assert client.get("/w/default/alerts?kind=nope").status_code == 400
    assert client.get("/w/default/alerts?watch=Nope").status_code == 404


def test_timeline_pages_with_a_cursor(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    """Stored alert rows (the query layer): 60 of them, more than one page."""
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
        for i in range(60):
            aq.open_alert(
                conn,
                ws.id,
                watch_id=None,
                kind="source_down",
                key=f"k{i}",
                severity="medium",
                score=None,
                episode_start=now,
                detected_at=now - timedelta(minutes=i),
                updated_at=now,
                explanation=f"source number {i} is down",
                evidence=[],
                details={},
            )
    _signed(client, make_member, sign_in, "viewer")
    first = client.get("/w/default/alerts")
    assert "source number 0 is down" in first.text
    assert "source number 55 is down" not in first.text
    found = re.search(r'<a href="([^"]*cursor=[^"]*)" rel="next"', first.text)
    assert found
    second = client.get("/w/default/alerts" + found.group(1).replace("&amp;", "&"))
    assert "source number 55 is down" in second.text
    assert "source number 0 is down" not in second.text


def test_viewer_cannot_acknowledge(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    token = _signed(client, make_member, sign_in, "viewer")
    response = client.post(f"/w/default/alerts/{alert_id}/ack", data={"csrf_token": token})
    assert response.status_code == 403
    assert alerting.get_alert(engine, "default", alert_id).alert.status == "open"


def test_agent_acknowledges_then_resolves_recording_who(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    agent = make_member("agent")
    token = sign_in(client, agent)
    page = client.get("/w/default/alerts")
    assert f"/alerts/{alert_id}/ack" in page.text
    acked = client.post(
        f"/w/default/alerts/{alert_id}/ack",
        data={"csrf_token": token, "next": "/w/default/alerts?status=all"},
    )
    assert acked.status_code == 303
    assert acked.headers["location"] == "/w/default/alerts?status=all&done=acked"
    item = alerting.get_alert(engine, "default", alert_id)
    assert (item.alert.status, item.alert.acked_by) == ("acked", agent.user.email)
    assert item.acked_at is not None
    resolved = client.post(f"/w/default/alerts/{alert_id}/resolve", data={"csrf_token": token})
    assert resolved.headers["location"] == f"/w/default/alerts/{alert_id}?done=resolved"
    item = alerting.get_alert(engine, "default", alert_id)
    assert (item.alert.status, item.alert.resolved_by) == ("resolved", agent.user.email)
    actions = [e.action for e in accounts.audit_events(engine, "default")]
    assert actions[:2] == ["alert.resolve", "alert.ack"]
    shown = client.get(f"/w/default/alerts/{alert_id}")
    assert f"Resolved by</dt><dd>{agent.user.email}" in shown.text


def test_ack_refuses_an_offsite_next(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    token = _signed(client, make_member, sign_in, "agent")
    response = client.post(
        f"/w/default/alerts/{alert_id}/ack",
        data={"csrf_token": token, "next": "https://evil.example/"},
    )
    assert response.headers["location"] == "/?done=acked"


def test_acknowledging_a_resolved_alert_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    alerting.set_status(engine, "default", alert_id, "resolved", by="cli")
    token = _signed(client, make_member, sign_in, "agent")
    response = client.post(f"/w/default/alerts/{alert_id}/ack", data={"csrf_token": token})
    assert response.status_code == 400
    assert "already resolved" in response.text


def test_ack_without_csrf_token_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    _signed(client, make_member, sign_in, "owner")
    response = client.post(f"/w/default/alerts/{alert_id}/ack", data={})
    assert response.status_code == 403
    assert alerting.get_alert(engine, "default", alert_id).alert.status == "open"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/w/default/alerts/{id}"),
        ("post", "/w/default/alerts/{id}/ack"),
        ("post", "/w/default/alerts/{id}/resolve"),
    ],
)
def test_another_workspaces_alert_is_not_found(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    method: str,
    path: str,
) -> None:
    theirs = influencer_alert(engine, settings, "other")
    token = _signed(client, make_member, sign_in, "owner")
    url = path.format(id=theirs)
    response = client.get(url) if method == "get" else client.post(url, data={"csrf_token": token})
    assert response.status_code == 404
    assert alerting.get_alert(engine, "other", theirs).alert.status == "open"


def test_a_non_member_gets_404_for_the_workspace(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    make_member("owner", workspace="other")
    _signed(client, make_member, sign_in, "owner")
    assert client.get("/w/other/alerts").status_code == 404
    assert client.get("/w/other/alerts/rules").status_code == 404


# -- rules -----------------------------------------------------------------------------------


def _rule_form(token: str, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": token,
        "name": "crisis",
        "scope": "watch:Acme",
        "signals": ["spike", "negative_shift"],
        "sensitivity": "high",
        "min_severity": "medium",
        "quiet_hours": "22:00-07:00",
        "timezone": "Europe/Paris",
        "cooldown_min": "30",
        "digest": "off",
    }
    form.update(changes)
    return form


def _with_watch(engine: Engine, workspace: str = "default") -> None:
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name="Acme", query="acme", group="brands")


def test_admin_adds_a_rule_with_a_webhook_shown_without_its_secret(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    token = _signed(client, make_member, sign_in, "admin")
    response = client.post("/w/default/alerts/rules", data=_rule_form(token, webhook=HOOK))
    assert response.status_code == 303, response.text[:2000]
    (view,) = alerting.list_rules(engine, "default")
    rule = view.rule
    assert (view.watch, rule.signals, rule.sensitivity, rule.min_severity) == (
        "Acme",
        ("spike", "negative_shift"),
        "high",
        "medium",
    )
    assert (rule.quiet_hours, rule.timezone, rule.cooldown_s) == (
        "22:00-07:00",
        "Europe/Paris",
        1800,
    )
    page = client.get("/w/default/alerts/rules")
    assert "crisis" in page.text
    assert "hooks.example.com" in page.text
    assert "XXXXSECRETXXXX" not in page.text
    (entry, *_rest) = accounts.audit_events(engine, "default")
    assert entry.action == "alert_rule.add"
    assert "XXXXSECRETXXXX" not in json.dumps(entry.details)


def test_admin_adds_email_and_apprise_channels(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    """E-mail channels need SMTP settings: without them the rule is refused, with the form
    kept (but not its channels, which are write-only)."""
    token = _signed(client, make_member, sign_in, "admin")
    response = client.post(
        "/w/default/alerts/rules",
        data=_rule_form(token, scope="", emails="cm@acme.example", apprise="json://127.0.0.1/x"),
    )
    assert response.status_code == 400
    assert "FLOCON_SMTP_HOST" in response.text
    assert 'value="crisis"' in response.text
    assert "cm@acme.example" not in response.text
    assert alerting.list_rules(engine, "default") == []


def test_manager_reuses_the_channels_of_an_existing_rule(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    first = alerting.add_rule(
        engine, settings, "default", alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )
    token = _signed(client, make_member, sign_in, "manager")
    page = client.get("/w/default/alerts/rules")
    assert 'name="webhook"' not in page.text  # no new channel for a manager
    response = client.post(
        "/w/default/alerts/rules",
        data=_rule_form(token, scope="group:brands", channels_of=str(first)),
    )
    assert response.status_code == 303
    views = {v.rule.name: v for v in alerting.list_rules(engine, "default")}
    assert views["crisis"].rule.group_name == "brands"
    assert views["crisis"].rule.channels_shown == views["team"].rule.channels_shown


def test_manager_cannot_add_new_channels(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    token = _signed(client, make_member, sign_in, "manager")
    response = client.post("/w/default/alerts/rules", data=_rule_form(token, webhook=HOOK))
    assert response.status_code == 403
    assert alerting.list_rules(engine, "default") == []


def test_a_rule_without_channels_is_refused(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    token = _signed(client, make_member, sign_in, "admin")
    response = client.post("/w/default/alerts/rules", data=_rule_form(token))
    assert response.status_code == 400
    assert "at least one channel" in response.text


def test_a_rule_with_bad_quiet_hours_is_refused_with_its_message(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    token = _signed(client, make_member, sign_in, "admin")
    response = client.post(
        "/w/default/alerts/rules", data=_rule_form(token, quiet_hours="late", webhook=HOOK)
    )
    assert response.status_code == 400
    assert "quiet hours must look like 22:00-07:00" in response.text
    assert 'value="late"' in response.text


def test_a_duplicate_rule_name_answers_409(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    alerting.add_rule(
        engine, settings, "default", alerting.RuleSpec(name="crisis", channels=[f"webhook:{HOOK}"])
    )
    token = _signed(client, make_member, sign_in, "admin")
    response = client.post("/w/default/alerts/rules", data=_rule_form(token, webhook=HOOK))
    assert response.status_code == 409


def test_viewer_and_agent_cannot_edit_rules(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _with_watch(engine)
    rule_id = alerting.add_rule(
        engine, settings, "default", alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )
    token = _signed(client, make_member, sign_in, "agent")
    page = client.get("/w/default/alerts/rules")
    assert page.status_code == 200 and "team" in page.text
    assert 'action="/w/default/alerts/rules"' not in page.text
    added = client.post("/w/default/alerts/rules", data=_rule_form(token, channels_of=str(rule_id)))
    assert added.status_code == 403
    removed = client.post(f"/w/default/alerts/rules/{rule_id}/delete", data={"csrf_token": token})
    assert removed.status_code == 403
    assert [v.rule.name for v in alerting.list_rules(engine, "default")] == ["team"]


def test_manager_removes_a_rule_and_it_is_audited(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    rule_id = alerting.add_rule(
        engine, settings, "default", alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )
    token = _signed(client, make_member, sign_in, "manager")
    response = client.post(f"/w/default/alerts/rules/{rule_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert alerting.list_rules(engine, "default") == []
    entry = accounts.audit_events(engine, "default")[0]
    assert (entry.action, entry.object_id, entry.details["name"]) == (
        "alert_rule.remove",
        str(rule_id),
        "team",
    )


def test_another_workspaces_rule_is_not_found(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    make_member("owner", workspace="other")
    theirs = alerting.add_rule(
        engine, settings, "other", alerting.RuleSpec(name="theirs", channels=[f"webhook:{HOOK}"])
    )
    token = _signed(client, make_member, sign_in, "owner")
    response = client.post(f"/w/default/alerts/rules/{theirs}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    reuse = client.post(
        "/w/default/alerts/rules", data=_rule_form(token, scope="", channels_of=str(theirs))
    )
    assert reuse.status_code == 400
    assert len(alerting.list_rules(engine, "other")) == 1
    assert alerting.list_rules(engine, "default") == []


def test_rule_form_without_csrf_is_refused(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    _signed(client, make_member, sign_in, "owner")
    form = _rule_form("", webhook=HOOK)
    del form["csrf_token"]
    assert client.post("/w/default/alerts/rules", data=form).status_code == 403
    assert alerting.list_rules(engine, "default") == []


# -- deliveries ------------------------------------------------------------------------------


def _dead_delivery(engine: Engine, settings: Settings, workspace: str = "default") -> int:
    """A stored delivery that gave up (the query layer's add_delivery)."""
    rule_id = alerting.add_rule(
        engine, settings, workspace, alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return aq.add_delivery(
            conn,
            ws.id,
            rule_id=rule_id,
            channel=0,
            alert_ids=[],
            status="dead",
            attempts=6,
            created_at=datetime.now(UTC),
            next_attempt_at=None,
            subject="[flocon] Volume spike on 'Acme'",
            body="…",
            payload={},
            last_error="HTTP 503",
        )


def test_admin_replays_a_dead_delivery(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    delivery = _dead_delivery(engine, settings)
    token = _signed(client, make_member, sign_in, "admin")
    page = client.get("/w/default/alerts/deliveries?failed=1")
    assert "HTTP 503" in page.text and f"/deliveries/{delivery}/replay" in page.text
    response = client.post(
        f"/w/default/alerts/deliveries/{delivery}/replay", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert alerting.get_delivery(engine, "default", delivery).status == "pending"
    assert accounts.audit_events(engine, "default")[0].action == "delivery.replay"


def test_manager_sees_deliveries_but_cannot_replay(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    delivery = _dead_delivery(engine, settings)
    token = _signed(client, make_member, sign_in, "manager")
    page = client.get("/w/default/alerts/deliveries")
    assert page.status_code == 200 and "HTTP 503" in page.text
    assert f"/deliveries/{delivery}/replay" not in page.text
    response = client.post(
        f"/w/default/alerts/deliveries/{delivery}/replay", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert alerting.get_delivery(engine, "default", delivery).status == "dead"


def test_agent_cannot_see_deliveries(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    _signed(client, make_member, sign_in, "agent")
    assert client.get("/w/default/alerts/deliveries").status_code == 403


def test_another_workspaces_delivery_is_not_found(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    make_member("owner", workspace="other")
    theirs = _dead_delivery(engine, settings, "other")
    token = _signed(client, make_member, sign_in, "owner")
    response = client.post(
        f"/w/default/alerts/deliveries/{theirs}/replay", data={"csrf_token": token}
    )
    assert response.status_code == 404
    with read(engine) as conn:
        (row,) = aq.list_deliveries(conn, wsq.get_by_name(conn, "other").id)
    assert row.status == "dead"


def test_alerts_pages_in_french(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    _signed(client, make_member, sign_in, "owner")
    client.cookies.set("flocon_lang", "fr")
    page = client.get("/w/default/alerts")
    assert "Auteur influent" in page.text and "Acquitter" in page.text
    detail = client.get(f"/w/default/alerts/{alert_id}")
    assert "Preuves" in detail.text
    assert "Ajouter une règle" in client.get("/w/default/alerts/rules").text
