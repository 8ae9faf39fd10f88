"""The REST API of alerts, alert rules, deliveries, authors, members, tokens, the audit log
and ``/me``: every route, with its failures (roles, read-only tokens, revoked tokens, another
workspace's objects, CSRF for session calls).

Alerts come from the real influencer detector (``influencer_alert``); the failed delivery
is a stored row (the query layer's ``add_delivery``); author scores come from the real
influence service over imported mentions.
"""

from __future__ import annotations

import contextlib
import io
import json
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
from flocon.storage.engine import write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import workspaces as wsq

SECRET = "webhook-secret-for-tests-0123456789"
HOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"
API = "/api/v1/workspaces"
Bearer = Callable[..., dict[str, str]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, webhook_secret=SECRET)


def _ensure(engine: Engine, workspace: str) -> None:
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name="Acme", query="acme")


def _import(
    engine: Engine, settings: Settings, workspace: str, lines: list[dict[str, Any]]
) -> None:
    stream = io.BytesIO(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
    import_stream(engine, workspace, stream, fmt="jsonl", settings=settings)


def influencer_alert(engine: Engine, settings: Settings, workspace: str = "default") -> int:
    """An alert opened by the real influencer detector."""
    _ensure(engine, workspace)
    now = datetime.now(UTC)
    line = {
        "id": f"{workspace}-1",
        "text": "Acme lost my parcel again",
        "url": "https://social.example/@lea/1",
        "published_at": (now - timedelta(minutes=1)).isoformat(),
        "author": {"handle": "lea", "name": "Léa", "followers": 50_000},
        "source": "mastodon:social.example",
    }
    _import(engine, settings, workspace, [line])
    events = signals.evaluate(engine, settings, workspace, now=now)
    (event,) = [e for e in events if e.kind == "influencer"]
    return event.alert_id


def _rule(engine: Engine, settings: Settings, workspace: str = "default") -> int:
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    return alerting.add_rule(
        engine, settings, workspace, alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )


# -- /me and authentication ------------------------------------------------------------------


def test_me_with_a_session_lists_every_workspace(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    member = make_member("agent")
    make_member("viewer", workspace="other", email=member.user.email)
    sign_in(client, member)
    me = client.get("/api/v1/me").json()
    assert me["user"]["email"] == member.user.email
    assert me["workspaces"] == [
        {"workspace": "default", "role": "agent"},
        {"workspace": "other", "role": "viewer"},
    ]
    assert me["token"] is None


def test_me_with_a_token_shows_its_workspace_and_scopes(
    client: TestClient, as_role: Bearer
) -> None:
    me = client.get("/api/v1/me", headers=as_role("manager"))
    assert me.status_code == 200
    body = me.json()
    assert body["workspaces"] == [{"workspace": "default", "role": "manager"}]
    assert body["token"]["scopes"] == ["read", "write"]


def test_without_credentials_the_api_answers_401(client: TestClient) -> None:
    for path in ("/api/v1/me", f"{API}/default/alerts", f"{API}/default/members"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]


def test_an_unknown_token_answers_401(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer flc_nope"})
    assert response.status_code == 401


# -- alerts ----------------------------------------------------------------------------------


def test_list_alerts_with_filters(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    alert_id = influencer_alert(engine, settings)
    headers = as_role("viewer")
    body = client.get(f"{API}/default/alerts", headers=headers).json()
    assert [a["id"] for a in body["items"]] == [alert_id]
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert (item["kind"], item["watch"], item["status"], item["severity"]) == (
        "influencer",
        "Acme",
        "open",
        "medium",
    )
    assert item["evidence"] and "50,000 followers" in item["explanation"]
    none = client.get(f"{API}/default/alerts?status=resolved&kind=influencer", headers=headers)
    assert none.json()["items"] == []
    assert client.get(f"{API}/default/alerts?status=nope", headers=headers).status_code == 400
    assert client.get(f"{API}/default/alerts?limit=500", headers=headers).status_code == 422


def test_list_alerts_pages_with_a_cursor(
    client: TestClient, engine: Engine, as_role: Bearer
) -> None:
    """Stored alert rows (the query layer)."""
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
        for i in range(5):
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
                explanation=f"down {i}",
                evidence=[],
                details={},
            )
    headers = as_role("viewer")
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"{API}/default/alerts{query}", headers=headers).json()
        seen += [a["explanation"] for a in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"down {i}" for i in range(5)]
    bad = client.get(f"{API}/default/alerts?cursor=garbage!", headers=headers)
    assert bad.status_code == 400


def test_get_alert_with_its_evidence(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    alert_id = influencer_alert(engine, settings)
    body = client.get(f"{API}/default/alerts/{alert_id}", headers=as_role("viewer")).json()
    (mention,) = body["evidence_mentions"]
    assert mention["text"] == "Acme lost my parcel again"
    assert mention["url"] == "https://social.example/@lea/1"


def test_read_only_token_cannot_acknowledge(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    alert_id = influencer_alert(engine, settings)
    headers = as_role("admin", scopes=("read",))
    response = client.post(f"{API}/default/alerts/{alert_id}/ack", headers=headers)
    assert response.status_code == 403
    assert alerting.get_alert(engine, "default", alert_id).alert.status == "open"


def test_viewer_cannot_acknowledge(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    alert_id = influencer_alert(engine, settings)
    response = client.post(f"{API}/default/alerts/{alert_id}/ack", headers=as_role("viewer"))
    assert response.status_code == 403


def test_agent_acknowledges_and_resolves(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    alert_id = influencer_alert(engine, settings)
    headers = as_role("agent")
    acked = client.post(f"{API}/default/alerts/{alert_id}/ack", headers=headers)
    assert acked.status_code == 200
    assert acked.json()["status"] == "acked"
    assert acked.json()["acked_by"].startswith("agent")
    resolved = client.post(f"{API}/default/alerts/{alert_id}/resolve", headers=headers).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    entry = accounts.audit_events(engine, "default")[0]
    assert entry.action == "alert.resolve" and "api_token_id" in entry.details


def test_session_call_without_csrf_header_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alert_id = influencer_alert(engine, settings)
    token = sign_in(client, make_member("agent"))
    assert client.post(f"{API}/default/alerts/{alert_id}/ack").status_code == 403
    ok = client.post(f"{API}/default/alerts/{alert_id}/ack", headers={"X-CSRF-Token": token})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/alerts/{id}"), ("post", "/alerts/{id}/ack"), ("post", "/alerts/{id}/resolve")],
)
def test_another_workspaces_alert_is_not_found(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Bearer,
    method: str,
    path: str,
) -> None:
    theirs = influencer_alert(engine, settings, "other")
    url = f"{API}/default" + path.format(id=theirs)
    response = client.request(method, url, headers=as_role("owner"))
    assert response.status_code == 404
    assert alerting.get_alert(engine, "other", theirs).alert.status == "open"


def test_a_token_of_another_workspace_is_not_found(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    influencer_alert(engine, settings)
    _ensure(engine, "other")
    response = client.get(f"{API}/default/alerts", headers=as_role("owner", "other"))
    assert response.status_code == 404


# -- alert rules and deliveries --------------------------------------------------------------


def _rule_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "crisis",
        "watch": "Acme",
        "signals": ["spike", "snowball"],
        "sensitivity": "high",
        "quiet_hours": "22:00-07:00",
        "timezone": "Europe/Paris",
        "cooldown_s": 600,
    }
    body.update(changes)
    return body


def test_admin_adds_a_rule_whose_channels_are_write_only(
    client: TestClient, engine: Engine, as_role: Bearer
) -> None:
    _ensure(engine, "default")
    headers = as_role("admin")
    created = client.post(
        f"{API}/default/alert-rules", json=_rule_body(channels=[f"webhook:{HOOK}"]), headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["watch"] == "Acme" and body["cooldown_s"] == 600
    assert body["channels"] == ["webhook https://hooks.example.com/…"]
    listed = client.get(f"{API}/default/alert-rules", headers=headers)
    assert "XXXXSECRETXXXX" not in listed.text
    assert [r["name"] for r in listed.json()["items"]] == ["crisis"]
    entry = accounts.audit_events(engine, "default")[0]
    assert entry.action == "alert_rule.add" and "XXXXSECRETXXXX" not in json.dumps(entry.details)


def test_manager_needs_channels_of_another_rule(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    _ensure(engine, "default")
    first = _rule(engine, settings)
    headers = as_role("manager")
    refused = client.post(
        f"{API}/default/alert-rules", json=_rule_body(channels=[f"webhook:{HOOK}"]), headers=headers
    )
    assert refused.status_code == 403
    reused = client.post(
        f"{API}/default/alert-rules", json=_rule_body(channels_of=first), headers=headers
    )
    assert reused.status_code == 201
    assert reused.json()["channels"] == ["webhook https://hooks.example.com/…"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"surprise": 1}, 422),
        ({"sensitivity": "extreme"}, 422),
        ({"signals": ["nope"]}, 400),
        ({"watch": "Nope"}, 404),
        ({"quiet_hours": "soon"}, 400),
        ({"channels": []}, 400),
    ],
)
def test_invalid_rules_are_refused(
    client: TestClient, engine: Engine, as_role: Bearer, change: dict[str, Any], status: int
) -> None:
    _ensure(engine, "default")
    body = _rule_body(channels=[f"webhook:{HOOK}"])
    body.update(change)
    response = client.post(f"{API}/default/alert-rules", json=body, headers=as_role("admin"))
    assert response.status_code == status, response.text
    assert alerting.list_rules(engine, "default") == []


def test_agent_cannot_add_or_remove_rules(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    rule_id = _rule(engine, settings)
    headers = as_role("agent")
    assert client.get(f"{API}/default/alert-rules", headers=headers).status_code == 200
    added = client.post(
        f"{API}/default/alert-rules", json=_rule_body(channels_of=rule_id), headers=headers
    )
    assert added.status_code == 403
    assert client.delete(f"{API}/default/alert-rules/{rule_id}", headers=headers).status_code == 403


def test_manager_removes_a_rule(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    rule_id = _rule(engine, settings)
    response = client.delete(f"{API}/default/alert-rules/{rule_id}", headers=as_role("manager"))
    assert response.status_code == 200 and response.json()["name"] == "team"
    assert alerting.list_rules(engine, "default") == []


def test_another_workspaces_rule_is_not_found(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    theirs = _rule(engine, settings, "other")
    headers = as_role("owner")
    assert client.delete(f"{API}/default/alert-rules/{theirs}", headers=headers).status_code == 404
    _ensure(engine, "default")
    reuse = client.post(
        f"{API}/default/alert-rules", json=_rule_body(channels_of=theirs), headers=headers
    )
    assert reuse.status_code == 404
    assert len(alerting.list_rules(engine, "other")) == 1


def _dead_delivery(engine: Engine, settings: Settings, workspace: str = "default") -> int:
    rule_id = _rule(engine, settings, workspace)
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
            subject="[flocon] Volume spike",
            body="…",
            payload={},
            last_error="HTTP 503",
        )


def test_deliveries_are_listed_and_replayed_by_an_admin(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    delivery = _dead_delivery(engine, settings)
    listed = client.get(f"{API}/default/deliveries?failed=true", headers=as_role("manager"))
    assert [d["id"] for d in listed.json()["items"]] == [delivery]
    assert (
        client.post(
            f"{API}/default/deliveries/{delivery}/replay", headers=as_role("manager")
        ).status_code
        == 403
    )
    replayed = client.post(f"{API}/default/deliveries/{delivery}/replay", headers=as_role("admin"))
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    assert client.get(f"{API}/default/deliveries", headers=as_role("agent")).status_code == 403


def test_another_workspaces_delivery_is_not_found(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    theirs = _dead_delivery(engine, settings, "other")
    response = client.post(f"{API}/default/deliveries/{theirs}/replay", headers=as_role("owner"))
    assert response.status_code == 404


# -- authors ---------------------------------------------------------------------------------


def _conversation(engine: Engine, settings: Settings, workspace: str = "default") -> None:
    _ensure(engine, workspace)
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    lea = {"handle": "lea", "name": "Léa", "followers": 52_000}
    _import(
        engine,
        settings,
        workspace,
        [
            {
                "id": "a1",
                "text": "Acme is wonderful, I love it",
                "published_at": t0.isoformat(),
                "author": lea,
                "source": "mastodon:s",
            },
            {
                "id": "a2",
                "text": "@lea Acme broke, terrible",
                "published_at": (t0 + timedelta(hours=1)).isoformat(),
                "author": "bob",
                "parent_id": "a1",
                "source": "mastodon:s",
            },
            {
                "id": "a3",
                "text": "Acme is great, I love it too",
                "published_at": (t0 + timedelta(hours=2)).isoformat(),
                "author": lea,
                "source": "mastodon:s",
            },
        ],
    )


def test_authors_are_computed_then_listed_with_a_cursor(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    _conversation(engine, settings)
    viewer = as_role("viewer")
    before = client.get(f"{API}/default/authors", headers=viewer).json()
    assert before == {"items": [], "next_cursor": None, "computed_at": None, "since": None}
    assert (
        client.post(f"{API}/default/authors/recompute", json={}, headers=viewer).status_code == 403
    )
    done = client.post(f"{API}/default/authors/recompute", json={}, headers=as_role("manager"))
    assert done.status_code == 200 and done.json()["authors"] == 2
    first = client.get(f"{API}/default/authors?limit=1", headers=viewer).json()
    assert [a["handle"] for a in first["items"]] == ["lea"] and first["computed_at"]
    second = client.get(
        f"{API}/default/authors?limit=1&cursor={first['next_cursor']}", headers=viewer
    ).json()
    assert [a["handle"] for a in second["items"]] == ["bob"] and second["next_cursor"] is None
    assert client.get(f"{API}/default/authors?stance=nope", headers=viewer).status_code == 400
    assert accounts.audit_events(engine, "default")[0].action == "authors.recompute"


def test_author_profile_with_its_explanation(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    _conversation(engine, settings)
    headers = as_role("manager")
    client.post(f"{API}/default/authors/recompute", json={}, headers=headers)
    lea = client.get(f"{API}/default/authors", headers=headers).json()["items"][0]
    body = client.get(f"{API}/default/authors/{lea['author_id']}", headers=headers).json()
    assert (body["handle"], body["platform"], body["followers"]) == ("lea", "mastodon", 52_000)
    explanation = body["explanation"]
    assert explanation["model"]["model"] == "influence-1"
    assert [c["component"] for c in explanation["components"]] == ["network", "reach", "engagement"]
    assert explanation["total"] == pytest.approx(body["score"]["score"], abs=0.01)
    assert explanation["components"][0]["inputs"]["replies_received"] == 1
    assert [m["text"] for m in body["recent_mentions"]] == [
        "Acme is great, I love it too",
        "Acme is wonderful, I love it",
    ]


def test_another_workspaces_author_is_not_found(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    _conversation(engine, settings, "other")
    owner = as_role("owner", "other")
    client.post(f"{API}/other/authors/recompute", json={}, headers=owner)
    theirs = client.get(f"{API}/other/authors", headers=owner).json()["items"][0]["author_id"]
    response = client.get(f"{API}/default/authors/{theirs}", headers=as_role("owner"))
    assert response.status_code == 404


# -- members ---------------------------------------------------------------------------------


def test_members_need_an_admin(client: TestClient, as_role: Bearer) -> None:
    headers = as_role("manager")
    assert client.get(f"{API}/default/members", headers=headers).status_code == 403
    added = client.post(
        f"{API}/default/members", json={"email": "x@example.org", "role": "viewer"}, headers=headers
    )
    assert added.status_code == 403


def test_admin_adds_a_new_member_who_gets_a_temporary_password(
    client: TestClient, engine: Engine, as_role: Bearer
) -> None:
    headers = as_role("admin")
    response = client.post(
        f"{API}/default/members",
        json={"email": "new@example.org", "role": "agent"},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True and body["invited"] is False and body["role"] == "agent"
    assert accounts.authenticate(
        engine, email="new@example.org", password=body["temporary_password"]
    )
    listed = client.get(f"{API}/default/members", headers=headers).json()["items"]
    assert "new@example.org" in [m["user"]["email"] for m in listed]
    assert body["temporary_password"] not in json.dumps(listed)


def test_admin_cannot_grant_owner_through_the_api(
    client: TestClient, engine: Engine, make_member: Callable[..., Any], as_role: Bearer
) -> None:
    agent = make_member("agent")
    headers = as_role("admin")
    added = client.post(
        f"{API}/default/members",
        json={"email": "boss@example.org", "role": "owner"},
        headers=headers,
    )
    assert added.status_code == 403
    patched = client.patch(
        f"{API}/default/members/{agent.user.id}", json={"role": "owner"}, headers=headers
    )
    assert patched.status_code == 403
    assert accounts.role_in(engine, agent.user.id, "default") == "agent"


def test_member_role_change_and_removal(
    client: TestClient, engine: Engine, make_member: Callable[..., Any], as_role: Bearer
) -> None:
    agent = make_member("agent")
    headers = as_role("owner")
    patched = client.patch(
        f"{API}/default/members/{agent.user.id}", json={"role": "admin"}, headers=headers
    )
    assert patched.json()["role"] == "admin"
    removed = client.delete(f"{API}/default/members/{agent.user.id}", headers=headers)
    assert removed.status_code == 200 and removed.json()["role"] == "admin"
    assert accounts.role_in(engine, agent.user.id, "default") is None
    assert (
        client.patch(
            f"{API}/default/members/{agent.user.id}", json={"role": "admin"}, headers=headers
        ).status_code
        == 404
    )


def test_the_last_owner_cannot_leave_or_be_demoted(
    client: TestClient, engine: Engine, make_member: Callable[..., Any]
) -> None:
    owner = make_member("owner")
    _token, secret = accounts.create_token(
        engine, "default", user_id=owner.user.id, name="t", scopes=("read", "write"), actor="cli"
    )
    headers = {"Authorization": f"Bearer {secret}"}
    patched = client.patch(
        f"{API}/default/members/{owner.user.id}", json={"role": "admin"}, headers=headers
    )
    assert patched.status_code == 400
    assert (
        client.delete(f"{API}/default/members/{owner.user.id}", headers=headers).status_code == 400
    )


def test_another_workspaces_member_is_not_found_through_the_api(
    client: TestClient, make_member: Callable[..., Any], as_role: Bearer
) -> None:
    theirs = make_member("agent", workspace="other")
    headers = as_role("owner")
    url = f"{API}/default/members/{theirs.user.id}"
    assert client.patch(url, json={"role": "viewer"}, headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404


# -- tokens and audit ------------------------------------------------------------------------


def test_token_secret_is_answered_once_and_revocation_gives_401(
    client: TestClient, engine: Engine, as_role: Bearer
) -> None:
    headers = as_role("admin")
    created = client.post(
        f"{API}/default/tokens", json={"name": "ci", "scopes": ["read", "write"]}, headers=headers
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["secret"]
    assert secret.startswith(body["prefix"])
    listed = client.get(f"{API}/default/tokens", headers=headers)
    assert secret not in listed.text and "secret" not in listed.json()["items"][0]
    own = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=own).status_code == 200
    revoked = client.delete(f"{API}/default/tokens/{body['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/me", headers=own).status_code == 401
    actions = [e.action for e in accounts.audit_events(engine, "default")[:2]]
    assert actions == ["token.revoke", "token.create"]


def test_a_read_only_token_cannot_write(client: TestClient, as_role: Bearer) -> None:
    headers = as_role("owner", scopes=("read",))
    response = client.post(f"{API}/default/tokens", json={"name": "x"}, headers=headers)
    assert response.status_code == 403


def test_tokens_need_an_admin_and_stay_in_their_workspace(
    client: TestClient, engine: Engine, make_member: Callable[..., Any], as_role: Bearer
) -> None:
    assert client.get(f"{API}/default/tokens", headers=as_role("manager")).status_code == 403
    theirs = make_member("owner", workspace="other")
    created, _secret = accounts.create_token(
        engine, "other", user_id=theirs.user.id, name="theirs", actor="cli"
    )
    response = client.delete(f"{API}/default/tokens/{created.id}", headers=as_role("owner"))
    assert response.status_code == 404
    unknown_user = client.post(
        f"{API}/default/tokens",
        json={"name": "x", "user_id": theirs.user.id},
        headers=as_role("owner"),
    )
    assert unknown_user.status_code == 404


def test_audit_log_pages_and_needs_an_admin(
    client: TestClient, engine: Engine, make_member: Callable[..., Any], as_role: Bearer
) -> None:
    admin = make_member("admin")
    for i in range(3):
        accounts.create_token(engine, "default", user_id=admin.user.id, name=f"t{i}", actor="cli")
    headers = as_role("admin")
    first = client.get(f"{API}/default/audit?limit=2", headers=headers).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"{API}/default/audit?limit=50&cursor={first['next_cursor']}", headers=headers
    ).json()
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    assert rest["next_cursor"] is None
    actions = [e["action"] for e in first["items"] + rest["items"]]
    assert actions.count("token.create") == 4  # three here, one for the caller's token
    assert client.get(f"{API}/default/audit", headers=as_role("manager")).status_code == 403


def test_openapi_documents_these_routes(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/me",
        "/api/v1/workspaces/{ws}/alerts",
        "/api/v1/workspaces/{ws}/alert-rules/{rule_id}",
        "/api/v1/workspaces/{ws}/authors/{author_id}",
        "/api/v1/workspaces/{ws}/members/{user_id}",
        "/api/v1/workspaces/{ws}/tokens",
        "/api/v1/workspaces/{ws}/audit",
    ):
        assert path in spec["paths"], path
        for operation in spec["paths"][path].values():
            assert operation.get("description"), path
