"""Server-rendered pages: the Jinja2 environment (autoescaped, translated) and ``page()``, which
every view returns. Views pass plain values; templates never query the database.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from flocon import __version__
from flocon.web import i18n
from flocon.web.deps import Ctx, optional_viewer
from flocon.web.security import CSRF_FIELD, csrf_token

#: The main navigation: (endpoint suffix under /w/{ws}/, message).
NAV: tuple[tuple[str, str], ...] = (
    ("dashboard", "Dashboard"),
    ("mentions", "Mentions"),
    ("inbox", "Inbox"),
    ("watches", "Watches"),
    ("sources", "Sources"),
    ("alerts", "Alerts"),
    ("authors", "Authors"),
    ("settings", "Settings"),
)


def _json_script(value: Any, element_id: str) -> Markup:
    """Data for the page's scripts, as a JSON island no HTML parser can break out of."""
    text = (
        json.dumps(value, ensure_ascii=False, default=str)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup('<script type="application/json" id="{}">{}</script>').format(
        element_id, Markup(text)
    )


def _query(base: dict[str, Any] | None = None, **changes: Any) -> str:
    """A query string from ``base`` with ``changes`` (None removes a key)."""
    merged = dict(base or {})
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    pairs = [(k, v) for k, v in merged.items() if v is not None and v != ""]
    return ("?" + urlencode(pairs, doseq=True)) if pairs else ""


def _safe_url(value: str | None) -> str:
    """Only http(s) links from collected content; anything else (javascript:, data:) is dropped."""
    if not value:
        return ""
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        return text
    return ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("flocon.web", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )

    # Jinja's new-style gettext formats the placeholders itself (escaping the values).
    def gettext(message: str) -> str:
        return i18n.current().translations.gettext(message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return i18n.current().translations.ngettext(singular, plural, n)

    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["dt"] = i18n.fmt_datetime
    env.filters["date"] = i18n.fmt_date
    env.filters["num"] = i18n.fmt_number
    env.filters["pct"] = i18n.fmt_percent
    env.filters["duration"] = i18n.fmt_duration
    env.filters["safe_url"] = _safe_url
    env.globals["json_script"] = _json_script
    env.globals["query"] = _query
    env.globals["version"] = __version__
    env.globals["locale_name"] = i18n.locale_name
    return env


def page(
    request: Request,
    template: str,
    *,
    ctx: Ctx | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` with what every page needs (the viewer, the workspace, the CSRF
    field, the language) plus ``values``."""
    lang = i18n.current()
    viewer = ctx.viewer if ctx is not None else optional_viewer(request)
    token = csrf_token(request)
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            ctx=ctx,
            viewer=viewer,
            ws=ctx.workspace if ctx else None,
            role=ctx.role if ctx else None,
            nav=NAV,
            lang=lang,
            locales=i18n.LOCALES,
            csrf_token=token,
            csrf_field=Markup('<input type="hidden" name="{}" value="{}">').format(
                CSRF_FIELD, token
            ),
            htmx=request.headers.get("hx-request") == "true",
            path=request.url.path,
            **values,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
