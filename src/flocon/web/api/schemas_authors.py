"""REST API v1 schemas of authors: influence scores, profiles with the explanation of their
score, and recomputations (inputs refuse unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flocon.services import influence
from flocon.web.api.schemas_alerts import EvidenceMention


class AuthorScoreOut(BaseModel):
    """An author's stored score in a scope, with its main inputs."""

    author_id: int
    platform: str
    handle: str | None
    name: str | None
    score: float = Field(description="0–100.")
    stance: str = Field(description="advocate, detractor, neutral or unknown.")
    followers: int | None
    mentions: int
    engagement: int
    pagerank: float
    lift: float
    replies_received: int
    mentioned_by: int
    shared_by: int
    sentiment_mean: float | None
    since: datetime | None
    computed_at: datetime

    @classmethod
    def of(cls, s: influence.AuthorScore) -> AuthorScoreOut:
        return cls(
            author_id=s.author_id,
            platform=s.platform,
            handle=s.handle,
            name=s.name,
            score=round(s.score, 4),
            stance=s.stance,
            followers=s.followers,
            mentions=s.mentions,
            engagement=s.engagement,
            pagerank=s.pagerank,
            lift=s.lift,
            replies_received=s.replies_received,
            mentioned_by=s.mentioned_by,
            shared_by=s.shared_by,
            sentiment_mean=s.sentiment_mean,
            since=s.since,
            computed_at=s.computed_at,
        )


class AuthorList(BaseModel):
    """Authors best first; ``computed_at`` is None when the scope was never computed."""

    items: list[AuthorScoreOut]
    next_cursor: str | None
    computed_at: datetime | None
    since: datetime | None


class ComponentOut(BaseModel):
    component: str
    inputs: dict[str, Any]
    value: float = Field(description="0–1.")
    weight: float
    points: float


class ExplanationOut(BaseModel):
    """Every input of a score next to the model's formula and parameters
    (``flocon authors --explain``)."""

    computed_by: str | None
    outdated: bool = Field(description="The score was computed by an older model.")
    model: dict[str, Any]
    components: list[ComponentOut]
    total: float
    stance: dict[str, Any]


class AuthorProfileOut(BaseModel):
    """An author, their score in the scope (with its explanation) and their latest mentions."""

    author_id: int
    platform: str
    key: str
    handle: str | None
    name: str | None
    followers: int | None
    score: AuthorScoreOut | None
    explanation: ExplanationOut | None
    recent_mentions: list[EvidenceMention]


class RecomputeIn(BaseModel):
    """Which scope to compute again: one watch, or every watch together."""

    model_config = ConfigDict(extra="forbid")

    watch: str | None = None


class RecomputeOut(BaseModel):
    authors: int
    mentions: int
    interactions: dict[str, int]
    seconds: float
    computed_at: datetime
