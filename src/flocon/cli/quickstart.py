"""``flocon quickstart``: a short real example on bundled public data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from flocon.cli.common import DatabaseOpt, load_settings, opened, out, safe
from flocon.domain.models import WatchKind
from flocon.errors import AlreadyExists
from flocon.services import importing
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc

SAMPLE = "sanders-brands-2011.jsonl"
WATCHES = (
    ("Apple", 'apple OR iphone* OR ipad* OR siri OR #ios5 -"apple pie" -"big apple"', "brand"),
    ("Google", 'google OR android OR "ice cream sandwich" OR #ics', "competitor"),
    (
        "Microsoft",
        'microsoft OR "windows phone" OR #wp7 OR (windows NEAR/2 (8 OR 7))',
        "competitor",
    ),
)


def quickstart(
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="Workspace to fill (created if missing).")
    ] = "quickstart",
    database_url: DatabaseOpt = None,
) -> None:
    """Create three watches, import 260 public tweets of 2011 and list what matched."""
    from flocon.cli.app import print_mentions

    settings = load_settings(database_url)
    with opened(database_url) as engine:
        try:
            workspaces_svc.add_workspace(engine, workspace)
            out.print(f"workspace {safe(workspace)!r} created")
        except AlreadyExists:
            out.print(f"workspace {safe(workspace)!r} already exists: reusing it")
        for name, query, kind in WATCHES:
            try:
                watches_svc.add_watch(
                    engine,
                    workspace,
                    name=name,
                    query=query,
                    kind=WatchKind(kind),
                    group="smartphones 2011",
                )
                out.print(f"watch {name!r}: {safe(query)}")
            except AlreadyExists:
                out.print(f"watch {name!r} already exists")
        sample = resources.files("flocon.samples").joinpath(SAMPLE)
        with resources.as_file(sample) as path:
            report = importing.import_file(
                engine, workspace, Path(path), fmt="jsonl", settings=settings
            )
        c = report.counts
        out.print(
            f"\nimported {SAMPLE}: new {c.new}, duplicate {c.duplicate}, "
            f"unmatched {c.unmatched}, rejected {len(c.rejected)}"
        )
        for name, _, _ in WATCHES:
            items = mentions_svc.list_mentions(engine, workspace, watch=name, limit=5)
            total = watches_svc.get_watch(engine, workspace, name)[1]
            out.print(f"\n[bold]{name}[/]: {total} mentions, the newest:")
            print_mentions(items)
    out.print(
        f'\nNext: `flocon mentions -w {workspace} --search "battery"`, '
        f"`flocon mentions -w {workspace} --sentiment negative --needs-answer`, "
        f"`flocon watch list -w {workspace}`, docs/queries.md"
    )
