"""Rollups follow every write (ingest, backfill, unlink, re-analysis), on SQLite and PostgreSQL;
`flocon rollups check` finds drift and `rebuild` repairs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from flocon.cli import app
from flocon.domain.models import Draft
from flocon.services import analysis as analysis_svc
from flocon.services import rollups as rollups_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import read, write
from flocon.storage.queries import rollups as rq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions, rollups

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draft(
    ext_id: str, text: str, at: datetime, kind: str = "forum", url: str | None = None
) -> Draft:
    return Draft(
        external_id=ext_id,
        text=text,
        published_at=at,
        source_kind=kind,
        source_name=f"{kind}.example",
        url=url,
    )


def ingest(engine: Engine, drafts: list[Draft], analyse: bool = True) -> None:
    settings = Settings(
        database_url=str(engine.url), sentiment_profile="fast", analyze_on_ingest=analyse
    )
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(
        ws.id, load_matcher(engine, ws.id), analyzer=analysis_svc.ingest_analyzer(settings, ws)
    )
    prepared = ingestor.prepare(drafts)
    with write(engine) as conn:
        ingestor.ingest_batch(conn, drafts, prepared)


def watch_id(engine: Engine, name: str) -> int:
    with read(engine) as conn:
        return wq.get_by_name(conn, 1, name).id


def totals(engine: Engine, name: str, bucket_s: int) -> dict[datetime, tuple[int, int]]:
    with read(engine) as conn:
        got = rq.series(
            conn, watch_id(engine, name), bucket_s, T0 - timedelta(days=1), T0 + timedelta(days=1)
        )
    return {k: (v.total, v.negative) for k, v in got.items()}


def assert_consistent(engine: Engine) -> None:
    report = rollups_svc.check(engine, "default")
    assert report.differences == []


def test_ingest_fills_buckets_by_watch_time_and_sentiment(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    watches_svc.add_watch(engine, "default", name="Both", query="acme OR globex")
    ingest(
        engine,
        [
            draft("1", "Acme est génial, j'adore", T0 + timedelta(minutes=1)),
            draft(
                "2",
                "Acme service horrible, je ne recommande pas",
                T0 + timedelta(minutes=4),
                url="https://forum.example/t/2",
            ),
            draft(
                "3", "Acme terrible awful product, never again", T0 + timedelta(minutes=7), "rss"
            ),
            draft("4", "Globex, super produit", T0 + timedelta(minutes=65)),
            # The same page seen again under another id is a duplicate: not counted twice.
            draft(
                "5",
                "Acme service horrible, je ne recommande pas",
                T0 + timedelta(minutes=8),
                url="https://forum.example/t/2?utm_source=x",
            ),
        ],
    )
    acme5 = totals(engine, "Acme", 300)
    assert acme5 == {T0: (2, 1), T0 + timedelta(minutes=5): (1, 1)}
    assert totals(engine, "Acme", 3600) == {T0: (3, 2)}
    assert totals(engine, "Both", 3600) == {T0: (3, 2), T0 + timedelta(hours=1): (1, 0)}
    with read(engine) as conn:
        rss = rq.series(
            conn, watch_id(engine, "Acme"), 3600, T0, T0 + timedelta(hours=1), source_kind="rss"
        )
    assert {k: v.total for k, v in rss.items()} == {T0: 1}
    assert_consistent(engine)


def test_rollups_follow_backfill_unlink_reanalysis_and_watch_removal(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(
        engine,
        [draft(str(i), f"Acme numéro {i} globex", T0 + timedelta(minutes=i)) for i in range(6)]
        + [draft("g", "Only globex here", T0)],
        analyse=False,
    )
    assert totals(engine, "Acme", 3600) == {T0: (6, 0)}
    # A new watch backfilled over stored mentions.
    watches_svc.add_watch(engine, "default", name="Globex", query="globex")
    watches_svc.backfill_watch(engine, "default", "Globex")
    assert totals(engine, "Globex", 3600) == {T0: (7, 0)}
    # An edited query unlinks what it no longer matches.
    watches_svc.edit_watch(engine, "default", "Globex", query="globex AND only")
    watches_svc.backfill_watch(engine, "default", "Globex")
    assert totals(engine, "Globex", 3600) == {T0: (1, 0)}
    # Re-analysis moves counts between sentiments (and languages).
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    analysis_svc.reanalyze(engine, settings, "default", batch_size=4)
    assert_consistent(engine)
    with read(engine) as conn:
        langs = conn.execute(
            select(rollups.c.lang).where(rollups.c.watch_id == watch_id(engine, "Acme"))
        ).scalars()
        assert set(langs) != {""}
    acme_id = watch_id(engine, "Acme")
    watches_svc.remove_watch(engine, "default", "Acme")
    with read(engine) as conn:
        left = conn.execute(select(rollups.c.watch_id).where(rollups.c.watch_id == acme_id))
        assert left.first() is None
    assert_consistent(engine)


def test_check_finds_drift_and_rebuild_repairs_it(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft(str(i), f"Acme {i} super", T0 + timedelta(hours=i)) for i in range(3)])
    with write(engine) as conn:
        conn.execute(delete(rollups).where(rollups.c.bucket_start == T0 + timedelta(hours=1)))
        conn.execute(update(rollups).where(rollups.c.bucket_start == T0).values(count=5))
    report = rollups_svc.check(engine, "default")
    assert len(report.differences) == 4  # 5-min and 1-h buckets of two hours
    assert {(d.stored, d.expected) for d in report.differences} == {(0, 1), (5, 1)}
    repaired = rollups_svc.rebuild(engine, "default", watch="Acme")
    assert len(repaired.differences) == 4 and repaired.mentions == 3
    assert_consistent(engine)


def test_cli_check_exits_1_on_drift(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FLOCON_SENTIMENT_PROFILE", "fast")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    from flocon.storage.engine import build_engine

    engine = build_engine(Settings(database_url=sqlite_url))
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft("1", "Acme est top", T0)])
    ok = runner.invoke(app, ["rollups", "check", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["differences"] == 0
    with write(engine) as conn:
        conn.execute(delete(rollups))
    bad = runner.invoke(app, ["rollups", "check"])
    assert bad.exit_code == 1 and "2 difference(s)" in bad.stdout
    fixed = runner.invoke(app, ["rollups", "rebuild", "--json"])
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["differences"] == 2
    assert runner.invoke(app, ["rollups", "check"]).exit_code == 0
    engine.dispose()


def test_upgrading_an_older_database_fills_the_rollups(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft(str(i), f"Acme {i} bien", T0 + timedelta(minutes=i)) for i in range(4)])
    migrate.downgrade(engine, "0004")
    migrate.upgrade(engine)
    assert sum(t for t, _ in totals(engine, "Acme", 300).values()) == 4
    assert {k: t for k, (t, _) in totals(engine, "Acme", 3600).items()} == {T0: 4}
    assert_consistent(engine)
    with read(engine) as conn:
        assert conn.execute(select(mentions.c.id)).first() is not None


def test_removing_a_source_keeps_the_rollups_right(engine: Engine) -> None:
    from flocon.services import sources as sources_svc
    from flocon.storage.tables import sources

    watches_svc.add_watch(engine, "default", name="Acme", query="acme", group="Brands")
    watches_svc.add_watch(engine, "default", name="Globex", query="globex", group="Brands")
    url = "https://news.example/acme-recall"
    ingest(
        engine,
        [
            draft("f1", "Acme and Globex recall", T0, kind="forum", url=url),
            draft("f2", "Acme is fine", T0 + timedelta(hours=1), kind="forum"),
        ],
    )
    # The same article from the feed: a duplicate of the forum's, not counted twice.
    ingest(
        engine,
        [draft("r1", "Acme and Globex recall", T0 + timedelta(minutes=5), kind="rss", url=url)],
    )
    ingest(engine, [draft("r2", "Globex news", T0 + timedelta(hours=2), kind="rss")])
    with read(engine) as conn:
        dup = conn.execute(
            select(mentions.c.duplicate_of).where(mentions.c.external_id == "r1")
        ).scalar_one()
        forum = conn.execute(select(sources.c.id).where(sources.c.kind == "forum")).scalar_one()
    assert dup is not None
    assert rollups_svc.check(engine, "default").clean
    sources_svc.remove_source(engine, "default", str(forum))
    report = rollups_svc.check(engine, "default")
    assert report.differences == [] and report.facet_differences == []
    # The feed's copy is an original now, counted once under each watch.
    with read(engine) as conn:
        left = conn.execute(select(mentions.c.external_id, mentions.c.duplicate_of)).all()
    assert sorted(left) == [("r1", None), ("r2", None)]
    assert sum(t for t, _ in totals(engine, "Acme", 3600).values()) == 1
