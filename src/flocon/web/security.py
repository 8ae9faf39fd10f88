"""Protections every response and form gets: security headers (a strict Content Security
Policy: no inline script, nothing from another origin), CSRF tokens, and the client address
behind trusted proxies.

CSRF: a signed-in user's forms carry the session's own token; before signing in (login, first
run, password reset) a random token is kept in the ``flocon_csrf`` cookie and repeated in the
form. Every unsafe request of a page (POST, PUT, PATCH, DELETE) must send it back, as the form
field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends the header). API calls made
with a bearer token are not cookie-authenticated and need none.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flocon.errors import FloconError
from flocon.settings import Settings
from flocon.web import i18n
from flocon.web.deps import LoginRequired, optional_viewer

CSRF_COOKIE = "flocon_csrf"
LANG_COOKIE = "flocon_lang"
TZ_COOKIE = "flocon_tz"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class CsrfFailed(FloconError):
    """A form came back without its token (or with another session's)."""


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return unquote(v.strip('"'))
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class WebMiddleware:
    """Sets the request's language, hands out the pre-session CSRF cookie and adds the
    security headers (pure ASGI, so the context variable reaches the endpoint)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang = i18n.Lang(
            i18n.negotiate(_header(scope, b"accept-language"), _cookie(scope, LANG_COOKIE)),
            i18n.zone(_cookie(scope, TZ_COOKIE)),
        )
        i18n.set_current(lang)
        pre = _cookie(scope, CSRF_COOKIE)
        new_pre = None
        if not pre or len(pre) < 20:
            new_pre = secrets.token_urlsafe(24)
        scope.setdefault("state", {})
        scope["state"]["pre_csrf"] = pre if new_pre is None else new_pre
        secure = is_secure(scope, self.settings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if new_pre is not None:
                    cookie = f"{CSRF_COOKIE}={new_pre}; Path=/; HttpOnly; SameSite=Lax"
                    if secure:
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def trusted(settings: Settings) -> set[str]:
    return {p.strip() for p in settings.web_trusted_proxies.split(",") if p.strip()}


def is_secure(scope: Scope, settings: Settings) -> bool:
    if settings.web_secure_cookies is not None:
        return settings.web_secure_cookies
    if settings.web_base_url.startswith("https://"):
        return True
    if scope.get("scheme") == "https":
        return True
    client = scope.get("client")
    if client and client[0] in trusted(settings):
        return (_header(scope, b"x-forwarded-proto") or "").lower() == "https"
    return False


def client_address(request: Request, settings: Settings) -> str:
    """The client's address; ``X-Forwarded-For`` only when the peer is a trusted proxy."""
    peer = request.client.host if request.client else ""
    if peer and peer in trusted(settings):
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return peer


def csrf_token(request: Request) -> str:
    """The token forms of this request must carry."""
    viewer = optional_viewer(request)
    if viewer is not None and viewer.csrf_token:
        return viewer.csrf_token
    token: str = request.scope.get("state", {}).get("pre_csrf", "")
    return token


async def csrf_protect(request: Request) -> None:
    """Router dependency: refuse an unsafe request without the right token."""
    if request.method not in UNSAFE:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if request.url.path.startswith("/api/") and (
        await run_in_threadpool(optional_viewer, request) is None
    ):
        raise LoginRequired("send an API token (Authorization: Bearer ...) or sign in")
    sent = request.headers.get("x-csrf-token")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value: Any = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = await run_in_threadpool(csrf_token, request)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("this form has expired or did not come from flocon; reload the page")
