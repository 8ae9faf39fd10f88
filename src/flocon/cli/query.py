"""``flocon query``: check a boolean query, and test it on sample items."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from flocon.cli.common import err, fail, out, safe
from flocon.connectors.fileimport import ParsedLine, read_records
from flocon.domain.normalize import normalize_text
from flocon.domain.query import Query, parse, prepare
from flocon.errors import QuerySyntaxError
from flocon.services.ingest import match_input

app = typer.Typer(help="Write and test boolean queries (see docs/queries.md).")


def parse_or_exit(query: str) -> Query:
    try:
        return parse(query)
    except QuerySyntaxError as exc:
        err.print(safe(str(exc)))
        raise typer.Exit(2) from exc


@app.command("check")
def check(query: Annotated[str, typer.Argument(help="The query, in quotes.")]) -> None:
    """Print the normalised query (exit 0), or `position N: reason` (exit 2)."""
    out.print(safe(str(parse_or_exit(query))))


@app.command("test")
def test(
    query: Annotated[str, typer.Argument(help="The query, in quotes.")],
    input_: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="JSONL file of items (id, text, optional title, url, author, lang, source); "
            "- reads standard input.",
        ),
    ],
) -> None:
    """Print the id of every input line the query matches, one per line."""
    parsed = parse_or_exit(query)
    stream: BinaryIO
    if input_ == "-":
        stream = sys.stdin.buffer
    else:
        path = Path(input_)
        if not path.is_file():
            fail(f"no such file: {input_}", 2)
        stream = path.open("rb")
    try:
        for record in read_records(stream, fmt="jsonl"):
            if not isinstance(record, ParsedLine):
                err.print(f"line {record.line}: {safe(record.reason)}")
                continue
            draft = record.draft
            if draft.external_id is None:
                err.print(f"line {record.line}: no id")
                continue
            text = normalize_text(draft.text)
            title = normalize_text(draft.title) if draft.title else None
            item = match_input(draft, text=text, title=title, url=draft.url)
            if parsed.matches(prepare(item)):
                sys.stdout.write(draft.external_id + "\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
