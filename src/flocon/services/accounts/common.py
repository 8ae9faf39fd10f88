"""Shared pieces of the accounts layer: roles, errors, records, and checks of values and
of the acting user's role."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from flocon.errors import ConfigError, FloconError
from flocon.storage.queries import accounts as q
from flocon.storage.queries.accounts import User

ROLES: Final[tuple[str, ...]] = ("viewer", "agent", "manager", "admin", "owner")
RANK: Final = {r: i for i, r in enumerate(ROLES)}
SCOPES: Final[tuple[str, ...]] = ("read", "write")
LOCALES: Final[tuple[str, ...]] = ("en", "fr")


# The HTML living standard's e-mail syntax (what a browser's type=email accepts).
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class InvalidCredentials(FloconError):
    """Wrong e-mail or password, an inactive user, or a bad or expired reset link."""


class LoginThrottled(FloconError):
    """Too many failed sign-ins lately; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermissionDenied(FloconError):
    """The actor's role is too low for this (the web answers 403)."""


class WeakPassword(FloconError):
    """A new password is too short, too long, or equal to the e-mail."""


class LastOwner(FloconError):
    """The change would leave a workspace without an owner."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user: User
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenAuth:
    token_id: int
    workspace_id: int
    workspace: str
    user: User
    #: The user's role in the workspace, capped at "viewer" when the token cannot write.
    role: str
    scopes: tuple[str, ...]


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` (None: not a member) is ``needed`` or above."""
    if needed not in RANK:
        raise ValueError(f"unknown role {needed!r}")
    return role is not None and RANK.get(role, -1) >= RANK[needed]


def check_role(role: str) -> str:
    if role not in RANK:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime; use UTC-aware datetimes")
    return now.astimezone(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: str) -> str:
    address = normalize_email(email)
    if len(address) > 320 or not _EMAIL.match(address):
        raise ConfigError(f"{email.strip()!r} is not a valid e-mail address")
    return address


def check_locale(locale: str | None) -> str | None:
    if locale is not None and locale not in LOCALES:
        raise ConfigError(f"unknown language {locale!r}: use one of {', '.join(LOCALES)}")
    return locale


def check_timezone(timezone: str | None) -> str | None:
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {timezone!r} (e.g. Europe/Paris)") from exc
    return timezone


def acting_user(conn: Connection, actor: User | str) -> User | None:
    """The user behind ``actor``, or None for the install's operator."""
    if isinstance(actor, User):
        return actor
    if "@" not in actor:
        return None
    found = q.find_user(conn, normalize_email(actor))
    if found is None:
        raise PermissionDenied(f"unknown actor {actor!r}")
    return found


def require(conn: Connection, actor: User | str, workspace_id: int, needed: str) -> str | None:
    """Check the actor's role in the workspace; returns it (None for the operator)."""
    user = acting_user(conn, actor)
    if user is None:
        return None
    current = q.get_user(conn, user.id)
    role = q.role(conn, user.id, workspace_id) if current.is_active else None
    if not role_at_least(role, needed):
        raise PermissionDenied(f"this needs the {needed} role or above; yours is {role or 'none'}")
    return role
