"""Pages: the most influential authors (advocates and detractors) and an author's profile:
their history, their sentiment over time and their influence score with every input behind
it (the same explanation as ``flocon authors --explain``).

Scores are stored per scope (all watches, or one watch) and computed on demand: a manager
presses "compute" (or runs ``flocon authors --recompute``). The helpers at the end are shared
with the REST API (flocon.web.api.authors).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.analysis.influence import describe
from flocon.domain.models import Mention
from flocon.errors import ConfigError
from flocon.services import alerting, influence, mentions
from flocon.web.deps import Ctx, as_manager, as_viewer, audit
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

STANCES = ("advocate", "detractor", "neutral", "unknown")
PAGE_SIZE = 50
HISTORY_SIZE = 20
#: The sentiment chart reads at most this many of the author's latest mentions.
CHART_MENTIONS = 2000
COLOURS = {
    "positive": "#17703a",
    "neutral": "#5b6470",
    "negative": "#b3261e",
    "unknown": "#9aa3ad",
}


# -- shared with the REST API ----------------------------------------------------------------


def stance_labels() -> dict[str, str]:
    return {
        "advocate": _("advocate"),
        "detractor": _("detractor"),
        "neutral": _("neutral"),
        "unknown": _("unknown"),
    }


def input_labels() -> dict[str, str]:
    return {
        "network": _("network"),
        "reach": _("reach"),
        "engagement": _("engagement"),
        "pagerank": _("PageRank"),
        "floor": _("floor rank"),
        "lift": _("lift"),
        "damping": _("damping"),
        "replies_received": _("replies received"),
        "replied_by": _("distinct repliers"),
        "mentioned_by": _("mentioned by"),
        "shared_by": _("shared by"),
        "followers": _("followers"),
        "likes": _("likes"),
        "shares": _("shares"),
        "replies": _("replies"),
        "total": _("total"),
        "share": _("share"),
        "reply": _("reply"),
        "mention": _("mention"),
    }


def explanation(score: influence.AuthorScore) -> dict[str, Any]:
    """Every input of a stored score next to the formula and parameters of the model
    (what ``flocon authors --explain`` prints), as JSON-ready data."""
    model = describe()
    inputs = dict(score.inputs)
    values = inputs.get("values", {})
    contributions = inputs.get("contributions", {})
    components = [
        {
            "component": name,
            "inputs": dict(raw),
            "value": float(values.get(name, 0.0)),
            "weight": float(model["weights"].get(name, 0.0)),
            "points": float(contributions.get(name, 0.0)),
        }
        for name, raw in inputs.get("components", {}).items()
    ]
    return {
        "computed_by": inputs.get("model"),
        "outdated": inputs.get("model") != model["model"],
        "model": model,
        "components": components,
        "total": sum(float(c["points"]) for c in components),
        "stance": dict(inputs.get("stance", {})),
    }


def history_query(profile: influence.AuthorProfile) -> mentions.MentionQuery:
    """All the stored mentions of an author (muted or not, matched or not)."""
    return mentions.MentionQuery(
        author=profile.key,
        source_kind=profile.platform,
        include_unmatched=True,
        include_muted=True,
    )


def recompute(ctx: Ctx, watch: str | None) -> influence.InfluenceReport:
    """Compute the scope's scores again from the stored mentions (manager+)."""
    ctx.require("manager")
    report = influence.compute_influence(ctx.engine, ctx.workspace, watch=watch)
    audit(
        ctx,
        "authors.recompute",
        "watch" if watch else "workspace",
        watch or ctx.workspace,
        {"authors": report.authors, "mentions": report.mentions},
    )
    return report


# -- the sentiment chart ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Buckets:
    step: str  # "day", "week" or "month"
    starts: list[date]


def _floor(day: date, step: str) -> date:
    if step == "week":
        return day - timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day


def _next(day: date, step: str) -> date:
    if step == "week":
        return day + timedelta(days=7)
    if step == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def _buckets(first: date, last: date) -> _Buckets:
    span = (last - first).days
    step = "day" if span <= 92 else "week" if span <= 3 * 365 else "month"
    starts, day = [], _floor(first, step)
    while day <= last:
        starts.append(day)
        day = _next(day, step)
    return _Buckets(step, starts)


def _when(m: Mention) -> datetime:
    return (m.published_at or m.collected_at).astimezone(UTC)


