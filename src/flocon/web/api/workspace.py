"""REST API v1: the caller (``GET /api/v1/me``) and, per workspace, its members and roles,
API tokens and audit log (admin and above).

This router has no prefix: its paths carry ``/workspaces/{ws}`` themselves, so that ``/me``
lives on it too and nothing else has to be registered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from flocon.services import accounts
from flocon.web.api.schemas_workspace import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    AuditList,
    AuditOut,
    MemberCreate,
    MemberCreated,
    MemberList,
    MemberOut,
    MemberUpdate,
    MeOut,
    TokenCreate,
    TokenCreated,
    TokenInfo,
    TokenList,
    TokenOut,
    UserOut,
    WorkspaceRole,
    decode_offset,
    encode_offset,
    slice_page,
)
from flocon.web.deps import Ctx, as_admin, current_viewer
from flocon.web.ui import settings as actions

router = APIRouter(tags=["workspace"])

WS = "/workspaces/{ws}"
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="The previous page's next_cursor.")]


@router.get("/me", response_model=MeOut)
def me(request: Request) -> MeOut:
    """The caller: their account and workspaces with their role in each. With an API token:
    only the token's workspace, with the role the token acts with (viewer for a read token)."""
    viewer = current_viewer(request)
    token = viewer.token
    return MeOut(
        user=UserOut.of(viewer.user),
        workspaces=[WorkspaceRole(workspace=m.workspace, role=m.role) for m in viewer.memberships],
        token=TokenInfo(id=token.token_id, scopes=list(token.scopes)) if token else None,
    )


# -- members ----------------------------------------------------------------------------------


@router.get(f"{WS}/members", response_model=MemberList)
def list_members(
    ctx: Annotated[Ctx, Depends(as_admin)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> MemberList:
    """Members and their roles, by e-mail (admin or above)."""
    members = accounts.list_members(ctx.engine, ctx.workspace)
    items, nxt = slice_page(members, cursor, limit)
    return MemberList(
        items=[MemberOut(user=UserOut.of(u), role=r) for u, r in items], next_cursor=nxt
    )


@router.post(f"{WS}/members", response_model=MemberCreated, status_code=201)
def add_member(
    request: Request, ctx: Annotated[Ctx, Depends(as_admin)], body: MemberCreate
) -> MemberCreated:
    """Add a member by e-mail (admin or above; only an owner grants owner). An e-mail
    without an account gets one: with SMTP set, a link to choose a password is e-mailed;
    otherwise ``temporary_password`` is answered this once."""
    added = actions.add_member(
        ctx, email=body.email, role=body.role, name=body.name, base_url=str(request.base_url)
    )
    return MemberCreated(
        user=UserOut.of(added.user),
        role=added.role,
        created=added.created,
        invited=added.invited,
        temporary_password=added.temporary_password,
    )


@router.patch(f"{WS}/members/{{user_id}}", response_model=MemberOut)
def change_role(
    ctx: Annotated[Ctx, Depends(as_admin)], user_id: int, body: MemberUpdate
) -> MemberOut:
    """Change a member's role (admin or above; owners only by an owner; a workspace always
    keeps an owner)."""
    user, role = actions.change_role(ctx, user_id, body.role)
    return MemberOut(user=UserOut.of(user), role=role)


@router.delete(f"{WS}/members/{{user_id}}", response_model=MemberOut)
def remove_member(ctx: Annotated[Ctx, Depends(as_admin)], user_id: int) -> MemberOut:
    """Remove a member (admin or above; never the last owner); answers who was removed."""
    _user, role = actions.member_of(ctx, user_id)
    user = actions.remove_member(ctx, user_id)
    return MemberOut(user=UserOut.of(user), role=role)


# -- API tokens -------------------------------------------------------------------------------


def _emails(ctx: Ctx) -> dict[int, str]:
    return {u.id: u.email for u, _r in accounts.list_members(ctx.engine, ctx.workspace)}


@router.get(f"{WS}/tokens", response_model=TokenList)
def list_tokens(
    ctx: Annotated[Ctx, Depends(as_admin)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> TokenList:
    """API tokens of the workspace, revoked ones included, oldest first; never their secret."""
    emails = _emails(ctx)
    items, nxt = slice_page(accounts.list_tokens(ctx.engine, ctx.workspace), cursor, limit)
    return TokenList(items=[TokenOut.of(t, emails) for t in items], next_cursor=nxt)


@router.post(f"{WS}/tokens", response_model=TokenCreated, status_code=201)
def create_token(ctx: Annotated[Ctx, Depends(as_admin)], body: TokenCreate) -> TokenCreated:
    """Create an API token (admin or above). Its ``secret`` is in this answer only."""
    token, secret = actions.create_token(
        ctx,
        name=body.name,
        scopes=list(body.scopes),
        user_id=body.user_id,
        expires_at=body.expires_at,
    )
    return TokenCreated(**TokenOut.of(token, _emails(ctx)).model_dump(), secret=secret)


@router.delete(f"{WS}/tokens/{{token_id}}", response_model=TokenOut)
def revoke_token(ctx: Annotated[Ctx, Depends(as_admin)], token_id: int) -> TokenOut:
    """Revoke an API token (admin or above): it answers 401 from now on."""
    return TokenOut.of(actions.revoke_token(ctx, token_id), _emails(ctx))


# -- audit log --------------------------------------------------------------------------------


@router.get(f"{WS}/audit", response_model=AuditList)
def audit_log(
    ctx: Annotated[Ctx, Depends(as_admin)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> AuditList:
    """Who did what and when in the workspace, newest first (admin or above)."""
    before = decode_offset(cursor) or None
    rows, older = actions.audit_page(ctx, before=before, limit=limit)
    return AuditList(
        items=[AuditOut.of(e) for e in rows],
        next_cursor=encode_offset(older) if older else None,
    )
