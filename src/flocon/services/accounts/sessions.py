"""Browser sessions: opened at sign-in, sliding, ended at sign-out or on a password change."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine

from flocon.services.accounts.common import InvalidCredentials, SessionInfo, digest, utc_now
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q


def start_session(
    engine: Engine,
    user_id: int,
    *,
    user_agent: str | None = None,
    now: datetime | None = None,
    days: int = 14,
) -> tuple[str, str]:
    """Open a browser session; returns (cookie token, CSRF token). Only the cookie token's
    SHA-256 is stored."""
    if days <= 0:
        raise ValueError("a session lasts at least a day")
    now = utc_now(now)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with write(engine) as conn:
        if not q.get_user(conn, user_id).is_active:
            raise InvalidCredentials("this account is disabled")
        q.delete_expired_sessions(conn, user_id, now)
        q.insert_session(
            conn,
            token_hash=digest(token),
            user_id=user_id,
            csrf_token=csrf,
            user_agent=(user_agent or "")[:300] or None,
            now=now,
            expires_at=now + timedelta(days=days),
        )
    return token, csrf


def session_info(engine: Engine, token: str, *, now: datetime | None = None) -> SessionInfo | None:
    """The session of a cookie token; None when unknown, expired or the user is inactive.

    Sliding: once less than half of its lifetime is left, the session is renewed for a whole
    lifetime (``last_seen_at`` marks the renewal, so the lifetime is ``expires - last_seen``).
    """
    now = utc_now(now)
    token_hash = digest(token)
    with read(engine) as conn:
        session = q.get_session(conn, token_hash)
        if session is None or session.expires_at <= now:
            return None
        user = q.get_user(conn, session.user_id)
    if not user.is_active:
        return None
    expires_at = session.expires_at
    lifetime = session.expires_at - session.last_seen_at
    if expires_at - now < lifetime / 2:
        expires_at = now + lifetime
        with write(engine) as conn:
            q.extend_session(conn, token_hash, now=now, expires_at=expires_at)
    return SessionInfo(user=user, csrf_token=session.csrf_token, expires_at=expires_at)


def end_session(engine: Engine, token: str) -> None:
    with write(engine) as conn:
        q.delete_session(conn, digest(token))


def end_all_sessions(engine: Engine, user_id: int) -> int:
    """Sign a user out everywhere; returns how many sessions ended."""
    with write(engine) as conn:
        return q.delete_user_sessions(conn, user_id)
