"""Memberships: who belongs to which workspace with which role, and the rules of changing it
(admins manage members; only owners touch owners; a workspace always keeps an owner)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from flocon.errors import NotFound
from flocon.services.accounts.audit import record
from flocon.services.accounts.common import (
    LastOwner,
    PermissionDenied,
    acting_user,
    check_role,
    normalize_email,
    require,
)
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import Membership, User


def memberships(engine: Engine, user_id: int) -> list[Membership]:
    """The workspaces of a user and their role in each, by workspace name."""
    with read(engine) as conn:
        return q.user_memberships(conn, user_id)


def role_in(engine: Engine, user_id: int, workspace: str) -> str | None:
    with read(engine) as conn:
        try:
            ws = wsq.get_by_name(conn, workspace)
        except NotFound:
            return None
        return q.role(conn, user_id, ws.id)


def list_members(engine: Engine, workspace: str) -> list[tuple[User, str]]:
    """The members of a workspace with their roles, by e-mail."""
    with read(engine) as conn:
        return q.members(conn, wsq.get_by_name(conn, workspace).id)


def add_member(engine: Engine, workspace: str, *, email: str, role: str, actor: User | str) -> None:
    """Make an existing user a member. Needs admin; granting owner needs owner.
    :class:`NotFound` for an unknown user, :class:`AlreadyExists` if already a member."""
    check_role(role)
    address = normalize_email(email)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        mine = require(conn, actor, ws.id, "admin")
        if role == "owner" and mine not in (None, "owner"):
            raise PermissionDenied("only an owner may make someone an owner")
        user = q.find_user(conn, address)
        if user is None:
            raise NotFound(f"no user with the e-mail {address!r}: create the account first")
        q.insert_membership(
            conn, user_id=user.id, workspace_id=ws.id, role=role, now=datetime.now(UTC)
        )
        record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="member.add",
            object_type="user",
            object_id=user.id,
            details={"email": user.email, "role": role},
        )


def _change_member(
    conn: Connection, ws_id: int, *, user_id: int, role: str | None, actor: User | str
) -> tuple[User, str]:
    """Checks shared by set_role and remove_member (role None: removal)."""
    user = q.get_user(conn, user_id)
    current = q.role(conn, user_id, ws_id)
    if current is None:
        raise NotFound(f"{user.email} is not a member of this workspace")
    acting = acting_user(conn, actor)
    leaving = role is None and acting is not None and acting.id == user_id
    mine = require(conn, actor, ws_id, "viewer" if leaving else "admin")
    if mine not in (None, "owner") and "owner" in (current, role):
        raise PermissionDenied("only an owner may change an owner's role or give that role")
    if current == "owner" and role != "owner" and q.owners_locked(conn, ws_id) == [user_id]:
        raise LastOwner("a workspace needs an owner: make someone else owner first")
    return user, current


def set_role(engine: Engine, workspace: str, *, user_id: int, role: str, actor: User | str) -> None:
    """Change a member's role; never leaves the workspace without an owner (:class:`LastOwner`)."""
    check_role(role)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        user, current = _change_member(conn, ws.id, user_id=user_id, role=role, actor=actor)
        if current == role:
            return
        q.update_membership(conn, user_id=user_id, workspace_id=ws.id, role=role)
        record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="member.role",
            object_type="user",
            object_id=user_id,
            details={"email": user.email, "from": current, "to": role},
        )


def remove_member(engine: Engine, workspace: str, *, user_id: int, actor: User | str) -> None:
    """Remove a member (a member may also leave); never the last owner (:class:`LastOwner`)."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        user, current = _change_member(conn, ws.id, user_id=user_id, role=None, actor=actor)
        q.delete_membership(conn, user_id=user_id, workspace_id=ws.id)
        record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="member.remove",
            object_type="user",
            object_id=user_id,
            details={"email": user.email, "role": current},
        )
