"""REST API v1 schemas of the workspace's members, API tokens, audit log and the caller
(``/me``), and the offset cursors of short lists (inputs refuse unknown fields)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from flocon.errors import ConfigError
from flocon.services import accounts

Role = Literal["viewer", "agent", "manager", "admin", "owner"]
Scope = Literal["read", "write"]
T = TypeVar("T")

#: Largest and default page sizes of every list of the API.
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


# -- cursors of lists read whole (members, tokens, rules) -------------------------------------


def encode_offset(offset: int) -> str:
    """The opaque cursor of the ``offset``-th item of a list."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int:
    """The offset of a cursor made by :func:`encode_offset` (0 for none)."""
    if not cursor:
        return 0
    bad = ConfigError("this cursor is damaged or out of date: start again from the first page")
    if len(cursor) > 40:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad from exc
    if not raw.startswith("o") or not raw[1:].isdigit():
        raise bad
    return int(raw[1:])


def slice_page(items: Sequence[T], cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    """One page of a list read whole, and the cursor of the next one (None: the last)."""
    start = decode_offset(cursor)
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return chunk, encode_offset(start + limit) if more else None


# -- members ----------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    email: str
    name: str | None
    locale: str | None
    timezone: str | None
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: accounts.User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            locale=user.locale,
            timezone=user.timezone,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class MemberOut(BaseModel):
    """A member of the workspace and their role."""

    user: UserOut
    role: str


class MemberCreated(MemberOut):
    """A member just added. When the e-mail had no account, one was created:
    ``invited`` tells whether a link to choose a password was e-mailed; otherwise
    ``temporary_password`` is shown this once (give it to them; they change it)."""

    created: bool
    invited: bool
    temporary_password: str | None


class MemberList(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class MemberCreate(BaseModel):
    """Add a member by e-mail; an unknown e-mail gets an account. Admins cannot grant owner."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: Role = "viewer"
    name: str | None = Field(default=None, max_length=200)


class MemberUpdate(BaseModel):
    """Change a member's role (a workspace always keeps an owner)."""

    model_config = ConfigDict(extra="forbid")

    role: Role


# -- API tokens -------------------------------------------------------------------------------


class TokenOut(BaseModel):
    """An API token, without its secret (only its first characters, ``prefix``)."""

    id: int
    name: str
    user_id: int
    user: str | None = Field(description="The e-mail of the user the token acts as.")
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: accounts.ApiToken, emails: dict[int, str]) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            user_id=token.user_id,
            user=emails.get(token.user_id),
            prefix=token.prefix,
            scopes=list(token.scopes),
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenOut):
    """A new token with its secret: shown this once, never again."""

    secret: str


class TokenList(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None


def _read_only() -> list[Scope]:
    return ["read"]


class TokenCreate(BaseModel):
    """A new API token acting as ``user_id`` (default: the caller) in this workspace.
    ``write`` needs that user to be an agent or above."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=_read_only, min_length=1)
    user_id: int | None = None
    expires_at: datetime | None = None


# -- audit log and the caller -----------------------------------------------------------------


class AuditOut(BaseModel):
    """Who did what, when (no secret is ever recorded)."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: accounts.AuditEntry) -> AuditOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            details=entry.details,
        )


class AuditList(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


class WorkspaceRole(BaseModel):
    workspace: str
    role: str


class TokenInfo(BaseModel):
    id: int
    scopes: list[str]


class MeOut(BaseModel):
    """The caller: their account and their workspaces with their role in each (with an API
    token: its workspace only, and the role it acts with)."""

    user: UserOut
    workspaces: list[WorkspaceRole]
    token: TokenInfo | None
