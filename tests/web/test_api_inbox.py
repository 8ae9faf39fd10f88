"""The inbox API beside the cases: saved replies (filled for a case), the tone check, posting
accounts (credentials write-only, admin only) and the inbox settings (validated)."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import cases as svc
from flocon.settings import Settings
from support.seeding import import_lines

API = "/api/v1/workspaces/default"


def test_saved_replies_are_filled_for_a_case(
    client: TestClient, engine: Engine, settings: Settings, as_role: Callable[..., dict[str, str]]
) -> None:
    line = {"id": "1", "text": "acme lost my parcel", "author": {"handle": "@claire"}}
    (mention_id,) = import_lines(engine, settings, [line], source="forum:f")
    case = svc.create_case(engine, "default", mention_id=mention_id, actor="cli")
    manager, agent, viewer = as_role("manager"), as_role("agent"), as_role("viewer")
    body = {
        "name": "Lost parcel",
        "lang": "en",
        "text": "Hi {author}, {brand} here: sorry! Follow your case at {case_link}.",
    }
    assert client.post(f"{API}/saved-replies", json=body, headers=agent).status_code == 403
    created = client.post(f"{API}/saved-replies", json=body, headers=manager)
    assert created.status_code == 201, created.text
    saved_id = created.json()["id"]
    assert client.post(f"{API}/saved-replies", json=body, headers=manager).status_code == 409
    bad = client.post(
        f"{API}/saved-replies", json=dict(body, name="x", text="Hi {nobody}"), headers=manager
    )
    assert bad.status_code == 400 and "nobody" in bad.json()["error"]
    filled = client.get(f"{API}/cases/{case.id}/saved-replies/{saved_id}", headers=agent).json()
    assert filled["text"].startswith("Hi @claire, Acme here: sorry!")
    assert f"/w/default/inbox/{case.id}" in filled["text"]
    assert [s["name"] for s in client.get(f"{API}/saved-replies", headers=viewer).json()] == [
        "Lost parcel"
    ]
    assert client.delete(f"{API}/saved-replies/{saved_id}", headers=manager).status_code == 204
    assert client.get(f"{API}/saved-replies", headers=viewer).json() == []


def test_the_tone_check_explains_itself(
    client: TestClient, as_role: Callable[..., dict[str, str]]
) -> None:
    viewer = as_role("viewer")
    checked = client.post(
        f"{API}/tone-check",
        json={"text": "As we already said, this is not our fault."},
        headers=viewer,
    ).json()
    assert not checked["ok"]
    codes = {i["code"] for i in checked["issues"]}
    assert {"defensive", "no_apology", "no_next_step"} <= codes
    assert all(i["description"] for i in checked["issues"])
    good = client.post(
        f"{API}/tone-check",
        json={
            "text": "Désolés pour ce retard : je vous écris en message privé pour le rembourser aujourd'hui."
        },
        headers=viewer,
    ).json()
    assert good["ok"] and good["lang"] == "fr"


def test_posting_accounts_are_admin_only_and_never_show_credentials(
    client: TestClient, as_role: Callable[..., dict[str, str]]
) -> None:
    admin, manager = as_role("admin"), as_role("manager")
    body = {
        "platform": "mastodon",
        "name": "brand",
        "base_url": "https://mastodon.example",
        "credentials": {"access_token": "s3cret-token-value"},
    }
    assert client.post(f"{API}/posting-accounts", json=body, headers=manager).status_code == 403
    created = client.post(f"{API}/posting-accounts", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert "s3cret" not in created.text
    listed = client.get(f"{API}/posting-accounts", headers=manager)
    assert [a["name"] for a in listed.json()] == ["brand"] and "s3cret" not in listed.text
    missing = client.post(
        f"{API}/posting-accounts", json=dict(body, name="b2", credentials={}), headers=admin
    )
    assert missing.status_code == 400 and "access_token" in missing.json()["error"]
    unknown = client.post(
        f"{API}/posting-accounts", json=dict(body, platform="myspace"), headers=admin
    )
    assert unknown.status_code == 400
    audit = client.get(f"{API}/audit", headers=admin)
    assert audit.status_code == 200 and "posting_account.add" in audit.text
    assert "s3cret" not in audit.text
    account_id = created.json()["id"]
    assert client.delete(f"{API}/posting-accounts/{account_id}", headers=admin).status_code == 204


def test_inbox_settings_are_validated(
    client: TestClient, as_role: Callable[..., dict[str, str]]
) -> None:
    admin, viewer = as_role("admin"), as_role("viewer")
    current = client.get(f"{API}/inbox/settings", headers=viewer).json()
    assert current["suggest"] is True and "normal" in json.dumps(current["sla"])
    hours = {"timezone": "Europe/Paris", "week": {"mon": ["09:00-18:00"]}}
    changed = client.patch(
        f"{API}/inbox/settings", json={"business_hours": hours, "suggest": False}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["suggest"] is False
    assert changed.json()["business_hours"]["timezone"] == "Europe/Paris"
    bad = client.patch(
        f"{API}/inbox/settings",
        json={"business_hours": {"timezone": "Nowhere/City"}},
        headers=admin,
    )
    assert bad.status_code == 400
    assert (
        client.patch(f"{API}/inbox/settings", json={"suggest": True}, headers=viewer).status_code
        == 403
    )
