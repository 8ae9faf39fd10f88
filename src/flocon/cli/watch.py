"""``flocon watch``: named boolean queries of a workspace."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, TextColumn
from rich.table import Table
from sqlalchemy import Engine

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    load_settings,
    one_line,
    opened,
    out,
    print_json,
    progress_bar,
    safe,
    workspace_name,
)
from flocon.cli.query import parse_or_exit
from flocon.domain.models import Watch, WatchKind
from flocon.services import watches as svc

app = typer.Typer(help="Watches: named boolean queries that select the mentions of a brand.")

KindOpt = Annotated[
    WatchKind | None,
    typer.Option("--kind", help="What the watch follows.", case_sensitive=False),
]
GroupOpt = Annotated[
    str | None,
    typer.Option("--group", help="Group of watches compared for share of voice."),
]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Only items in these languages, comma-separated: fr,en."),
]
BackfillOpt = Annotated[
    bool, typer.Option("--backfill", help="Also match the stored history against this watch.")
]


def _as_dict(watch: Watch, mentions: int) -> dict[str, Any]:
    return {
        "name": watch.name,
        "query": watch.query,
        "normalized_query": str(parse_or_exit(watch.query)),
        "kind": watch.kind.value,
        "group": watch.group,
        "langs": list(watch.langs),
        "mentions": mentions,
        "created_at": watch.created_at,
        "updated_at": watch.updated_at,
    }


def _backfill(engine: Engine, workspace: str, name: str, json_: bool) -> dict[str, int]:
    with progress_bar(
        TextColumn("backfill {task.description}"),
        BarColumn(),
        TextColumn("{task.completed} items"),
        hidden=json_,
    ) as progress:
        task = progress.add_task(name, total=None)
        result = svc.backfill_watch(
            engine, workspace, name, progress=lambda n: progress.update(task, completed=n)
        )
    if not json_:
        out.print(
            f"backfill of {safe(name)!r}: {result.scanned} stored items scanned, "
            f"{result.linked} linked, {result.unlinked} unlinked, {result.total} mentions in all"
        )
    return {
        "scanned": result.scanned,
        "linked": result.linked,
        "unlinked": result.unlinked,
        "total": result.total,
    }


def _report_saved(
    engine: Engine, workspace: str, watch: Watch, message: str, *, backfill: bool, json_: bool
) -> None:
    """After add or edit: say so, backfill if asked, print the watch as JSON if asked."""
    if not json_:
        out.print(message)
    result = _backfill(engine, workspace, watch.name, json_) if backfill else None
    if json_:
        data = _as_dict(watch, svc.get_watch(engine, workspace, watch.name)[1])
        if result is not None:
            data["backfill"] = result
        print_json(data)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the watch, e.g. the brand.")],
    query: Annotated[str, typer.Option("--query", "-q", help="Boolean query (docs/queries.md).")],
    kind: KindOpt = None,
    group: GroupOpt = None,
    lang: LangOpt = None,
    backfill: BackfillOpt = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a watch. An invalid query is refused with `position N: reason` (exit 2)."""
    parse_or_exit(query)
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        watch = svc.add_watch(
            engine,
            ws,
            name=name,
            query=query,
            kind=kind or WatchKind.BRAND,
            group=group,
            langs=svc.parse_langs(lang),
        )
        _report_saved(
            engine,
            ws,
            watch,
            f"watch {safe(watch.name)!r} added to workspace {safe(ws)!r}",
            backfill=backfill,
            json_=json_,
        )


@app.command("list")
def list_(
    workspace: WorkspaceOpt = None, database_url: DatabaseOpt = None, json_: JsonOpt = False
) -> None:
    """List the watches of a workspace."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        items = svc.list_watches(engine, workspace_name(settings, workspace))
    if json_:
        print_json([_as_dict(w, n) for w, n in items])
        return
    table = Table("name", "kind", "group", "lang", "mentions", "query")
    for w, n in items:
        table.add_row(
            safe(w.name),
            w.kind.value,
            safe(w.group or ""),
            ",".join(w.langs),
            str(n),
            safe(one_line(w.query, 60)),
        )
    out.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Watch name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one watch."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        watch, count = svc.get_watch(engine, workspace_name(settings, workspace), name)
    data = _as_dict(watch, count)
    if json_:
        print_json(data)
        return
    for key, value in data.items():
        shown = ",".join(value) if isinstance(value, list) else value
        out.print(f"[bold]{key}[/]: {safe(str(shown if shown is not None else ''))}")


@app.command("edit")
def edit(
    name: Annotated[str, typer.Argument(help="Watch to change.")],
    query: Annotated[str | None, typer.Option("--query", "-q", help="New query.")] = None,
    new_name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    kind: KindOpt = None,
    group: Annotated[
        str | None, typer.Option("--group", help="New group; --group '' removes it.")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="New languages; --lang '' removes the limit.")
    ] = None,
    backfill: BackfillOpt = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a watch. Past mentions follow the new query after `--backfill`."""
    if query is not None:
        parse_or_exit(query)
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        watch = svc.edit_watch(
            engine,
            ws,
            name,
            new_name=new_name,
            query=query,
            kind=kind,
            group=group,
            langs=svc.parse_langs(lang) if lang is not None else None,
        )
        _report_saved(
            engine, ws, watch, f"watch {safe(watch.name)!r} updated", backfill=backfill, json_=json_
        )


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Watch to remove.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Remove a watch. Stored items stay (other watches may use them)."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        svc.remove_watch(engine, workspace_name(settings, workspace), name)
    if json_:
        print_json({"removed": name})
    else:
        out.print(f"watch {safe(name)!r} removed")


@app.command("backfill")
def backfill_cmd(
    name: Annotated[str, typer.Argument(help="Watch to match against stored history.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Match a watch against every stored item, so its mentions follow its current query."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        result = _backfill(engine, workspace_name(settings, workspace), name, json_)
    if json_:
        print_json(result)
