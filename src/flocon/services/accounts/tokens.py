"""API tokens: scoped, revocable secrets that act as one member of one workspace."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine

from flocon.errors import ConfigError, NotFound
from flocon.services.accounts.audit import record
from flocon.services.accounts.common import (
    SCOPES,
    PermissionDenied,
    TokenAuth,
    acting_user,
    digest,
    require,
    role_at_least,
    utc_now,
)
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import ApiToken, User

TOKEN_PREFIX: Final = "flc_"
TOKEN_TOUCH_EVERY: Final = timedelta(minutes=1)


def _check_scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ConfigError(f"token scopes must be among {', '.join(SCOPES)}")
    # Writing implies reading.
    return ("read", "write") if "write" in scopes else ("read",)


def create_token(
    engine: Engine,
    workspace: str,
    *,
    user_id: int,
    name: str,
    scopes: tuple[str, ...] | list[str] = ("read",),
    expires_at: datetime | None = None,
    actor: User | str,
) -> tuple[ApiToken, str]:
    """Create an API token acting as ``user_id`` in the workspace; returns it and its secret,
    shown once. Needs admin; "write" needs the user to be agent or above."""
    scopes = _check_scopes(scopes)
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a token needs a name of 1 to 200 characters")
    now = datetime.now(UTC)
    if expires_at is not None and utc_now(expires_at) <= now:
        raise ConfigError("the token's expiry date is in the past")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        require(conn, actor, ws.id, "admin")
        user = q.get_user(conn, user_id)
        role = q.role(conn, user_id, ws.id)
        if role is None:
            raise PermissionDenied(f"{user.email} is not a member of workspace {workspace!r}")
        if "write" in scopes and not role_at_least(role, "agent"):
            raise PermissionDenied(f"a write token needs an agent or above; {user.email} is {role}")
        token = q.insert_token(
            conn,
            workspace_id=ws.id,
            user_id=user_id,
            name=name,
            token_hash=digest(secret),
            prefix=secret[:10],
            scopes=scopes,
            expires_at=expires_at,
            now=now,
        )
        record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="token.create",
            object_type="token",
            object_id=token.id,
            details={
                "name": name,
                "user": user.email,
                "scopes": list(scopes),
                "expires_at": None if expires_at is None else utc_now(expires_at).isoformat(),
            },
            now=now,
        )
    return token, secret


def authenticate_token(
    engine: Engine, secret: str, *, now: datetime | None = None
) -> TokenAuth | None:
    """The token of an ``Authorization: Bearer`` secret; None when unknown, revoked, expired,
    or its user is inactive or no longer a member."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    now = utc_now(now)
    with read(engine) as conn:
        found = q.token_by_hash(conn, digest(secret))
        if found is None:
            return None
        token = found.token
        if token.revoked_at is not None or (
            token.expires_at is not None and token.expires_at <= now
        ):
            return None
        user = q.get_user(conn, token.user_id)
        role = q.role(conn, user.id, found.workspace_id)
    if not user.is_active or role is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_EVERY:
        with write(engine) as conn:
            q.touch_token(conn, token.id, now)
    if "write" not in token.scopes:
        role = "viewer"
    return TokenAuth(
        token_id=token.id,
        workspace_id=found.workspace_id,
        workspace=token.workspace,
        user=user,
        role=role,
        scopes=token.scopes,
    )


def list_tokens(engine: Engine, workspace: str) -> list[ApiToken]:
    """The API tokens of a workspace, revoked ones included, oldest first."""
    with read(engine) as conn:
        return q.list_tokens(conn, wsq.get_by_name(conn, workspace).id)


def revoke_token(engine: Engine, workspace: str, token_id: int, *, actor: User | str) -> None:
    """Revoke a token (its own user may too; otherwise admin). Revoking twice is harmless."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        token = q.get_token(conn, ws.id, token_id)
        if token is None:
            raise NotFound(f"API token #{token_id} does not exist in this workspace")
        acting = acting_user(conn, actor)
        if acting is None or acting.id != token.user_id:
            require(conn, actor, ws.id, "admin")
        if q.revoke_token(conn, token_id, datetime.now(UTC)):
            record(
                conn,
                workspace_id=ws.id,
                actor=actor,
                action="token.revoke",
                object_type="token",
                object_id=token_id,
                details={"name": token.name},
            )
