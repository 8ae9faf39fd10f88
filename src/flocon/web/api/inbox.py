"""REST API v1: reports on the team's work (JSON or CSV) and moderation of the brand's own
spaces (hold, approve, hide with a public reason, spam; never a deletion)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from flocon.services.cases import moderation
from flocon.services.cases import reports as team
from flocon.web.deps import Ctx, as_agent, as_viewer

router = APIRouter(prefix="/workspaces/{ws}", tags=["inbox"])


class FiguresOut(BaseModel):
    opened: int
    resolved: int
    first_responses: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    resolution_median_s: float | None
    resolution_p90_s: float | None
    first_response_sla_pct: float | None = Field(description="Share answered before due.")
    resolution_sla_pct: float | None = Field(description="Share resolved before due.")

    @classmethod
    def of(cls, f: team.Figures) -> FiguresOut:
        return cls(
            opened=f.opened,
            resolved=f.resolved,
            first_responses=len(f.first_response_s),
            first_response_median_s=f.first_response_median_s,
            first_response_p90_s=f.first_response_p90_s,
            resolution_median_s=f.resolution_median_s,
            resolution_p90_s=f.resolution_p90_s,
            first_response_sla_pct=f.first_response_sla_pct,
            resolution_sla_pct=f.resolution_sla_pct,
        )


class TeamReportOut(BaseModel):
    since: datetime
    until: datetime
    total: FiguresOut
    by_agent: dict[str, FiguresOut]
    by_channel: dict[str, FiguresOut]
    by_priority: dict[str, FiguresOut]


@router.get("/inbox/report", response_model=None)
def report(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    since: Annotated[
        datetime | None, Query(description="Start (ISO 8601); default 30 days back.")
    ] = None,
    until: Annotated[datetime | None, Query(description="End (ISO 8601); default now.")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Cases opened and resolved, response times (median, 90th percentile) by agent, channel
    and priority, and SLA compliance, for a period; ``format=csv`` downloads it."""
    found = team.team_report(ctx.engine, ctx.workspace, since=since, until=until)
    if format == "csv":
        name = f"flocon-team-{found.since:%Y%m%d}-{found.until:%Y%m%d}.csv"
        return Response(
            "\ufeff" + team.report_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return TeamReportOut(
        since=found.since,
        until=found.until,
        total=FiguresOut.of(found.total),
        by_agent={k: FiguresOut.of(v) for k, v in found.by["agent"].items()},
        by_channel={k: FiguresOut.of(v) for k, v in found.by["channel"].items()},
        by_priority={k: FiguresOut.of(v) for k, v in found.by["priority"].items()},
    )


class ModerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["hold", "approve", "hide", "spam"]
    reason: str | None = Field(
        default=None, max_length=2000, description="Required to hide: published as is."
    )


class ModerationOut(BaseModel):
    id: int
    mention_id: int | None
    action: str
    reason: str | None
    status: str = Field(description="pending, done or failed (with error).")
    error: str | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, r: moderation.ModerationRecord) -> ModerationOut:
        return cls(
            id=r.id,
            mention_id=r.mention_id,
            action=r.action,
            reason=r.reason,
            status=r.status,
            error=r.error,
            actor=r.actor,
            at=r.at,
        )


@router.post("/mentions/{mention_id}/moderate", response_model=ModerationOut, status_code=201)
def moderate(
    ctx: Annotated[Ctx, Depends(as_agent)], mention_id: int, body: ModerateIn, response: Response
) -> ModerationOut:
    """Moderate a comment or post on the brand's own WordPress or Discourse site. A platform
    failure is kept on record and answered with 502."""
    record = moderation.moderate(
        ctx.engine,
        ctx.workspace,
        mention_id,
        action=body.action,
        reason=body.reason,
        actor=ctx.viewer.user,
        settings=ctx.settings,
    )
    if record.status == "failed":
        response.status_code = 502
    return ModerationOut.of(record)


@router.get("/mentions/{mention_id}/moderation", response_model=list[ModerationOut])
def moderation_history(
    ctx: Annotated[Ctx, Depends(as_viewer)], mention_id: int
) -> list[ModerationOut]:
    return [ModerationOut.of(r) for r in moderation.history(ctx.engine, ctx.workspace, mention_id)]
