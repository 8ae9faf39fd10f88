"""SQL for accounts: users, memberships, web sessions, API tokens, password resets, login
failures and the audit log.

The records of users, memberships, API tokens and audit entries are defined here and
re-exported by :mod:`flocon.services.accounts`. Secrets never reach this layer in clear:
callers pass the SHA-256 of session tokens, API tokens and reset tokens, and argon2 hashes of
passwords.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from flocon.errors import AlreadyExists, NotFound
from flocon.storage.tables import (
    api_tokens,
    audit_log,
    login_failures,
    memberships,
    password_resets,
    users,
    web_sessions,
    workspaces,
)

# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str | None
    locale: str | None
    timezone: str | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Membership:
    workspace_id: int
    workspace: str
    role: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    workspace: str
    user_id: int
    name: str
    #: The first characters of the secret, to recognise it in a list.
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    workspace: str | None
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    user_id: int
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    token: ApiToken
    workspace_id: int


@dataclass(frozen=True, slots=True)
class ResetRow:
    user_id: int
    expires_at: datetime
    used_at: datetime | None


# -- users -----------------------------------------------------------------------------------


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        locale=row.locale,
        timezone=row.timezone,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


_USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.locale,
    users.c.timezone,
    users.c.is_active,
    users.c.created_at,
    users.c.last_login_at,
)


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def lock_users(conn: Connection) -> None:
    """Serialise first-run set-up on PostgreSQL (SQLite write transactions already are)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")


def insert_user(
    conn: Connection,
    *,
    email: str,
    password_hash: str,
    name: str | None,
    locale: str | None,
    timezone: str | None,
    now: datetime,
) -> User:
    values = {
        "email": email,
        "password_hash": password_hash,
        "name": name,
        "locale": locale,
        "timezone": timezone,
        "is_active": True,
        "created_at": now,
    }
    try:
        with conn.begin_nested():
            new_id = conn.execute(insert(users).values(**values).returning(users.c.id)).scalar_one()
    except IntegrityError as exc:
        raise AlreadyExists(f"a user with the e-mail {email!r} already exists") from exc
    return get_user(conn, new_id)


def get_user(conn: Connection, user_id: int) -> User:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user #{user_id} does not exist")
    return _user(row)


def find_user(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.email == email)).first()
    return None if row is None else _user(row)


def credentials(conn: Connection, email: str) -> tuple[User, str] | None:
    """The user with this (lower-cased) e-mail and their password hash."""
    row = conn.execute(
        select(*_USER_COLUMNS, users.c.password_hash).where(users.c.email == email)
    ).first()
    return None if row is None else (_user(row), str(row.password_hash))


def password_hash(conn: Connection, user_id: int) -> str:
    value = conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()
    if value is None:
        raise NotFound(f"user #{user_id} does not exist")
    return str(value)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(*_USER_COLUMNS).order_by(users.c.email))]


def update_user(conn: Connection, user_id: int, **fields: Any) -> None:
    """Set columns of a user (password_hash, locale, timezone, last_login_at, is_active...)."""
    conn.execute(update(users).where(users.c.id == user_id).values(**fields))


# -- memberships -----------------------------------------------------------------------------


def user_memberships(conn: Connection, user_id: int) -> list[Membership]:
    stmt = (
        select(memberships.c.workspace_id, workspaces.c.name, memberships.c.role)
        .join(workspaces, workspaces.c.id == memberships.c.workspace_id)
        .where(memberships.c.user_id == user_id)
        .order_by(workspaces.c.name)
    )
    return [Membership(workspace_id=w, workspace=n, role=r) for w, n, r in conn.execute(stmt)]


def role(conn: Connection, user_id: int, workspace_id: int) -> str | None:
    value = conn.execute(
        select(memberships.c.role).where(
            memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
        )
    ).scalar()
    return None if value is None else str(value)


def members(conn: Connection, workspace_id: int) -> list[tuple[User, str]]:
    stmt = (
        select(*_USER_COLUMNS, memberships.c.role)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.workspace_id == workspace_id)
        .order_by(users.c.email)
    )
    return [(_user(r), str(r.role)) for r in conn.execute(stmt)]


def owners_locked(conn: Connection, workspace_id: int) -> list[int]:
    """The owners of a workspace, their rows locked until the transaction ends (PostgreSQL),
    so that two concurrent demotions cannot both see another owner."""
    stmt = (
        select(memberships.c.user_id)
        .where(memberships.c.workspace_id == workspace_id, memberships.c.role == "owner")
        .with_for_update()
    )
    return [int(u) for u in conn.execute(stmt).scalars()]


def insert_membership(
    conn: Connection, *, user_id: int, workspace_id: int, role: str, now: datetime
) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(memberships).values(
                    user_id=user_id, workspace_id=workspace_id, role=role, created_at=now
                )
            )
    except IntegrityError as exc:
        raise AlreadyExists("this user is already a member of the workspace") from exc


def update_membership(conn: Connection, *, user_id: int, workspace_id: int, role: str) -> None:
    conn.execute(
        update(memberships)
        .where(memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id)
        .values(role=role)
    )


def delete_membership(conn: Connection, *, user_id: int, workspace_id: int) -> None:
    conn.execute(
        delete(memberships).where(
            memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
        )
    )


# -- web sessions ----------------------------------------------------------------------------


def insert_session(
    conn: Connection,
    *,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    user_agent: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(web_sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
        )
    )


