"""The settings pages: one's own preferences and password; members and roles (the owner
rules), API tokens (secret shown once, revocation), notification channels and the audit
log; roles, CSRF and workspace isolation. Invitations go through a local SMTP server."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import accounts, alerting
from flocon.settings import Settings
from flocon.web import create_app

SECRET = "webhook-secret-for-tests-0123456789"
HOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, webhook_secret=SECRET)


def _code(text: str, element_id: str) -> str | None:
    found = re.search(rf'<code class="secret" id="{element_id}">([^<]+)</code>', text)
    return found.group(1) if found else None


# -- preferences and password ----------------------------------------------------------------


def test_preferences_are_saved_for_the_user_and_in_cookies(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    member = make_member("viewer")
    token = sign_in(client, member)
    page = client.get("/w/default/settings")
    assert page.status_code == 200 and "Language and time zone" in page.text
    response = client.post(
        "/w/default/settings/preferences",
        data={"csrf_token": token, "locale": "fr", "timezone": "Europe/Paris"},
    )
    assert response.headers["location"] == "/w/default/settings?done=prefs"
    user = accounts.get_user(engine, member.user.id)
    assert (user.locale, user.timezone) == ("fr", "Europe/Paris")
    assert client.cookies.get("flocon_lang") == "fr"
    assert '<html lang="fr">' in client.get("/w/default/settings").text


def test_clearing_preferences_follows_the_browser_again(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    member = make_member("viewer")
    accounts.set_preferences(engine, member.user.id, locale="fr", timezone="Europe/Paris")
    token = sign_in(client, member)
    client.post(
        "/w/default/settings/preferences", data={"csrf_token": token, "locale": "", "timezone": ""}
    )
    user = accounts.get_user(engine, member.user.id)
    assert (user.locale, user.timezone) == (None, None)
    assert client.cookies.get("flocon_lang") is None


def test_an_unknown_time_zone_is_refused(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    token = sign_in(client, make_member("viewer"))
    response = client.post(
        "/w/default/settings/preferences",
        data={"csrf_token": token, "locale": "en", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert "unknown time zone" in response.text


def test_password_change_needs_the_current_one(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    member = make_member("viewer")
    token = sign_in(client, member)
    wrong = client.post(
        "/w/default/settings/password",
        data={"csrf_token": token, "current": "nope", "password": "x" * 12, "password2": "x" * 12},
    )
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    differ = client.post(
        "/w/default/settings/password",
        data={
            "csrf_token": token,
            "current": member.password,
            "password": "x" * 12,
            "password2": "y" * 12,
        },
    )
    assert differ.status_code == 400 and "The two new passwords differ." in differ.text
    done = client.post(
        "/w/default/settings/password",
        data={
            "csrf_token": token,
            "current": member.password,
            "password": "a brand new one",
            "password2": "a brand new one",
        },
    )
    assert done.headers["location"] == "/w/default/settings?done=password"
    assert accounts.authenticate(engine, email=member.user.email, password="a brand new one")
    # This session goes on.
    assert client.get("/w/default/settings").status_code == 200


def test_preferences_without_csrf_are_refused(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    member = make_member("owner")
    sign_in(client, member)
    response = client.post("/w/default/settings/preferences", data={"locale": "fr"})
    assert response.status_code == 403
    assert accounts.get_user(engine, member.user.id).locale is None


# -- members ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "agent", "manager"])
def test_only_admins_manage_members(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], role: str
) -> None:
    token = sign_in(client, make_member(role))
    assert client.get("/w/default/settings/members").status_code == 403
    response = client.post(
        "/w/default/settings/members",
        data={"csrf_token": token, "email": "new@example.org", "role": "viewer"},
    )
    assert response.status_code == 403
    assert "/settings/members" not in client.get("/w/default/settings").text


def test_admin_adds_an_existing_user(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    elsewhere = make_member("viewer", workspace="other")
    token = sign_in(client, make_member("admin"))
    response = client.post(
        "/w/default/settings/members",
        data={"csrf_token": token, "email": elsewhere.user.email, "role": "agent"},
    )
    assert response.status_code == 200
    assert "is now agent of this workspace" in response.text
    assert _code(response.text, "temporary-password") is None
    assert accounts.role_in(engine, elsewhere.user.id, "default") == "agent"
    entry = accounts.audit_events(engine, "default")[0]
    assert (entry.action, entry.details["role"]) == ("member.add", "agent")


def test_a_new_user_gets_a_temporary_password_shown_once(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    token = sign_in(client, make_member("admin"))
    response = client.post(
        "/w/default/settings/members",
        data={"csrf_token": token, "email": "Newbie@Example.org", "role": "viewer", "name": "N"},
    )
    assert response.headers["cache-control"] == "no-store"
    password = _code(response.text, "temporary-password")
    assert password and len(password) >= 10
    user = accounts.authenticate(engine, email="newbie@example.org", password=password)
    assert accounts.role_in(engine, user.id, "default") == "viewer"
    assert password not in client.get("/w/default/settings/members").text
    assert all(password not in str(e.details) for e in accounts.audit_events(engine, "default"))


def test_adding_a_member_twice_answers_409(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    agent = make_member("agent")
    token = sign_in(client, make_member("admin"))
    response = client.post(
        "/w/default/settings/members",
        data={"csrf_token": token, "email": agent.user.email, "role": "viewer"},
    )
    assert response.status_code == 409


def test_with_smtp_a_new_member_gets_a_link_instead(
    engine: Engine,
    database_url: str,
    mailbox: tuple[Any, int],
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    box, port = mailbox
    smtp = Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="flocon <flocon@example.org>",
        web_base_url="https://flocon.example.org",
    )
    app: FastAPI = create_app(smtp, engine=engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        token = sign_in(client, make_member("admin"))
        response = client.post(
            "/w/default/settings/members",
            data={"csrf_token": token, "email": "invited@example.org", "role": "agent"},
        )
        assert "An e-mail with a link to choose a password was sent" in response.text
        assert _code(response.text, "temporary-password") is None
        (envelope,) = box.envelopes
        assert envelope.rcpt_tos == ["invited@example.org"]
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        link = re.search(
            r"https://flocon\.example\.org(/password/reset/[\w-]+)", body.get_content()
        )
        assert link
        client.cookies.clear()
        form = client.get(link.group(1)).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        done = client.post(
            link.group(1),
            data={
                "csrf_token": csrf.group(1),
                "password": "chosen by me",
                "password2": "chosen by me",
            },
        )
        assert done.status_code == 303
    assert accounts.authenticate(engine, email="invited@example.org", password="chosen by me")


def test_admin_cannot_grant_owner(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    agent = make_member("agent")
    token = sign_in(client, make_member("admin"))
    page = client.get("/w/default/settings/members")
    assert '<option value="owner"' not in page.text
    added = client.post(
        "/w/default/settings/members",
        data={"csrf_token": token, "email": "boss@example.org", "role": "owner"},
    )
    assert added.status_code == 403
    assert accounts.find_user(engine, "boss@example.org") is None
    changed = client.post(
        f"/w/default/settings/members/{agent.user.id}/role",
        data={"csrf_token": token, "role": "owner"},
    )
    assert changed.status_code == 403
    assert accounts.role_in(engine, agent.user.id, "default") == "agent"


def test_admin_changes_a_role_and_removes_a_member(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    agent = make_member("agent")
    token = sign_in(client, make_member("admin"))
    changed = client.post(
        f"/w/default/settings/members/{agent.user.id}/role",
        data={"csrf_token": token, "role": "manager"},
    )
    assert changed.headers["location"] == "/w/default/settings/members?done=role"
    assert accounts.role_in(engine, agent.user.id, "default") == "manager"
    removed = client.post(
        f"/w/default/settings/members/{agent.user.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert accounts.role_in(engine, agent.user.id, "default") is None
    actions = [e.action for e in accounts.audit_events(engine, "default")][:2]
    assert actions == ["member.remove", "member.role"]


def test_the_last_owner_stays(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    owner = make_member("owner")
    token = sign_in(client, owner)
    demoted = client.post(
        f"/w/default/settings/members/{owner.user.id}/role",
        data={"csrf_token": token, "role": "admin"},
    )
    assert demoted.status_code == 400
    assert "needs an owner" in demoted.text
    removed = client.post(
        f"/w/default/settings/members/{owner.user.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 400
    assert accounts.role_in(engine, owner.user.id, "default") == "owner"


@pytest.mark.parametrize("action", ["role", "remove"])
def test_another_workspaces_member_is_not_found(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    action: str,
) -> None:
    theirs = make_member("agent", workspace="other")
    token = sign_in(client, make_member("owner"))
    response = client.post(
        f"/w/default/settings/members/{theirs.user.id}/{action}",
        data={"csrf_token": token, "role": "viewer"},
    )
    assert response.status_code == 404
    assert accounts.role_in(engine, theirs.user.id, "other") == "agent"


# -- API tokens ------------------------------------------------------------------------------


def test_token_secret_is_shown_once_and_works(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    token = sign_in(client, make_member("admin"))
    response = client.post(
        "/w/default/settings/tokens",
        data={"csrf_token": token, "name": "reporting", "scope": "read", "expires_days": "30"},
    )
    assert response.status_code == 200
    secret = _code(response.text, "token-secret")
    assert secret and secret.startswith("flc_")
    assert response.headers["cache-control"] == "no-store"
    listing = client.get("/w/default/settings/tokens").text
    assert secret not in listing
    assert f"<code>{secret[:10]}…</code>" in listing
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["workspaces"] == [{"workspace": "default", "role": "viewer"}]
    (stored,) = accounts.list_tokens(engine, "default")
    assert stored.expires_at is not None and stored.scopes == ("read",)


def test_a_write_token_needs_an_agent_or_above(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    viewer = make_member("viewer")
    token = sign_in(client, make_member("admin"))
    response = client.post(
        "/w/default/settings/tokens",
        data={"csrf_token": token, "name": "x", "scope": "write", "user_id": str(viewer.user.id)},
    )
    assert response.status_code == 403
    assert accounts.list_tokens(engine, "default") == []


def test_revoked_token_gets_401(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    admin = make_member("admin")
    created, secret = accounts.create_token(
        engine, "default", user_id=admin.user.id, name="ci", scopes=("read",), actor="cli"
    )
    token = sign_in(client, admin)
    response = client.post(
        f"/w/default/settings/tokens/{created.id}/revoke", data={"csrf_token": token}
    )
    assert response.headers["location"] == "/w/default/settings/tokens?done=revoked"
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401
    assert accounts.audit_events(engine, "default")[0].action == "token.revoke"


def test_another_workspaces_token_is_not_found(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    theirs = make_member("owner", workspace="other")
    created, secret = accounts.create_token(
        engine, "other", user_id=theirs.user.id, name="theirs", actor="cli"
    )
    token = sign_in(client, make_member("owner"))
    response = client.post(
        f"/w/default/settings/tokens/{created.id}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert accounts.authenticate_token(engine, secret) is not None


def test_manager_cannot_see_tokens(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    token = sign_in(client, make_member("manager"))
    assert client.get("/w/default/settings/tokens").status_code == 403
    response = client.post(
        "/w/default/settings/tokens", data={"csrf_token": token, "name": "x", "scope": "read"}
    )
    assert response.status_code == 403


# -- channels and audit log ------------------------------------------------------------------


def test_channels_page_shows_where_each_rule_sends_without_secrets(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    alerting.add_rule(
        engine, settings, "default", alerting.RuleSpec(name="team", channels=[f"webhook:{HOOK}"])
    )
    sign_in(client, make_member("manager"))
    page = client.get("/w/default/settings/channels")
    assert page.status_code == 200
    assert "team" in page.text and "webhook https://hooks.example.com/" in page.text
    assert "XXXXSECRETXXXX" not in page.text


def test_agent_cannot_see_channels(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    sign_in(client, make_member("agent"))
    assert client.get("/w/default/settings/channels").status_code == 403


def test_audit_log_pages_back(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    admin = make_member("admin")
    for i in range(55):
        accounts.create_token(
            engine, "default", user_id=admin.user.id, name=f"t{i:02d}", actor="cli"
        )
    sign_in(client, admin)
    first = client.get("/w/default/settings/audit")
    assert first.status_code == 200
    assert "<dd>t54</dd>" in first.text and "<dd>t00</dd>" not in first.text
    found = re.search(r'<a href="(\?before=\d+)" rel="next"', first.text)
    assert found
    second = client.get("/w/default/settings/audit" + found.group(1))
    assert "<dd>t00</dd>" in second.text and "<dd>t54</dd>" not in second.text


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_audit_log_is_for_admins(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], role: str
) -> None:
    sign_in(client, make_member(role))
    assert client.get("/w/default/settings/audit").status_code == 403


def test_a_non_member_gets_404_for_settings(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    make_member("owner", workspace="other")
    sign_in(client, make_member("owner"))
    for path in ("settings", "settings/members", "settings/tokens", "settings/audit"):
        assert client.get(f"/w/other/{path}").status_code == 404, path


def test_settings_pages_in_french(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> None:
    sign_in(client, make_member("owner"))
    client.cookies.set("flocon_lang", "fr")
    assert "Langue et fuseau horaire" in client.get("/w/default/settings").text
    assert "Ajouter un membre" in client.get("/w/default/settings/members").text
    assert "Créer un jeton" in client.get("/w/default/settings/tokens").text
    assert "Journal d'audit" in client.get("/w/default/settings/audit").text
