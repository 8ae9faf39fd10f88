"""The workspace's facet rollups (distinct matched originals per day × source kind, language,
site, author and per hour in all) follow every write, `flocon rollups check|rebuild` cover
them, and the dashboard figures read from them equal the ones counted on the mentions
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from flocon.cli import app
from flocon.domain.models import AuthorRef, Draft
from flocon.services import analysis as analysis_svc
from flocon.services import dashboard as dash
from flocon.services import mentions as mentions_svc
from flocon.services import rollups as rollups_svc
from flocon.services import watches as watches_svc
from flocon.services.dashboard import charts, lists
from flocon.services.dashboard.common import whole_days
from flocon.services.importing import import_stream, load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import facet_rollups

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draft(ext_id: str, text: str, at: datetime, kind: str = "forum") -> Draft:
    return Draft(
        external_id=ext_id,
        text=text,
        published_at=at,
        source_kind=kind,
        source_name=f"{kind}.example",
        url=f"https://{kind}.example.org/t/{ext_id}",
        author=AuthorRef(handle=f"@user{ext_id}") if ext_id.isdigit() else None,
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


def facet_totals(engine: Engine, facet: str, scope: str = "") -> Counter[str]:
    with read(engine) as conn:
        rows = conn.execute(
            select(facet_rollups.c.key, facet_rollups.c.count).where(
                facet_rollups.c.facet == facet, facet_rollups.c.scope == scope
            )
        ).all()
    out: Counter[str] = Counter()
    for key, n in rows:
        out[key] += n
    return out


def assert_consistent(engine: Engine) -> None:
    report = rollups_svc.check(engine, "default")
    assert report.differences == [] and report.facet_differences == []


def test_a_mention_of_two_watches_counts_once(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    watches_svc.add_watch(engine, "default", name="Both", query="acme OR globex")
    ingest(
        engine,
        [
            draft("1", "Acme est génial", T0),
            draft("2", "Globex est là", T0 + timedelta(minutes=5), "rss"),
            draft("3", "Nothing to see", T0),
        ],
    )
    assert facet_totals(engine, "total") == {"": 2}
    assert facet_totals(engine, "source_kind") == {"forum": 1, "rss": 1}
    assert facet_totals(engine, "site") == {"forum.example.org": 1, "rss.example.org": 1}
    assert sum(facet_totals(engine, "author").values()) == 2
    assert_consistent(engine)


def test_facets_follow_backfill_unlink_reanalysis_and_watch_removal(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(
        engine,
        [draft(str(i), f"Acme numéro {i} globex", T0 + timedelta(minutes=i)) for i in range(6)]
        + [draft("g", "Only globex here", T0 + timedelta(days=1))],
        analyse=False,
    )
    assert facet_totals(engine, "total") == {"": 6}
    watches_svc.add_watch(engine, "default", name="Globex", query="globex")
    watches_svc.backfill_watch(engine, "default", "Globex")
    assert facet_totals(engine, "total") == {"": 7}
    assert_consistent(engine)
    watches_svc.edit_watch(engine, "default", "Globex", query="globex AND only")
    watches_svc.backfill_watch(engine, "default", "Globex")
    assert facet_totals(engine, "total") == {"": 7}
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    analysis_svc.reanalyze(engine, settings, "default", batch_size=4)
    assert_consistent(engine)
    watches_svc.remove_watch(engine, "default", "Acme")
    assert facet_totals(engine, "total") == {"": 1}
    assert_consistent(engine)


def test_check_finds_facet_drift_and_rebuild_repairs_it(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft(str(i), f"Acme {i} super", T0 + timedelta(days=i)) for i in range(3)])
    with write(engine) as conn:
        conn.execute(
            delete(facet_rollups).where(
                facet_rollups.c.facet == "site", facet_rollups.c.scope == ""
            )
        )
        conn.execute(
            update(facet_rollups)
            .where(
                facet_rollups.c.bucket_start == T0,
                facet_rollups.c.facet == "total",
                facet_rollups.c.scope == "",
            )
            .values(count=5)
        )
    report = rollups_svc.check(engine, "default")
    assert report.differences == []
    assert {(d.key.facet, d.stored, d.expected) for d in report.facet_differences} == {
        ("site", 0, 1),
        ("total", 5, 1),
    }
    assert len([d for d in report.facet_differences if d.key.facet == "site"]) == 3
    repaired = rollups_svc.rebuild(engine, "default")
    assert len(repaired.facet_differences) == 4
    assert_consistent(engine)


def test_cli_check_exits_1_on_facet_drift(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FLOCON_SENTIMENT_PROFILE", "fast")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    from flocon.storage.engine import build_engine

    engine = build_engine(Settings(database_url=sqlite_url))
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft("1", "Acme est top", T0)])
    ok = runner.invoke(app, ["rollups", "check", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["facet_differences"] == 0
    with write(engine) as conn:
        conn.execute(
            delete(facet_rollups).where(
                facet_rollups.c.facet == "total", facet_rollups.c.scope == ""
            )
        )
    bad = runner.invoke(app, ["rollups", "check"])
    assert bad.exit_code == 1 and "1 difference(s) found" in bad.stdout
    fixed = runner.invoke(app, ["rollups", "rebuild", "--json"])
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["facet_differences"] == 1
    assert runner.invoke(app, ["rollups", "check"]).exit_code == 0
    engine.dispose()


def test_upgrading_an_older_database_fills_the_facets(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft(str(i), f"Acme {i} bien", T0 + timedelta(hours=i)) for i in range(4)])
    migrate.downgrade(engine, "0007")
    migrate.upgrade(engine)
    assert facet_totals(engine, "total") == {"": 4}
    assert facet_totals(engine, "source_kind") == {"forum": 4}
    assert_consistent(engine)


# -- the dashboard reads them --------------------------------------------------------------


def load_sample(engine: Engine) -> None:
    """The bundled Sanders tweets (15 to 20 October 2011) with authors, sites and kinds."""
    text = files("flocon.samples").joinpath("sanders-brands-2011.jsonl").read_text("utf-8")
    recs = []
    for i, line in enumerate(text.splitlines()):
        rec = json.loads(line)
        if i % 10:
            rec["author"] = {"handle": f"@Fan{i % 9}"}
        if i % 4 == 0:
            rec["url"] = f"https://www.blog{i % 3}.example.org/p/{rec['id']}"
        if i % 5 == 0:
            rec["source"] = {"kind": "forum", "name": "forum.example"}
        recs.append(rec)
    for name in ("Apple", "Google", "Microsoft", "Twitter"):
        watches_svc.add_watch(engine, "default", name=name, query=name.lower(), group="brands")
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    import_stream(engine, "default", io.BytesIO(data), fmt="jsonl", settings=settings)


def figures(engine: Engine, flt: dash.DashboardFilter) -> list[Any]:
    return [
        dash.top_sources(engine, "default", flt),
        dash.top_sites(engine, "default", flt),
        dash.top_authors(engine, "default", flt, limit=7),
        dash.volume(engine, "default", flt, bucket="hour").total,
    ]


def random_periods(rng: random.Random, n: int) -> list[tuple[datetime, datetime]]:
    start = datetime(2011, 10, 15, tzinfo=UTC)
    out = []
    for _ in range(n):
        since = start + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        out.append((since, since + timedelta(minutes=rng.randrange(26 * 60, 4 * 24 * 60))))
    return out


SCOPES: list[dict[str, Any]] = [
    {},
    {"group": "brands"},
    {"watches": ("Apple",)},
    {"watches": ("Google",), "lang": "en"},
    {"group": "brands", "source_kind": "forum"},
    {"lang": "en", "source_kind": "twitter"},
]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_figures_from_facets_equal_the_mention_scan(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, scope: dict[str, Any]
) -> None:
    load_sample(engine)
    # A watch of the group overlapping the others: its mentions must count once in the group.
    watches_svc.add_watch(engine, "default", name="Big", query="apple OR google", group="brands")
    watches_svc.backfill_watch(engine, "default", "Big")
    rng = random.Random(6)
    cases = [
        dash.DashboardFilter(
            since=since,
            until=until,
            sentiment=rng.choice([None, "negative", "unknown", "positive"]),
            **scope,
        )
        for since, until in random_periods(rng, 5)
    ]
    assert sum(1 for flt in cases if whole_days(flt.start, flt.end)) >= 3
    fast = [figures(engine, flt) for flt in cases]
    monkeypatch.setattr(lists, "whole_days", lambda start, end: None)
    monkeypatch.setattr(charts, "facet_scope", lambda scope, flt: None)
    slow = [figures(engine, flt) for flt in cases]
    assert fast == slow
    assert sum(f[3].total for f in fast) > 5
    assert sum(1 for f in fast if f[0] and f[1] and f[2]) >= 1
    assert_consistent(engine)


def test_group_facets_count_a_mention_of_two_of_its_watches_once(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme", group="g1")
    watches_svc.add_watch(engine, "default", name="Both", query="acme OR globex", group="g1")
    watches_svc.add_watch(engine, "default", name="Other", query="globex")
    ingest(
        engine,
        [
            draft("1", "Acme est génial", T0),
            draft("2", "Globex est là", T0 + timedelta(minutes=5), "rss"),
        ],
    )
    assert facet_totals(engine, "total", "g:g1") == {"": 2}
    assert facet_totals(engine, "source_kind", "g:g1") == {"forum": 1, "rss": 1}
    assert facet_totals(engine, "site", "w:1") == {"forum.example.org": 1}
    assert facet_totals(engine, "source_kind", "w:2") == {"forum": 1, "rss": 1}
    assert_consistent(engine)
    # "Other" joins g1: mention 2 is already in g1 (by "Both"), so nothing changes there.
    watches_svc.edit_watch(engine, "default", "Other", group="g1")
    assert facet_totals(engine, "total", "g:g1") == {"": 2}
    assert_consistent(engine)
    # "Both" leaves for g2: mention 1 stays in g1 by "Acme", mention 2 by "Other".
    watches_svc.edit_watch(engine, "default", "Both", group="g2")
    assert facet_totals(engine, "total", "g:g1") == {"": 2}
    assert facet_totals(engine, "total", "g:g2") == {"": 2}
    assert_consistent(engine)
    watches_svc.remove_watch(engine, "default", "Other")
    assert facet_totals(engine, "total", "g:g1") == {"": 1}
    assert facet_totals(engine, "source_kind", "w:3") == {}
    assert_consistent(engine)
    watches_svc.edit_watch(engine, "default", "Both", group="")
    assert facet_totals(engine, "total", "g:g2") == {}
    assert_consistent(engine)


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    "filters", [{"lang": "en"}, {"source_kind": "forum", "sentiment": "negative"}, {}]
)
def test_watch_lines_and_shares_count_what_they_drill_down_to(
    engine: Engine, timezone: str, filters: dict[str, Any]
) -> None:
    load_sample(engine)
    since = datetime(2011, 10, 15, 7, 30, tzinfo=UTC)
    flt = dash.DashboardFilter(
        since=since, until=since + timedelta(days=5, hours=3), timezone=timezone, **filters
    )
    series = dash.volume(engine, "default", flt, bucket="day")
    assert series.total.total > 0
    for line in (series.total, *series.watches):
        for point in line.points:
            assert mentions_svc.count_mentions(engine, "default", point.drill) == point.total
    for row in dash.share_of_voice(engine, "default", replace(flt, group="brands")):
        assert mentions_svc.count_mentions(engine, "default", row.drill) == row.mentions
