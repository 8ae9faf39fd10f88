"""``flocon source`` and ``flocon fetch``: where flocon reads, and reading it."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    err,
    load_settings,
    one_line,
    opened,
    out,
    print_json,
    safe,
    workspace_name,
)
from flocon.connectors.http import build_http_client
from flocon.connectors.registry import CONNECTORS
from flocon.credentials import CredentialBox
from flocon.domain.models import Source
from flocon.services import fetching
from flocon.services import sources as svc
from flocon.storage.engine import read
from flocon.storage.queries import workspaces as wsq

app = typer.Typer(help="Sources: feeds, pages, platforms that flocon reads on a schedule.")

OptionOpt = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="key=value setting of the source kind (docs/sources.md)."),
]
CredentialOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--credential",
        help="key=value secret (token, API key); stored encrypted, never shown again.",
    ),
]


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    seconds = int((value - now).total_seconds())
    future, seconds = seconds > 0, abs(seconds)
    if seconds < 90:
        span = f"{seconds}s"
    elif seconds < 5400:
        span = f"{seconds // 60}m"
    elif seconds < 172800:
        span = f"{seconds // 3600}h"
    else:
        span = f"{seconds // 86400}d"
    return f"in {span}" if future else f"{span} ago"


def _source_dict(source: Source, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": source.id,
        "kind": source.kind,
        "name": source.name,
        "target": source.target,
        "every_s": source.every_s,
        "options": source.options,
        "credentials": "set" if source.has_credentials else None,
        "paused": source.paused,
        "state": source.state(datetime.now(UTC)),
        "last_run_at": source.last_run_at,
        "last_success_at": source.last_success_at,
        "last_error": source.last_error,
        "last_error_at": source.last_error_at,
        "failing_since": source.failing_since,
        "next_run_at": source.next_run_at,
        "last_items": source.last_items,
        "cursor": source.cursor,
    }
    data.update(extra)
    return data


@app.command("add")
def add(
    kind: Annotated[
        str, typer.Argument(help="Source kind: " + ", ".join(sorted(CONNECTORS)) + ".")
    ],
    target: Annotated[str, typer.Argument(help="What to read: a URL, a query, or 'watches'.")],
    name: Annotated[
        str | None, typer.Option("--name", help="A name (default: the target).")
    ] = None,
    every: Annotated[
        str, typer.Option("--every", help="Interval between fetches: 90s, 10m, 2h.")
    ] = "15m",
    option: OptionOpt = None,
    credential: CredentialOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a source; it is fetched at the next `flocon fetch` cycle."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        source = svc.add_source(
            engine,
            CredentialBox(settings),
            workspace_name(settings, workspace),
            kind=kind.lower(),
            target=target,
            name=name,
            every_s=svc.parse_every(every),
            options=svc.parse_pairs(option, what="option"),
            credentials=svc.parse_pairs(credential, what="credential"),
        )
    if json_:
        print_json(_source_dict(source))
    else:
        out.print(f"source #{source.id} added: {source.kind} {safe(source.target)} every {every}")


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Also file imports.")] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sources with their health: state, last success, last error, items in 24 h, next run."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        items = svc.list_sources(
            engine,
            workspace_name(settings, workspace),
            include_manual=all_,
            down_after_s=settings.source_down_after_s,
        )
    if json_:
        print_json([_source_dict(h.source, items_24h=h.items_24h, down=h.down) for h in items])
        return
    now = datetime.now(UTC)
    table = Table("id", "kind", "target", "state", "last success", "last error", "24 h", "next run")
    for h in items:
        s = h.source
        state = h.state + (" (DOWN)" if h.down else "")
        table.add_row(
            str(s.id),
            s.kind,
            safe(one_line(s.name if s.name != s.target else s.target, 40)),
            f"[red]{state}[/]" if h.down or h.state == "failing" else state,
            _when(s.last_success_at, now),
            safe(one_line(s.last_error or "", 50)) if s.consecutive_failures else "",
            str(h.items_24h),
            "paused" if s.paused else _when(s.next_run_at, now) if s.next_run_at else "next cycle",
        )
    out.print(table)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one source (credential names only, never their values)."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        source = svc.get_source(engine, ws, ref)
        keys = svc.credential_keys(engine, CredentialBox(settings), ws, ref)
    data = _source_dict(source, credentials=dict.fromkeys(keys, "(set)"))
    if json_:
        print_json(data)
        return
    for key, value in data.items():
        out.print(f"[bold]{key}[/]: {safe(str(value if value is not None else '-'))}")


@app.command("edit")
def edit(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    target: Annotated[
        str | None, typer.Option("--target", help="New target (resets the cursor).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    every: Annotated[str | None, typer.Option("--every", help="New interval.")] = None,
    option: OptionOpt = None,
    credential: CredentialOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a source; `--option key=` or `--credential key=` removes that key."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        source = svc.edit_source(
            engine,
            CredentialBox(settings),
            workspace_name(settings, workspace),
            ref,
            name=name,
            target=target,
            every_s=svc.parse_every(every) if every else None,
            options=svc.parse_pairs(option, what="option"),
            credentials=svc.parse_pairs(credential, what="credential"),
        )
    if json_:
        print_json(_source_dict(source))
    else:
        out.print(f"source #{source.id} updated")


def _pause(ref: str, workspace: str | None, database_url: str | None, *, paused: bool) -> None:
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        source = svc.set_paused(engine, workspace_name(settings, workspace), ref, paused=paused)
    out.print(f"source #{source.id} {'paused' if paused else 'resumed'}")


@app.command("pause")
def pause(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Stop fetching a source (its mentions stay)."""
    _pause(ref, workspace, database_url, paused=True)


