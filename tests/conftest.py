"""Shared fixtures: no outside network, a fresh database per test on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from flocon.services import accounts
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine

POSTGRES_URL = os.environ.get("FLOCON_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("FLOCON_REQUIRE_POSTGRES") == "1"
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if host != "localhost" and (ip is None or not ip.is_loopback):
            raise OSError(f"tests may not reach the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (the production ones cost tens of milliseconds a hash); a test
    module asks for it with ``pytestmark = pytest.mark.usefixtures("fast_hashing")``."""
    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per test session: the fine-tuned encoder is rebuilt once."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _model_cache: Path) -> None:
    """Tests never touch the user's data directory or inherit their settings."""
    for key in list(os.environ):
        if key.startswith("FLOCON_") and key not in ("FLOCON_TEST_POSTGRES_URL",):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_model_cache))
    # The n-gram profile by default (milliseconds); tests of the accurate profile ask for it.
    monkeypatch.setenv("FLOCON_SENTIMENT_PROFILE", "fast")
    monkeypatch.chdir(tmp_path)


def _postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("FLOCON_REQUIRE_POSTGRES=1 but FLOCON_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not available (set FLOCON_TEST_POSTGRES_URL)")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"flocon_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'flocon.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'flocon.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, on each backend."""
    eng = build_engine(Settings(database_url=database_url))
    migrate.upgrade(eng)
    yield eng
    eng.dispose()
