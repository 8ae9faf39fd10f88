"""Passwords: argon2id hashing, signing in with its rate limit, changes and resets."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine

from flocon.services.accounts.audit import record
from flocon.services.accounts.common import (
    InvalidCredentials,
    LoginThrottled,
    PermissionDenied,
    WeakPassword,
    acting_user,
    digest,
    normalize_email,
    utc_now,
)
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q
from flocon.storage.queries.accounts import User

MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024
LOGIN_WINDOW: Final = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL: Final = 5
MAX_FAILURES_PER_CLIENT: Final = 30
RESET_VALIDITY: Final = timedelta(hours=1)


def hasher() -> PasswordHasher:
    """The hasher in use: :data:`flocon.services.accounts.HASHER`, read at each use so that
    tests may replace it with a cheaper one."""
    from flocon.services import accounts

    return accounts.HASHER


def check_password(password: str, *, email: str) -> None:
    """Refuse a new password that is too weak (:class:`WeakPassword`)."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip().lower() == normalize_email(email):
        raise WeakPassword("the password must not be the e-mail address")


def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return hasher().hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: tuple[PasswordHasher, str] | None = None


def _verify_dummy(password: str) -> None:
    """Spend the time of a real check when the user is unknown (no timing oracle on e-mails)."""
    global _dummy
    current = hasher()
    if _dummy is None or _dummy[0] is not current:
        _dummy = (current, current.hash(secrets.token_urlsafe(16)))
    verify_password(_dummy[1], password)


def _throttle(conn: Connection, key: str, limit: int, now: datetime) -> int | None:
    """Seconds to wait when ``key`` has ``limit`` failures in the window, else None."""
    times = q.failures_since(conn, key, now - LOGIN_WINDOW)
    if len(times) < limit:
        return None
    # The window lets a new try in once enough of the counted failures have left it.
    leaves = times[len(times) - limit] + LOGIN_WINDOW
    return max(1, math.ceil((leaves - now).total_seconds()))


def authenticate(
    engine: Engine, *, email: str, password: str, client: str = "", now: datetime | None = None
) -> User:
    """Check an e-mail and password; :class:`InvalidCredentials` or :class:`LoginThrottled`.

    At most 5 failures per e-mail and 30 per client address in 15 minutes; a success clears
    the e-mail's failures, records the sign-in time and upgrades an outdated hash.
    """
    now = utc_now(now)
    address = normalize_email(email)[:320]
    email_key = f"email:{address}"
    keys = [email_key] + ([f"client:{client[:300]}"] if client else [])
    with read(engine) as conn:
        waits = [_throttle(conn, email_key, MAX_FAILURES_PER_EMAIL, now)]
        if client:
            waits.append(_throttle(conn, keys[1], MAX_FAILURES_PER_CLIENT, now))
        wait = max((w for w in waits if w is not None), default=None)
        found = None if wait is not None else q.credentials(conn, address)
    if wait is not None:
        raise LoginThrottled(
            f"too many failed sign-ins: try again in {wait} seconds", retry_after_s=wait
        )
    if found is None:
        _verify_dummy(password)
    if found is None or not (verify_password(found[1], password) and found[0].is_active):
        with write(engine) as conn:
            q.add_failures(conn, keys, now, forget_before=now - LOGIN_WINDOW)
        raise InvalidCredentials("wrong e-mail or password")
    user, hashed = found
    fields: dict[str, Any] = {"last_login_at": now}
    if hasher().check_needs_rehash(hashed):
        fields["password_hash"] = hash_password(password)
    with write(engine) as conn:
        q.clear_failures(conn, email_key)
        q.update_user(conn, user.id, **fields)
        return q.get_user(conn, user.id)


def _store_password(
    conn: Connection, user: User, hashed: str, *, keep_session: str | None, now: datetime
) -> None:
    q.update_user(conn, user.id, password_hash=hashed)
    q.delete_user_sessions(conn, user.id, keep=keep_session)
    q.use_all_resets(conn, user.id, now)


def change_password(
    engine: Engine, user_id: int, *, current: str, new: str, keep_session: str | None = None
) -> None:
    """Change one's own password; ends every other session (``keep_session``: the cookie
    token of the session to keep, if any)."""
    with read(engine) as conn:
        user = q.get_user(conn, user_id)
        hashed = q.password_hash(conn, user_id)
    if not verify_password(hashed, current):
        raise InvalidCredentials("the current password is wrong")
    check_password(new, email=user.email)
    new_hash = hash_password(new)
    now = datetime.now(UTC)
    with write(engine) as conn:
        keep = None if keep_session is None else digest(keep_session)
        _store_password(conn, user, new_hash, keep_session=keep, now=now)
        record(
            conn,
            workspace_id=None,
            actor=user,
            action="password.change",
            object_type="user",
            object_id=user.id,
            now=now,
        )


def set_password(engine: Engine, user_id: int, *, password: str, actor: User | str = "cli") -> None:
    """Give a user a new password (the operator's reset); ends all their sessions."""
    with read(engine) as conn:
        user = q.get_user(conn, user_id)
    check_password(password, email=user.email)
    hashed = hash_password(password)
    now = datetime.now(UTC)
    with write(engine) as conn:
        acting = acting_user(conn, actor)
        if acting is not None and acting.id != user.id:
            raise PermissionDenied("only the operator of the install may set another's password")
        _store_password(conn, user, hashed, keep_session=None, now=now)
        record(
            conn,
            workspace_id=None,
            actor=actor,
            action="password.set",
            object_type="user",
            object_id=user.id,
            details={"email": user.email},
            now=now,
        )


def request_password_reset(
    engine: Engine, email: str, *, now: datetime | None = None
) -> str | None:
    """A one-use reset token valid for an hour, to send by e-mail; None when no active user
    has this e-mail (callers must answer the same either way)."""
    now = utc_now(now)
    with read(engine) as conn:
        user = q.find_user(conn, normalize_email(email))
    if user is None or not user.is_active:
        return None
    token = secrets.token_urlsafe(32)
    with write(engine) as conn:
        q.insert_reset(
            conn,
            token_hash=digest(token),
            user_id=user.id,
            now=now,
            expires_at=now + RESET_VALIDITY,
        )
        record(
            conn,
            workspace_id=None,
            actor="anonymous",
            action="password.reset_request",
            object_type="user",
            object_id=user.id,
            now=now,
        )
    return token


def reset_password(
    engine: Engine, token: str, new_password: str, *, now: datetime | None = None
) -> User:
    """Set a new password from a reset token (one use); ends every session of the user.
    :class:`InvalidCredentials` when the token is unknown, used or expired."""
    now = utc_now(now)
    token_hash = digest(token)
    invalid = InvalidCredentials("this password-reset link is invalid or has expired")
    with read(engine) as conn:
        reset = q.get_reset(conn, token_hash)
        if reset is None or reset.used_at is not None or reset.expires_at <= now:
            raise invalid
        user = q.get_user(conn, reset.user_id)
    if not user.is_active:
        raise invalid
    check_password(new_password, email=user.email)
    hashed = hash_password(new_password)
    with write(engine) as conn:
        if not q.use_reset(conn, token_hash, now):
            raise invalid
        _store_password(conn, user, hashed, keep_session=None, now=now)
        record(
            conn,
            workspace_id=None,
            actor=user,
            action="password.reset",
            object_type="user",
            object_id=user.id,
            now=now,
        )
    return user
