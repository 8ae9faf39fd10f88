"""Pages: a workspace's dashboard — KPIs, volume by sentiment, share of voice, net sentiment
trend, top source kinds, sites and authors, emerging themes and open alerts for a period and
filters, every figure linking to the mentions behind it.

The figures come from flocon.services.dashboard; this module reads the filter bar, gathers
them with as few queries as it can (the trend is read off the volume series instead of being
queried again), and turns them into chart data with translated labels and dates in the
user's locale. :func:`gather` and :func:`dashboard_filter` are shared with the REST API
(flocon.web.api.dashboard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from flocon.services import dashboard as dash
from flocon.services.mentions import BadFilter, MentionQuery
from flocon.web import i18n
from flocon.web.deps import Ctx, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect
from flocon.web.ui.alerts import kind_labels, severity_labels, status_labels

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

#: The period presets of the filter bar ("custom" uses the from/to dates).
PRESETS: Final[dict[str, timedelta]] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_RANGE: Final = "7d"
#: Rows of each top list.
TOP: Final = 10
#: Open and acknowledged alerts read (the KPI counts them; the list shows the first ones).
ALERTS_READ: Final = 100
ALERTS_SHOWN: Final = 8
COLOURS: Final = {
    "positive": "#17703a",
    "neutral": "#5b6470",
    "negative": "#b3261e",
    "unknown": "#9aa3ad",
}
#: Doughnut slices (distinct at a glance, each readable against white).
PALETTE: Final = (
    "#0b5cad",
    "#b3261e",
    "#17703a",
    "#8a5300",
    "#6b3fa0",
    "#00758f",
    "#a3367a",
    "#5b6470",
    "#c25e00",
    "#2f6b2f",
)
SENTIMENT_ORDER: Final = ("positive", "neutral", "negative", "unknown")


# -- the filter ------------------------------------------------------------------------------


def parse_day(raw: str, name: str) -> date | None:
    """A date of the filter bar (YYYY-MM-DD), None when empty."""
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadFilter(_("%(name)s must be a date such as 2026-03-31.", name=name)) from exc


def period(
    range_: str, day_from: date | None, day_to: date | None, *, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """``[since, until)`` in UTC: the last 24 hours / 7 / 30 / 90 days up to ``now``, or, for
    "custom", from the start of ``day_from`` to the end of ``day_to`` in ``tz`` (both
    included; a missing end is today, a missing start a week before the end)."""
    if range_ in PRESETS:
        return now - PRESETS[range_], now
    if range_ != "custom":
        raise BadFilter(_("Unknown period %(name)s.", name=range_))
    last = day_to or now.astimezone(tz).date()
    first = day_from or last - timedelta(days=6)
    if first > last:
        raise BadFilter(_("The start date comes after the end date."))
    since = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return since, until


def dashboard_filter(
    since: datetime,
    until: datetime,
    *,
    watches: Sequence[str] = (),
    group: str = "",
    sentiment: str = "",
    lang: str = "",
    source_kind: str = "",
    timezone: str = "UTC",
) -> dash.DashboardFilter:
    """The services' filter from form values (blank: any)."""
    return dash.DashboardFilter(
        since=since,
        until=until,
        watches=tuple(dict.fromkeys(w.strip() for w in watches if w.strip())),
        group=group.strip() or None,
        sentiment=sentiment.strip() or None,
        lang=lang.strip() or None,
        source_kind=source_kind.strip() or None,
        timezone=timezone,
    )