def sentiment_chart(
    ws: str, profile: influence.AuthorProfile, items: list[Mention]
) -> dict[str, Any] | None:
    """Chart data (the ``chart`` macro's): the author's mentions per day, week or month by
    sentiment, each bar drilling down to those mentions."""
    if not items:
        return None
    days = [_when(m).date() for m in items]
    buckets = _buckets(min(days), max(days))
    counts: Counter[tuple[date, str]] = Counter()
    for m, day in zip(items, days, strict=True):
        counts[(_floor(day, buckets.step), m.sentiment or "unknown")] += 1
    base = [
        ("author", profile.key),
        ("source_kind", profile.platform),
        ("include_unmatched", "true"),
        ("include_muted", "true"),
    ]
    datasets, links = [], []
    labels_of = {
        "positive": _("positive"),
        "neutral": _("neutral"),
        "negative": _("negative"),
        "unknown": _("not analysed"),
    }
    shown = ["positive", "neutral", "negative"]
    if any(s == "unknown" for _day, s in counts):
        shown.append("unknown")
    for sentiment in shown:
        datasets.append(
            {
                "label": labels_of[sentiment],
                "data": [counts[(start, sentiment)] for start in buckets.starts],
                "color": COLOURS[sentiment],
            }
        )
        row = []
        for start in buckets.starts:
            since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
            until = datetime.combine(_next(start, buckets.step), datetime.min.time(), tzinfo=UTC)
            params = [
                *base,
                ("since", since.isoformat()),
                ("until", until.isoformat()),
                ("sentiment", sentiment),
            ]
            row.append(f"/w/{ws}/mentions?{urlencode(params)}")
        links.append(row)
    return {
        "type": "bar",
        "stacked": True,
        "labels": [start.isoformat() for start in buckets.starts],
        "datasets": datasets,
        "links": links,
        "csv_name": f"sentiment-{profile.platform}-{profile.key}"[:80],
        "label_name": {"day": _("day"), "week": _("week"), "month": _("month")}[buckets.step],
    }


# -- pages -----------------------------------------------------------------------------------


@router.get("/authors", response_class=HTMLResponse, include_in_schema=False)
def authors_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    watch: str = "",
    stance: str = "",
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    done: str = "",
) -> HTMLResponse:
    if stance and stance not in STANCES:
        raise ConfigError(f"stance must be one of {', '.join(STANCES)}")
    scope = watch or None
    state = influence.scores_state(ctx.engine, ctx.workspace, watch=scope)
    offset = (number - 1) * PAGE_SIZE
    items: list[influence.AuthorScore] = []
    if state is not None:
        items = influence.top_authors(
            ctx.engine,
            ctx.workspace,
            watch=scope,
            stance=stance or None,
            limit=offset + PAGE_SIZE + 1,
        )[offset:]
    more = len(items) > PAGE_SIZE
    filters = {"watch": watch, "stance": stance}
    return page(
        request,
        "authors/list.html",
        ctx=ctx,
        items=items[:PAGE_SIZE],
        first_rank=offset + 1,
        state=state,
        filters=filters,
        next_page=number + 1 if more else None,
        watches=alerting.watches_of(ctx.engine, ctx.workspace),
        stances=stance_labels(),
        notice=_("Scores computed again.") if done == "computed" else None,
    )


@router.post("/authors/recompute", include_in_schema=False)
def recompute_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_manager)], watch: Annotated[str, Form()] = ""
) -> Response:
    recompute(ctx, watch or None)
    suffix = f"&{urlencode({'watch': watch})}" if watch else ""
    return RedirectResponse(f"/w/{ctx.workspace}/authors?done=computed{suffix}", status_code=303)


@router.get("/authors/{author_id:int}", response_class=HTMLResponse, include_in_schema=False)
def profile_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    author_id: int,
    watch: str = "",
    cursor: str = "",
) -> HTMLResponse:
    profile = influence.author_profile(ctx.engine, ctx.workspace, author_id, watch=watch or None)
    query = history_query(profile)
    history = mentions.page_mentions(
        ctx.engine, ctx.workspace, query, cursor=cursor or None, limit=HISTORY_SIZE
    )
    recent = mentions.list_mentions(
        ctx.engine,
        ctx.workspace,
        author=profile.key,
        source_kind=profile.platform,
        include_unmatched=True,
        include_muted=True,
        limit=CHART_MENTIONS,
    )
    all_mentions = f"/w/{ctx.workspace}/mentions?{urlencode(query.to_params())}"
    return page(
        request,
        "authors/profile.html",
        ctx=ctx,
        profile=profile,
        score=profile.score,
        explain=explanation(profile.score) if profile.score else None,
        history=history.items,
        next_url=("?" + urlencode({"watch": watch, "cursor": history.next_cursor}))
        if history.next_cursor
        else None,
        chart_data=sentiment_chart(ctx.workspace, profile, recent),
        chart_capped=len(recent) >= CHART_MENTIONS,
        chart_limit=CHART_MENTIONS,
        all_mentions=all_mentions,
        watch=watch,
        watches=alerting.watches_of(ctx.engine, ctx.workspace),
        stances=stance_labels(),
        labels=input_labels(),
    )
