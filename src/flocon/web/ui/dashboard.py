"""Pages: the dashboard (placeholder until the dashboard page lands)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from flocon.web.deps import Ctx, as_viewer
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, ctx: Annotated[Ctx, Depends(as_viewer)]) -> HTMLResponse:
    return page(request, "dashboard.html", ctx=ctx)
