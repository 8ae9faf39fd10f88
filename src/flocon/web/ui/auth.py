"""Pages: first run (the owner), sign in and out, password reset, language and time zone."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from flocon.alerting.channels import EmailChannel, Message, SmtpConfig
from flocon.errors import AlreadyExists, FloconError
from flocon.services import accounts
from flocon.web import i18n
from flocon.web.deps import (
    SESSION_COOKIE,
    current_viewer,
    engine_of,
    optional_viewer,
    settings_of,
)
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import (
    LANG_COOKIE,
    TZ_COOKIE,
    client_address,
    csrf_protect,
    is_secure,
)

logger = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(csrf_protect)])

YEAR_S = 365 * 24 * 3600


def safe_next(value: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //evil.example)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value:
        return "/"
    return value


def _set_session(request: Request, response: Response, token: str) -> None:
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=is_secure(request.scope, settings),
        path="/",
    )


def _set_prefs(request: Request, response: Response, user: accounts.User) -> None:
    secure = is_secure(request.scope, settings_of(request))
    if user.locale:
        response.set_cookie(LANG_COOKIE, user.locale, max_age=YEAR_S, samesite="lax", secure=secure)
    if user.timezone:
        response.set_cookie(TZ_COOKIE, user.timezone, max_age=YEAR_S, samesite="lax", secure=secure)


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    engine = engine_of(request)
    if not accounts.has_users(engine):
        return RedirectResponse("/setup", status_code=303)
    viewer = current_viewer(request)
    if viewer.memberships:
        preferred = settings_of(request).default_workspace
        names = [m.workspace for m in viewer.memberships]
        target = preferred if preferred in names else names[0]
        return RedirectResponse(f"/w/{target}/dashboard", status_code=303)
    return page(request, "auth/no_workspace.html")


@router.get("/setup", include_in_schema=False)
def setup_form(request: Request) -> Response:
    if accounts.has_users(engine_of(request)):
        return RedirectResponse("/login", status_code=303)
    return page(request, "auth/setup.html", values={}, error=None)


@router.post("/setup", include_in_schema=False)
def setup(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    password2: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
) -> Response:
    engine = engine_of(request)
    values = {"email": email, "name": name}
    if password != password2:
        return page(
            request,
            "auth/setup.html",
            status_code=400,
            values=values,
            error=_("The two passwords differ."),
        )
    try:
        user = accounts.setup_owner(
            engine,
            email=email,
            password=password,
            name=name or None,
            workspace=settings_of(request).default_workspace,
        )
    except AlreadyExists:
        return RedirectResponse("/login", status_code=303)
    except FloconError as exc:
        return page(request, "auth/setup.html", status_code=400, values=values, error=str(exc))
    token, _csrf = accounts.start_session(
        engine,
        user.id,
        user_agent=request.headers.get("user-agent", "")[:300],
        days=settings_of(request).session_days,
    )
    response = RedirectResponse("/", status_code=303)
    _set_session(request, response, token)
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    engine = engine_of(request)
    if not accounts.has_users(engine):
        return RedirectResponse("/setup", status_code=303)
    if optional_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "auth/login.html", next=safe_next(next), email="", error=None)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    engine = engine_of(request)
    settings = settings_of(request)
    try:
        user = accounts.authenticate(
            engine, email=email, password=password, client=client_address(request, settings)
        )
    except accounts.InvalidCredentials:
        return page(
            request,
            "auth/login.html",
            status_code=400,
            next=safe_next(next),
            email=email,
            error=_("Wrong e-mail or password."),
        )
    except accounts.LoginThrottled as exc:
        minutes = max(1, round(exc.retry_after_s / 60))
        return page(
            request,
            "auth/login.html",
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
            next=safe_next(next),
            email=email,
            error=_("Too many failed attempts: try again in %(minutes)s min.", minutes=minutes),
        )
    token, _csrf = accounts.start_session(
        engine,
        user.id,
        user_agent=request.headers.get("user-agent", "")[:300],
        days=settings.session_days,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_session(request, response, token)
    _set_prefs(request, response, user)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(engine_of(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password/forgot", include_in_schema=False)
def forgot_form(request: Request) -> Response:
    return page(request, "auth/forgot.html", sent=False, smtp=bool(settings_of(request).smtp_host))


def _send_reset(request: Request, email: str, token: str) -> None:
    settings = settings_of(request)
    base = settings.web_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    link = f"{base}/password/reset/{token}"
    message = Message(
        subject=_("flocon: choose a new password"),
        text=_(
            "Someone asked to reset the flocon password of this address. To choose a new "
            "password, open this link within an hour:\n\n%(link)s\n\nIf it was not you, "
            "ignore this e-mail: your password stays as it is.",
            link=link,
        ),
        payload={},
        url=link,
    )
    attempt = EmailChannel(SmtpConfig.from_settings(settings), [email]).send(message)
    if not attempt.ok:
        logger.warning("password-reset e-mail not sent: %s", attempt.detail)


@router.post("/password/forgot", include_in_schema=False)
async def forgot(request: Request, email: Annotated[str, Form()]) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    if settings.smtp_host:
        token = await run_in_threadpool(accounts.request_password_reset, engine, email)
        if token is not None:
            await run_in_threadpool(_send_reset, request, email.strip().lower(), token)
    # The same answer whether the address is known or not.
    return page(request, "auth/forgot.html", sent=True, smtp=bool(settings.smtp_host))


@router.get("/password/reset/{token}", include_in_schema=False)
def reset_form(request: Request, token: str) -> Response:
    return page(request, "auth/reset.html", token=token, error=None)


@router.post("/password/reset/{token}", include_in_schema=False)
def reset(
    request: Request,
    token: str,
    password: Annotated[str, Form()],
    password2: Annotated[str, Form()],
) -> Response:
    if password != password2:
        return page(
            request,
            "auth/reset.html",
            status_code=400,
            token=token,
            error=_("The two passwords differ."),
        )
    try:
        accounts.reset_password(engine_of(request), token, password)
    except accounts.InvalidCredentials:
        return page(
            request,
            "auth/reset.html",
            status_code=400,
            token=token,
            error=_("This link has expired or was already used: ask for a new one."),
        )
    except FloconError as exc:
        return page(request, "auth/reset.html", status_code=400, token=token, error=str(exc))
    return RedirectResponse("/login?reset=1", status_code=303)


@router.post("/preferences", include_in_schema=False)
def preferences(
    request: Request,
    locale: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Language and time zone: remembered for the user (when signed in) and in cookies."""
    chosen_locale = locale if locale in i18n.LOCALES else None
    chosen_tz = timezone.strip() or None
    if chosen_tz is not None and i18n.zone(chosen_tz).key != chosen_tz:
        chosen_tz = None
    viewer = optional_viewer(request)
    if viewer is not None and viewer.token is None:
        current = viewer.user
        accounts.set_preferences(
            engine_of(request),
            current.id,
            locale=chosen_locale or current.locale,
            timezone=chosen_tz or current.timezone,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    secure = is_secure(request.scope, settings_of(request))
    if chosen_locale:
        response.set_cookie(
            LANG_COOKIE, chosen_locale, max_age=YEAR_S, samesite="lax", secure=secure
        )
    if chosen_tz:
        response.set_cookie(TZ_COOKIE, chosen_tz, max_age=YEAR_S, samesite="lax", secure=secure)
    return response
