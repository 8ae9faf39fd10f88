"""REST API v1 schemas of alerts, alert rules and deliveries (inputs refuse unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flocon.domain.models import Mention
from flocon.services import alerting
from flocon.services.signals import KINDS
from flocon.storage.queries.alert_lists import ListedAlert
from flocon.storage.queries.alerts import DeliveryRow

Level = Literal["low", "medium", "high"]


class AlertOut(BaseModel):
    """An alert: what fired, on which watch, why, and who handled it."""

    id: int
    watch: str | None = Field(description="None for a workspace alert (source_down).")
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")
    status: str = Field(description="open, acked, closed (back to normal) or resolved.")
    severity: str
    score: float | None
    episode_start: datetime
    detected_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acked_by: str | None
    acked_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    explanation: str
    evidence: list[int] = Field(description="Ids of the mentions behind the alert.")
    details: dict[str, Any] = Field(description="The detector's figures and factors.")

    @classmethod
    def of(cls, item: ListedAlert) -> AlertOut:
        a = item.alert
        return cls(
            id=a.id,
            watch=item.watch,
            kind=a.kind,
            status=a.status,
            severity=a.severity,
            score=a.score,
            episode_start=a.episode_start,
            detected_at=a.detected_at,
            updated_at=a.updated_at,
            closed_at=a.closed_at,
            acked_by=a.acked_by,
            acked_at=item.acked_at,
            resolved_by=a.resolved_by,
            resolved_at=item.resolved_at,
            explanation=a.explanation,
            evidence=a.evidence,
            details=a.details,
        )


class EvidenceMention(BaseModel):
    """A mention behind an alert (collected text: escape it before showing it)."""

    id: int
    source_kind: str
    site: str
    url: str | None
    title: str | None
    text: str
    author_handle: str | None
    author_name: str | None
    published_at: datetime | None
    collected_at: datetime
    lang: str | None
    sentiment: str | None

    @classmethod
    def of(cls, m: Mention) -> EvidenceMention:
        return cls(
            id=m.id,
            source_kind=m.source_kind,
            site=m.site,
            url=m.url,
            title=m.title,
            text=m.text,
            author_handle=m.author_handle,
            author_name=m.author_name,
            published_at=m.published_at,
            collected_at=m.collected_at,
            lang=m.lang,
            sentiment=m.sentiment,
        )


class AlertDetail(AlertOut):
    """An alert with its evidence mentions."""

    evidence_mentions: list[EvidenceMention]


class AlertList(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def _all_kinds() -> list[str]:
    return list(KINDS)


class AlertRuleCreate(BaseModel):
    """A new alert rule. ``channels`` (``email:…``, ``webhook:…``, ``apprise:…``) need the
    admin role; a manager gives ``channels_of``, the id of a rule whose channels to reuse."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    watch: str | None = Field(default=None, description="Only this watch.")
    group: str | None = Field(default=None, description="Only the watches of this group.")
    signals: list[str] = Field(default_factory=_all_kinds, min_length=1)
    sensitivity: Level = "medium"
    min_severity: Level = "low"
    channels: list[str] = Field(
        default_factory=list, description="Write-only: never returned (admin+)."
    )
    channels_of: int | None = Field(default=None, description="Reuse this rule's channels.")
    quiet_hours: str | None = Field(default=None, examples=["22:00-07:00"])
    timezone: str = "UTC"
    cooldown_s: int = Field(default=3600, ge=0)
    digest: Literal["off", "hourly", "daily"] = "off"

    def spec(self) -> alerting.RuleSpec:
        return alerting.RuleSpec(
            name=self.name.strip(),
            channels=list(self.channels),
            watch=self.watch or None,
            group=self.group or None,
            signals=tuple(self.signals),
            sensitivity=self.sensitivity,
            min_severity=self.min_severity,
            quiet_hours=self.quiet_hours or None,
            timezone=self.timezone,
            cooldown_s=self.cooldown_s,
            digest=self.digest,
        )


class AlertRuleOut(BaseModel):
    """An alert rule; ``channels`` are shown without their secrets."""

    id: int
    name: str
    watch: str | None
    group: str | None
    signals: list[str]
    sensitivity: str
    min_severity: str
    channels: list[str]
    quiet_hours: str | None
    timezone: str
    cooldown_s: int
    digest: str
    created_at: datetime

    @classmethod
    def of(cls, view: alerting.RuleView) -> AlertRuleOut:
        r = view.rule
        return cls(
            id=r.id,
            name=r.name,
            watch=view.watch,
            group=r.group_name,
            signals=list(r.signals),
            sensitivity=r.sensitivity,
            min_severity=r.min_severity,
            channels=list(r.channels_shown),
            quiet_hours=r.quiet_hours,
            timezone=r.timezone,
            cooldown_s=r.cooldown_s,
            digest=r.digest,
            created_at=r.created_at,
        )


class AlertRuleList(BaseModel):
    items: list[AlertRuleOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    """One message of a rule's channel: pending, held (digest), sent, failed (will retry)
    or dead (gave up; replay it)."""

    id: int
    rule_id: int
    channel: int
    alert_ids: list[int]
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    subject: str

    @classmethod
    def of(cls, d: DeliveryRow) -> DeliveryOut:
        return cls(
            id=d.id,
            rule_id=d.rule_id,
            channel=d.channel,
            alert_ids=d.alert_ids,
            status=d.status,
            attempts=d.attempts,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at,
            sent_at=d.sent_at,
            last_error=d.last_error,
            subject=d.subject,
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
