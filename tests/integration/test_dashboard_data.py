"""The dashboard's figures (flocon.services.dashboard), on real tweets imported through the
import service and analysed on ingest, checked against the mentions themselves and against
the lists their drill-down links open (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import Engine

from flocon.domain.models import Mention
from flocon.errors import NotFound
from flocon.services import dashboard as dash
from flocon.services import mentions as mentions_svc
from flocon.services import tags as tags_svc
from flocon.services import watches as watches_svc
from flocon.services.dashboard import themes as themes_mod
from flocon.services.importing import import_stream
from flocon.services.mentions import BadFilter
from flocon.settings import Settings
from flocon.storage.engine import write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import watches as wq

BRANDS = ("Apple", "Google", "Microsoft", "Twitter")
DAY = timedelta(days=1)
#: The sample's tweets run from 15 to 20 October 2011.
START = datetime(2011, 10, 15, tzinfo=UTC)
END = datetime(2011, 10, 21, tzinfo=UTC)


def records() -> list[dict[str, Any]]:
    """The bundled Sanders tweets, with authors, sites and source kinds spread over them."""
    lines = files("flocon.samples").joinpath("sanders-brands-2011.jsonl").read_text("utf-8")
    out = []
    for i, line in enumerate(lines.splitlines()):
        rec = json.loads(line)
        if i % 10:
            rec["author"] = {"handle": f"@Fan{i % 9}"}
        if i % 4 == 0:
            rec["url"] = f"https://www.blog{i % 3}.example.org/p/{rec['id']}"
        if i % 5 == 0:
            rec["source"] = {"kind": "forum", "name": "forum.example"}
        out.append(rec)
    return out


def load(engine: Engine) -> None:
    for name in BRANDS:
        watches_svc.add_watch(engine, "default", name=name, query=name.lower(), group="brands")
    watches_svc.add_watch(engine, "default", name="iPhone", query="iphone")
    data = "".join(json.dumps(r) + "\n" for r in records()).encode()
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    report = import_stream(engine, "default", io.BytesIO(data), fmt="jsonl", settings=settings)
    assert report.counts.new > 250 and report.counts.duplicate >= 1


def stored(engine: Engine, **kw: Any) -> list[Mention]:
    """What the figures count: originals, muted or not (unless told), of some watch."""
    kw.setdefault("include_muted", True)
    return mentions_svc.list_mentions(
        engine, "default", include_duplicates=False, limit=100_000, **kw
    )


def by_day(items: list[Mention]) -> dict[datetime, Counter[str]]:
    out: dict[datetime, Counter[str]] = {}
    for m in items:
        assert m.published_at is not None
        day = m.published_at.replace(hour=0, minute=0, second=0, microsecond=0)
        out.setdefault(day, Counter())[m.sentiment or "unknown"] += 1
    return out


def point_counts(point: dash.VolumePoint) -> Counter[str]:
    return +Counter(
        positive=point.positive,
        neutral=point.neutral,
        negative=point.negative,
        unknown=point.unknown,
    )


def count(engine: Engine, query: mentions_svc.MentionQuery) -> int:
    return mentions_svc.count_mentions(engine, "default", query)


PERIOD = dash.DashboardFilter(since=START, until=END, group="brands")


def test_volume_per_watch_counts_its_mentions_per_day_and_sentiment(engine: Engine) -> None:
    load(engine)
    series = dash.volume(engine, "default", PERIOD)
    assert series.bucket == "day"
    assert [line.watch for line in series.watches] == list(BRANDS)
    for line in series.watches:
        expected = by_day(stored(engine, watch=line.watch))
        assert [p.start for p in line.points] == [START + i * DAY for i in range(6)]
        assert {p.start: point_counts(p) for p in line.points if p.total} == expected


def test_volume_total_counts_a_mention_of_two_watches_once(engine: Engine) -> None:
    load(engine)
    series = dash.volume(engine, "default", PERIOD)
    distinct = stored(engine, watches=BRANDS)
    assert series.total.total == len(distinct)
    assert sum(line.total for line in series.watches) > series.total.total
    expected = by_day(distinct)
    assert {p.start: point_counts(p) for p in series.total.points if p.total} == expected


def test_every_volume_point_drills_down_to_as_many_mentions(engine: Engine) -> None:
    load(engine)
    tags_svc.mute(engine, "default", kind="author", value="fan1", actor="cm@acme.test")
    series = dash.volume(engine, "default", PERIOD)
    for line in (series.total, *series.watches):
        for point in line.points:
            assert count(engine, point.drill) == point.total
    last = series.total.points[-1]
    assert count(engine, replace(last.drill, sentiment="negative")) == last.negative > 0


def test_short_periods_are_hourly_zero_filled_and_widened_to_whole_hours(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(
        since=datetime(2011, 10, 19, 4, 30, tzinfo=UTC),
        until=datetime(2011, 10, 19, 8, 10, tzinfo=UTC),
    )
    series = dash.volume(engine, "default", flt)
    assert series.bucket == "hour"
    assert (series.since, series.until) == (
        datetime(2011, 10, 19, 4, tzinfo=UTC),
        datetime(2011, 10, 19, 9, tzinfo=UTC),
    )
    hours = (4, 5, 6, 7, 8)
    assert [p.start for p in series.total.points] == [
        datetime(2011, 10, 19, h, tzinfo=UTC) for h in hours
    ]
    inside = Counter(
        m.published_at.hour
        for m in stored(engine)
        if m.published_at is not None and series.since <= m.published_at < series.until
    )
    assert [p.total for p in series.total.points] == [inside[h] for h in hours]
    assert series.total.points[2].total == 0  # nothing was said from 6 to 7


def test_daily_buckets_start_at_midnight_in_the_chosen_time_zone(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(
        since=datetime(2011, 10, 16, 22, tzinfo=UTC),  # midnight in Paris (UTC+2 in October)
        until=datetime(2011, 10, 20, 22, tzinfo=UTC),
        timezone="Europe/Paris",
    )
    series = dash.volume(engine, "default", flt)
    assert series.bucket == "day"
    assert [p.start.hour for p in series.total.points] == [22, 22, 22, 22]
    items = stored(engine)
    for point in series.total.points:
        inside = [m for m in items if m.published_at and point.start <= m.published_at < point.end]
        assert point.total == len(inside)


def test_share_of_voice_compares_the_watches_of_a_group(engine: Engine) -> None:
    load(engine)
    rows = dash.share_of_voice(engine, "default", PERIOD)
    assert sorted(r.watch for r in rows) == sorted(BRANDS)  # iPhone is in no group
    assert [r.mentions for r in rows] == sorted((r.mentions for r in rows), reverse=True)
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    for row in rows:
        sentiments = Counter(m.sentiment for m in stored(engine, watch=row.watch))
        assert row.mentions == sum(sentiments.values())
        assert (row.positive, row.negative, row.neutral) == (
            sentiments["positive"],
            sentiments["negative"],
            sentiments["neutral"],
        )
        pos, neg, neu = row.positive, row.negative, row.neutral
        assert row.net_sentiment == pytest.approx((pos - neg) / (pos + neg + neu))
        assert count(engine, row.drill) == row.mentions


def test_net_sentiment_trend_is_none_where_nothing_was_said(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=START - 2 * DAY, until=END)
    trend = dash.net_sentiment_trend(engine, "default", flt)
    assert [t.net for t in trend[:2]] == [None, None]
    for point, day in zip(trend[2:], sorted(by_day(stored(engine))), strict=True):
        counts = by_day(stored(engine))[day]
        pos, neg, neu = counts["positive"], counts["negative"], counts["neutral"]
        assert point.start == day
        assert point.net == pytest.approx((pos - neg) / (pos + neg + neu))
        assert point.mentions == pos + neg + neu


@pytest.mark.parametrize(
    ("top", "key_of"),
    [
        (dash.top_sources, lambda m: m.source_kind),
        (dash.top_sites, lambda m: m.site or None),
        (dash.top_authors, lambda m: (m.author_handle or "").lower() or None),
    ],
    ids=["sources", "sites", "authors"],
)
def test_top_lists_count_originals_of_unmuted_authors_and_sites(
    engine: Engine, top: Any, key_of: Any
) -> None:
    load(engine)
    tags_svc.mute(engine, "default", kind="author", value="@FAN2", actor="cm@acme.test")
    tags_svc.mute(engine, "default", kind="site", value="https://blog1.example.org/x", actor="cm")
    rows = top(engine, "default", PERIOD, limit=5)
    visible = stored(engine, watches=BRANDS, include_muted=False)
    assert not any(m.author_handle == "Fan2" or m.site == "blog1.example.org" for m in visible)
    expected = Counter(k for k in map(key_of, visible) if k is not None)
    negative = Counter(key_of(m) for m in visible if m.sentiment == "negative")
    assert {r.key: r.count for r in rows} == dict(expected.most_common(5))
    assert {r.key: r.negative for r in rows} == {r.key: negative[r.key] for r in rows}
    assert "fan2" not in {r.key for r in rows} and "blog1.example.org" not in {r.key for r in rows}
    for row in rows:
        assert count(engine, row.drill) == row.count


def test_top_authors_are_labelled_with_their_handle(engine: Engine) -> None:
    load(engine)
    rows = dash.top_authors(engine, "default", PERIOD, limit=3)
    assert all(r.label == f"Fan{r.key[-1]}" and r.key == r.label.lower() for r in rows)


def test_emerging_themes_point_to_mentions_of_the_period(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=datetime(2011, 10, 18, tzinfo=UTC), until=END)
    themes = dash.emerging(engine, "default", flt)
    assert themes
    focus = {m.id for m in stored(engine, since=flt.since, until=flt.until, include_muted=False)}
    for theme in themes:
        assert theme.of == len(focus)
        assert theme.mentions == len(theme.mention_ids)
        assert set(theme.mention_ids) <= focus
        assert count(engine, theme.drill) >= 1


def test_emerging_themes_need_enough_mentions_before_the_period(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=START, until=START + 2 * DAY)
    assert len(stored(engine, since=flt.since, until=flt.until)) >= 20
    assert dash.emerging(engine, "default", flt) == []


def test_open_alerts_lists_open_and_acknowledged_ones_newest_first(engine: Engine) -> None:
    load(engine)
    with write(engine) as conn:
        apple = wq.get_by_name(conn, 1, "Apple").id
        ids = {}
        for n, status in enumerate(("open", "acked", "closed", "resolved", "open")):
            at = START + n * timedelta(hours=1)
            ids[n] = aq.open_alert(
                conn,
                1,
                watch_id=apple if n else None,
                kind="spike",
                key=at.isoformat(),
                severity="high",
                score=1.0,
                episode_start=at,
                detected_at=at,
                updated_at=at,
                explanation=f"alert {n}",
                evidence=[n],
                details={},
            )
            if status != "open":
                aq.update_alert(conn, ids[n], status=status)
    alerts = dash.open_alerts(engine, "default")
    assert [(a.id, a.status, a.watch) for a in alerts] == [
        (ids[4], "open", "Apple"),
        (ids[1], "acked", "Apple"),
        (ids[0], "open", None),
    ]
    assert alerts[0].evidence == (4,)
    assert len(dash.open_alerts(engine, "default", limit=1)) == 1


def test_filter_options_offer_what_is_stored(engine: Engine) -> None:
    load(engine)
    [first] = stored(engine, watch="Apple")[:1]
    tags_svc.tag_mentions(engine, "default", [first.id], "Crise", actor="cm")
    tags_svc.mute(engine, "default", kind="site", value="blog0.example.org", actor="cm")
    options = dash.filter_options(engine, "default")
    assert options.watches == (
        ("Apple", "brands"),
        ("Google", "brands"),
        ("Microsoft", "brands"),
        ("Twitter", "brands"),
        ("iPhone", None),
    )
    assert options.groups == ("brands",) == tuple(dash.groups(engine, "default"))
    assert options.source_kinds == ("forum", "twitter")
    assert set(options.langs) == {m.lang for m in stored(engine) if m.lang}
    assert options.tags == ("crise",)
    assert options.mutes == (("site", "blog0.example.org"),)


def test_a_chosen_watch_narrows_every_figure(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=START, until=END, watches=("Google",), source_kind="forum")
    google_forum = [m for m in stored(engine, watch="Google") if m.source_kind == "forum"]
    series = dash.volume(engine, "default", flt)
    assert series.total.total == len(google_forum) == series.watches[0].total
    assert [r.key for r in dash.top_sources(engine, "default", flt)] == ["forum"]
    [row] = dash.share_of_voice(engine, "default", flt)
    assert (row.watch, row.mentions, row.share) == ("Google", len(google_forum), 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": END, "until": START},
        {"since": START.replace(tzinfo=None), "until": END},
        {"since": START, "until": END, "sentiment": "angry"},
        {"since": START, "until": END, "timezone": "Mars/Olympus"},
    ],
    ids=["empty", "naive", "sentiment", "timezone"],
)
def test_invalid_filters_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BadFilter):
        dash.DashboardFilter(**kwargs)


@pytest.mark.parametrize(
    "flt",
    [
        dash.DashboardFilter(since=START, until=END, watches=("Nokia",)),
        dash.DashboardFilter(since=START, until=END, group="phones"),
    ],
    ids=["watch", "group"],
)
def test_unknown_watches_and_groups_are_not_found(
    engine: Engine, flt: dash.DashboardFilter
) -> None:
    load(engine)
    with pytest.raises(NotFound):
        dash.volume(engine, "default", flt)


def test_an_empty_workspace_shows_zeros(engine: Engine) -> None:
    flt = dash.DashboardFilter(since=START, until=START + DAY)
    series = dash.volume(engine, "default", flt)
    assert len(series.total.points) == 24 and series.total.total == 0
    assert dash.share_of_voice(engine, "default", flt) == []
    assert dash.top_sites(engine, "default", flt) == []
    assert dash.emerging(engine, "default", flt) == []


def test_emerging_themes_are_computed_once_then_read_until_stale(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=datetime(2011, 10, 18, tzinfo=UTC), until=END)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    first = dash.emerging(engine, "default", flt, now=now)
    assert first
    computed: list[int] = []
    real = themes_mod._compute

    def counting(*args: Any) -> list[dash.EmergingTheme]:
        computed.append(1)
        return real(*args)

    monkeypatch.setattr(themes_mod, "_compute", counting)
    fresh = now + dash.THEMES_FRESH - timedelta(minutes=1)
    assert dash.emerging(engine, "default", flt, now=fresh) == first
    assert computed == []
    # Another filter, or a new mute, is another entry: computed at once.
    dash.emerging(engine, "default", replace(flt, sentiment="negative"), now=fresh)
    assert computed == [1]
    tags_svc.mute(engine, "default", kind="author", value="fan1", actor="cm@acme.test")
    muted = dash.emerging(engine, "default", flt, now=fresh)
    assert computed == [1, 1]
    # Stale: computed again.
    assert dash.emerging(engine, "default", flt, now=fresh + dash.THEMES_FRESH) == muted
    assert computed == [1, 1, 1]


def test_emerging_themes_see_new_mentions_once_stale(engine: Engine) -> None:
    load(engine)
    flt = dash.DashboardFilter(since=datetime(2011, 10, 18, tzinfo=UTC), until=END)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    before = dash.emerging(engine, "default", flt, now=now)
    data = "".join(
        json.dumps(
            {
                "id": f"new{i}",
                "text": f"Apple recall of the zorblax charger number {i}, zorblax everywhere",
                "published_at": "2011-10-20T12:00:00Z",
            }
        )
        + "\n"
        for i in range(40)
    ).encode()
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    import_stream(engine, "default", io.BytesIO(data), fmt="jsonl", settings=settings)
    assert dash.emerging(engine, "default", flt, now=now + timedelta(minutes=5)) == before
    after = dash.emerging(engine, "default", flt, now=now + dash.THEMES_FRESH)
    assert after != before
    assert any("zorblax" in t.label or "zorblax" in " ".join(t.phrases) for t in after)
