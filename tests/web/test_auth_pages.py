"""First run, sign-in, sign-out, CSRF, the login rate limit, password reset and languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import accounts


def _token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found
    return found.group(1)


def test_first_run_creates_the_owner_then_is_closed(client: TestClient, engine: Engine) -> None:
    assert client.get("/").headers["location"] == "/setup"
    assert client.get("/login").headers["location"] == "/setup"
    page = client.get("/setup")
    assert page.status_code == 200
    assert "Welcome to flocon" in page.text
    response = client.post(
        "/setup",
        data={
            "email": "Chloe@Example.org",
            "name": "Chloé",
            "password": "a long enough one",
            "password2": "a long enough one",
            "csrf_token": _token(page.text),
        },
    )
    assert response.status_code == 303
    user = accounts.find_user(engine, "chloe@example.org")
    assert user is not None
    assert accounts.role_in(engine, user.id, "default") == "owner"
    # Signed in at once, sent to the dashboard.
    assert client.get("/").headers["location"] == "/w/default/dashboard"
    # The page is gone once an account exists.
    assert client.get("/setup").headers["location"] == "/login"
    again = client.post(
        "/setup",
        data={
            "email": "mallory@example.org",
            "password": "a long enough one",
            "password2": "a long enough one",
            "csrf_token": _token(client.get("/w/default/dashboard").text),
        },
    )
    assert again.status_code == 303
    assert accounts.find_user(engine, "mallory@example.org") is None


def test_setup_refuses_a_short_password_and_keeps_the_form(client: TestClient) -> None:
    page = client.get("/setup")
    response = client.post(
        "/setup",
        data={
            "email": "a@example.org",
            "password": "short",
            "password2": "short",
            "csrf_token": _token(page.text),
        },
    )
    assert response.status_code == 400
    assert 'value="a@example.org"' in response.text
    assert 'role="alert"' in response.text


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, engine: Engine) -> None:
    client.get("/setup")
    response = client.post(
        "/setup",
        data={"email": "a@example.org", "password": "x" * 12, "password2": "x" * 12},
    )
    assert response.status_code == 403
    assert not accounts.has_users(engine)
    wrong = client.post(
        "/setup",
        data={
            "email": "a@example.org",
            "password": "x" * 12,
            "password2": "x" * 12,
            "csrf_token": "not-the-token-of-this-browser",
        },
    )
    assert wrong.status_code == 403
    assert not accounts.has_users(engine)


def test_sign_in_and_out(
    client: TestClient, make_member: Callable[..., Any], csrf_of: Callable[..., str]
) -> None:
    member = make_member("viewer")
    assert client.get("/w/default/dashboard").headers["location"].startswith("/login?next=")
    token = csrf_of(client)
    bad = client.post(
        "/login",
        data={"email": member.user.email, "password": "wrong password", "csrf_token": token},
    )
    assert bad.status_code == 400
    assert "Wrong e-mail or password." in bad.text
    good = client.post(
        "/login",
        data={
            "email": member.user.email.upper(),
            "password": member.password,
            "csrf_token": token,
            "next": "/w/default/mentions",
        },
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/w/default/mentions"
    cookie = good.headers["set-cookie"]
    assert "flocon_session=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    session_token = csrf_of(client, "/w/default/dashboard")
    assert session_token != token  # the session has its own form token
    out = client.post("/logout", data={"csrf_token": session_token})
    assert out.status_code == 303
    assert client.get("/w/default/dashboard").status_code == 303


def test_next_never_leaves_the_site(
    client: TestClient, make_member: Callable[..., Any], csrf_of: Callable[..., str]
) -> None:
    member = make_member("viewer")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        response = client.post(
            "/login",
            data={
                "email": member.user.email,
                "password": member.password,
                "csrf_token": csrf_of(client),
                "next": target,
            },
        )
        assert response.headers["location"] == "/"


def test_login_is_rate_limited(
    client: TestClient, make_member: Callable[..., Any], csrf_of: Callable[..., str]
) -> None:
    member = make_member("viewer")
    token = csrf_of(client)
    codes = [
        client.post(
            "/login",
            data={"email": member.user.email, "password": "nope nope nope", "csrf_token": token},
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [400] * 5
    assert codes[5] == 429
    # Even the right password waits now.
    locked = client.post(
        "/login",
        data={"email": member.user.email, "password": member.password, "csrf_token": token},
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


def test_security_headers_on_every_page(client: TestClient) -> None:
    response = client.get("/setup")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_language_follows_the_browser_then_the_choice(
    client: TestClient, make_member: Callable[..., Any]
) -> None:
    make_member("viewer")
    french = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "Se connecter" in french.text
    english = client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.8"})
    assert '<html lang="en">' in english.text
    token = _token(english.text)
    chosen = client.post(
        "/preferences", data={"locale": "fr", "next": "/login", "csrf_token": token}
    )
    assert chosen.status_code == 303
    assert "flocon_lang=fr" in chosen.headers["set-cookie"]
    assert '<html lang="fr">' in client.get("/login", headers={"Accept-Language": "en"}).text


def test_a_signed_in_users_language_is_remembered(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    engine: Engine,
) -> None:
    member = make_member("agent")
    token = sign_in(client, member)
    client.post(
        "/preferences",
        data={"locale": "fr", "timezone": "Europe/Paris", "next": "/", "csrf_token": token},
    )
    user = accounts.get_user(engine, member.user.id)
    assert (user.locale, user.timezone) == ("fr", "Europe/Paris")
    # A new browser gets them at sign-in.
    client.cookies.clear()
    sign_in(client, member)
    page = client.get("/w/default/dashboard", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in page.text
    assert "Europe/Paris" in page.text


def test_password_reset_link_works_once(
    client: TestClient, make_member: Callable[..., Any], engine: Engine
) -> None:
    member = make_member("viewer")
    secret = accounts.request_password_reset(engine, member.user.email)
    assert secret is not None
    form = client.get(f"/password/reset/{secret}")
    token = _token(form.text)
    done = client.post(
        f"/password/reset/{secret}",
        data={"password": "brand new secret", "password2": "brand new secret", "csrf_token": token},
    )
    assert done.headers["location"] == "/login?reset=1"
    assert accounts.authenticate(engine, email=member.user.email, password="brand new secret")
    again = client.post(
        f"/password/reset/{secret}",
        data={"password": "another secret!", "password2": "another secret!", "csrf_token": token},
    )
    assert again.status_code == 400
    assert "expired or was already used" in again.text


def test_without_smtp_the_forgot_page_points_to_the_command(client: TestClient) -> None:
    page = client.get("/password/forgot")
    assert "flocon user reset-password" in page.text
    assert 'name="email"' not in page.text


@pytest.mark.parametrize("path", ["/w/default/dashboard", "/w/default/mentions"])
def test_pages_need_a_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_the_first_owner_owns_the_workspaces_made_before(
    client: TestClient, engine: Engine
) -> None:
    from flocon.services import workspaces

    workspaces.add_workspace(engine, "quickstart")
    page = client.get("/setup")
    client.post(
        "/setup",
        data={
            "email": "owner@example.org",
            "password": "a long enough one",
            "password2": "a long enough one",
            "csrf_token": _token(page.text),
        },
    )
    user = accounts.find_user(engine, "owner@example.org")
    assert user is not None
    assert {m.workspace: m.role for m in accounts.memberships(engine, user.id)} == {
        "default": "owner",
        "quickstart": "owner",
    }
