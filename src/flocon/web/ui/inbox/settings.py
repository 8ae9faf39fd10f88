"""The inbox settings page: saved replies (managers), posting accounts whose credentials are
write-only (admins), business hours and SLA targets as JSON with clear errors (admins)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon import posting
from flocon.domain.business_hours import BusinessHours, SlaPolicy
from flocon.errors import FloconError
from flocon.services import cases as svc
from flocon.web.deps import Ctx, as_admin, as_manager, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect
from flocon.web.ui.inbox.labels import notice_for, page_labels

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])


@router.get("/inbox/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], done: str = ""
) -> HTMLResponse:
    return _settings(request, ctx, notice=notice_for(done))


def _settings(
    request: Request,
    ctx: Ctx,
    *,
    notice: str | None = None,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The settings page; after a refused form, ``typed`` keeps what was typed in it."""
    current = svc.get_inbox_settings(ctx.engine, ctx.workspace)
    form: dict[str, Any] = {
        "business_hours": json.dumps(current.business_hours.to_json(), indent=2),
        "sla": json.dumps(current.sla.to_json(), indent=2),
        "suggest": current.suggest,
        "saved": {},
        "account": {},
        **(typed or {}),
    }
    return page(
        request,
        "inbox/settings.html",
        ctx=ctx,
        status_code=400 if error else 200,
        saved=svc.list_saved(ctx.engine, ctx.workspace),
        posting_accounts=svc.list_accounts(ctx.engine, ctx.workspace),
        platforms=sorted(posting.POSTERS),
        form=form,
        notice=notice,
        error=error,
        labels=page_labels(),
    )


def _settings_error(
    request: Request, ctx: Ctx, message: str, typed: dict[str, Any] | None = None
) -> HTMLResponse:
    return _settings(request, ctx, error=message, typed=typed)


@router.post("/inbox/settings/saved", include_in_schema=False)
def save_saved_reply(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_manager)],
    name: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    saved_id: Annotated[int | None, Form()] = None,
) -> Response:
    try:
        svc.save_saved(
            ctx.engine,
            ctx.workspace,
            name=name,
            lang=lang,
            text=text,
            actor=ctx.viewer.user,
            saved_id=saved_id,
        )
    except FloconError as exc:
        typed = {"saved": {"id": saved_id, "name": name, "lang": lang, "text": text}}
        return _settings_error(request, ctx, str(exc), typed)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=saved", status_code=303)


@router.post("/inbox/settings/saved/{saved_id}/remove", include_in_schema=False)
def remove_saved_reply(ctx: Annotated[Ctx, Depends(as_manager)], saved_id: int) -> Response:
    svc.remove_saved(ctx.engine, ctx.workspace, saved_id, actor=ctx.viewer.user)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=removed", status_code=303)


@router.post("/inbox/settings/accounts", include_in_schema=False)
def add_posting_account(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    platform: Annotated[str, Form()],
    name: Annotated[str, Form()],
    base_url: Annotated[str, Form()],
    credentials: Annotated[str, Form()] = "",
) -> Response:
    """Credentials as ``key=value`` lines; write-only (never shown again)."""
    # Credentials are never sent back: after an error they are typed again.
    typed = {"account": {"platform": platform, "name": name, "base_url": base_url}}
    values: dict[str, str] = {}
    for line in credentials.splitlines():
        if line.strip():
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                return _settings_error(request, ctx, _("Credentials are key=value lines."), typed)
            values[key.strip()] = value.strip()
    try:
        svc.add_account(
            ctx.engine,
            ctx.workspace,
            platform=platform,
            name=name,
            base_url=base_url,
            credentials=values,
            settings=ctx.settings,
            actor=ctx.viewer.user,
        )
    except FloconError as exc:
        return _settings_error(request, ctx, str(exc), typed)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=saved", status_code=303)


@router.post("/inbox/settings/accounts/{account_id}/remove", include_in_schema=False)
def remove_posting_account(ctx: Annotated[Ctx, Depends(as_admin)], account_id: int) -> Response:
    svc.remove_account(ctx.engine, ctx.workspace, account_id, actor=ctx.viewer.user)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=removed", status_code=303)


def _json_object(text: str, field: str) -> dict[str, Any]:
    """A JSON object typed in a form ({} when empty); ValueError says what is wrong, where."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            _(
                "%(field)s: not valid JSON (line %(line)s, column %(column)s): %(reason)s",
                field=field,
                line=exc.lineno,
                column=exc.colno,
                reason=exc.msg,
            )
        ) from None
    if not isinstance(value, dict):
        raise ValueError(_("%(field)s: a JSON object {...} is expected.", field=field))
    return value


@router.post("/inbox/settings/targets", include_in_schema=False)
def save_targets(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    business_hours: Annotated[str, Form()] = "",
    sla: Annotated[str, Form()] = "",
    suggest: Annotated[str, Form()] = "",
) -> Response:
    typed = {"business_hours": business_hours, "sla": sla, "suggest": suggest == "on"}
    try:
        hours_spec = _json_object(business_hours, _("Business hours"))
        sla_spec = _json_object(sla, _("Response targets"))
    except ValueError as exc:
        return _settings_error(request, ctx, str(exc), typed)
    # Left empty: the defaults (always open; the default targets).
    try:
        svc.set_inbox_settings(
            ctx.engine,
            ctx.workspace,
            actor=ctx.viewer.user,
            business_hours=hours_spec or BusinessHours.always().to_json(),
            sla=sla_spec or SlaPolicy.default().to_json(),
            suggest=suggest == "on",
        )
    except FloconError as exc:
        return _settings_error(request, ctx, str(exc), typed)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=saved", status_code=303)
