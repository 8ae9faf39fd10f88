"""Page: moderation of a mention on the brand's own WordPress or Discourse site (hold,
approve, hide with a public reason, spam), with every past action; never a deletion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.errors import FloconError
from flocon.services import mentions as mentions_svc
from flocon.services.cases import moderation
from flocon.web.deps import Ctx, as_agent, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])


def action_labels() -> dict[str, str]:
    return {
        "hold": _("Hold for review"),
        "approve": _("Approve"),
        "hide": _("Hide, with a public reason"),
        "spam": _("Mark as spam"),
    }


def _page(
    request: Request, ctx: Ctx, mention_id: int, *, error: str | None = None, done: str = ""
) -> HTMLResponse:
    mention = mentions_svc.get_mention(ctx.engine, ctx.workspace, mention_id)
    return page(
        request,
        "mentions/moderation.html",
        ctx=ctx,
        m=mention,
        history=moderation.history(ctx.engine, ctx.workspace, mention_id),
        possible=moderation.can_moderate(
            ctx.engine, ctx.workspace, mention_id, settings=ctx.settings
        ),
        actions=action_labels(),
        error=error,
        notice={
            "done": _("Done: the action is on record."),
            "failed": _("The platform refused: see the error below."),
        }.get(done),
        status_code=400 if error else 200,
    )


@router.get(
    "/mentions/{mention_id}/moderation", response_class=HTMLResponse, include_in_schema=False
)
def moderation_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], mention_id: int, done: str = ""
) -> HTMLResponse:
    return _page(request, ctx, mention_id, done=done)


@router.post("/mentions/{mention_id}/moderation", include_in_schema=False)
def moderate(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    mention_id: int,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        record = moderation.moderate(
            ctx.engine,
            ctx.workspace,
            mention_id,
            action=action,
            reason=reason or None,
            actor=ctx.viewer.user,
            settings=ctx.settings,
        )
    except FloconError as exc:
        return _page(request, ctx, mention_id, error=str(exc))
    return RedirectResponse(
        f"/w/{ctx.workspace}/mentions/{mention_id}/moderation?done={record.status}",
        status_code=303,
    )
