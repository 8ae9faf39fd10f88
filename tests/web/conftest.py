"""Fixtures of the web tests: the app on a fresh database (SQLite and PostgreSQL), a client,
users of each role, signing in through the real login form and API tokens."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts
from flocon.services import workspaces as workspaces_svc
from flocon.settings import Settings
from flocon.web import create_app

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_hashing(fast_hashing: None) -> None:
    """Cheap argon2 parameters: the suite hashes hundreds of passwords."""


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


@dataclass
class Member:
    user: accounts.User
    password: str
    workspace: str
    role: str


MakeMember = Callable[..., Member]
Headers = dict[str, str]


@pytest.fixture
def make_member(engine: Engine) -> MakeMember:
    """``make_member(role, workspace="default", email=None)``: a user with that role."""
    counter = {"n": 0}

    def make(role: str = "owner", workspace: str = "default", email: str | None = None) -> Member:
        counter["n"] += 1
        email = email or f"{role}{counter['n']}@{workspace}.example"
        if workspace != "default":
            with contextlib.suppress(AlreadyExists):
                workspaces_svc.add_workspace(engine, workspace)
        user = accounts.find_user(engine, email) or accounts.create_user(
            engine, email=email, password=PASSWORD
        )
        if accounts.role_in(engine, user.id, workspace) is None:
            accounts.add_member(engine, workspace, email=email, role=role, actor="cli")
        return Member(user=user, password=PASSWORD, workspace=workspace, role=role)

    return make


@pytest.fixture
def token_headers(engine: Engine) -> Callable[..., Headers]:
    """``token_headers(member, scopes=("read", "write"))``: the Authorization header of a new
    API token of ``member``."""

    def make(member: Member, scopes: tuple[str, ...] = ("read", "write")) -> Headers:
        _token, secret = accounts.create_token(
            engine,
            member.workspace,
            user_id=member.user.id,
            name=f"test {member.role}",
            scopes=scopes,
            actor="cli",
        )
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def as_role(
    make_member: MakeMember, token_headers: Callable[..., Headers]
) -> Callable[..., Headers]:
    """``as_role(role, workspace="default", scopes=None)``: the Authorization header of a token
    of a new member with ``role``; read and write scopes (read only for a viewer) unless
    ``scopes`` says otherwise."""

    def make(
        role: str, workspace: str = "default", scopes: tuple[str, ...] | None = None
    ) -> Headers:
        if scopes is None:
            scopes = ("read",) if role == "viewer" else ("read", "write")
        return token_headers(make_member(role, workspace=workspace), scopes)

    return make


def read_csrf(client: TestClient, path: str = "/login") -> str:
    """The form token a page hands out (read from its <meta>)."""
    html = client.get(path).text
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def do_sign_in(client: TestClient, member: Member) -> str:
    """Sign ``member`` in through the login form; returns the session's CSRF token."""
    token = read_csrf(client, "/login")
    response = client.post(
        "/login",
        data={"email": member.user.email, "password": member.password, "csrf_token": token},
    )
    assert response.status_code == 303, response.text[:500]
    return read_csrf(client, f"/w/{member.workspace}/dashboard")


@pytest.fixture
def owner_client(client: TestClient, make_member: MakeMember) -> tuple[TestClient, Member, str]:
    """A client signed in as the owner of "default": (client, member, csrf token)."""
    member = make_member("owner")
    return client, member, do_sign_in(client, member)


@pytest.fixture
def sign_as(client: TestClient, make_member: MakeMember) -> Callable[..., str]:
    """``sign_as(role, workspace="default")``: sign ``client`` in as a new member with that
    role; returns the session's CSRF token."""

    def run(role: str, workspace: str = "default") -> str:
        return do_sign_in(client, make_member(role, workspace=workspace))

    return run


@pytest.fixture
def csrf_of() -> Callable[..., str]:
    """``csrf_of(client, path="/login")``: the form token of that page."""
    return read_csrf


@pytest.fixture
def sign_in() -> Callable[[TestClient, Member], str]:
    """``sign_in(client, member)``: sign in through the form; returns the CSRF token."""
    return do_sign_in


# -- a local SMTP server ----------------------------------------------------------------------


class Mailbox:
    """What a local SMTP server (aiosmtpd on 127.0.0.1) received."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
