"""Accounts of the web app: users and their argon2 passwords, roles per workspace, browser
sessions, API tokens, password resets, the login rate limit and the audit log.

Every write records an audit entry in its own transaction; secrets (passwords, session,
reset and API tokens) never appear in it, nor in logs. Only SHA-256 digests of tokens are
stored, so a copy of the database opens no session and holds no usable token.

Roles, in ascending power: viewer, agent, manager, admin, owner (see docs/accounts.md).
An ``actor`` is the :class:`User` acting, or a string: an e-mail names that user (whose role
is then checked), any other string (``"cli"``) is the operator of the install, who may do
anything.

The password hasher is :data:`HASHER` (argon2id with argon2-cffi's default, production-grade
parameters); tests may replace it with a cheaper one (hashes record their parameters, so
hashes made with either still verify).
"""

from __future__ import annotations

from argon2 import PasswordHasher

from flocon.services.accounts.audit import audit_events, record
from flocon.services.accounts.common import (
    LOCALES,
    ROLES,
    SCOPES,
    InvalidCredentials,
    LastOwner,
    LoginThrottled,
    PermissionDenied,
    SessionInfo,
    TokenAuth,
    WeakPassword,
    role_at_least,
)
from flocon.services.accounts.members import (
    add_member,
    list_members,
    memberships,
    remove_member,
    role_in,
    set_role,
)
from flocon.services.accounts.passwords import (
    authenticate,
    change_password,
    check_password,
    request_password_reset,
    reset_password,
    set_password,
)
from flocon.services.accounts.sessions import (
    end_all_sessions,
    end_session,
    session_info,
    start_session,
)
from flocon.services.accounts.tokens import (
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)
from flocon.services.accounts.users import (
    create_user,
    find_user,
    get_user,
    has_users,
    list_users,
    set_preferences,
    setup_owner,
)
from flocon.storage.queries.accounts import ApiToken, AuditEntry, Membership, User

#: The password hasher, read at each use (see the module docstring).
HASHER: PasswordHasher = PasswordHasher()

__all__ = [
    "HASHER",
    "LOCALES",
    "ROLES",
    "SCOPES",
    "ApiToken",
    "AuditEntry",
    "InvalidCredentials",
    "LastOwner",
    "LoginThrottled",
    "Membership",
    "PermissionDenied",
    "SessionInfo",
    "TokenAuth",
    "User",
    "WeakPassword",
    "add_member",
    "audit_events",
    "authenticate",
    "authenticate_token",
    "change_password",
    "check_password",
    "create_token",
    "create_user",
    "end_all_sessions",
    "end_session",
    "find_user",
    "get_user",
    "has_users",
    "list_members",
    "list_tokens",
    "list_users",
    "memberships",
    "record",
    "remove_member",
    "request_password_reset",
    "reset_password",
    "revoke_token",
    "role_at_least",
    "role_in",
    "session_info",
    "set_password",
    "set_preferences",
    "set_role",
    "setup_owner",
    "start_session",
]