def get_session(conn: Connection, token_hash: str) -> SessionRow | None:
    row = conn.execute(
        select(
            web_sessions.c.user_id,
            web_sessions.c.csrf_token,
            web_sessions.c.last_seen_at,
            web_sessions.c.expires_at,
        ).where(web_sessions.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    return SessionRow(
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


def extend_session(
    conn: Connection, token_hash: str, *, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.token_hash == token_hash)
        .values(last_seen_at=now, expires_at=expires_at)
    )


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def delete_user_sessions(conn: Connection, user_id: int, *, keep: str | None = None) -> int:
    """End a user's sessions, except the one whose hash is ``keep``; returns how many."""
    stmt = delete(web_sessions).where(web_sessions.c.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(web_sessions.c.token_hash != keep)
    return int(conn.execute(stmt).rowcount)


def delete_expired_sessions(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(
        delete(web_sessions).where(
            web_sessions.c.user_id == user_id, web_sessions.c.expires_at <= now
        )
    )


# -- API tokens ------------------------------------------------------------------------------


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        workspace=row.workspace,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _tokens() -> Any:
    return select(
        api_tokens.c.id,
        api_tokens.c.workspace_id,
        workspaces.c.name.label("workspace"),
        api_tokens.c.user_id,
        api_tokens.c.name,
        api_tokens.c.prefix,
        api_tokens.c.scopes,
        api_tokens.c.created_at,
        api_tokens.c.expires_at,
        api_tokens.c.last_used_at,
        api_tokens.c.revoked_at,
    ).join(workspaces, workspaces.c.id == api_tokens.c.workspace_id)


def insert_token(
    conn: Connection,
    *,
    workspace_id: int,
    user_id: int,
    name: str,
    token_hash: str,
    prefix: str,
    scopes: tuple[str, ...],
    expires_at: datetime | None,
    now: datetime,
) -> ApiToken:
    new_id = conn.execute(
        insert(api_tokens)
        .values(
            workspace_id=workspace_id,
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            prefix=prefix,
            scopes=" ".join(scopes),
            created_at=now,
            expires_at=expires_at,
        )
        .returning(api_tokens.c.id)
    ).scalar_one()
    found = get_token(conn, workspace_id, new_id)
    assert found is not None
    return found


def get_token(conn: Connection, workspace_id: int, token_id: int) -> ApiToken | None:
    row = conn.execute(
        _tokens().where(api_tokens.c.id == token_id, api_tokens.c.workspace_id == workspace_id)
    ).first()
    return None if row is None else _token(row)


def token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(_tokens().where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else TokenRow(token=_token(row), workspace_id=row.workspace_id)


def list_tokens(conn: Connection, workspace_id: int) -> list[ApiToken]:
    stmt = _tokens().where(api_tokens.c.workspace_id == workspace_id).order_by(api_tokens.c.id)
    return [_token(r) for r in conn.execute(stmt)]


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    """Revoke a token; False when it already was."""
    done = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


# -- password resets -------------------------------------------------------------------------


def insert_reset(
    conn: Connection, *, token_hash: str, user_id: int, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(password_resets).values(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )


def get_reset(conn: Connection, token_hash: str) -> ResetRow | None:
    row = conn.execute(
        select(
            password_resets.c.user_id, password_resets.c.expires_at, password_resets.c.used_at
        ).where(password_resets.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    return ResetRow(user_id=row.user_id, expires_at=row.expires_at, used_at=row.used_at)


def use_reset(conn: Connection, token_hash: str, now: datetime) -> bool:
    """Mark an unused, unexpired reset as used; False when it was not (one use, atomically)."""
    done = conn.execute(
        update(password_resets)
        .where(
            password_resets.c.token_hash == token_hash,
            password_resets.c.used_at.is_(None),
            password_resets.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return bool(done.rowcount)


def use_all_resets(conn: Connection, user_id: int, now: datetime) -> None:
    """Spend every outstanding reset of a user (after a password change)."""
    conn.execute(
        update(password_resets)
        .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
        .values(used_at=now)
    )


# -- login failures --------------------------------------------------------------------------


def failures_since(conn: Connection, key: str, since: datetime) -> list[datetime]:
    """When the failures of ``key`` after ``since`` happened, oldest first."""
    stmt = (
        select(login_failures.c.at)
        .where(login_failures.c.key == key, login_failures.c.at > since)
        .order_by(login_failures.c.at)
    )
    return list(conn.execute(stmt).scalars())


def add_failures(
    conn: Connection, keys: list[str], at: datetime, *, forget_before: datetime
) -> None:
    """Record a failed sign-in under each key, and forget failures older than the window."""
    conn.execute(delete(login_failures).where(login_failures.c.at <= forget_before))
    if keys:
        conn.execute(insert(login_failures), [{"key": k, "at": at} for k in keys])


def clear_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.key == key))


# -- audit log -------------------------------------------------------------------------------


def insert_audit(
    conn: Connection,
    *,
    workspace_id: int | None,
    user_id: int | None,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: Mapping[str, Any],
    at: datetime,
) -> None:
    conn.execute(
        insert(audit_log).values(
            workspace_id=workspace_id,
            user_id=user_id,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=json.dumps(dict(details), sort_keys=True, default=str),
            at=at,
        )
    )


def audit_entries(
    conn: Connection, workspace_id: int, *, limit: int, before_id: int | None
) -> list[AuditEntry]:
    stmt = (
        select(audit_log, workspaces.c.name.label("workspace"))
        .join(workspaces, workspaces.c.id == audit_log.c.workspace_id)
        .where(audit_log.c.workspace_id == workspace_id)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    return [
        AuditEntry(
            id=r.id,
            workspace=r.workspace,
            actor=r.actor,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            details=json.loads(r.details),
            at=r.at,
        )
        for r in conn.execute(stmt)
    ]
