"""``flocon authors``: the most influential authors of a watch, their stance, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from flocon.analysis.influence import describe
from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    err,
    fail,
    load_settings,
    one_line,
    opened,
    out,
    parse_when,
    print_json,
    safe,
    workspace_name,
)
from flocon.errors import NotFound
from flocon.services import influence as svc

STANCES = ("advocate", "detractor", "neutral", "unknown")


def _as_dict(score: svc.AuthorScore, *, inputs: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "author_id": score.author_id,
        "platform": score.platform,
        "handle": score.handle,
        "name": score.name,
        "score": round(score.score, 2),
        "stance": score.stance,
        "followers": score.followers,
        "mentions": score.mentions,
        "engagement": score.engagement,
        "pagerank": score.pagerank,
        "lift": round(score.lift, 4),
        "replies_received": score.replies_received,
        "mentioned_by": score.mentioned_by,
        "shared_by": score.shared_by,
        "sentiment_mean": score.sentiment_mean,
        "since": score.since,
        "computed_at": score.computed_at,
    }
    if inputs:
        data["inputs"] = score.inputs
    return data


def _who(score: svc.AuthorScore) -> str:
    if score.handle:
        return "@" + score.handle.lstrip("@")
    return score.name or f"#{score.author_id}"


def _print_table(items: list[svc.AuthorScore]) -> None:
    table = Table(
        "#",
        "author",
        "platform",
        "score",
        "stance",
        "followers",
        "mentions",
        "engagement",
        "PageRank",
        "lift",
    )
    for rank, s in enumerate(items, start=1):
        table.add_row(
            str(rank),
            safe(one_line(_who(s), 30)),
            safe(s.platform),
            f"{s.score:.1f}",
            s.stance,
            "" if s.followers is None else f"{s.followers:,}",
            str(s.mentions),
            f"{s.engagement:,}",
            f"{s.pagerank:.2e}",
            f"{s.lift:.2f}",
        )
    out.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _print_explain(score: svc.AuthorScore) -> None:
    inputs = score.inputs
    model = describe()
    out.print(
        f"[bold]{safe(_who(score))}[/] on {safe(score.platform)}: score {score.score:.2f}, "
        f"stance {score.stance}"
    )
    if inputs.get("model") != model["model"]:
        out.print(
            f"[yellow]computed by {safe(str(inputs.get('model')))}; the formula below is "
            f"{model['model']}'s: run with --recompute[/]"
        )
    out.print(f"formula ({model['model']}): {model['formula']}")
    values = inputs.get("values", {})
    contributions = inputs.get("contributions", {})
    table = Table("component", "inputs", "value (0–1)", "weight", "points")
    for name, raw in inputs.get("components", {}).items():
        detail = ", ".join(f"{k} {_fmt(v)}" for k, v in raw.items())
        table.add_row(
            name,
            safe(detail),
            f"{values.get(name, 0.0):.4f}",
            f"{model['weights'].get(name, 0.0):g}",
            f"{contributions.get(name, 0.0):.2f}",
        )
    table.add_row("score", "", "", "", f"{sum(contributions.values()):.2f}")
    out.print(table)
    edges = ", ".join(f"{k} {v:g}" for k, v in model["edge_weights"].items())
    out.print(f"edge weights: {edges}; damping {model['damping']:g}")
    stance = inputs.get("stance", {})
    out.print(
        f"stance {score.stance} from {stance.get('analysed_mentions', 0)} analysed mentions "
        f"(mean {_fmt(stance.get('mean'))}, shrunk {_fmt(stance.get('shrunk_mean'))}): "
        f"{model['stance_rule']}"
    )


def _scope_note(watch: str | None, since: datetime | None, computed_at: datetime) -> str:
    scope = f"watch {safe(watch)!r}" if watch else "all watches"
    period = f" since {since:%Y-%m-%d %H:%M}" if since else ""
    return f"{scope}{period}, computed {computed_at:%Y-%m-%d %H:%M} UTC"


def authors(
    watch: Annotated[
        str | None, typer.Option("--watch", help="Only this watch (default: all watches).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only mentions from this date (ISO 8601, UTC)."),
    ] = None,
    stance: Annotated[
        str | None,
        typer.Option("--stance", help="Only advocates, detractors, neutral or unknown."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most N.")] = 20,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="Compute the scores again from the mentions.")
    ] = False,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Show every input and the formula for this handle."),
    ] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Most influential authors: score (network, reach, engagement) and stance.

    Scores are computed on first use and kept; --recompute (or a new --since)
    computes them again from the stored mentions.
    """
    if stance is not None and stance not in STANCES:
        fail(f"--stance must be one of {', '.join(STANCES)}", 2)
    when = parse_when(since, option="--since")
    settings = load_settings(database_url)
    name = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        state = svc.scores_state(engine, name, watch=watch)
        if recompute or state is None or (since is not None and state.since != when):
            report = svc.compute_influence(engine, name, watch=watch, since=when)
            if not json_:
                edges = ", ".join(f"{k} {v}" for k, v in report.interactions.items())
                err.print(
                    f"[dim]{report.authors} authors scored from {report.mentions} mentions "
                    f"({edges}) in {report.seconds:.2f} s[/]"
                )
        if explain is not None:
            try:
                found = svc.explain_author(engine, name, explain, watch=watch)
            except NotFound as exc:
                fail(str(exc))
            if json_:
                print_json(
                    {"model": describe(), "authors": [_as_dict(s, inputs=True) for s in found]}
                )
            else:
                for s in found:
                    _print_explain(s)
            return
        items = svc.top_authors(engine, name, watch=watch, stance=stance, limit=limit)
    if json_:
        print_json([_as_dict(s, inputs=False) for s in items])
        return
    if not items:
        out.print("no author in this scope yet")
        return
    out.print(_scope_note(watch, items[0].since, items[0].computed_at))
    _print_table(items)
