"""Pages of the shared inbox: the cases riskiest first with their factors, saved views and
filters; a case with its mention, timeline, notes, assignment and replies (from a saved
reply, checked for tone, sent through the platform or recorded); the inbox settings
(saved replies, posting accounts, business hours and SLA).

Roles: everyone reads; an agent opens cases, takes and changes them, writes notes and
replies; a manager edits saved replies; an admin adds posting accounts (their credentials
are write-only) and sets business hours and SLA targets.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.analysis.tone import check_tone
from flocon.errors import FloconError
from flocon.services import accounts, watches
from flocon.services import cases as svc
from flocon.web.deps import Ctx, as_admin, as_agent, as_manager, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])
PAGE_SIZE = 50


def status_labels() -> dict[str, str]:
    return {
        "new": _("new"),
        "open": _("open"),
        "waiting": _("waiting for the author"),
        "resolved": _("resolved"),
        "ignored": _("ignored"),
    }


def priority_labels() -> dict[str, str]:
    return {"low": _("low"), "normal": _("normal"), "high": _("high"), "urgent": _("urgent")}


def view_labels() -> dict[str, str]:
    return {
        "": _("All open cases"),
        "mine": _("Mine"),
        "unassigned": _("Unassigned"),
        "overdue": _("Overdue"),
    }


def factor_labels() -> dict[str, str]:
    return {
        "snowball": _("Snowball risk"),
        "influence": _("Author influence"),
        "negativity": _("Negativity"),
        "waiting": _("Waiting time"),
    }


def tone_labels() -> dict[str, str]:
    return {
        "defensive": _("Defensive: it argues or justifies instead of helping."),
        "dismissive": _("Dismissive: it brushes the person off."),
        "blames_customer": _("It blames the person who complains."),
        "no_apology": _("No apology or empathy for a complaint."),
        "no_next_step": _("No next step: say what happens now, or how to reach you."),
        "non_apology": _('A non-apology ("sorry you feel that way"): apologise for what happened.'),
        "shouting": _("Shouting: capitals or many exclamation marks."),
        "placeholder": _("A placeholder was left in the text."),
        "mixed_register": _("Mixed « tu » and « vous »: pick one."),
        "overpromise": _("A promise the team may not keep: say what you will check instead."),
        "too_long": _("Too long for a public reply."),
    }


def reply_status_labels() -> dict[str, str]:
    return {
        "draft": _("draft"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "recorded": _("recorded (made elsewhere)"),
    }


def _labels() -> dict[str, Any]:
    return {
        "statuses": status_labels(),
        "priorities": priority_labels(),
        "views": view_labels(),
        "factors": factor_labels(),
        "tones": tone_labels(),
        "reply_statuses": reply_status_labels(),
    }


def _notice(done: str) -> str | None:
    return {
        "created": _("Case opened."),
        "updated": _("Case updated."),
        "noted": _("Note added."),
        "sent": _("Reply sent."),
        "failed": _("The platform refused the reply: see the error below."),
        "recorded": _("Reply recorded."),
        "drafted": _("Draft saved."),
        "saved": _("Saved."),
        "removed": _("Removed."),
    }.get(done)


def _to_case(ctx: Ctx, case_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/{case_id}?done={done}", status_code=303)


# -- the inbox -------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    view: str = "",
    status: str = "",
    priority: str = "",
    assignee: str = "",
    watch: str = "",
    channel: str = "",
    lang: str = "",
    tag: str = "",
    cursor: str = "",
    done: str = "",
) -> HTMLResponse:
    form = {
        "view": view,
        "status": status,
        "priority": priority,
        "assignee": assignee,
        "watch": watch,
        "channel": channel,
        "lang": lang,
        "tag": tag,
    }
    error = None
    try:
        query = svc.CaseQuery(
            statuses=(status,) if status else svc.ACTIVE,
            assignee=assignee or None,
            watch=watch or None,
            priorities=(priority,) if priority else (),
            channel=channel or None,
            lang=lang or None,
            tag=tag or None,
            view=view or None,
        )
        result = svc.list_cases(
            ctx.engine,
            ctx.workspace,
            query,
            viewer_id=ctx.viewer.user.id,
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
    except FloconError as exc:
        error = str(exc)
        result = svc.CasePage(cases=[], total=0, next_cursor=None)
    return page(
        request,
        "inbox/list.html",
        ctx=ctx,
        result=result,
        form=form,
        error=error,
        notice=_notice(done),
        labels=_labels(),
        members=[
            u
            for u, role in accounts.list_members(ctx.engine, ctx.workspace)
            if accounts.role_at_least(role, "agent")
        ],
        watch_names=[w.name for w, _n in watches.list_watches(ctx.engine, ctx.workspace)],
    )


@router.post("/inbox", include_in_schema=False)
def open_case(
    ctx: Annotated[Ctx, Depends(as_agent)],
    mention_id: Annotated[int, Form()],
    priority: Annotated[str, Form()] = "normal",
) -> Response:
    """Open a case on a mention (the button of the mention page); an existing case opens."""
    try:
        case = svc.create_case(
            ctx.engine,
            ctx.workspace,
            mention_id=mention_id,
            actor=ctx.viewer.user,
            priority=priority,
        )
    except svc.CaseExists as exists:
        return _to_case(ctx, exists.case_id, "")
    return _to_case(ctx, case.id, "created")


# -- settings (before /inbox/{case_id}) ------------------------------------------------------


@router.get("/inbox/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], done: str = "", error: str = ""
) -> HTMLResponse:
    current = svc.get_inbox_settings(ctx.engine, ctx.workspace)
    return page(
        request,
        "inbox/settings.html",
        ctx=ctx,
        saved=svc.list_saved(ctx.engine, ctx.workspace),
        posting_accounts=svc.list_accounts(ctx.engine, ctx.workspace),
        business_hours=json.dumps(current.business_hours.to_json(), indent=2),
        sla=json.dumps(current.sla.to_json(), indent=2),
        suggest=current.suggest,
        notice=_notice(done),
        error=error or None,
        labels=_labels(),
    )


def _settings_error(request: Request, ctx: Ctx, message: str) -> HTMLResponse:
    response = settings_page(request, ctx, error=message)
    response.status_code = 400
    return response


@router.post("/inbox/settings/saved", include_in_schema=False)
def save_saved_reply(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_manager)],
    name: Annotated[str, Form()],
    lang: Annotated[str, Form()],
    text: Annotated[str, Form()],
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
        return _settings_error(request, ctx, str(exc))
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
    values: dict[str, str] = {}
    for line in credentials.splitlines():
        if line.strip():
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                return _settings_error(request, ctx, _("Credentials are key=value lines."))
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
        return _settings_error(request, ctx, str(exc))
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=saved", status_code=303)


@router.post("/inbox/settings/accounts/{account_id}/remove", include_in_schema=False)
def remove_posting_account(ctx: Annotated[Ctx, Depends(as_admin)], account_id: int) -> Response:
    svc.remove_account(ctx.engine, ctx.workspace, account_id, actor=ctx.viewer.user)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=removed", status_code=303)


@router.post("/inbox/settings/targets", include_in_schema=False)
def save_targets(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_admin)],
    business_hours: Annotated[str, Form()],
    sla: Annotated[str, Form()],
    suggest: Annotated[str, Form()] = "",
) -> Response:
    try:
        hours_spec = json.loads(business_hours) if business_hours.strip() else {}
        sla_spec = json.loads(sla) if sla.strip() else {}
    except json.JSONDecodeError as exc:
        return _settings_error(
            request,
            ctx,
            _("Not valid JSON (line %(line)s): %(reason)s", line=exc.lineno, reason=exc.msg),
        )
    if not isinstance(hours_spec, dict) or not isinstance(sla_spec, dict):
        return _settings_error(request, ctx, _("Business hours and SLA are JSON objects."))
    try:
        svc.set_inbox_settings(
            ctx.engine,
            ctx.workspace,
            actor=ctx.viewer.user,
            business_hours=hours_spec,
            sla=sla_spec,
            suggest=suggest == "on",
        )
    except FloconError as exc:
        return _settings_error(request, ctx, str(exc))
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/settings?done=saved", status_code=303)


# -- one case --------------------------------------------------------------------------------


@router.get("/inbox/{case_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    case_id: int,
    saved: int | None = None,
    done: str = "",
    draft: str = "",
    check: str = "",
    error: str = "",
) -> HTMLResponse:
    """A case. ``saved`` fills the reply box with a saved reply for this case; ``check``
    shows the tone check of ``draft``."""
    others: list[svc.Presence] = []
    if ctx.can("agent"):
        others = svc.see_case(ctx.engine, ctx.workspace, case_id, user_id=ctx.viewer.user.id)
    detail = svc.get_case(ctx.engine, ctx.workspace, case_id)
    text = draft
    if saved is not None:
        text = svc.fill_saved(
            ctx.engine,
            ctx.workspace,
            saved,
            case_id,
            agent=ctx.viewer.user,
            base_url=ctx.settings.web_base_url or str(request.base_url),
        )
    lang = detail.case.row.lang if detail.case.row.lang in ("fr", "en") else None
    tone = check_tone(text, lang=lang) if (check and text.strip()) else None
    return page(
        request,
        "inbox/case.html",
        ctx=ctx,
        detail=detail,
        case=detail.case,
        others=others,
        reply_text=text,
        tone=tone,
        saved=svc.list_saved(ctx.engine, ctx.workspace),
        can_send=svc.can_send(ctx.engine, ctx.workspace, case_id, settings=ctx.settings),
        members=[
            u
            for u, role in accounts.list_members(ctx.engine, ctx.workspace)
            if accounts.role_at_least(role, "agent")
        ],
        notice=_notice(done),
        error=error or None,
        labels=_labels(),
    )


def _case_error(
    request: Request, ctx: Ctx, case_id: int, message: str, draft: str = ""
) -> HTMLResponse:
    response = case_page(request, ctx, case_id, draft=draft, error=message)
    response.status_code = 400 if "changed by someone else" not in message else 409
    return response


@router.post("/inbox/{case_id}", include_in_schema=False)
def change_case(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    case_id: int,
    version: Annotated[int, Form()],
    status: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    take: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    """Status, priority, assignee ("take": me), tags; refused if someone changed it meanwhile."""
    current = svc.get_case(ctx.engine, ctx.workspace, case_id).case
    kwargs: dict[str, Any] = {}
    if status and status != current.status:
        kwargs["status"] = status
    if priority and priority != current.row.priority:
        kwargs["priority"] = priority
    if take:
        kwargs["assignee"] = ctx.viewer.user.id
    elif assignee != (current.row.assignee or ""):
        kwargs["assignee"] = assignee or None
    try:
        svc.update_case(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            reason=reason or None,
            version=version,
            **kwargs,
        )
        wanted = {t.strip() for t in tags.split(",") if t.strip()}
        have = set(current.tags)
        if not take and (wanted != have):
            svc.tag_case(
                ctx.engine,
                ctx.workspace,
                case_id,
                actor=ctx.viewer.user,
                add=sorted(wanted - have),
                remove=sorted(have - wanted),
            )
    except FloconError as exc:
        return _case_error(request, ctx, case_id, str(exc))
    return _to_case(ctx, case_id, "updated")


@router.post("/inbox/{case_id}/notes", include_in_schema=False)
def note(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    case_id: int,
    text: Annotated[str, Form()],
) -> Response:
    try:
        svc.add_note(ctx.engine, ctx.workspace, case_id, actor=ctx.viewer.user, text=text)
    except FloconError as exc:
        return _case_error(request, ctx, case_id, str(exc))
    return _to_case(ctx, case_id, "noted")


@router.post("/inbox/{case_id}/replies", include_in_schema=False)
def reply(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    case_id: int,
    text: Annotated[str, Form()],
    action: Annotated[str, Form()],
    url: Annotated[str, Form()] = "",
) -> Response:
    """``action``: check (the tone), draft, send (through the platform) or record."""
    if action == "check":
        svc.see_case(
            ctx.engine, ctx.workspace, case_id, user_id=ctx.viewer.user.id, activity="replying"
        )
        response = case_page(request, ctx, case_id, draft=text, check="1")
        return response
    try:
        if action == "draft":
            svc.save_draft(ctx.engine, ctx.workspace, case_id, actor=ctx.viewer.user, text=text)
            return _to_case(ctx, case_id, "drafted")
        if action == "send":
            row = svc.send_reply(
                ctx.engine,
                ctx.workspace,
                case_id,
                actor=ctx.viewer.user,
                settings=ctx.settings,
                text=text,
            )
            return _to_case(ctx, case_id, "sent" if row.status == "sent" else "failed")
        if action == "record":
            svc.record_reply(
                ctx.engine,
                ctx.workspace,
                case_id,
                actor=ctx.viewer.user,
                text=text,
                url=url or None,
            )
            return _to_case(ctx, case_id, "recorded")
    except FloconError as exc:
        return _case_error(request, ctx, case_id, str(exc), draft=text)
    return _case_error(request, ctx, case_id, _("Unknown action."), draft=text)


@router.post("/inbox/{case_id}/replies/{reply_id}/send", include_in_schema=False)
def send_saved_reply(
    request: Request, ctx: Annotated[Ctx, Depends(as_agent)], case_id: int, reply_id: int
) -> Response:
    """Send a draft, or retry a failed reply."""
    try:
        row = svc.send_reply(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            settings=ctx.settings,
            reply_id=reply_id,
        )
    except FloconError as exc:
        return _case_error(request, ctx, case_id, str(exc))
    return _to_case(ctx, case_id, "sent" if row.status == "sent" else "failed")
