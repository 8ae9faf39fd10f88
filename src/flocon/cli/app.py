"""The root ``flocon`` command and its top-level commands: init, import, mentions, quickstart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from typer import _click
from typer.core import TyperGroup

from flocon import __version__
from flocon.cli import alerts as alerts_cli
from flocon.cli import analysis as analysis_cli
from flocon.cli import inbox as inbox_cli
from flocon.cli import influence as influence_cli
from flocon.cli import query as query_cli
from flocon.cli import quickstart as quickstart_cli
from flocon.cli import rollups as rollups_cli
from flocon.cli import source as source_cli
from flocon.cli import topics as topics_cli
from flocon.cli import users as users_cli
from flocon.cli import watch as watch_cli
from flocon.cli import web as web_cli
from flocon.cli import workspace as workspace_cli
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
    progress_bar,
    safe,
    workspace_name,
)
from flocon.connectors.fileimport import detect_format, parse_mapping
from flocon.domain.models import Mention
from flocon.errors import FloconError, QuerySyntaxError
from flocon.services import importing
from flocon.services import mentions as mentions_svc
from flocon.settings import redact_url
from flocon.storage import migrate
from flocon.storage.engine import build_engine


class FloconGroup(TyperGroup):
    """Turns flocon's own errors into a one-line message and an exit code."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuerySyntaxError as exc:
            err.print(safe(str(exc)))
            raise typer.Exit(2) from exc
        except FloconError as exc:
            err.print(f"[bold red]error:[/] {safe(str(exc))}")
            raise typer.Exit(1) from exc
        except DBAPIError as exc:
            # The driver's message only: the statement and its parameters may hold collected text.
            err.print(f"[bold red]database error:[/] {safe(str(exc.orig).strip())}")
            raise typer.Exit(1) from exc


