"""Schema, workspaces and watches on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from flocon.domain.models import WatchKind
from flocon.errors import AlreadyExists, FloconError, NotFound, QuerySyntaxError
from flocon.services import watches as watches_svc
from flocon.services import workspaces as ws_svc
from flocon.storage import migrate
from flocon.storage.tables import workspaces


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    before, after = migrate.upgrade(engine)
    assert before == after == migrate.head_revision()
    with engine.connect() as conn:
        names = conn.execute(select(workspaces.c.name)).scalars().all()
    assert names == ["default"]


def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_url: str) -> None:
    from flocon.settings import Settings
    from flocon.storage.engine import build_engine

    eng = build_engine(Settings(database_url=sqlite_url, sqlite_busy_timeout_ms=1234))
    migrate.upgrade(eng)
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    eng.dispose()


def test_workspaces_add_list_remove(engine: Engine) -> None:
    ws_svc.add_workspace(engine, "Acme FR")
    assert [w.name for w in ws_svc.list_workspaces(engine)] == ["Acme FR", "default"]
    with pytest.raises(AlreadyExists):
        ws_svc.add_workspace(engine, "Acme FR")
    ws_svc.remove_workspace(engine, "Acme FR")
    assert [w.name for w in ws_svc.list_workspaces(engine)] == ["default"]


def test_default_workspace_cannot_be_removed(engine: Engine) -> None:
    with pytest.raises(FloconError, match="cannot be removed"):
        ws_svc.remove_workspace(engine, "default")


def test_unknown_workspace_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(NotFound, match="workspace 'nope' does not exist"):
        watches_svc.list_watches(engine, "nope")


def test_watch_lifecycle(engine: Engine) -> None:
    watch = watches_svc.add_watch(
        engine,
        "default",
        name="SNCF",
        query="sncf OR ouigo",
        kind=WatchKind.BRAND,
        group="trains",
        langs=("fr",),
    )
    assert (watch.name, watch.kind, watch.group, watch.langs) == (
        "SNCF",
        WatchKind.BRAND,
        "trains",
        ("fr",),
    )
    edited = watches_svc.edit_watch(
        engine, "default", "SNCF", query="sncf", new_name="SNCF Voyageurs", group=""
    )
    assert (edited.name, edited.query, edited.group) == ("SNCF Voyageurs", "sncf", None)
    watches_svc.remove_watch(engine, "default", "SNCF Voyageurs")
    assert watches_svc.list_watches(engine, "default") == []


def test_watch_names_are_unique_per_workspace(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Orange", query="orange")
    ws_svc.add_workspace(engine, "other")
    watches_svc.add_watch(engine, "other", name="Orange", query="orange")
    with pytest.raises(AlreadyExists):
        watches_svc.add_watch(engine, "default", name="Orange", query="orange")


def test_invalid_query_is_refused_with_its_position(engine: Engine) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        watches_svc.add_watch(engine, "default", name="Bad", query="orange AND")
    assert str(info.value).startswith("position ")
    assert watches_svc.list_watches(engine, "default") == []


def test_removing_a_workspace_removes_its_data(engine: Engine) -> None:
    ws_svc.add_workspace(engine, "gone")
    watches_svc.add_watch(engine, "gone", name="X", query="x")
    ws_svc.remove_workspace(engine, "gone")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM watches")).scalar() == 0
        assert conn.execute(select(func.count()).select_from(workspaces)).scalar() == 1


def test_invalid_language_code_is_refused() -> None:
    with pytest.raises(FloconError, match="invalid language code"):
        watches_svc.parse_langs("fr,english")
    assert watches_svc.parse_langs(" FR, en ,fr") == ("fr", "en")


def test_migrations_downgrade_and_upgrade_again(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    with engine.connect() as conn:
        assert conn.dialect.has_table(conn, "mentions") is False
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_upgrading_from_the_first_schema_keeps_mentions(database_url: str) -> None:
    from flocon.domain.models import Draft
    from flocon.services.importing import load_matcher
    from flocon.services.ingest import Ingestor
    from flocon.settings import Settings
    from flocon.storage.engine import build_engine, write

    eng = build_engine(Settings(database_url=database_url))
    migrate.upgrade_to(eng, "0001")
    with eng.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO sources (workspace_id, kind, name, created_at) "
                "VALUES (1, 'import', 'old.jsonl', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO mentions (workspace_id, source_id, external_id, text, site, "
                "collected_at, occurred_at, search_text, fts_config) VALUES "
                "(1, 1, 'a', 'ancien avis', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                "'ancien avis', 'simple')"
            )
        )
        conn.commit()
    migrate.upgrade(eng)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mentions")).scalar() == 1
        assert conn.execute(text("SELECT target, cursor FROM sources")).one() == ("", "{}")
    with write(eng) as conn:
        Ingestor(1, load_matcher(eng, 1)).ingest_batch(
            conn, [Draft(source_kind="import", source_name="old.jsonl", text="x", external_id="b")]
        )
    eng.dispose()


def test_the_migrations_build_the_schema_the_code_declares(engine: Engine) -> None:
    """Every table, column and index of flocon.storage.tables exists after the migrations."""
    from sqlalchemy import inspect

    from flocon.storage import tables

    found = inspect(engine)
    for name, table in tables.metadata.tables.items():
        assert found.has_table(name), name
        columns = {c["name"]: c for c in found.get_columns(name)}
        # PostgreSQL's full-text column is the migrations' own (generated, never written).
        extra = set(columns) - {c.name for c in table.columns} - {"search_vector"}
        assert not extra and {c.name for c in table.columns} <= set(columns), name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        indexes = {i["name"] for i in found.get_indexes(name)}
        assert {i.name for i in table.indexes} <= indexes, name
