"""Page: the team's work for a period (cases opened and resolved, response times by agent,
channel and priority, SLA compliance), with its CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from flocon.errors import FloconError
from flocon.services.cases import reports as team
from flocon.web.deps import Ctx, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])
PERIODS = (7, 30, 90)


def dimension_labels() -> dict[str, str]:
    return {
        "agent": _("By agent"),
        "watch": _("By watch"),
        "channel": _("By channel"),
        "priority": _("By priority"),
    }


@router.get("/inbox/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], days: int = 30
) -> HTMLResponse:
    if days not in PERIODS:
        days = 30
    now = datetime.now(UTC)
    error = None
    try:
        found = team.team_report(
            ctx.engine, ctx.workspace, since=now - timedelta(days=days), until=now
        )
    except FloconError as exc:  # pragma: no cover - the period is always valid here
        error, found = str(exc), None
    return page(
        request,
        "inbox/report.html",
        ctx=ctx,
        report=found,
        days=days,
        periods=PERIODS,
        error=error,
        dimensions=dimension_labels(),
        csv_url=(
            f"/api/v1/workspaces/{ctx.workspace}/inbox/report?format=csv"
            f"&since={(now - timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f"&until={now.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        ),
    )