app = typer.Typer(
    cls=FloconGroup,
    help="flocon: listen to what people say about your brand, understand it, act on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(workspace_cli.app, name="workspace")
app.add_typer(watch_cli.app, name="watch")
app.add_typer(query_cli.app, name="query")
app.add_typer(source_cli.app, name="source")
app.add_typer(analysis_cli.eval_app, name="eval")
app.add_typer(analysis_cli.train_app, name="train")
app.add_typer(rollups_cli.app, name="rollups")
app.add_typer(alerts_cli.alerts_app, name="alerts")
app.add_typer(alerts_cli.rules_app, name="alert-rule")
app.command("replay")(alerts_cli.replay)
app.add_typer(inbox_cli.app, name="inbox")
app.command("analyze")(analysis_cli.analyze)
app.command("reanalyze")(analysis_cli.reanalyze)
app.command("correct")(analysis_cli.correct)
app.command("topics")(topics_cli.topics)
app.command("authors")(influence_cli.authors)
app.add_typer(users_cli.app, name="user")
app.add_typer(users_cli.token_app, name="token")
app.command("run")(web_cli.run)
app.command("web")(web_cli.web)
app.command("demo")(web_cli.demo)


def _version(value: bool) -> None:
    if value:
        out.print(f"flocon {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """flocon: listen to what people say about your brand, understand it, act on it."""


@app.command("init")
def init(database_url: DatabaseOpt = None) -> None:
    """Create or migrate the database (safe to run again)."""
    settings = load_settings(database_url)
    engine = build_engine(settings)
    try:
        before, after = migrate.upgrade(engine)
    finally:
        engine.dispose()
    where = redact_url(settings.database_url)
    if before is None:
        out.print(f"database created at {where} (schema {after})")
    elif before != after:
        out.print(f"database at {where} migrated from schema {before} to {after}")
    else:
        out.print(f"database at {where} is up to date (schema {after})")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV file to import.")],
    format_: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or csv (default: from the file extension)."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="field=column: read a field from another column or key."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="kind:name of items that carry no source (default import:FILENAME)."
        ),
    ] = None,
    fail_on_reject: Annotated[
        bool, typer.Option("--fail-on-reject", help="Exit with status 3 if any line was rejected.")
    ] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import mentions from a file: normalised, deduplicated, matched against every watch."""
    if not file.is_file():
        fail(f"no such file: {file}", 2)
    fmt: Literal["jsonl", "csv"]
    if format_ is None:
        fmt = detect_format(file.name)
    elif format_.lower() in ("jsonl", "csv"):
        fmt = "jsonl" if format_.lower() == "jsonl" else "csv"
    else:
        fail(f"--format must be jsonl or csv, not {format_!r}", 2)
    mapping = parse_mapping(map_ or [])
    default_source = None
    if source:
        kind, _, name = source.partition(":")
        default_source = (kind.strip() or "import", name.strip() or file.name)
    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    with (
        opened(database_url) as engine,
        progress_bar(
            TextColumn("importing {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
        ) as progress,
    ):
        task = progress.add_task(file.name, total=file.stat().st_size)
        report = importing.import_file(
            engine,
            ws,
            file,
            fmt=fmt,
            mapping=mapping,
            source=default_source,
            batch_size=settings.import_batch_size,
            progress=lambda done: progress.update(task, completed=done),
            settings=settings,
        )
    counts = report.counts
    if json_:
        print_json(
            {
                "file": str(file),
                "workspace": ws,
                "new": counts.new,
                "duplicate": counts.duplicate,
                "already_stored": counts.already_stored,
                "unmatched": counts.unmatched,
                "rejected": len(counts.rejected),
                "rejections": [{"line": ln, "reason": r} for ln, r in counts.rejected],
            }
        )
    else:
        out.print(
            f"new: {counts.new}  duplicate: {counts.duplicate} "
            f"(already stored: {counts.already_stored})  unmatched: {counts.unmatched}  "
            f"rejected: {len(counts.rejected)}"
        )
        for line, reason in counts.rejected:
            out.print(f"line {line}: {safe(reason)}")
    if fail_on_reject and counts.rejected:
        raise typer.Exit(3)


def _mention_dict(m: Mention) -> dict[str, Any]:
    return {
        "id": m.id,
        "source": {"kind": m.source_kind, "name": m.source_name},
        "external_id": m.external_id,
        "published_at": m.published_at,
        "collected_at": m.collected_at,
        "author": {"handle": m.author_handle, "name": m.author_name},
        "title": m.title,
        "text": m.text,
        "url": m.url,
        "site": m.site,
        "lang": m.lang,
        "country": m.country,
        "parent_id": m.parent_id,
        "likes": m.likes,
        "shares": m.shares,
        "replies": m.replies,
        "duplicate_of": m.duplicate_of,
        "watches": list(m.watches),
        "sentiment": m.sentiment,
        "sentiment_score": None if m.sentiment_score is None else round(m.sentiment_score, 4),
        "needs_answer": m.needs_answer,
    }


def print_mentions(items: list[Mention]) -> None:
    table = Table("id", "date (UTC)", "source", "author", "watches", "sentiment", show_lines=False)
    table.add_column("text", min_width=36, overflow="fold")
    for m in items:
        when = m.published_at or m.collected_at
        author = m.author_handle or m.author_name or ""
        text = (m.title + " — " if m.title else "") + m.text
        if m.duplicate_of is not None:
            text = f"(duplicate of #{m.duplicate_of}) {text}"
        feeling = m.sentiment or ""
        if m.needs_answer:
            feeling += " ↩"
        table.add_row(
            str(m.id),
            when.strftime("%Y-%m-%d %H:%M"),
            safe(m.source_name if m.source_kind == "import" else m.source_kind),
            safe(one_line(author, 20)),
            safe(", ".join(m.watches)),
            feeling,
            safe(one_line(text, 100)),
        )
    out.print(table)


@app.command("mentions")
def mentions(
    watch: Annotated[str | None, typer.Option("--watch", help="Only this watch.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this date or datetime (ISO 8601, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this date or datetime (ISO 8601, UTC).")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Full-text search (all words must appear).")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Only this language, e.g. fr.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most N.")] = 50,
    all_: Annotated[
        bool, typer.Option("--all", help="Include stored items that matched no watch.")
    ] = False,
    no_duplicates: Annotated[
        bool, typer.Option("--no-duplicates", help="Hide items marked as duplicates.")
    ] = False,
    sentiment: Annotated[
        str | None,
        typer.Option("--sentiment", help="Only this sentiment: negative, neutral or positive."),
    ] = None,
    needs_answer: Annotated[
        bool | None,
        typer.Option(
            "--needs-answer/--no-needs-answer", help="Only mentions that need (or not) an answer."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List stored mentions, newest first (↩: needs an answer)."""
    if sentiment is not None and sentiment not in ("negative", "neutral", "positive"):
        fail("--sentiment must be negative, neutral or positive", 2)
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        items = mentions_svc.list_mentions(
            engine,
            workspace_name(settings, workspace),
            watch=watch,
            since=parse_when(since, option="--since"),
            until=parse_when(until, option="--until"),
            search=search,
            lang=lang,
            limit=limit,
            include_unmatched=all_,
            include_duplicates=not no_duplicates,
            sentiment=sentiment,
            needs_answer=needs_answer,
        )
    if json_:
        print_json([_mention_dict(m) for m in items])
    else:
        print_mentions(items)


app.command("quickstart")(quickstart_cli.quickstart)
app.command("fetch")(source_cli.fetch)


def main() -> None:
    """Entry point of the ``flocon`` console script."""
    app()
