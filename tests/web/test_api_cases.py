"""The cases API, a contract scripts rely on: GET/POST /api/v1/cases, GET/PATCH
/api/v1/cases/{id}, POST .../notes and .../replies, with roles (a viewer reads, cannot
reply), conflicts (409), workspace isolation (404) and CSRF for session calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import accounts
from flocon.services import workspaces as workspaces_svc
from flocon.settings import Settings
from support.seeding import import_lines

FORUM = "forum:forum.example"  # the channel of these mentions

Bearer = Callable[..., dict[str, str]]


COMPLAINT = {
    "text": "Acme charged my card twice and support never answers. Is anyone there?",
    "author": {"handle": "claire", "followers": 900},
}


def test_the_whole_contract_with_a_token(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT], source=FORUM)
    agent = as_role("agent")
    created = client.post("/api/v1/cases", json={"mention_id": mid}, headers=agent)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["status"] == "new" and case["mention_id"] == mid
    assert case["first_response_seconds"] is None and case["resolution_seconds"] is None
    assert set(case["risk_factors"]) >= {"snowball", "influence", "negativity", "waiting"}

    again = client.post("/api/v1/cases", json={"mention_id": mid}, headers=agent)
    assert again.status_code == 409 and again.json()["case_id"] == case["id"]

    listed = client.get("/api/v1/cases", headers=agent).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]] and listed["total"] == 1

    patched = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"status": "open", "priority": "high", "version": case["version"]},
        headers=agent,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["status"], patched.json()["priority"]) == ("open", "high")
    stale = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"status": "waiting", "version": case["version"]},
        headers=agent,
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == patched.json()["version"]

    note = client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "refund?"}, headers=agent)
    assert note.status_code == 201 and note.json()["text"] == "refund?"

    reply = client.post(
        f"/api/v1/cases/{case['id']}/replies",
        json={
            "text": "Sorry Claire, I've sent you a DM to refund the double charge today.",
            "send": False,
            "url": "https://forum.example/t/1#reply",
        },
        headers=agent,
    )
    assert reply.status_code == 201, reply.text
    assert (reply.json()["status"], reply.json()["mode"]) == ("recorded", "record")

    detail = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert detail["first_response_seconds"] is not None
    assert [n["text"] for n in detail["notes"]] == ["refund?"]
    assert [r["status"] for r in detail["replies"]] == ["recorded"]
    assert [e["kind"] for e in detail["events"]] == [
        "created",
        "priority",
        "status",
        "note",
        "reply",
    ]
    assert detail["mention"]["id"] == mid

    resolved = client.patch(
        f"/api/v1/cases/{case['id']}", json={"status": "resolved"}, headers=agent
    ).json()
    assert resolved["resolution_seconds"] is not None
    assert client.get("/api/v1/cases", headers=agent).json()["total"] == 0
    assert client.get("/api/v1/cases?status=resolved", headers=agent).json()["total"] == 1


def test_sending_without_a_posting_account_says_what_to_do(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT], source=FORUM)
    agent = as_role("agent")
    case = client.post("/api/v1/cases", json={"mention_id": mid}, headers=agent).json()
    sent = client.post(
        f"/api/v1/cases/{case['id']}/replies", json={"text": "Hello", "send": True}, headers=agent
    )
    assert sent.status_code == 400 and "record" in sent.json()["error"]
    # Nothing was stored: no reply appears.
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["replies"] == []
    bad = client.post(
        f"/api/v1/cases/{case['id']}/replies",
        json={"text": "x", "send": True, "draft": True},
        headers=agent,
    )
    assert bad.status_code == 400
    unknown = client.post(
        f"/api/v1/cases/{case['id']}/replies", json={"text": "x", "mood": "happy"}, headers=agent
    )
    assert unknown.status_code == 422


def test_a_viewer_reads_but_cannot_change_or_reply(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT], source=FORUM)
    case = client.post("/api/v1/cases", json={"mention_id": mid}, headers=as_role("agent")).json()
    viewer = as_role("viewer")
    assert client.get("/api/v1/cases", headers=viewer).json()["total"] == 1
    assert client.get(f"/api/v1/cases/{case['id']}", headers=viewer).status_code == 200
    for method, path, body in [
        ("post", "/api/v1/cases", {"mention_id": mid}),
        ("patch", f"/api/v1/cases/{case['id']}", {"status": "open"}),
        ("post", f"/api/v1/cases/{case['id']}/notes", {"text": "x"}),
        ("post", f"/api/v1/cases/{case['id']}/replies", {"text": "x", "url": "https://a.example"}),
    ]:
        response = getattr(client, method)(path, json=body, headers=viewer)
        assert response.status_code == 403, (method, path, response.text)


def test_another_workspace_sees_nothing(
    client: TestClient, engine: Engine, settings: Settings, as_role: Bearer
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT], source=FORUM)
    case = client.post("/api/v1/cases", json={"mention_id": mid}, headers=as_role("agent")).json()
    import_lines(
        engine,
        settings,
        [dict(COMPLAINT, id="o1")],
        workspace="other",
        source=FORUM,
    )
    stranger = as_role("owner", workspace="other")
    assert client.get("/api/v1/cases", headers=stranger).json()["total"] == 0
    assert client.get(f"/api/v1/cases/{case['id']}", headers=stranger).status_code == 404
    assert (
        client.patch(f"/api/v1/cases/{case['id']}", json={"status": "open"}, headers=stranger)
    ).status_code == 404
    assert (
        client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "x"}, headers=stranger)
    ).status_code == 404
    assert (
        client.post("/api/v1/cases", json={"mention_id": mid}, headers=stranger)
    ).status_code == 404
    assert client.get("/api/v1/workspaces/default/cases", headers=stranger).status_code == 404


def test_session_calls_need_the_csrf_header_and_a_workspace(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    (mid,) = import_lines(engine, settings, [COMPLAINT], source=FORUM)
    refused = client.post("/api/v1/cases", json={"mention_id": mid})
    assert refused.status_code == 403
    done = client.post("/api/v1/cases", json={"mention_id": mid}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201
    # A member of several workspaces names one.
    workspaces_svc.add_workspace(engine, "other")
    accounts.add_member(engine, "other", email=_member.user.email, role="viewer", actor="cli")
    ask = client.get("/api/v1/cases")
    assert ask.status_code == 400 and "workspace" in ask.json()["error"]
    assert client.get("/api/v1/cases?workspace=default").json()["total"] == 1
    assert client.get("/api/v1/workspaces/default/cases").json()["total"] == 1
