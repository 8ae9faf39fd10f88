"""Shared pieces of the command line: options, database opening, output helpers."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine

from flocon.errors import ConfigError
from flocon.settings import Settings, redact_url
from flocon.storage import migrate
from flocon.storage.engine import build_engine

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def progress_bar(*columns: Any, hidden: bool = False) -> Any:
    """A progress display on standard error, shown only on a terminal, gone when done."""
    from rich.progress import Progress

    return Progress(*columns, console=err, transient=True, disable=hidden or not err.is_terminal)


DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="FLOCON_DATABASE_URL",
        help="Database URL (default: a SQLite file in your data directory).",
        show_default=False,
    ),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="FLOCON_WORKSPACE",
        help="Workspace to work in (default: 'default').",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def load_settings(database_url: str | None) -> Settings:
    try:
        if database_url:
            return Settings(database_url=database_url)
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(f"invalid settings: {problems}")


def workspace_name(settings: Settings, workspace: str | None) -> str:
    return workspace or settings.default_workspace


@contextmanager
def opened(database_url: str | None, *, migrate_sqlite: bool = True) -> Iterator[Engine]:
    """An engine on an up-to-date schema.

    The embedded SQLite database is created on first use; PostgreSQL needs
    ``flocon init`` (so a shared server is never migrated by surprise).
    """
    settings = load_settings(database_url)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    engine = build_engine(settings)
    try:
        current = migrate.current_revision(engine)
        if current != migrate.head_revision():
            if settings.is_sqlite and migrate_sqlite:
                migrate.upgrade(engine)
            else:
                raise ConfigError(
                    f"the database at {redact_url(settings.database_url)} is not initialised or "
                    "needs migrating: run `flocon init`"
                )
        yield engine
    finally:
        engine.dispose()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {safe(message)}")
    raise typer.Exit(code)


# C0 and C1 control characters (escape sequences) and bidirectional overrides, which
# could drive a terminal or disguise text, become spaces; newlines and tabs stay.
_UNSAFE = {
    code: " "
    for code in (
        *range(0x20),
        0x7F,
        *range(0x80, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if chr(code) not in "\n\t"
}


def safe(value: str) -> str:
    """Text from the web, made harmless for a terminal: no control characters or markup."""
    return value.translate(_UNSAFE).replace("[", "\\[")


def one_line(value: str, width: int) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


def parse_when(value: str | None, *, option: str) -> datetime | None:
    """ISO 8601 date or datetime; a date means its midnight UTC; naive means UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date or datetime (e.g. 2026-11-01)", 2)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
