"""Users: creation (and the first-run owner), look-ups and preferences."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from flocon.errors import AlreadyExists, NotFound
from flocon.services.accounts.audit import record
from flocon.services.accounts.common import (
    check_locale,
    check_timezone,
    normalize_email,
    valid_email,
)
from flocon.services.accounts.passwords import check_password, hash_password
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User

log = logging.getLogger(__name__)


def has_users(engine: Engine) -> bool:
    with read(engine) as conn:
        return q.count_users(conn) > 0


def create_user(
    engine: Engine,
    *,
    email: str,
    password: str,
    name: str | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    actor: User | str = "cli",
) -> User:
    """Create a user (no membership yet); :class:`AlreadyExists` if the e-mail is taken."""
    address = valid_email(email)
    check_password(password, email=address)
    name = (name or "").strip() or None
    check_locale(locale)
    check_timezone(timezone)
    if find_user(engine, address) is not None:
        raise AlreadyExists(f"a user with the e-mail {address!r} already exists")
    hashed = hash_password(password)
    now = datetime.now(UTC)
    with write(engine) as conn:
        user = q.insert_user(
            conn,
            email=address,
            password_hash=hashed,
            name=name,
            locale=locale,
            timezone=timezone,
            now=now,
        )
        record(
            conn,
            workspace_id=None,
            actor=actor,
            action="user.create",
            object_type="user",
            object_id=user.id,
            details={"email": address, "name": name},
            now=now,
        )
    log.info("user #%d created", user.id)
    return user


def setup_owner(
    engine: Engine,
    *,
    email: str,
    password: str,
    name: str | None = None,
    workspace: str = "default",
) -> User:
    """First run: create the first user as the owner of ``workspace`` (created if missing)
    and of every other workspace that exists already (made on the command line before anyone
    could sign in). :class:`AlreadyExists` once any user exists."""
    address = valid_email(email)
    check_password(password, email=address)
    name = (name or "").strip() or None
    hashed = hash_password(password)
    now = datetime.now(UTC)
    with write(engine) as conn:
        q.lock_users(conn)
        if q.count_users(conn) > 0:
            raise AlreadyExists("flocon is already set up: sign in with an existing account")
        try:
            ws = wsq.get_by_name(conn, workspace)
        except NotFound:
            ws = wsq.create(conn, workspace)
        user = q.insert_user(
            conn,
            email=address,
            password_hash=hashed,
            name=name,
            locale=None,
            timezone=None,
            now=now,
        )
        q.insert_membership(conn, user_id=user.id, workspace_id=ws.id, role="owner", now=now)
        for other in wsq.list_all(conn):
            if other.id != ws.id:
                q.insert_membership(
                    conn, user_id=user.id, workspace_id=other.id, role="owner", now=now
                )
        record(
            conn,
            workspace_id=ws.id,
            actor=user,
            action="setup",
            object_type="user",
            object_id=user.id,
            details={"email": address, "role": "owner"},
            now=now,
        )
    return user


def get_user(engine: Engine, user_id: int) -> User:
    with read(engine) as conn:
        return q.get_user(conn, user_id)


def find_user(engine: Engine, email: str) -> User | None:
    with read(engine) as conn:
        return q.find_user(conn, normalize_email(email))


def list_users(engine: Engine) -> list[User]:
    """Every user of the install, by e-mail."""
    with read(engine) as conn:
        return q.list_users(conn)


def set_preferences(
    engine: Engine, user_id: int, *, locale: str | None, timezone: str | None
) -> User:
    """Set (or clear, with None) the user's language and time zone."""
    check_locale(locale)
    check_timezone(timezone)
    with write(engine) as conn:
        user = q.get_user(conn, user_id)
        q.update_user(conn, user_id, locale=locale, timezone=timezone)
        record(
            conn,
            workspace_id=None,
            actor=user,
            action="user.preferences",
            object_type="user",
            object_id=user_id,
            details={"locale": locale, "timezone": timezone},
        )
        return q.get_user(conn, user_id)