# -- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kpis:
    """The headline figures of the period (distinct mentions of the scope)."""

    mentions: int
    negative: int
    #: Mentions with a sentiment (positive, neutral or negative).
    analysed: int
    #: Negative among the analysed; None when none is analysed.
    negative_share: float | None
    net_sentiment: float | None
    #: Open (not acknowledged) alerts, counted among the latest ALERTS_READ.
    open_alerts: int


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the dashboard shows for one filter."""

    flt: dash.DashboardFilter
    volume: dash.VolumeSeries
    trend: list[dash.TrendPoint]
    #: The group share of voice compares (None: the chosen watches, or every watch).
    share_group: str | None
    share: list[dash.ShareRow]
    sources: list[dash.TopRow]
    sites: list[dash.TopRow]
    authors: list[dash.TopRow]
    #: None when not computed (the page loads them apart: see :func:`emerging_themes`).
    emerging: list[dash.EmergingTheme] | None
    alerts: list[dash.DashboardAlert]
    kpis: Kpis

    @property
    def drill(self) -> MentionQuery:
        """The mentions of the whole period (what the volume counts)."""
        first = self.volume.total.points[0].drill
        return replace(first, since=self.volume.since, until=self.volume.until)


def share_scope(
    flt: dash.DashboardFilter, groups: Sequence[str]
) -> tuple[dash.DashboardFilter, str | None]:
    """What share of voice compares: the chosen watches, else the chosen group, else the
    first group (brand against competitors), else every watch."""
    if flt.watches:
        return flt, None
    if flt.group is not None:
        return flt, flt.group
    if groups:
        return replace(flt, group=groups[0]), groups[0]
    return flt, None


def trend_of(series: dash.VolumeSeries) -> list[dash.TrendPoint]:
    """The net sentiment trend read off the volume's distinct total (what
    ``dash.net_sentiment_trend`` computes, without querying the volume again)."""
    return [
        dash.TrendPoint(p.start, p.end, p.net, p.positive + p.neutral + p.negative, p.drill)
        for p in series.total.points
    ]


def kpis_of(series: dash.VolumeSeries, alerts: Sequence[dash.DashboardAlert]) -> Kpis:
    pos = sum(p.positive for p in series.total.points)
    neu = sum(p.neutral for p in series.total.points)
    neg = sum(p.negative for p in series.total.points)
    analysed = pos + neu + neg
    return Kpis(
        mentions=series.total.total,
        negative=neg,
        analysed=analysed,
        negative_share=neg / analysed if analysed else None,
        net_sentiment=dash.net_sentiment(pos, neg, neu),
        open_alerts=sum(1 for a in alerts if a.status == "open"),
    )


def gather(
    engine: Engine,
    workspace: str,
    flt: dash.DashboardFilter,
    *,
    groups: Sequence[str],
    top: int = TOP,
    bucket: dash.Bucket | None = None,
    themes: bool = True,
) -> Figures:
    """Every figure of the dashboard for ``flt`` (``groups``: the workspace's watch groups,
    for share of voice; ``themes`` False: no emerging themes, the slowest figure)."""
    series = dash.volume(engine, workspace, flt, bucket=bucket)
    share_flt, share_group = share_scope(flt, groups)
    alerts = dash.open_alerts(engine, workspace, limit=ALERTS_READ)
    return Figures(
        flt=flt,
        volume=series,
        trend=trend_of(series),
        share_group=share_group,
        share=dash.share_of_voice(engine, workspace, share_flt),
        sources=dash.top_sources(engine, workspace, flt, limit=top),
        sites=dash.top_sites(engine, workspace, flt, limit=top),
        authors=dash.top_authors(engine, workspace, flt, limit=top),
        emerging=dash.emerging(engine, workspace, flt) if themes else None,
        alerts=alerts,
        kpis=kpis_of(series, alerts),
    )


# -- charts ----------------------------------------------------------------------------------


def mentions_url(workspace: str, query: MentionQuery) -> str:
    """The mentions page listing what ``query`` selects."""
    return f"/w/{quote(workspace, safe='')}/mentions?{urlencode(query.to_params())}"


def sentiment_labels() -> dict[str, str]:
    return {s: _(s) for s in SENTIMENT_ORDER}


def bucket_labels(series: dash.VolumeSeries) -> list[str]:
    """The buckets' names in the user's locale and time zone: day and hour for hourly
    buckets, the day for daily ones (read at the bucket's middle, so that a day starting
    at a half-hour offset keeps its own date)."""
    lang = i18n.current()
    points = series.total.points

    def fmt(skeleton: str, at: datetime) -> str:
        return str(format_skeleton(skeleton, at, tzinfo=lang.tz, locale=lang.locale))

    if series.bucket == "hour":
        return [
            f"{fmt('MMMd', p.start)} {format_time(p.start, 'short', tzinfo=lang.tz, locale=lang.locale)}"
            for p in points
        ]
    middles = [p.start + (p.end - p.start) / 2 for p in points]
    years = {m.astimezone(lang.tz).year for m in middles}
    skeleton = "MMMEd" if len(points) <= 31 and len(years) == 1 else "yMMMd"
    return [fmt(skeleton, m) for m in middles]


def volume_chart(workspace: str, figures: Figures, labels: list[str]) -> dict[str, Any]:
    """Stacked bars by sentiment; each bar slice opens its mentions."""
    points = figures.volume.total.points
    names = sentiment_labels()
    if figures.flt.sentiment is not None:
        shown: tuple[str, ...] = (figures.flt.sentiment,)
    else:
        shown = tuple(
            s for s in SENTIMENT_ORDER if s != "unknown" or any(p.unknown for p in points)
        )
    return {
        "type": "bar",
        "stacked": True,
        "labels": labels,
        "datasets": [
            {"label": names[s], "data": [getattr(p, s) for p in points], "color": COLOURS[s]}
            for s in shown
        ],
        "links": [
            [mentions_url(workspace, replace(p.drill, sentiment=s)) for p in points] for s in shown
        ],
        "csv_name": "volume",
        "label_name": _("Period"),
    }


def trend_chart(workspace: str, figures: Figures, labels: list[str]) -> dict[str, Any]:
    """Net sentiment from −100 to +100 per bucket (gaps where nothing was analysed)."""
    return {
        "type": "line",
        "stacked": False,
        "labels": labels,
        "datasets": [
            {
                "label": _("Net sentiment"),
                "data": [None if t.net is None else round(t.net * 100, 1) for t in figures.trend],
                "color": "#0b5cad",
                "spanGaps": True,
            }
        ],
        "links": [[mentions_url(workspace, t.drill) for t in figures.trend]],
        "csv_name": "net-sentiment",
        "label_name": _("Period"),
        "y_min": -100,
        "y_max": 100,
    }


def share_chart(workspace: str, figures: Figures) -> dict[str, Any]:
    """A doughnut of the compared watches' mentions; each slice opens its mentions."""
    rows = figures.share
    return {
        "type": "doughnut",
        "stacked": False,
        "labels": [r.watch for r in rows],
        "datasets": [
            {
                "label": _("Mentions"),
                "data": [r.mentions for r in rows],
                "colors": [PALETTE[i % len(PALETTE)] for i in range(len(rows))],
            }
        ],
        "links": [mentions_url(workspace, r.drill) for r in rows],
        "csv_name": "share-of-voice",
        "label_name": _("Watch"),
    }


