"""``flocon workspace``: add, list and remove workspaces."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    fail,
    load_settings,
    opened,
    out,
    print_json,
    safe,
)
from flocon.services import workspaces as svc

app = typer.Typer(
    help="Workspaces: one per brand or client, each with its own watches and mentions."
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the new workspace.")],
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a workspace."""
    with opened(database_url) as engine:
        ws = svc.add_workspace(engine, name)
    if json_:
        print_json(ws)
    else:
        out.print(f"workspace {safe(ws.name)!r} created")


@app.command("list")
def list_(database_url: DatabaseOpt = None, json_: JsonOpt = False) -> None:
    """List workspaces."""
    with opened(database_url) as engine:
        items = svc.list_workspaces(engine)
    if json_:
        print_json(items)
        return
    table = Table("name", "created", "sentiment profile")
    for ws in items:
        table.add_row(
            safe(ws.name),
            ws.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            ws.sentiment_profile or "(install default)",
        )
    out.print(table)


@app.command("set-profile")
def set_profile(
    name: Annotated[str, typer.Argument(help="Workspace.")],
    profile: Annotated[
        str,
        typer.Argument(
            help="fast, accurate, transformers (FLOCON_TRANSFORMERS_MODEL), or default "
            "(follow FLOCON_SENTIMENT_PROFILE)."
        ),
    ],
    database_url: DatabaseOpt = None,
) -> None:
    """Choose the workspace's sentiment model: fast (n-grams), accurate (embeddings) or
    transformers (a local model directory you provide).

    Mentions stored from now on use it; `flocon reanalyze` applies it to stored ones.
    """
    from flocon.services import analysis

    if profile not in ("fast", "accurate", "transformers", "default"):
        fail(f"profile must be fast, accurate, transformers or default, not {profile!r}", 2)
    with opened(database_url) as engine:
        analysis.set_profile(
            engine,
            name,
            None if profile == "default" else profile,
            load_settings(database_url),
        )
    out.print(f"workspace {safe(name)!r}: sentiment profile {profile}")


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Workspace to remove, with all its data.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Remove a workspace and everything in it (watches, sources, mentions)."""
    if not yes:
        if not typer.get_text_stream("stdin").isatty():
            fail("removing a workspace deletes all its data: add --yes to confirm")
        typer.confirm(f"Remove workspace {name!r} and all its data?", abort=True)
    with opened(database_url) as engine:
        svc.remove_workspace(engine, name)
    out.print(f"workspace {safe(name)!r} removed")
