"""REST API v1: authors by influence, an author's profile with the explanation of their
score, and computing the scores again (manager or above)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flocon.errors import ConfigError
from flocon.services import influence, mentions
from flocon.web.api.schemas_alerts import EvidenceMention
from flocon.web.api.schemas_authors import (
    AuthorList,
    AuthorProfileOut,
    AuthorScoreOut,
    ComponentOut,
    ExplanationOut,
    RecomputeIn,
    RecomputeOut,
)
from flocon.web.api.schemas_workspace import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_offset,
    encode_offset,
)
from flocon.web.deps import Ctx, as_manager, as_viewer
from flocon.web.ui import authors as shared

router = APIRouter(prefix="/workspaces/{ws}", tags=["authors"])


@router.get("/authors", response_model=AuthorList)
def list_authors(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    watch: Annotated[str | None, Query(description="Scores within this watch.")] = None,
    stance: Annotated[
        str | None, Query(description="advocate, detractor, neutral or unknown.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="The previous page's next_cursor.")] = None,
) -> AuthorList:
    """Authors by influence score (0–100), best first, with their stance. Empty with
    ``computed_at`` null until the scope's scores are computed (POST authors/recompute)."""
    if stance is not None and stance not in shared.STANCES:
        raise ConfigError(f"stance must be one of {', '.join(shared.STANCES)}")
    state = influence.scores_state(ctx.engine, ctx.workspace, watch=watch)
    start = decode_offset(cursor)
    rows: list[influence.AuthorScore] = []
    if state is not None:
        rows = influence.top_authors(
            ctx.engine, ctx.workspace, watch=watch, stance=stance, limit=start + limit + 1
        )[start:]
    return AuthorList(
        items=[AuthorScoreOut.of(s) for s in rows[:limit]],
        next_cursor=encode_offset(start + limit) if len(rows) > limit else None,
        computed_at=state.computed_at if state else None,
        since=state.since if state else None,
    )


@router.get("/authors/{author_id}", response_model=AuthorProfileOut)
def get_author(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    author_id: int,
    watch: Annotated[str | None, Query(description="The score within this watch.")] = None,
) -> AuthorProfileOut:
    """One author: platform, followers, their score in the scope with every input behind
    it and the formula, and their 20 latest mentions."""
    profile = influence.author_profile(ctx.engine, ctx.workspace, author_id, watch=watch)
    recent = mentions.page_mentions(
        ctx.engine, ctx.workspace, shared.history_query(profile), limit=20
    )
    explained = None
    if profile.score is not None:
        data = shared.explanation(profile.score)
        explained = ExplanationOut(
            computed_by=data["computed_by"],
            outdated=data["outdated"],
            model=data["model"],
            components=[ComponentOut(**c) for c in data["components"]],
            total=data["total"],
            stance=data["stance"],
        )
    return AuthorProfileOut(
        author_id=profile.author_id,
        platform=profile.platform,
        key=profile.key,
        handle=profile.handle,
        name=profile.name,
        followers=profile.followers,
        score=AuthorScoreOut.of(profile.score) if profile.score else None,
        explanation=explained,
        recent_mentions=[EvidenceMention.of(m) for m in recent.items],
    )


@router.post("/authors/recompute", response_model=RecomputeOut)
def recompute(ctx: Annotated[Ctx, Depends(as_manager)], body: RecomputeIn) -> RecomputeOut:
    """Compute the scores of a scope again from the stored mentions (manager or above)."""
    report = shared.recompute(ctx, body.watch)
    return RecomputeOut(
        authors=report.authors,
        mentions=report.mentions,
        interactions=dict(report.interactions),
        seconds=report.seconds,
        computed_at=report.computed_at,
    )
