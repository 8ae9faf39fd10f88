"""``flocon user`` and ``flocon token``: accounts of the web app, their roles per workspace,
and API tokens, from the command line (acting as the operator of the install)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    err,
    fail,
    load_settings,
    opened,
    out,
    parse_when,
    print_json,
    safe,
    workspace_name,
)
from flocon.errors import NotFound
from flocon.services import accounts as svc
from flocon.services import workspaces as workspaces_svc

app = typer.Typer(help="Users of the web app and their role in each workspace.")
token_app = typer.Typer(help="API tokens of a workspace (for the REST API and the push endpoint).")

ACTOR = "cli"

EmailArg = Annotated[str, typer.Argument(help="E-mail address of the user.")]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts).",
    ),
]


def _check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in svc.ROLES:
        fail(f"unknown role {role!r}: use one of {', '.join(svc.ROLES)}", 2)
    return role


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail("--password-stdin: no password on standard input", 2)
        return line
    if not _interactive():
        fail(
            "no terminal to ask for the password: give it on standard input with --password-stdin",
            2,
        )
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _user(engine: Engine, email: str) -> svc.User:
    user = svc.find_user(engine, email)
    if user is None:
        raise NotFound(
            f"no user with the e-mail {email.strip().lower()!r} (see `flocon user list`)"
        )
    return user


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@app.command("add")
def add(
    email: EmailArg,
    role: Annotated[
        str, typer.Option("--role", help=f"Role in the workspace: {', '.join(svc.ROLES)}.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: PasswordStdinOpt = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a user with a role in a workspace (the password is asked twice).

    For an existing user, only adds the membership or changes the role; no password is asked.
    """
    role = _check_role(role)
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        workspaces_svc.get_workspace(engine, ws)
        user = svc.find_user(engine, email)
        if user is None:
            password = _read_password(password_stdin)
            user = svc.create_user(engine, email=email, password=password, name=name, actor=ACTOR)
            out.print(f"user {safe(user.email)} created")
        current = svc.role_in(engine, user.id, ws)
        if current is None:
            svc.add_member(engine, ws, email=user.email, role=role, actor=ACTOR)
            out.print(f"{safe(user.email)} is now {role} of workspace {safe(ws)!r}")
        elif current != role:
            svc.set_role(engine, ws, user_id=user.id, role=role, actor=ACTOR)
            out.print(f"{safe(user.email)} is now {role} of workspace {safe(ws)!r} (was {current})")
        else:
            out.print(f"{safe(user.email)} already is {role} of workspace {safe(ws)!r}")


def _user_dict(user: svc.User, **extra: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        **extra,
        "is_active": user.is_active,
        "locale": user.locale,
        "timezone": user.timezone,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }


