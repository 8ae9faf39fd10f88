"""Pages: settings. Everyone's own preferences (language, time zone, password); members and
roles, API tokens and the audit log (admin and above); where the alert rules send
(notification channels, manager and above).

Adding a member by an e-mail without an account creates the account with a random
temporary password. When SMTP is set, the new member gets an e-mail with a link to choose
their own password (valid one hour; "forgot your password?" sends another); otherwise, or
if the e-mail cannot be sent, the temporary password is shown once to the admin, who passes
it on. An API token's secret is shown once, when it is created. The actions at the end are
shared with the REST API (flocon.web.api.workspace).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.alerting.channels import EmailChannel, Message, SmtpConfig
from flocon.errors import AlreadyExists, ConfigError, FloconError, NotFound
from flocon.services import accounts, alerting
from flocon.web.deps import SESSION_COOKIE, Ctx, as_admin, as_manager, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import LANG_COOKIE, TZ_COOKIE, csrf_protect, is_secure

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

AUDIT_PAGE = 50
YEAR_S = 365 * 24 * 3600


# -- actions shared with the REST API ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberAdded:
    """A member just added; a new account's temporary password is only here (or None when
    an invitation e-mail went out instead)."""

    user: accounts.User
    role: str
    created: bool
    invited: bool
    temporary_password: str | None


def _send_invitation(ctx: Ctx, user: accounts.User, base_url: str) -> bool:
    """E-mail a new member a link to choose their password; False when it could not go."""
    token = accounts.request_password_reset(ctx.engine, user.email)
    if token is None:
        return False
    base = ctx.settings.web_base_url.rstrip("/") or base_url.rstrip("/")
    link = f"{base}/password/reset/{token}"
    message = Message(
        subject=_("flocon: you were added to the workspace %(ws)s", ws=ctx.workspace),
        text=_(
            "%(who)s added you to the flocon workspace %(ws)s. To choose your password, open "
            "this link within an hour:\n\n%(link)s\n\nWhen it has expired, ask for a new one "
            'with "Forgot your password?" on the sign-in page.',
            who=ctx.actor,
            ws=ctx.workspace,
            link=link,
        ),
        payload={},
        url=link,
    )
    try:
        attempt = EmailChannel(SmtpConfig.from_settings(ctx.settings), [user.email]).send(message)
    except ConfigError as exc:
        logger.warning("invitation e-mail not sent: %s", exc)
        return False
    if not attempt.ok:
        logger.warning("invitation e-mail not sent: %s", attempt.detail)
    return attempt.ok


def add_member(
    ctx: Ctx, *, email: str, role: str, name: str | None = None, base_url: str = ""
) -> MemberAdded:
    """Add a member by e-mail (admin+; owner needs owner), creating the account when the
    e-mail has none."""
    ctx.require("admin")
    if role not in accounts.ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(accounts.ROLES)}")
    if role == "owner" and not ctx.can("owner"):
        raise accounts.PermissionDenied("only an owner may make someone an owner")
    user = accounts.find_user(ctx.engine, email)
    created, temporary, invited = False, None, False
    if user is None:
        temporary = secrets.token_urlsafe(12)
        user = accounts.create_user(
            ctx.engine, email=email, password=temporary, name=name, actor=ctx.viewer.user
        )
        created = True
    elif accounts.role_in(ctx.engine, user.id, ctx.workspace) is not None:
        raise AlreadyExists(f"{user.email} is already a member of this workspace")
    accounts.add_member(
        ctx.engine, ctx.workspace, email=user.email, role=role, actor=ctx.viewer.user
    )
    if created and ctx.settings.smtp_host and _send_invitation(ctx, user, base_url):
        invited, temporary = True, None
    return MemberAdded(
        user=user, role=role, created=created, invited=invited, temporary_password=temporary
    )


def member_of(ctx: Ctx, user_id: int) -> tuple[accounts.User, str]:
    """A member of the workspace and their role (:class:`NotFound` otherwise)."""
    for user, role in accounts.list_members(ctx.engine, ctx.workspace):
        if user.id == user_id:
            return user, role
    raise NotFound(f"user {user_id} is not a member of this workspace")


def change_role(ctx: Ctx, user_id: int, role: str) -> tuple[accounts.User, str]:
    ctx.require("admin")
    member_of(ctx, user_id)
    accounts.set_role(ctx.engine, ctx.workspace, user_id=user_id, role=role, actor=ctx.viewer.user)
    return member_of(ctx, user_id)


def remove_member(ctx: Ctx, user_id: int) -> accounts.User:
    ctx.require("admin")
    user, _role = member_of(ctx, user_id)
    accounts.remove_member(ctx.engine, ctx.workspace, user_id=user_id, actor=ctx.viewer.user)
    return user


def token_of(ctx: Ctx, token_id: int) -> accounts.ApiToken:
    for token in accounts.list_tokens(ctx.engine, ctx.workspace):
        if token.id == token_id:
            return token
    raise NotFound(f"API token #{token_id} does not exist in this workspace")


def create_token(
    ctx: Ctx,
    *,
    name: str,
    scopes: list[str],
    user_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[accounts.ApiToken, str]:
    """A new API token (admin+), acting as ``user_id`` (default: the caller); returns the
    secret, to show once."""
    ctx.require("admin")
    owner = user_id if user_id is not None else ctx.viewer.user.id
    member_of(ctx, owner)
    return accounts.create_token(
        ctx.engine,
        ctx.workspace,
        user_id=owner,
        name=name,
        scopes=scopes,
        expires_at=expires_at,
        actor=ctx.viewer.user,
    )


def revoke_token(ctx: Ctx, token_id: int) -> accounts.ApiToken:
    ctx.require("admin")
    token_of(ctx, token_id)
    accounts.revoke_token(ctx.engine, ctx.workspace, token_id, actor=ctx.viewer.user)
    return token_of(ctx, token_id)


def audit_page(
    ctx: Ctx, *, before: int | None, limit: int
) -> tuple[list[accounts.AuditEntry], int | None]:
    """One page of the audit log, newest first, and the id to page back from (None: end)."""
    ctx.require("admin")
    rows = accounts.audit_events(ctx.engine, ctx.workspace, limit=limit + 1, before_id=before)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


# -- pages -----------------------------------------------------------------------------------


@cache
def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def _notice(done: str) -> str | None:
    return {
        "prefs": _("Your preferences are saved."),
        "password": _("Your password is changed; your other sessions are signed out."),
        "role": _("Role changed."),
        "removed": _("Member removed."),
        "revoked": _("Token revoked."),
    }.get(done)


def _self_only(ctx: Ctx) -> None:
    if ctx.viewer.token is not None:
        raise accounts.PermissionDenied("an API token cannot change a user's own settings")


def _preferences_page(
    request: Request, ctx: Ctx, *, status_code: int = 200, error: str | None = None, done: str = ""
) -> HTMLResponse:
    return page(
        request,
        "settings/preferences.html",
        ctx=ctx,
        status_code=status_code,
        current="preferences",
        user=ctx.viewer.user,
        zones=_zones(),
        error=error,
        notice=_notice(done),
    )


@router.get("/settings", response_class=HTMLResponse, include_in_schema=False)
def preferences_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], done: str = ""
) -> HTMLResponse:
    return _preferences_page(request, ctx, done=done)


@router.post("/settings/preferences", include_in_schema=False)
def save_preferences(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    locale: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    _self_only(ctx)
    try:
        accounts.set_preferences(
            ctx.engine,
            ctx.viewer.user.id,
            locale=locale or None,
            timezone=timezone.strip() or None,
        )
    except FloconError as exc:
        return _preferences_page(request, ctx, status_code=400, error=str(exc))
    response = RedirectResponse(f"/w/{ctx.workspace}/settings?done=prefs", status_code=303)
    secure = is_secure(request.scope, ctx.settings)
    for cookie, value in ((LANG_COOKIE, locale), (TZ_COOKIE, timezone.strip())):
        if value:
            response.set_cookie(cookie, value, max_age=YEAR_S, samesite="lax", secure=secure)
        else:
            response.delete_cookie(cookie, path="/")
    return response


@router.post("/settings/password", include_in_schema=False)
def change_password(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    current: Annotated[str, Form()],
    password: Annotated[str, Form()],
    password2: Annotated[str, Form()],
) -> Response:
    _self_only(ctx)
    if password != password2:
        return _preferences_page(
            request, ctx, status_code=400, error=_("The two new passwords differ.")
        )
    try:
        accounts.change_password(
            ctx.engine,
            ctx.viewer.user.id,
            current=current,
            new=password,
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except accounts.InvalidCredentials:
        return _preferences_page(
            request, ctx, status_code=400, error=_("The current password is wrong.")
        )
    except FloconError as exc:
        return _preferences_page(request, ctx, status_code=400, error=str(exc))
    return RedirectResponse(f"/w/{ctx.workspace}/settings?done=password", status_code=303)


def _members_page(
    request: Request,
    ctx: Ctx,
    *,
    status_code: int = 200,
    error: str | None = None,
    added: MemberAdded | None = None,
    done: str = "",
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    grantable = [r for r in accounts.ROLES if r != "owner" or ctx.can("owner")]
    return page(
        request,
        "settings/members.html",
        ctx=ctx,
        status_code=status_code,
        headers={"Cache-Control": "no-store"} if added else None,
        current="members",
        members=accounts.list_members(ctx.engine, ctx.workspace),
        roles=accounts.ROLES,
        grantable=grantable,
        me=ctx.viewer.user.id,
        error=error,
        added=added,
        values=values or {"email": "", "name": "", "role": "viewer"},
        smtp=bool(ctx.settings.smtp_host),
        notice=_notice(done),
    )


@router.get("/settings/members", response_class=HTMLResponse, include_in_schema=False)
def members_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_admin)], done: str = ""
) -> HTMLResponse:
    return _members_page(request, ctx, done=done)


@router.post("/settings/members", include_in_schema=False)
def add_member_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    email: Annotated[str, Form()],
    role: Annotated[str, Form()] = "viewer",
    name: Annotated[str, Form()] = "",
) -> Response:
    values = {"email": email, "name": name, "role": role}
    try:
        added = add_member(
            ctx, email=email, role=role, name=name or None, base_url=str(request.base_url)
        )
    except accounts.PermissionDenied:
        raise
    except AlreadyExists as exc:
        return _members_page(request, ctx, status_code=409, error=str(exc), values=values)
    except FloconError as exc:
        return _members_page(request, ctx, status_code=400, error=str(exc), values=values)
    return _members_page(request, ctx, added=added)


@router.post("/settings/members/{user_id:int}/role", include_in_schema=False)
def change_role_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    user_id: int,
    role: Annotated[str, Form()],
) -> Response:
    try:
        change_role(ctx, user_id, role)
    except (accounts.LastOwner, ConfigError) as exc:
        return _members_page(request, ctx, status_code=400, error=str(exc))
    return RedirectResponse(f"/w/{ctx.workspace}/settings/members?done=role", status_code=303)


@router.post("/settings/members/{user_id:int}/remove", include_in_schema=False)
def remove_member_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_admin)], user_id: int
) -> Response:
    try:
        remove_member(ctx, user_id)
    except accounts.LastOwner as exc:
        return _members_page(request, ctx, status_code=400, error=str(exc))
    return RedirectResponse(f"/w/{ctx.workspace}/settings/members?done=removed", status_code=303)


def _tokens_page(
    request: Request,
    ctx: Ctx,
    *,
    status_code: int = 200,
    error: str | None = None,
    created: tuple[accounts.ApiToken, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    members = accounts.list_members(ctx.engine, ctx.workspace)
    return page(
        request,
        "settings/tokens.html",
        ctx=ctx,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
        current="tokens",
        tokens=accounts.list_tokens(ctx.engine, ctx.workspace),
        members=members,
        emails={u.id: u.email for u, _r in members},
        me=ctx.viewer.user.id,
        created=created,
        error=error,
        notice=_notice(done),
    )


@router.get("/settings/tokens", response_class=HTMLResponse, include_in_schema=False)
def tokens_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_admin)], done: str = ""
) -> HTMLResponse:
    return _tokens_page(request, ctx, done=done)


@router.post("/settings/tokens", include_in_schema=False)
def create_token_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    name: Annotated[str, Form()],
    scope: Annotated[str, Form()] = "read",
    user_id: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        if scope not in ("read", "write"):
            raise ConfigError("the scope is read, or read and write")
        try:
            days = int(expires_days) if expires_days.strip() else None
            owner = int(user_id) if user_id.strip() else None
        except ValueError as exc:
            raise ConfigError("the expiry is a number of days") from exc
        if days is not None and not 1 <= days <= 3650:
            raise ConfigError("the expiry is between 1 and 3650 days")
        expires = datetime.now(UTC) + timedelta(days=days) if days else None
        created = create_token(
            ctx,
            name=name,
            scopes=["read", "write"] if scope == "write" else ["read"],
            user_id=owner,
            expires_at=expires,
        )
    except accounts.PermissionDenied:
        raise
    except FloconError as exc:
        return _tokens_page(request, ctx, status_code=400, error=str(exc))
    return _tokens_page(request, ctx, created=created)


@router.post("/settings/tokens/{token_id:int}/revoke", include_in_schema=False)
def revoke_token_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_admin)], token_id: int
) -> Response:
    revoke_token(ctx, token_id)
    return RedirectResponse(f"/w/{ctx.workspace}/settings/tokens?done=revoked", status_code=303)


@router.get("/settings/channels", response_class=HTMLResponse, include_in_schema=False)
def channels_page(request: Request, ctx: Annotated[Ctx, Depends(as_manager)]) -> HTMLResponse:
    return page(
        request,
        "settings/channels.html",
        ctx=ctx,
        current="channels",
        rules=alerting.list_rules(ctx.engine, ctx.workspace),
    )


@router.get("/settings/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_log_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    rows, older = audit_page(ctx, before=before, limit=AUDIT_PAGE)
    return page(
        request,
        "settings/audit.html",
        ctx=ctx,
        current="audit",
        rows=rows,
        next_url=f"?before={older}" if older else None,
        detail_text=_detail_text,
    )


def _detail_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "–" if value is None else str(value)