def charts(workspace: str, figures: Figures) -> dict[str, dict[str, Any]]:
    labels = bucket_labels(figures.volume)
    out = {
        "volume": volume_chart(workspace, figures, labels),
        "trend": trend_chart(workspace, figures, labels),
    }
    if len(figures.share) > 1 and any(r.mentions for r in figures.share):
        out["share"] = share_chart(workspace, figures)
    return out


# -- the page --------------------------------------------------------------------------------


def net_score(value: float | None) -> str:
    """A net sentiment as a signed score from -100 to +100 ("–" when unknown)."""
    if value is None:
        return "–"
    score = round(value * 100)
    return f"{score:+d}" if score else "0"


def kpi_links(workspace: str, figures: Figures) -> dict[str, str | None]:
    """Where the KPIs lead: all the period's mentions, and its negative ones."""
    negative = figures.kpis.negative and figures.flt.sentiment in (None, "negative")
    return {
        "mentions": mentions_url(workspace, figures.drill),
        "negative": mentions_url(workspace, replace(figures.drill, sentiment="negative"))
        if negative
        else None,
    }


def range_labels() -> dict[str, str]:
    return {
        "24h": _("Last 24 hours"),
        "7d": _("Last 7 days"),
        "30d": _("Last 30 days"),
        "90d": _("Last 90 days"),
        "custom": _("Custom dates"),
    }


