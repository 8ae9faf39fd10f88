"""``flocon topics``: the themes of a watch over a period and what drives its negativity."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flocon.analysis.topics import Driver, Example, Phrase, Theme
from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    fail,
    load_settings,
    opened,
    out,
    parse_when,
    print_json,
    safe,
    workspace_name,
)
from flocon.services import topics as svc


def _phrases(phrases: tuple[Phrase, ...]) -> list[dict[str, Any]]:
    return [{"text": p.text, "mentions": p.mentions} for p in phrases]


def _examples(examples: tuple[Example, ...]) -> list[dict[str, Any]]:
    return [{"id": e.id, "snippet": e.snippet} for e in examples]


def _theme_dict(theme: Theme) -> dict[str, Any]:
    return {
        "label": theme.label,
        "phrases": _phrases(theme.phrases),
        "mentions": theme.mentions,
        "share": round(theme.share, 4),
        "negative": theme.negative,
        "examples": _examples(theme.examples),
    }


def _driver_dict(driver: Driver) -> dict[str, Any]:
    return {
        "label": driver.label,
        "phrases": _phrases(driver.phrases),
        "z": round(driver.z, 3),
        "log_odds": round(driver.log_odds, 4),
        "negative": driver.negative,
        "negative_total": driver.negative_total,
        "mentions": driver.mentions,
        "total": driver.total,
        "examples": _examples(driver.examples),
    }


def _print_examples(examples: tuple[Example, ...]) -> None:
    for example in examples:
        out.print(f"     [dim]#{example.id}[/]  {safe(example.snippet)}")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def topics(
    watch: Annotated[str, typer.Option("--watch", help="The watch to analyse.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="From this date or datetime (ISO 8601, UTC); default 30 days ago."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Up to this date or datetime, excluded; default now."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Themes and drivers to show.")] = 10,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Example mentions per theme.")
    ] = 3,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Main themes of a watch's mentions and the themes that drive negative ones.

    Drivers are themes over-represented in negative mentions against the other analysed
    mentions (weighted log-odds with an informative Dirichlet prior; docs/topics.md).
    """
    start, end = parse_when(since, option="--since"), parse_when(until, option="--until")
    if start is not None and end is not None and start >= end:
        fail("--since must come before --until", 2)
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        result = svc.watch_topics(
            engine,
            workspace_name(settings, workspace),
            watch,
            since=start,
            until=end,
            limit=limit,
            examples=examples,
        )
    report = result.report
    if json_:
        print_json(
            {
                "workspace": result.workspace,
                "watch": result.watch,
                "since": result.since,
                "until": result.until,
                "mentions": report.mentions,
                "negative": report.negative,
                "other": report.other,
                "excluded": list(result.excluded),
                "truncated": result.truncated,
                "themes": [_theme_dict(t) for t in report.themes],
                "drivers": [_driver_dict(d) for d in report.drivers],
            }
        )
        return
    period = f"{result.since:%Y-%m-%d %H:%M} → {result.until:%Y-%m-%d %H:%M} UTC"
    out.print(
        f"[bold]{safe(result.watch)}[/], {period}: {report.mentions} mentions, "
        f"{report.negative} negative, {report.other} positive or neutral"
    )
    if result.truncated:
        out.print(f"[yellow]only the newest {svc.MAX_MENTIONS} mentions were analysed[/]")
    if not report.themes:
        out.print("no recurring theme in this period")
        return
    out.print("\n[bold]Themes[/]")
    for rank, theme in enumerate(report.themes, start=1):
        phrases = " · ".join(f"{safe(p.text)} ({p.mentions})" for p in theme.phrases)
        out.print(
            f"{rank:>2}. [bold]{phrases}[/]: {theme.mentions} mentions "
            f"({_share(theme.mentions, report.mentions)}), {theme.negative} negative"
        )
        _print_examples(theme.examples)
    out.print("\n[bold]Drivers of negativity[/] (negative against positive and neutral mentions)")
    if not report.drivers:
        reason = "no negative mention" if not report.negative else "no theme stands out (z < 1.96)"
        out.print(reason)
        return
    for rank, driver in enumerate(report.drivers, start=1):
        phrases = " · ".join(safe(p.text) for p in driver.phrases)
        out.print(
            f"{rank:>2}. [bold]{phrases}[/]: z {driver.z:.1f}, log-odds {driver.log_odds:+.2f}; "
            f"in {driver.negative} of {driver.negative_total} negative mentions "
            f"({_share(driver.negative, driver.negative_total)}) against {driver.mentions} of "
            f"{driver.total} overall ({_share(driver.mentions, driver.total)})"
        )
        _print_examples(driver.examples)
