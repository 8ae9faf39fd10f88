"""`flocon demo`'s database: the bundled Sanders tweets replayed through the real pipeline
(ingest, analysis, matching, rollups, detectors, influence) into a separate SQLite file."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ConfigError
from flocon.services import demo
from flocon.services import watches as watches_svc
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine, read
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import authors, mentions

NOW = datetime(2024, 5, 6, 9, 30, 15, tzinfo=UTC)
SAMPLE = Path(demo.__file__).resolve().parents[1] / "samples" / demo.SAMPLE
#: The sample's span: its first and last tweets (15 and 20 October 2011).
FIRST_2011 = datetime(2011, 10, 15, 5, 36, 56, tzinfo=UTC)
LAST_2011 = datetime(2011, 10, 20, 4, 53, 11, tzinfo=UTC)
#: A few of the most recent tweets (all about Twitter, in a few minutes): quick builds.
SMALL = 30


def user_settings(folder: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{folder / 'flocon.db'}")


@dataclass
class Built:
    settings: Settings
    summary: demo.DemoSummary
    stages: list[tuple[str, int, int]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The whole demo, built once for the tests that only read it (about half a minute)."""
    settings = user_settings(tmp_path_factory.mktemp("demo"))
    stages: list[tuple[str, int, int]] = []
    summary = demo.prepare_demo(
        settings, now=NOW, progress=lambda s, d, t: stages.append((s, d, t))
    )
    return Built(settings, summary, stages)


@pytest.fixture
def engine(built: Built) -> Iterator[Engine]:
    eng = build_engine(Settings(database_url=built.summary.database_url))
    yield eng
    eng.dispose()


def demo_path(settings: Settings) -> Path:
    return Path(demo.demo_database_url(settings).removeprefix("sqlite:///"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_demo_lives_next_to_the_users_database_in_its_own_file(built: Built) -> None:
    user_db = Path(built.settings.database_url.removeprefix("sqlite:///"))
    assert built.summary.database_url == f"sqlite:///{user_db.parent / 'demo.db'}"
    assert (user_db.parent / "demo.db").is_file()
    assert not user_db.exists()  # the user's database was never opened
    assert not (user_db.parent / "demo.db.partial").exists()


def test_four_brand_watches_share_one_group(built: Built, engine: Engine) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "demo")
        found = wq.list_all(conn, ws.id)
    assert built.summary.watches == ("Apple", "Google", "Microsoft", "Twitter")
    assert sorted(w.name for w in found) == ["Apple", "Google", "Microsoft", "Twitter"]
    assert {w.group for w in found} == {"Brands"}
    assert ws.sentiment_profile == "fast"


def test_every_brand_has_analysed_mentions(built: Built, engine: Engine) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "demo")
        counts = wq.mention_counts(conn, ws.id)
        per_watch = {w.name: counts.get(w.id, 0) for w in wq.list_all(conn, ws.id)}
        stored = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
        analysed = conn.execute(
            select(func.count()).where(mentions.c.sentiment.is_not(None))
        ).scalar_one()
        negative = conn.execute(
            select(func.count()).where(mentions.c.sentiment == "negative")
        ).scalar_one()
    assert stored == len(SAMPLE.read_text(encoding="utf-8").splitlines()) == 1534
    assert all(n >= 300 for n in per_watch.values()), per_watch
    assert built.summary.mentions >= max(per_watch.values())
    assert analysed == built.summary.mentions  # every matched tweet got a sentiment
    assert 0 < negative < analysed


def test_the_tweets_end_just_before_now_keeping_their_timeline(
    built: Built, engine: Engine
) -> None:
    with read(engine) as conn:
        first, last = conn.execute(
            select(func.min(mentions.c.published_at), func.max(mentions.c.published_at))
        ).one()
    assert NOW - demo.LEAD - timedelta(seconds=1) < last <= NOW - demo.LEAD
    assert last - first == LAST_2011 - FIRST_2011
    assert built.summary.shifted_by == last - LAST_2011


def test_the_detectors_raise_alerts_on_the_brands_bursts(built: Built, engine: Engine) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "demo")
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        found = aq.list_alerts(conn, ws.id, limit=1000)
    assert built.summary.alerts == len(found) >= 2
    volume_spikes = {
        names[a.watch_id or 0] for a in found if a.kind == "spike" and "topic" not in a.details
    }
    # The corpus collected Google on 19 October and Twitter on 20 October, in bursts.
    assert {"Google", "Twitter"} <= volume_spikes
    assert all(NOW - timedelta(days=5) < a.detected_at <= NOW for a in found)
    assert all(a.evidence and a.explanation for a in found)


def test_the_inbox_holds_suggested_cases_for_tweets_that_ask_or_complain(
    built: Built, engine: Engine
) -> None:
    from flocon.services import cases as cases_svc

    page = cases_svc.list_cases(engine, "demo", limit=200)
    assert built.summary.cases == page.total > 0
    assert all(c.row.origin == "suggested" for c in page.cases)
    ids = [c.row.mention_id for c in page.cases if c.row.mention_id is not None]
    with read(engine) as conn:
        flags = conn.execute(select(mentions.c.needs_answer).where(mentions.c.id.in_(ids)))
        assert all(flags.scalars())


