"""The inbox and its cases: the list riskiest first with saved views and filters, opening a
case from a mention, and a case's page (mention, risk factors, response times, handling,
notes, replies from a saved reply, checked for tone, sent through the platform or recorded,
and the warning when a teammate has it open)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.analysis.tone import check_tone
from flocon.errors import FloconError
from flocon.services import accounts, watches
from flocon.services import cases as svc
from flocon.services.cases.notify import notify_mentioned
from flocon.web.deps import Ctx, as_agent, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect
from flocon.web.ui.inbox.labels import notice_for, page_labels

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])
PAGE_SIZE = 50


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
        status_code=400 if error else 200,
        result=result,
        form=form,
        error=error,
        notice=notice_for(done),
        labels=page_labels(),
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
        return _to_case(ctx, exists.case_id, "exists")
    return _to_case(ctx, case.id, "created")


# -- one case --------------------------------------------------------------------------------


@router.get("/inbox/{case_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    case_id: int,
    saved: int | None = None,
    done: str = "",
) -> HTMLResponse:
    """A case. ``saved`` fills the reply box with a saved reply for this case."""
    text = ""
    if saved is not None:
        text = svc.fill_saved(
            ctx.engine,
            ctx.workspace,
            saved,
            case_id,
            agent=ctx.viewer.user,
            base_url=ctx.settings.web_base_url or str(request.base_url),
        )
    return _case(request, ctx, case_id, draft=text, notice=notice_for(done))


def _case(
    request: Request,
    ctx: Ctx,
    case_id: int,
    *,
    draft: str = "",
    check: bool = False,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    activity: str = "viewing",
) -> HTMLResponse:
    """The case page with ``draft`` in the reply box (its tone checked when ``check``); an
    agent who opens it is seen there (``activity``) and sees who else is."""
    others: list[svc.Presence] = []
    if ctx.can("agent"):
        others = svc.see_case(
            ctx.engine, ctx.workspace, case_id, user_id=ctx.viewer.user.id, activity=activity
        )
    detail = svc.get_case(ctx.engine, ctx.workspace, case_id)
    lang = detail.case.row.lang if detail.case.row.lang in ("fr", "en") else None
    tone = check_tone(draft, lang=lang) if (check and draft.strip()) else None
    return page(
        request,
        "inbox/case.html",
        ctx=ctx,
        status_code=status_code,
        detail=detail,
        case=detail.case,
        others=others,
        reply_text=draft,
        tone=tone,
        saved=svc.list_saved(ctx.engine, ctx.workspace),
        can_send=svc.can_send(ctx.engine, ctx.workspace, case_id, settings=ctx.settings),
        members=[
            u
            for u, role in accounts.list_members(ctx.engine, ctx.workspace)
            if accounts.role_at_least(role, "agent")
        ],
        notice=notice,
        error=error,
        labels=page_labels(),
    )


def _case_error(
    request: Request, ctx: Ctx, case_id: int, error: FloconError | str, draft: str = ""
) -> HTMLResponse:
    """The case page again with the error, and the reply being written still in its box."""
    status = 409 if isinstance(error, svc.CaseConflict) else 400
    return _case(request, ctx, case_id, draft=draft, error=str(error), status_code=status)


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
        return _case_error(request, ctx, case_id, exc)
    return _to_case(ctx, case_id, "updated")


@router.post("/inbox/{case_id}/notes", include_in_schema=False)
def note(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    case_id: int,
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        added = svc.add_note(ctx.engine, ctx.workspace, case_id, actor=ctx.viewer.user, text=text)
    except FloconError as exc:
        return _case_error(request, ctx, case_id, exc)
    notify_mentioned(
        ctx.engine, ctx.settings, ctx.workspace, case_id, added, base_url=str(request.base_url)
    )
    return _to_case(ctx, case_id, "noted")


@router.post("/inbox/{case_id}/replies", include_in_schema=False)
def reply(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    case_id: int,
    action: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
) -> Response:
    """``action``: check (the tone), draft, send (through the platform) or record."""
    if action == "check":
        return _case(request, ctx, case_id, draft=text, check=True, activity="replying")
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
        return _case_error(request, ctx, case_id, exc, draft=text)
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
        return _case_error(request, ctx, case_id, exc)
    return _to_case(ctx, case_id, "sent" if row.status == "sent" else "failed")
