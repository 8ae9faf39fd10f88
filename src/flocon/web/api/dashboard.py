"""REST API v1: the dashboard's figures as JSON (volume, trend, share of voice, tops,
emerging themes, open alerts, each with the query of the mentions behind it) and the volume
series as CSV. Viewer role; same figures as the page (flocon.web.ui.dashboard)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from flocon.services import dashboard as dash
from flocon.services.mentions import BadFilter
from flocon.web import i18n
from flocon.web.api.schemas_dashboard import (
    DashboardAlertOut,
    DashboardOut,
    FilterOut,
    KpisOut,
    ShareOut,
    ShareRowOut,
    ThemeOut,
    TopRowOut,
    TrendPointOut,
    VolumeOut,
    drill_of,
)
from flocon.web.deps import Ctx, as_viewer
from flocon.web.ui.dashboard import Figures, dashboard_filter, gather

router = APIRouter(prefix="/workspaces/{ws}", tags=["dashboard"])

#: The period when none is given: the 7 days up to now.
DEFAULT_SPAN: Final = timedelta(days=7)
#: Cells a spreadsheet would read as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

Since = Annotated[
    str | None,
    Query(
        description="Start (ISO 8601, included; no time zone: UTC). Default: 7 days before until."
    ),
]
Until = Annotated[
    str | None, Query(description="End (ISO 8601, excluded; no time zone: UTC). Default: now.")
]
Watches = Annotated[
    list[str] | None, Query(alias="watch", description="Only these watches (repeatable).")
]
Group = Annotated[str, Query(description="Only the watches of this group.")]
Sentiment = Annotated[str, Query(description="positive, neutral, negative or unknown.")]
Lang = Annotated[str, Query(description="A language code (fr, en...).")]
SourceKind = Annotated[str, Query(description="A source kind (rss, reddit, mastodon...).")]
Timezone = Annotated[
    str | None,
    Query(description="IANA time zone of daily buckets (default: the caller's, else UTC)."),
]
BucketParam = Annotated[
    Literal["hour", "day"] | None,
    Query(description="Bucket size; default: hours up to 3 days, else days."),
]


def _when(raw: str | None, name: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise BadFilter(f"{name} must be an ISO 8601 date or datetime (got {raw!r})") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _filter(
    since: str | None,
    until: str | None,
    watches: list[str] | None,
    group: str,
    sentiment: str,
    lang: str,
    source_kind: str,
    timezone: str | None,
) -> dash.DashboardFilter:
    end = _when(until, "until") or datetime.now(UTC)
    start = _when(since, "since") or end - DEFAULT_SPAN
    return dashboard_filter(
        start,
        end,
        watches=watches or (),
        group=group,
        sentiment=sentiment,
        lang=lang,
        source_kind=source_kind,
        timezone=timezone or i18n.current().tz.key,
    )


def _out(figures: Figures) -> DashboardOut:
    flt, k = figures.flt, figures.kpis
    return DashboardOut(
        filter=FilterOut(
            since=figures.volume.since,
            until=figures.volume.until,
            watches=list(flt.watches),
            group=flt.group,
            sentiment=flt.sentiment,
            lang=flt.lang,
            source_kind=flt.source_kind,
            timezone=flt.timezone,
        ),
        kpis=KpisOut(
            mentions=k.mentions,
            negative=k.negative,
            analysed=k.analysed,
            negative_share=k.negative_share,
            net_sentiment=k.net_sentiment,
            open_alerts=k.open_alerts,
            drill=drill_of(figures.drill),
        ),
        volume=VolumeOut.of(figures.volume),
        trend=[TrendPointOut.of(t) for t in figures.trend],
        share_of_voice=ShareOut(
            group=figures.share_group, rows=[ShareRowOut.of(r) for r in figures.share]
        ),
        top_sources=[TopRowOut.of(r) for r in figures.sources],
        top_sites=[TopRowOut.of(r) for r in figures.sites],
        top_authors=[TopRowOut.of(r) for r in figures.authors],
        emerging=[ThemeOut.of(t) for t in figures.emerging or ()],
        open_alerts=[DashboardAlertOut.of(a) for a in figures.alerts],
    )


@router.get("/dashboard", response_model=DashboardOut)
def get_dashboard(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    since: Since = None,
    until: Until = None,
    watch: Watches = None,
    group: Group = "",
    sentiment: Sentiment = "",
    lang: Lang = "",
    source_kind: SourceKind = "",
    timezone: Timezone = None,
    bucket: BucketParam = None,
    top: Annotated[int, Query(ge=1, le=100, description="Rows of each top list.")] = 10,
    themes: Annotated[
        bool, Query(description="false: leave the emerging themes out (the slowest figure).")
    ] = True,
) -> DashboardOut:
    """Every figure of the dashboard for a period (widened to whole hours) and filters:
    KPIs, volume per bucket and sentiment (distinct total and per watch), net sentiment
    trend, share of voice, top source kinds, sites and authors, emerging themes and open
    alerts. Each figure carries ``drill``, the query string of the mentions behind it."""
    flt = _filter(since, until, watch, group, sentiment, lang, source_kind, timezone)
    groups = dash.groups(ctx.engine, ctx.workspace)
    figures = gather(
        ctx.engine, ctx.workspace, flt, groups=groups, top=top, bucket=bucket, themes=themes
    )
    return _out(figures)


def csv_cell(value: object) -> str:
    """A cell no spreadsheet runs as a formula (``=``, ``+``, ``-``, ``@`` get a ``'``)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def volume_csv(series: dash.VolumeSeries) -> str:
    """The volume series as CSV: the distinct total ("total"), then each watch's line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["series", "watch", "start", "end", "positive", "neutral", "negative", "unknown", "total"]
    )
    lines: Iterable[tuple[str, dash.VolumeLine]] = [
        ("total", series.total),
        *(("watch", line) for line in series.watches),
    ]
    for kind, line in lines:
        for p in line.points:
            writer.writerow(
                csv_cell(v)
                for v in (
                    kind,
                    line.watch or "",
                    p.start.isoformat(),
                    p.end.isoformat(),
                    p.positive,
                    p.neutral,
                    p.negative,
                    p.unknown,
                    p.total,
                )
            )
    return buffer.getvalue()


@router.get(
    "/dashboard/volume.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The volume series as CSV."}},
)
def get_volume_csv(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    since: Since = None,
    until: Until = None,
    watch: Watches = None,
    group: Group = "",
    sentiment: Sentiment = "",
    lang: Lang = "",
    source_kind: SourceKind = "",
    timezone: Timezone = None,
    bucket: BucketParam = None,
) -> Response:
    """The volume series as CSV (same filters as the dashboard): a header row, then one row
    per bucket of the distinct total (``series`` = total) and of each watch (``series`` =
    watch); times in UTC, ISO 8601. Cells that a spreadsheet would read as a formula start
    with ``'``."""
    flt = _filter(since, until, watch, group, sentiment, lang, source_kind, timezone)
    series = dash.volume(ctx.engine, ctx.workspace, flt, bucket=bucket)
    return Response(
        volume_csv(series),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="volume.csv"'},
    )