def test_authors_come_from_retweets_and_none_is_invented(built: Built, engine: Engine) -> None:
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    named = {
        m.group(1).lower() for row in sample for m in re.finditer(r"RT\s+@(\w{1,15})", row["text"])
    }
    with read(engine) as conn:
        handles = set(conn.execute(select(authors.c.handle)).scalars())
        attributed = (
            conn.execute(select(mentions.c.text).where(mentions.c.author_id.is_not(None)))
            .scalars()
            .all()
        )
    assert len(handles) >= 50
    assert {h.lower().lstrip("@") for h in handles} <= named
    # Their mentions hold the words retweeted, without the "RT @handle:" prefix.
    assert attributed and not any(t.startswith("RT @") for t in attributed)
    assert built.summary.authors_scored >= 1


def test_a_retweet_is_stored_as_the_tweet_it_repeats() -> None:
    draft = Draft(source_kind="twitter", source_name="s", text="RT @a: RT @b_2: Apple rocks")
    assert demo.as_reposted(draft).text == "Apple rocks"
    assert demo.as_reposted(draft).author == AuthorRef(handle="b_2")
    plain = Draft(source_kind="twitter", source_name="s", text="I love @Apple, RT @x: no")
    assert demo.as_reposted(plain) == plain


def test_progress_goes_through_import_signals_and_influence(built: Built) -> None:
    stages = [s for s, _, _ in built.stages]
    assert stages[-1] == "influence"
    assert stages.index("influence") > max(i for i, s in enumerate(stages) if s == "signals")
    finals = {s: (d, t) for s, d, t in built.stages}
    assert finals["import"] == (1534, 1534)
    assert finals["influence"] == (1, 1)
    done, total = finals["signals"]
    assert done == total > 600  # five days every ten minutes


def test_a_second_call_returns_the_finished_demo_unchanged(built: Built) -> None:
    path = demo_path(built.settings)
    before = digest(path)
    calls: list[str] = []
    again = demo.prepare_demo(built.settings, progress=lambda s, d, t: calls.append(s))
    assert again == built.summary
    assert calls == []
    assert digest(path) == before


def test_reset_builds_the_demo_again(tmp_path: Path) -> None:
    settings = user_settings(tmp_path)
    demo.prepare_demo(settings, now=NOW, limit=SMALL)
    eng = build_engine(demo.demo_settings(settings))
    watches_svc.add_watch(eng, "demo", name="Added", query="added")
    eng.dispose()
    rebuilt = demo.prepare_demo(settings, now=NOW + timedelta(days=1), limit=SMALL, reset=True)
    assert rebuilt.watches == ("Apple", "Google", "Microsoft", "Twitter")
    assert rebuilt.shifted_by > timedelta(days=1)
    kept = demo.prepare_demo(settings, now=NOW + timedelta(days=2), limit=SMALL)
    assert kept == rebuilt


class Killed(Exception):
    pass


def test_a_half_built_demo_is_never_taken_for_a_finished_one(tmp_path: Path) -> None:
    settings = user_settings(tmp_path)

    def killed_midway(stage: str, done: int, total: int) -> None:
        if stage == "signals" and done == 2:
            raise Killed

    with pytest.raises(Killed):
        demo.prepare_demo(settings, now=NOW, limit=SMALL, progress=killed_midway)
    path = demo_path(settings)
    assert not path.exists()
    assert path.with_name("demo.db.partial").exists()
    stages: list[str] = []
    summary = demo.prepare_demo(
        settings, now=NOW, limit=SMALL, progress=lambda s, d, t: stages.append(s)
    )
    assert stages[0] == "import" and stages[-1] == "influence"  # built from the start again
    assert summary.watches == ("Apple", "Google", "Microsoft", "Twitter")
    assert summary.mentions == SMALL  # the last tweets are all about Twitter
    assert not path.with_name("demo.db.partial").exists()


def test_the_users_database_is_never_the_demo(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    assert demo.demo_database_url(settings) == f"sqlite:///{tmp_path / 'flocon-demo.db'}"
    with pytest.raises(ConfigError):
        demo.prepare_demo(settings, database_url=settings.database_url)
    with pytest.raises(ConfigError):
        demo.prepare_demo(settings, database_url="postgresql+psycopg://u@localhost/demo")


def test_with_postgresql_the_demo_goes_to_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://flocon@localhost/flocon")
    expected = tmp_path / "xdg-data" / "flocon" / "demo.db"  # XDG_DATA_HOME of the tests
    assert demo.demo_database_url(settings) == f"sqlite:///{expected}"


def test_a_database_without_the_demo_is_refused_not_overwritten(tmp_path: Path) -> None:
    settings = user_settings(tmp_path)
    path = demo_path(settings)
    other = build_engine(Settings(database_url=f"sqlite:///{path}"))
    migrate.upgrade(other)
    other.dispose()
    before = digest(path)
    with pytest.raises(ConfigError, match="holds no demo"):
        demo.prepare_demo(settings, now=NOW, limit=SMALL)
    assert digest(path) == before


def test_now_must_carry_its_time_zone(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        demo.prepare_demo(user_settings(tmp_path), now=datetime(2024, 5, 6, 9, 30), limit=SMALL)
