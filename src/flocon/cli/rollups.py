"""``flocon rollups check|rebuild``: the per-bucket counts that dashboards and detectors read."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    load_settings,
    opened,
    out,
    print_json,
    safe,
    workspace_name,
)
from flocon.services import rollups as svc

app = typer.Typer(
    help="Rollups: mention counts per watch, 5-minute and 1-hour bucket, sentiment, source "
    "kind and language, and the workspace's distinct mentions per day and source kind, site "
    "or author (per hour in all), kept up to date as mentions are written."
)

WatchOpt = Annotated[str | None, typer.Option("--watch", help="Only this watch.")]
SHOWN = 20


def _report(report: svc.RollupReport, json_: bool, verb: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "watches": report.watches,
        "buckets": report.buckets,
        "mentions": report.mentions,
        "differences": len(report.differences),
        "facet_buckets": report.facet_buckets,
        "facet_differences": len(report.facet_differences),
        "facet_examples": [
            {
                "workspace_id": d.key.workspace_id,
                "facet": d.key.facet,
                "bucket_start": d.key.bucket_start.isoformat(),
                "key": d.key.key,
                "sentiment": d.key.sentiment or None,
                "stored": d.stored,
                "expected": d.expected,
            }
            for d in report.facet_differences[:SHOWN]
        ],
        "examples": [
            {
                "watch_id": d.key.watch_id,
                "bucket_s": d.key.bucket_s,
                "bucket_start": d.key.bucket_start.isoformat(),
                "sentiment": d.key.sentiment or None,
                "source_kind": d.key.source_kind,
                "lang": d.key.lang or None,
                "stored": d.stored,
                "expected": d.expected,
            }
            for d in report.differences[:SHOWN]
        ],
    }
    if json_:
        print_json(result)
        return result
    out.print(
        f"{report.watches} watch(es), {report.mentions} mention(s) in {report.buckets} bucket(s): "
        + (f"{len(report.differences)} difference(s) {verb}" if report.differences else "all match")
    )
    for ex in result["examples"]:
        out.print(
            f"  watch {ex['watch_id']} {ex['bucket_s']}s {ex['bucket_start']} "
            f"{ex['sentiment'] or '-'}/{safe(ex['source_kind'])}/{ex['lang'] or '-'}: "
            f"stored {ex['stored']}, expected {ex['expected']}"
        )
    if len(report.differences) > SHOWN:
        out.print(f"  … and {len(report.differences) - SHOWN} more")
    if report.facet_buckets or report.facet_differences:
        n = len(report.facet_differences)
        out.print(
            f"workspace facets, {report.facet_buckets} bucket(s): "
            + (f"{n} difference(s) {verb}" if n else "all match")
        )
    for fx in result["facet_examples"]:
        out.print(
            f"  {fx['facet']} {fx['bucket_start']} {safe(fx['key']) or '-'} "
            f"{fx['sentiment'] or '-'}: stored {fx['stored']}, expected {fx['expected']}"
        )
    if len(report.facet_differences) > SHOWN:
        out.print(f"  … and {len(report.facet_differences) - SHOWN} more")
    return result


@app.command("check")
def check(
    watch: WatchOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Compare the rollups with the raw mentions; exit 1 when they differ (nothing is changed)."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        report = svc.check(engine, name, watch=watch)
    _report(report, json_, "found (run `flocon rollups rebuild`)")
    if not report.clean:
        raise typer.Exit(1)


@app.command("rebuild")
def rebuild(
    watch: WatchOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Recompute the rollups from the raw mentions (one transaction per watch)."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        report = svc.rebuild(engine, name, watch=watch)
    _report(report, json_, "repaired")
