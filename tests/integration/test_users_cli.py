"""`flocon user` and `flocon token` on a real SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from flocon.cli import users
from flocon.cli.app import FloconGroup
from flocon.services import accounts, workspaces
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine

PASSWORD = "correct horse battery"

# The sub-apps as the root command mounts them, with its error handling.
cli = typer.Typer(cls=FloconGroup)
cli.add_typer(users.app, name="user")
cli.add_typer(users.token_app, name="token")
runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def engine(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The SQLite database the commands open (through FLOCON_DATABASE_URL)."""
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    eng = build_engine(Settings(database_url=sqlite_url))
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def add(email: str, role: str, *extra: str, password: str = PASSWORD) -> tuple[int, str, str]:
    return run("user", "add", email, "--role", role, "--password-stdin", *extra, input=password)


def test_user_add_creates_the_user_with_its_role(engine: Engine) -> None:
    code, out, _ = add("Alice@Example.com", "manager", "--name", "Alice")
    assert code == 0
    assert "manager" in out
    assert [(m["email"], m["name"], m["role"]) for m in run_json("user", "list")] == [
        ("alice@example.com", "Alice", "manager")
    ]
    assert accounts.authenticate(engine, email="alice@example.com", password=PASSWORD)


def test_user_add_without_a_terminal_needs_password_stdin(engine: Engine) -> None:
    code, _, err = run("user", "add", "alice@example.com", "--role", "viewer")
    assert code == 2
    assert "--password-stdin" in err
    assert accounts.has_users(engine) is False


def test_user_add_asks_the_password_twice_on_a_terminal(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "_interactive", lambda: True)
    code, _, err = run(
        "user", "add", "alice@example.com", "--role", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert code == 0, err
    assert accounts.authenticate(engine, email="alice@example.com", password=PASSWORD)


def test_user_add_of_an_existing_user_only_sets_the_membership(engine: Engine) -> None:
    add("alice@example.com", "viewer")
    code, out, _ = run("user", "add", "alice@example.com", "--role", "agent")
    assert code == 0
    assert "was viewer" in out
    assert [m["role"] for m in run_json("user", "list")] == ["agent"]


def test_user_add_to_an_unknown_workspace_creates_nobody(engine: Engine) -> None:
    code, _, err = add("alice@example.com", "viewer", "--workspace", "nowhere")
    assert code == 1
    assert "'nowhere' does not exist" in err
    assert accounts.has_users(engine) is False


def test_user_add_refuses_a_weak_password(engine: Engine) -> None:
    code, _, err = add("alice@example.com", "viewer", password="short")
    assert code == 1
    assert "at least 10 characters" in err
    assert accounts.has_users(engine) is False


def test_user_add_refuses_an_unknown_role(engine: Engine) -> None:
    code, _, err = add("alice@example.com", "boss")
    assert code == 2
    assert "unknown role" in err


def test_user_list_all_shows_every_workspace(engine: Engine) -> None:
    workspaces.add_workspace(engine, "acme")
    add("alice@example.com", "viewer")
    add("alice@example.com", "owner", "-w", "acme")
    rows = run_json("user", "list", "--all")
    assert [(r["email"], r["memberships"]) for r in rows] == [
        ("alice@example.com", {"acme": "owner", "default": "viewer"})
    ]


def test_user_set_role_changes_the_role(engine: Engine) -> None:
    add("alice@example.com", "viewer")
    code, _, _ = run("user", "set-role", "alice@example.com", "manager")
    assert code == 0
    assert [m["role"] for m in run_json("user", "list")] == ["manager"]


def test_user_set_role_keeps_the_last_owner(engine: Engine) -> None:
    add("alice@example.com", "owner")
    code, _, err = run("user", "set-role", "alice@example.com", "admin")
    assert code == 1
    assert "needs an owner" in err


def test_user_remove_ends_the_membership(engine: Engine) -> None:
    add("alice@example.com", "owner")
    add("bob@example.com", "agent")
    code, _, _ = run("user", "remove", "bob@example.com")
    assert code == 0
    assert [m["email"] for m in run_json("user", "list")] == ["alice@example.com"]


def test_user_remove_of_an_unknown_user_fails(engine: Engine) -> None:
    code, _, err = run("user", "remove", "ghost@example.com")
    assert code == 1
    assert "ghost@example.com" in err


def test_user_reset_password_sets_it_and_ends_sessions(engine: Engine) -> None:
    add("alice@example.com", "viewer")
    user = accounts.find_user(engine, "alice@example.com")
    assert user is not None
    session, _ = accounts.start_session(engine, user.id)
    code, _, _ = run(
        "user", "reset-password", "alice@example.com", "--password-stdin", input="a brand new one\n"
    )
    assert code == 0
    assert accounts.session_info(engine, session) is None
    assert accounts.authenticate(engine, email="alice@example.com", password="a brand new one")


def test_token_add_prints_the_secret_once(engine: Engine) -> None:
    add("alice@example.com", "agent")
    code, out, err = run(
        "token", "add", "zapier", "--user", "alice@example.com", "--scope", "write"
    )
    assert code == 0
    secret = out.strip()
    assert "not be shown again" in err
    auth = accounts.authenticate_token(engine, secret)
    assert auth is not None
    assert (auth.role, auth.scopes) == ("agent", ("read", "write"))
    code, listed, _ = run("token", "list", "--json")
    assert secret not in listed
    assert [(t["name"], t["user"], t["state"]) for t in json.loads(listed)] == [
        ("zapier", "alice@example.com", "active")
    ]


def test_token_add_refuses_an_unknown_scope(engine: Engine) -> None:
    add("alice@example.com", "agent")
    code, _, err = run("token", "add", "x", "--user", "alice@example.com", "--scope", "admin")
    assert code == 2
    assert "--scope" in err


def test_token_revoke_stops_the_token(engine: Engine) -> None:
    add("alice@example.com", "agent")
    created = run_json("token", "add", "zapier", "--user", "alice@example.com")
    code, _, _ = run("token", "revoke", str(created["id"]))
    assert code == 0
    assert accounts.authenticate_token(engine, created["secret"]) is None
    assert [t["state"] for t in run_json("token", "list")] == ["revoked"]


def test_token_create_takes_the_member_first_and_prints_a_bearer_token(engine: Engine) -> None:
    add("alice@example.com", "agent")
    code, out, _ = run("token", "create", "alice@example.com", "--scope", "write")
    assert code == 0
    auth = accounts.authenticate_token(engine, out.strip())
    assert auth is not None
    assert (auth.user.email, auth.scopes) == ("alice@example.com", ("read", "write"))
    assert [t["name"] for t in run_json("token", "list")] == ["api"]
    code, _, err = run("token", "create", "nobody@example.com")
    assert code != 0 and "nobody@example.com" in err
