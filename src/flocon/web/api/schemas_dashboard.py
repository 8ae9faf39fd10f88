"""REST API v1 schemas of the dashboard: every figure with ``drill``, the query string of the
mentions behind it (for ``GET .../mentions?<drill>`` and the page ``/w/{ws}/mentions?<drill>``)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from pydantic import BaseModel, Field

from flocon.services import dashboard as dash
from flocon.services.mentions import MentionQuery

DRILL = (
    "Query string (without '?') of the mentions behind this figure: append it to "
    "GET /api/v1/workspaces/{ws}/mentions or to the page /w/{ws}/mentions."
)


def drill_of(query: MentionQuery) -> str:
    return urlencode(query.to_params())


class FilterOut(BaseModel):
    """The filter the figures were computed with; ``since``/``until``: widened to whole hours."""

    since: datetime
    until: datetime
    watches: list[str]
    group: str | None
    sentiment: str | None
    lang: str | None
    source_kind: str | None
    timezone: str


class KpisOut(BaseModel):
    """Headline figures: distinct mentions of the scope in the period."""

    mentions: int
    negative: int
    analysed: int = Field(description="Mentions with a sentiment (positive, neutral, negative).")
    negative_share: float | None = Field(description="negative / analysed; null: none analysed.")
    net_sentiment: float | None = Field(description="(positive − negative) / analysed, −1 to 1.")
    open_alerts: int = Field(description="Open alerts (not acknowledged).")
    drill: str = Field(description=DRILL)


class VolumePointOut(BaseModel):
    start: datetime
    end: datetime
    positive: int
    neutral: int
    negative: int
    unknown: int
    total: int
    drill: str = Field(description=DRILL + " Add &sentiment=... for one slice.")

    @classmethod
    def of(cls, p: dash.VolumePoint) -> VolumePointOut:
        return cls(
            start=p.start,
            end=p.end,
            positive=p.positive,
            neutral=p.neutral,
            negative=p.negative,
            unknown=p.unknown,
            total=p.total,
            drill=drill_of(p.drill),
        )


class VolumeLineOut(BaseModel):
    watch: str | None = Field(description="null: the scope's distinct mentions.")
    total: int
    points: list[VolumePointOut]

    @classmethod
    def of(cls, line: dash.VolumeLine) -> VolumeLineOut:
        return cls(
            watch=line.watch,
            total=line.total,
            points=[VolumePointOut.of(p) for p in line.points],
        )


class VolumeOut(BaseModel):
    """Mentions per bucket and sentiment, zero-filled: the scope's distinct total, and one
    line per watch (a mention of two watches is in both lines)."""

    bucket: str = Field(description="hour or day (days start at midnight in ``timezone``).")
    since: datetime
    until: datetime
    total: VolumeLineOut
    watches: list[VolumeLineOut]

    @classmethod
    def of(cls, series: dash.VolumeSeries) -> VolumeOut:
        return cls(
            bucket=series.bucket,
            since=series.since,
            until=series.until,
            total=VolumeLineOut.of(series.total),
            watches=[VolumeLineOut.of(line) for line in series.watches],
        )


class TrendPointOut(BaseModel):
    start: datetime
    end: datetime
    net: float | None = Field(description="(positive − negative) / analysed; null: none.")
    mentions: int = Field(description="Analysed mentions it is computed from.")
    drill: str = Field(description=DRILL)

    @classmethod
    def of(cls, t: dash.TrendPoint) -> TrendPointOut:
        return cls(
            start=t.start, end=t.end, net=t.net, mentions=t.mentions, drill=drill_of(t.drill)
        )


class ShareRowOut(BaseModel):
    watch: str
    mentions: int
    share: float
    positive: int
    negative: int
    neutral: int
    unknown: int
    net_sentiment: float | None
    drill: str = Field(description=DRILL)

    @classmethod
    def of(cls, r: dash.ShareRow) -> ShareRowOut:
        return cls(
            watch=r.watch,
            mentions=r.mentions,
            share=r.share,
            positive=r.positive,
            negative=r.negative,
            neutral=r.neutral,
            unknown=r.unknown,
            net_sentiment=r.net_sentiment,
            drill=drill_of(r.drill),
        )


class ShareOut(BaseModel):
    """Share of voice among the chosen watches, else the chosen group, else the first group,
    else every watch."""

    group: str | None
    rows: list[ShareRowOut]


class TopRowOut(BaseModel):
    key: str = Field(description="The value to filter on (source kind, site, author key).")
    label: str
    count: int
    negative: int
    drill: str = Field(description=DRILL)

    @classmethod
    def of(cls, r: dash.TopRow) -> TopRowOut:
        return cls(
            key=r.key, label=r.label, count=r.count, negative=r.negative, drill=drill_of(r.drill)
        )


class ThemeOut(BaseModel):
    """A theme said more often in the period than in the one of the same length before."""

    label: str
    phrases: list[str]
    mentions: int = Field(description="Mentions of the period holding it (ids: mention_ids).")
    total: int = Field(description="Mentions of the period it was looked for in.")
    z: float
    mention_ids: list[int]
    drill: str = Field(description=DRILL + " (a full-text search of the label)")

    @classmethod
    def of(cls, t: dash.EmergingTheme) -> ThemeOut:
        return cls(
            label=t.label,
            phrases=list(t.phrases),
            mentions=t.mentions,
            total=t.of,
            z=t.z,
            mention_ids=list(t.mention_ids),
            drill=drill_of(t.drill),
        )


class DashboardAlertOut(BaseModel):
    """An open or acknowledged alert (details: GET .../alerts/{id})."""

    id: int
    kind: str
    status: str
    severity: str
    watch: str | None
    detected_at: datetime
    updated_at: datetime
    explanation: str
    evidence: list[int]

    @classmethod
    def of(cls, a: dash.DashboardAlert) -> DashboardAlertOut:
        return cls(
            id=a.id,
            kind=a.kind,
            status=a.status,
            severity=a.severity,
            watch=a.watch,
            detected_at=a.detected_at,
            updated_at=a.updated_at,
            explanation=a.explanation,
            evidence=list(a.evidence),
        )


class DashboardOut(BaseModel):
    """Every figure of a workspace's dashboard for a period and filters."""

    filter: FilterOut
    kpis: KpisOut
    volume: VolumeOut
    trend: list[TrendPointOut]
    share_of_voice: ShareOut
    top_sources: list[TopRowOut]
    top_sites: list[TopRowOut]
    top_authors: list[TopRowOut]
    emerging: list[ThemeOut]
    open_alerts: list[DashboardAlertOut]