@app.command("resume")
def resume(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Fetch a paused source again, from where it stopped."""
    _pause(ref, workspace, database_url, paused=False)


@app.command("remove")
def remove(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Remove a source and the mentions collected from it."""
    if not yes:
        if not typer.get_text_stream("stdin").isatty():
            err.print("removing a source deletes its mentions: add --yes to confirm")
            raise typer.Exit(1)
        typer.confirm(f"Remove source {ref!r} and its mentions?", abort=True)
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        svc.remove_source(engine, workspace_name(settings, workspace), ref)
    out.print(f"source {safe(ref)!r} removed")


@app.command("test")
def try_source(
    ref: Annotated[str, typer.Argument(help="Source id or name.")],
    limit: Annotated[int, typer.Option("--limit", help="Show at most N items.")] = 20,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fetch once and show what would be stored; nothing is stored, the cursor stays."""
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        source = svc.get_source(engine, ws, ref)
        with read(engine) as conn:
            ws_id = wsq.get_by_name(conn, ws).id

        async def go() -> Any:
            async with build_http_client(settings) as http:
                return await fetching.preview_source(
                    engine, CredentialBox(settings), http, source, ws_id
                )

        result = asyncio.run(go())
    drafts = result.drafts
    if json_:
        print_json(
            {
                "not_modified": result.not_modified,
                "items": len(drafts),
                "note": result.note,
                "sample": [
                    {
                        "id": d.external_id,
                        "title": d.title,
                        "text": d.text[:500],
                        "url": d.url,
                        "author": (d.author.handle or d.author.name) if d.author else None,
                        "published_at": d.published_at,
                        "parent_id": d.parent_external_id,
                    }
                    for d in drafts[:limit]
                ],
            }
        )
        return
    if result.not_modified:
        out.print("not modified since the last fetch (nothing new)")
    out.print(
        f"{len(drafts)} new items would be stored"
        + (f" ({safe(result.note)})" if result.note else "")
    )
    for d in drafts[:limit]:
        when = d.published_at.strftime("%Y-%m-%d %H:%M") if d.published_at else "-"
        author = (d.author.handle or d.author.name or "") if d.author else ""
        out.print(f"- {when} {safe(author)}: {safe(one_line(d.title or d.text, 100))}")


def fetch(
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit.")] = False,
    source: Annotated[
        list[int] | None, typer.Option("--source", help="Only this source id (due or not).")
    ] = None,
    no_alerts: Annotated[
        bool,
        typer.Option("--no-alerts", help="Do not run the detectors nor send alerts meanwhile."),
    ] = False,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fetch the due sources of every workspace: once, or until interrupted (Ctrl-C).

    Without --once, streamed sources (mastodon with stream=true, bluesky jetstream) are
    followed in real time meanwhile, and the detectors run every minute and as soon as new
    mentions are stored, sending what the alert rules ask for (see docs/alerts.md);
    Ctrl-C or SIGTERM stores their current batch and stops.
    """
    from flocon.services import alerting, pipeline

    settings = load_settings(database_url)
    box = CredentialBox(settings)

    def show(o: fetching.SourceOutcome) -> None:
        if json_:
            return
        if o.ok:
            c = o.counts
            detail = (
                "not modified"
                if o.not_modified
                else (
                    f"{o.fetched} fetched: {c.new} new, {c.duplicate} duplicate, {c.unmatched} unmatched"
                )
            )
            out.print(f"#{o.source_id} {o.kind} {safe(one_line(o.name, 50))}: {detail}")
        else:
            out.print(
                f"#{o.source_id} {o.kind} {safe(one_line(o.name, 50))}: [red]failed[/] "
                f"({safe(o.error or '')}); retry in {int(o.retry_in_s or 0)}s"
            )

    def show_report(report: fetching.CycleReport) -> None:
        if json_:
            print_json([_outcome_dict(o) for o in report.outcomes])
        elif not report.outcomes:
            out.print("no source is due")

    with opened(database_url) as engine:

        async def cycle() -> fetching.CycleReport:
            async with build_http_client(settings) as http:
                return await fetching.run_cycle(
                    engine,
                    box,
                    http,
                    source_ids=source or None,
                    concurrency=settings.fetch_concurrency,
                    on_done=show,
                    settings=settings,
                )

        if once or source:
            show_report(asyncio.run(cycle()))
            return

        def show_alerts(report: alerting.CheckReport) -> None:
            for e in report.events:
                if json_:
                    print_json({"alert": alerting.event_payload(e)})
                else:
                    out.print(
                        f"alert {e.action}: {e.kind} {safe(e.watch or '')} [{e.severity}] "
                        f"{safe(one_line(e.explanation, 120))}"
                    )

        def show_batch(o: fetching.SourceOutcome) -> None:
            if o.ok and not o.fetched:
                return  # a stream's sign of life
            if json_:
                print_json({**_outcome_dict(o), "stream": True})
            else:
                show(o)

        async def follow() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            signals = [signal.SIGINT, signal.SIGTERM]
            for sig in signals:
                loop.add_signal_handler(sig, stop.set)
            try:
                await pipeline.run_pipeline(
                    engine,
                    settings,
                    stop,
                    alerts=not no_alerts,
                    on_outcome=show,
                    on_batch=show_batch,
                    on_cycle=show_report,
                    on_alerts=show_alerts,
                )
            finally:
                for sig in signals:
                    loop.remove_signal_handler(sig)

        asyncio.run(follow())


def _outcome_dict(o: fetching.SourceOutcome) -> dict[str, Any]:
    return {
        "source": o.source_id,
        "ok": o.ok,
        "fetched": o.fetched,
        "new": o.counts.new,
        "duplicate": o.counts.duplicate,
        "unmatched": o.counts.unmatched,
        "not_modified": o.not_modified,
        "error": o.error,
    }