@app.command("list")
def list_(
    all_: Annotated[
        bool,
        typer.Option("--all", help="Every user of the install, with their workspaces and roles."),
    ] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the members of a workspace and their roles (or every user with --all)."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        if all_:
            rows = [
                _user_dict(
                    u, memberships={m.workspace: m.role for m in svc.memberships(engine, u.id)}
                )
                for u in svc.list_users(engine)
            ]
        else:
            rows = [_user_dict(u, role=r) for u, r in svc.list_members(engine, ws)]
    if json_:
        print_json(rows)
        return
    table = Table("email", "name", "workspaces" if all_ else "role", "active", "last sign-in (UTC)")
    for row in rows:
        if all_:
            roles = ", ".join(f"{w}: {r}" for w, r in row["memberships"].items())
        else:
            roles = row["role"]
        table.add_row(
            safe(row["email"]),
            safe(row["name"] or ""),
            safe(roles),
            "yes" if row["is_active"] else "no",
            _when(row["last_login_at"]),
        )
    out.print(table)


@app.command("set-role")
def set_role(
    email: EmailArg,
    role: Annotated[str, typer.Argument(help=f"New role: {', '.join(svc.ROLES)}.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Change a member's role (a workspace always keeps an owner)."""
    role = _check_role(role)
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        user = _user(engine, email)
        svc.set_role(engine, ws, user_id=user.id, role=role, actor=ACTOR)
    out.print(f"{safe(user.email)} is now {role} of workspace {safe(ws)!r}")


@app.command("remove")
def remove(
    email: EmailArg,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Remove a user from a workspace (the account stays; a workspace always keeps an owner)."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        user = _user(engine, email)
        svc.remove_member(engine, ws, user_id=user.id, actor=ACTOR)
    out.print(f"{safe(user.email)} removed from workspace {safe(ws)!r}")


@app.command("reset-password")
def reset_password(
    email: EmailArg,
    password_stdin: PasswordStdinOpt = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Give a user a new password and sign them out everywhere."""
    with opened(database_url) as engine:
        user = _user(engine, email)
        password = _read_password(password_stdin)
        svc.set_password(engine, user.id, password=password, actor=ACTOR)
    out.print(f"password of {safe(user.email)} changed; their sessions are closed")


# -- tokens ----------------------------------------------------------------------------------


def _token_state(token: svc.ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


@token_app.command("add")
def token_add(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'zapier'.")],
    user: Annotated[str, typer.Option("--user", help="E-mail of the member it acts as.")],
    scope: Annotated[
        str,
        typer.Option("--scope", help="read, or write (read and write; needs agent or above)."),
    ] = "read",
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Expiry date or datetime (ISO 8601, UTC); default never."),
    ] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API token and print its secret, once: it cannot be shown again."""
    scope = scope.strip().lower()
    if scope not in svc.SCOPES:
        fail("--scope must be read or write", 2)
    expires_at = parse_when(expires, option="--expires")
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        owner = _user(engine, user)
        token, secret = svc.create_token(
            engine,
            ws,
            user_id=owner.id,
            name=name,
            scopes=(scope,),
            expires_at=expires_at,
            actor=ACTOR,
        )
    if json_:
        print_json({"id": token.id, "name": token.name, "scopes": token.scopes, "secret": secret})
        return
    err.print(
        f"token #{token.id} {safe(token.name)!r} created for {safe(owner.email)} "
        f"({' '.join(token.scopes)}) in workspace {safe(ws)!r}. "
        "Copy the secret below now: it will not be shown again."
    )
    sys.stdout.write(secret + "\n")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="E-mail of the member the token acts as.")],
    scope: Annotated[
        str,
        typer.Option("--scope", help="read, or write (read and write; needs agent or above)."),
    ] = "read",
    name: Annotated[
        str | None,
        typer.Option("--name", help="What the token is for (default: 'api', shown in lists)."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Expiry date or datetime (ISO 8601, UTC); default never."),
    ] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API token for EMAIL and print it, once (sent as `Authorization: Bearer ...`)."""
    token_add(
        name or "api",
        user=email,
        scope=scope,
        expires=expires,
        workspace=workspace,
        database_url=database_url,
        json_=json_,
    )


@token_app.command("list")
def token_list(
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the API tokens of a workspace (never their secrets)."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    now = datetime.now(UTC)
    with opened(database_url) as engine:
        tokens = svc.list_tokens(engine, ws)
        emails = {t.user_id: svc.get_user(engine, t.user_id).email for t in tokens}
    if json_:
        print_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "user": emails[t.user_id],
                    "prefix": t.prefix,
                    "scopes": list(t.scopes),
                    "state": _token_state(t, now),
                    "created_at": t.created_at,
                    "expires_at": t.expires_at,
                    "last_used_at": t.last_used_at,
                    "revoked_at": t.revoked_at,
                }
                for t in tokens
            ]
        )
        return
    table = Table("id", "name", "user", "prefix", "scopes", "state", "expires", "last used (UTC)")
    for t in tokens:
        table.add_row(
            str(t.id),
            safe(t.name),
            safe(emails[t.user_id]),
            t.prefix + "…",
            " ".join(t.scopes),
            _token_state(t, now),
            _when(t.expires_at),
            _when(t.last_used_at),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `flocon token list`).")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Revoke an API token: it stops working at once."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        svc.revoke_token(engine, ws, token_id, actor=ACTOR)
    out.print(f"token #{token_id} revoked")
