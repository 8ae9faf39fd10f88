"""Engine factory: one configured SQLAlchemy engine per process, built by entry points.

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing when a
read transaction is upgraded. Readers use plain ``BEGIN`` and never block writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from flocon.errors import ConfigError
from flocon.settings import Settings, redact_url

READONLY = "flocon_readonly"


def build_engine(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url`` (creating the SQLite folder if needed)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.database, settings)
    if url.get_backend_name() == "postgresql":
        if url.get_driver_name() not in ("psycopg", "psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "PostgreSQL needs the psycopg driver: pip install 'flocon[postgres]'"
            ) from exc
    raise ConfigError(f"unsupported database URL {redact_url(settings.database_url)}")


def _sqlite_engine(database: str | None, settings: Settings) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{database or ':memory:'}",
        poolclass=NullPool,
        connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
    )
    busy = int(settings.sqlite_busy_timeout_ms)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get(READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that never blocks writers."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{READONLY: True})
        with conn.begin():
            yield conn


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed when the block ends without error."""
    with engine.begin() as conn:
        yield conn