@dataclass(frozen=True, slots=True)
class PageFilter:
    """The filter bar as read from the address: the services' filter and the form's values."""

    flt: dash.DashboardFilter
    form: dict[str, Any]


def page_filter(
    range_: Annotated[str, Query(alias="range")] = DEFAULT_RANGE,
    day_from: Annotated[str, Query(alias="from")] = "",
    day_to: Annotated[str, Query(alias="to")] = "",
    watch: Annotated[list[str] | None, Query()] = None,
    group: str = "",
    sentiment: str = "",
    lang: str = "",
    source_kind: str = "",
) -> PageFilter:
    """A dependency: the filter of the page's address (a preset period wins over the dates,
    which count only with "custom" or without a preset); dates in the user's time zone."""
    tz = i18n.current().tz
    if range_ in (*PRESETS, "custom"):
        choice = range_
    else:
        choice = "custom" if day_from or day_to else DEFAULT_RANGE
    since, until = period(
        choice,
        parse_day(day_from, _("From")),
        parse_day(day_to, _("To")),
        now=datetime.now(UTC),
        tz=tz,
    )
    flt = dashboard_filter(
        since,
        until,
        watches=watch or (),
        group=group,
        sentiment=sentiment,
        lang=lang,
        source_kind=source_kind,
        timezone=tz.key,
    )
    form = {
        "range": choice,
        "from": since.astimezone(tz).date().isoformat(),
        "to": (until - timedelta(microseconds=1)).astimezone(tz).date().isoformat(),
        "watch": list(flt.watches),
        "group": flt.group or "",
        "sentiment": flt.sentiment or "",
        "lang": flt.lang or "",
        "source_kind": flt.source_kind or "",
    }
    return PageFilter(flt, form)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    pf: Annotated[PageFilter, Depends(page_filter)],
) -> HTMLResponse:
    options = dash.filter_options(ctx.engine, ctx.workspace)
    figures = None
    if options.watches:
        figures = gather(ctx.engine, ctx.workspace, pf.flt, groups=options.groups, themes=False)
    query = f"?{request.url.query}" if request.url.query else ""
    return page(
        request,
        "dashboard.html",
        ctx=ctx,
        options=options,
        form=pf.form,
        figures=figures,
        charts=charts(ctx.workspace, figures) if figures is not None else {},
        ranges=range_labels(),
        sentiments=sentiment_labels(),
        kinds=kind_labels(),
        statuses=status_labels(),
        severities=severity_labels(),
        kpi_links=kpi_links(ctx.workspace, figures) if figures is not None else {},
        mentions_url=lambda q: mentions_url(ctx.workspace, q),
        net_score=net_score,
        alerts_shown=ALERTS_SHOWN,
        alerts_capped=figures is not None and len(figures.alerts) >= ALERTS_READ,
        emerging_url=f"/w/{quote(ctx.workspace, safe='')}/dashboard/emerging{query}",
    )


@router.get("/dashboard/emerging", response_class=HTMLResponse, include_in_schema=False)
def emerging_themes(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    pf: Annotated[PageFilter, Depends(page_filter)],
) -> HTMLResponse:
    """The emerging themes of the dashboard's filter: the slowest figure (topic extraction
    over up to 5,000 texts), loaded by the page after it is shown; a page of its own for
    browsers without JavaScript."""
    themes = dash.emerging(ctx.engine, ctx.workspace, pf.flt)
    back = f"/w/{quote(ctx.workspace, safe='')}/dashboard"
    if request.url.query:
        back += f"?{request.url.query}"
    htmx = request.headers.get("hx-request") == "true"
    return page(
        request,
        "dashboard/_emerging.html" if htmx else "dashboard/emerging.html",
        ctx=ctx,
        themes=themes,
        mentions_url=lambda q: mentions_url(ctx.workspace, q),
        back=back,
    )
