"""REST API v1: the inbox's cases (a contract scripts rely on, see docs/inbox.md).

``/api/v1/cases`` works in the API token's workspace (or ``?workspace=NAME`` for a session
member of several); ``/api/v1/workspaces/{ws}/cases`` is the same with the workspace in the
path. Viewers read; agents and above create, change, note and reply.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from flocon.errors import ConfigError
from flocon.services import cases as svc
from flocon.services.cases.notify import notify_mentioned
from flocon.web.api.schemas_cases import (
    CaseCreate,
    CaseDetailOut,
    CaseList,
    CaseMention,
    CaseOut,
    CaseUpdate,
    EventOut,
    NoteCreate,
    NoteOut,
    PresenceOut,
    ReplyCreate,
    ReplyOut,
)
from flocon.web.deps import WORKSPACE_QUERY, WS_PATH, Ctx, path_or_token_workspace

router = APIRouter(tags=["cases"])

Limit = Annotated[int, Query(ge=1, le=200, description="Cases per page.")]
Listed = Annotated[list[str] | None, Query()]


def _query(
    status: list[str] | None,
    assignee: str | None,
    watch: str | None,
    priority: list[str] | None,
    channel: str | None,
    lang: str | None,
    tag: str | None,
    view: str | None,
) -> svc.CaseQuery:
    statuses = tuple(s for item in (status or []) for s in item.split(",") if s)
    priorities = tuple(p for item in (priority or []) for p in item.split(",") if p)
    return svc.CaseQuery(
        statuses=statuses or svc.ACTIVE,
        assignee=assignee,
        watch=watch,
        priorities=priorities,
        channel=channel,
        lang=lang,
        tag=tag,
        view=view,
    )


def _reply(ctx: Ctx, case_id: int, body: ReplyCreate) -> ReplyOut:
    if body.draft:
        if body.send:
            raise ConfigError("a reply is either a draft or sent, not both")
        row = svc.save_draft(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            text=body.text or "",
            reply_id=body.reply_id,
        )
    elif body.send:
        if body.url:
            raise ConfigError("a reply sent through the platform gets its address from it")
        if body.text is None and body.reply_id is None:
            raise ConfigError("give the reply's text, or the reply_id of a draft or failed reply")
        row = svc.send_reply(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            settings=ctx.settings,
            text=body.text,
            reply_id=body.reply_id,
        )
    else:
        if body.reply_id is not None:
            raise ConfigError("reply_id is for sending a draft or retrying: set send to true")
        row = svc.record_reply(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            text=body.text or "",
            url=body.url,
        )
    return ReplyOut.of(row)


# -- the routes: each at /api/v1/cases... (the token's workspace) and
# /api/v1/workspaces/{ws}/cases... (the path's) ------------------------------------------------

AsViewer = Annotated[Ctx, Depends(path_or_token_workspace("viewer"))]
AsAgent = Annotated[Ctx, Depends(path_or_token_workspace("agent"))]


@router.get("/cases", response_model=CaseList, openapi_extra=WORKSPACE_QUERY)
@router.get("/workspaces/{ws}/cases", response_model=CaseList, openapi_extra=WS_PATH)
def list_cases(
    ctx: AsViewer,
    status: Listed = None,
    assignee: str | None = None,
    watch: str | None = None,
    priority: Listed = None,
    channel: str | None = None,
    lang: str | None = None,
    tag: str | None = None,
    view: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> CaseList:
    """The inbox, riskiest first; ``status`` defaults to new, open and waiting; ``view``:
    mine, unassigned or overdue; ``assignee``: an e-mail, ``me`` or ``none``."""
    page = svc.list_cases(
        ctx.engine,
        ctx.workspace,
        _query(status, assignee, watch, priority, channel, lang, tag, view),
        viewer_id=ctx.viewer.user.id,
        cursor=cursor,
        limit=limit,
    )
    return CaseList(
        items=[CaseOut.of(c) for c in page.cases], total=page.total, next_cursor=page.next_cursor
    )


@router.post("/cases", response_model=CaseOut, status_code=201, openapi_extra=WORKSPACE_QUERY)
@router.post(
    "/workspaces/{ws}/cases", response_model=CaseOut, status_code=201, openapi_extra=WS_PATH
)
def create_case(ctx: AsAgent, body: CaseCreate) -> CaseOut:
    """Open a case on a mention (409 with ``case_id`` if it already has one)."""
    case = svc.create_case(
        ctx.engine,
        ctx.workspace,
        mention_id=body.mention_id,
        actor=ctx.viewer.user,
        priority=body.priority,
        scope=body.scope,
        assignee=body.assignee,
    )
    return CaseOut.of(case)


@router.get("/cases/{case_id}", response_model=CaseDetailOut, openapi_extra=WORKSPACE_QUERY)
@router.get("/workspaces/{ws}/cases/{case_id}", response_model=CaseDetailOut, openapi_extra=WS_PATH)
def get_case(ctx: AsViewer, case_id: int) -> CaseDetailOut:
    found = svc.get_case(ctx.engine, ctx.workspace, case_id)
    base = CaseOut.of(found.case).model_dump()
    return CaseDetailOut(
        **base,
        mention=None if found.mention is None else CaseMention.of(found.mention),
        events=[EventOut.of(e) for e in found.events],
        notes=[NoteOut.of(n) for n in found.notes],
        replies=[ReplyOut.of(r) for r in found.replies],
        others_here=[
            PresenceOut(email=p.email, activity=p.activity, at=p.at)
            for p in found.presence
            if p.user_id != ctx.viewer.user.id
        ],
    )


@router.patch("/cases/{case_id}", response_model=CaseOut, openapi_extra=WORKSPACE_QUERY)
@router.patch("/workspaces/{ws}/cases/{case_id}", response_model=CaseOut, openapi_extra=WS_PATH)
def update_case(ctx: AsAgent, case_id: int, body: CaseUpdate) -> CaseOut:
    given = body.model_fields_set
    kwargs: dict[str, object] = {}
    if "status" in given and body.status is not None:
        kwargs["status"] = body.status
    if "priority" in given and body.priority is not None:
        kwargs["priority"] = body.priority
    if "assignee" in given:
        kwargs["assignee"] = body.assignee
    case = svc.update_case(
        ctx.engine,
        ctx.workspace,
        case_id,
        actor=ctx.viewer.user,
        reason=body.reason,
        version=body.version,
        **kwargs,  # type: ignore[arg-type]
    )
    if body.tags_add or body.tags_remove:
        case = svc.tag_case(
            ctx.engine,
            ctx.workspace,
            case_id,
            actor=ctx.viewer.user,
            add=body.tags_add,
            remove=body.tags_remove,
        )
    return CaseOut.of(case)


@router.post(
    "/cases/{case_id}/notes",
    response_model=NoteOut,
    status_code=201,
    openapi_extra=WORKSPACE_QUERY,
)
@router.post(
    "/workspaces/{ws}/cases/{case_id}/notes",
    response_model=NoteOut,
    status_code=201,
    openapi_extra=WS_PATH,
)
def add_note(ctx: AsAgent, case_id: int, body: NoteCreate) -> NoteOut:
    """An internal note; teammates it @mentions get an e-mail when SMTP is set up."""
    note = svc.add_note(ctx.engine, ctx.workspace, case_id, actor=ctx.viewer.user, text=body.text)
    notify_mentioned(ctx.engine, ctx.settings, ctx.workspace, case_id, note)
    return NoteOut.of(note)


@router.post(
    "/cases/{case_id}/replies",
    response_model=ReplyOut,
    status_code=201,
    openapi_extra=WORKSPACE_QUERY,
)
@router.post(
    "/workspaces/{ws}/cases/{case_id}/replies",
    response_model=ReplyOut,
    status_code=201,
    openapi_extra=WS_PATH,
)
def add_reply(ctx: AsAgent, case_id: int, body: ReplyCreate, response: Response) -> ReplyOut:
    """Send through the platform (``send: true``), record a reply made elsewhere
    (``send: false``, with its ``url``) or save a draft (``draft: true``). A post the
    platform refused comes back with ``status: failed`` and its ``error`` (HTTP 502)."""
    out = _reply(ctx, case_id, body)
    if out.status == "failed":
        response.status_code = 502
    return out
