"""REST API v1 of the inbox beside the cases: reports on the team's work (JSON or CSV),
moderation of the brand's own spaces (hold, approve, hide with a public reason, spam; never a
deletion), saved replies, the tone check, posting accounts and the inbox settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from flocon.analysis.tone import DESCRIPTIONS, check_tone
from flocon.services import cases as svc
from flocon.services.cases import moderation
from flocon.services.cases import reports as team
from flocon.web.deps import Ctx, as_admin, as_agent, as_manager, as_viewer

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
    by_watch: dict[str, FiguresOut]
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
        by_watch={k: FiguresOut.of(v) for k, v in found.by["watch"].items()},
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


# -- saved replies, posting accounts, inbox settings -----------------------------------------


class SavedReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    lang: Literal["fr", "en"]
    text: str = Field(min_length=1, max_length=5000, description="Variables: {author}, {brand}…")


class SavedReplyOut(BaseModel):
    id: int
    name: str
    lang: str
    text: str
    created_by: str | None
    updated_at: datetime


def _saved_out(s: svc.SavedReply) -> SavedReplyOut:
    return SavedReplyOut(
        id=s.id,
        name=s.name,
        lang=s.lang,
        text=s.text,
        created_by=s.created_by,
        updated_at=s.updated_at,
    )


@router.get("/saved-replies", response_model=list[SavedReplyOut])
def list_saved_replies(
    ctx: Annotated[Ctx, Depends(as_viewer)], lang: str | None = None
) -> list[SavedReplyOut]:
    return [_saved_out(s) for s in svc.list_saved(ctx.engine, ctx.workspace, lang=lang)]


@router.post("/saved-replies", response_model=SavedReplyOut, status_code=201)
def add_saved_reply(ctx: Annotated[Ctx, Depends(as_manager)], body: SavedReplyIn) -> SavedReplyOut:
    """A reply template (manager+); the template is checked (unknown variable: 400)."""
    return _saved_out(
        svc.save_saved(
            ctx.engine,
            ctx.workspace,
            name=body.name,
            lang=body.lang,
            text=body.text,
            actor=ctx.viewer.user,
        )
    )


@router.put("/saved-replies/{saved_id}", response_model=SavedReplyOut)
def edit_saved_reply(
    ctx: Annotated[Ctx, Depends(as_manager)], saved_id: int, body: SavedReplyIn
) -> SavedReplyOut:
    return _saved_out(
        svc.save_saved(
            ctx.engine,
            ctx.workspace,
            name=body.name,
            lang=body.lang,
            text=body.text,
            actor=ctx.viewer.user,
            saved_id=saved_id,
        )
    )


@router.delete("/saved-replies/{saved_id}", status_code=204)
def remove_saved_reply(ctx: Annotated[Ctx, Depends(as_manager)], saved_id: int) -> Response:
    svc.remove_saved(ctx.engine, ctx.workspace, saved_id, actor=ctx.viewer.user)
    return Response(status_code=204)


@router.get("/cases/{case_id}/saved-replies/{saved_id}", response_model=dict[str, str])
def fill_saved_reply(
    ctx: Annotated[Ctx, Depends(as_agent)], case_id: int, saved_id: int
) -> dict[str, str]:
    """The saved reply's text with this case's values, ready to edit and send."""
    return {
        "text": svc.fill_saved(
            ctx.engine,
            ctx.workspace,
            saved_id,
            case_id,
            agent=ctx.viewer.user,
            base_url=ctx.settings.web_base_url,
        )
    }


class ToneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    lang: Literal["fr", "en"] | None = None
    complaint: bool = True


@router.post("/tone-check", response_model=dict[str, Any])
def tone_check(ctx: Annotated[Ctx, Depends(as_viewer)], body: ToneIn) -> dict[str, Any]:
    """The tone check of a draft: ``ok``, and each issue with its code, severity, the words
    that triggered it and their position."""
    report = check_tone(body.text, lang=body.lang, complaint=body.complaint)
    return {
        "lang": report.lang,
        "ok": report.ok,
        "issues": [
            {
                "code": i.code,
                "severity": i.severity,
                "evidence": i.evidence,
                "start": i.start,
                "end": i.end,
                "description": DESCRIPTIONS.get(i.code, ""),
            }
            for i in report.issues
        ],
    }


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str
    name: str = Field(min_length=1, max_length=200)
    base_url: str
    credentials: dict[str, str] = Field(description="Write-only: never returned.")


class AccountOut(BaseModel):
    id: int
    platform: str
    name: str
    base_url: str
    created_at: datetime
    created_by: str | None


@router.get("/posting-accounts", response_model=list[AccountOut])
def list_posting_accounts(ctx: Annotated[Ctx, Depends(as_viewer)]) -> list[AccountOut]:
    return [
        AccountOut(
            id=a.id,
            platform=a.platform,
            name=a.name,
            base_url=a.base_url,
            created_at=a.created_at,
            created_by=a.created_by,
        )
        for a in svc.list_accounts(ctx.engine, ctx.workspace)
    ]


@router.post("/posting-accounts", response_model=AccountOut, status_code=201)
def add_posting_account(ctx: Annotated[Ctx, Depends(as_admin)], body: AccountIn) -> AccountOut:
    """An account flocon posts replies with (admin+); its credentials are sealed and never
    shown again."""
    a = svc.add_account(
        ctx.engine,
        ctx.workspace,
        platform=body.platform,
        name=body.name,
        base_url=body.base_url,
        credentials=body.credentials,
        settings=ctx.settings,
        actor=ctx.viewer.user,
    )
    return AccountOut(
        id=a.id,
        platform=a.platform,
        name=a.name,
        base_url=a.base_url,
        created_at=a.created_at,
        created_by=a.created_by,
    )


@router.delete("/posting-accounts/{account_id}", status_code=204)
def remove_posting_account(ctx: Annotated[Ctx, Depends(as_admin)], account_id: int) -> Response:
    svc.remove_account(ctx.engine, ctx.workspace, account_id, actor=ctx.viewer.user)
    return Response(status_code=204)


class InboxSettingsIo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_hours: dict[str, Any] | None = None
    sla: dict[str, Any] | None = None
    suggest: bool | None = None


def _settings_out(s: svc.InboxSettings) -> InboxSettingsIo:
    return InboxSettingsIo(
        business_hours=s.business_hours.to_json(), sla=s.sla.to_json(), suggest=s.suggest
    )


@router.get("/inbox/settings", response_model=InboxSettingsIo)
def get_inbox_settings(ctx: Annotated[Ctx, Depends(as_viewer)]) -> InboxSettingsIo:
    return _settings_out(svc.get_inbox_settings(ctx.engine, ctx.workspace))


@router.patch("/inbox/settings", response_model=InboxSettingsIo)
def set_inbox_settings(
    ctx: Annotated[Ctx, Depends(as_admin)], body: InboxSettingsIo
) -> InboxSettingsIo:
    """Business hours, SLA targets per priority (business seconds), suggestions on/off."""
    return _settings_out(
        svc.set_inbox_settings(
            ctx.engine,
            ctx.workspace,
            actor=ctx.viewer.user,
            business_hours=body.business_hours,
            sla=body.sla,
            suggest=body.suggest,
        )
    )
