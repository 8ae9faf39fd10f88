"""The mentions list (filters, keyset pages, one mention, threads) and its bulk actions (tags,
mutes, sentiment corrections), on real tweets imported through the import service, on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import Engine, select

from flocon.domain.models import Mention
from flocon.errors import ConfigError, NotFound
from flocon.services import accounts
from flocon.services import analysis as analysis_svc
from flocon.services import mentions as svc
from flocon.services import rollups as rollups_svc
from flocon.services import tags as tags_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.importing import import_stream
from flocon.services.mentions import BadCursor, BadFilter, MentionQuery
from flocon.settings import Settings
from flocon.storage.engine import read
from flocon.storage.queries import rollups as rq
from flocon.storage.tables import mentions, sentiment_corrections

BRANDS = ("Apple", "Google", "Microsoft", "Twitter")


def sample(limit: int | None = None) -> list[dict[str, Any]]:
    """Bundled Sanders tweets, with authors, sites and source kinds spread over them."""
    lines = files("flocon.samples").joinpath("sanders-brands-2011.jsonl").read_text("utf-8")
    out = []
    for i, line in enumerate(lines.splitlines()[:limit]):
        rec = json.loads(line)
        if i % 10:
            rec["author"] = {"handle": f"@Fan{i % 9}"}
        if i % 4 == 0:
            rec["url"] = f"https://www.blog{i % 3}.example.org/p/{rec['id']}"
        if i % 5 == 0:
            rec["source"] = {"kind": "forum", "name": "forum.example"}
        out.append(rec)
    return out


def settings_for(engine: Engine) -> Settings:
    return Settings(database_url=str(engine.url), sentiment_profile="fast")


def load(engine: Engine, records: list[dict[str, Any]], workspace: str = "default") -> None:
    for name in BRANDS:
        watches_svc.add_watch(engine, workspace, name=name, query=name.lower(), group="brands")
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    report = import_stream(
        engine, workspace, io.BytesIO(data), fmt="jsonl", settings=settings_for(engine)
    )
    assert report.counts.new > 0 and not report.rejected


def everything(engine: Engine, workspace: str = "default", **kw: Any) -> list[Mention]:
    return svc.list_mentions(engine, workspace, limit=100_000, include_muted=True, **kw)


def ids(items: list[Mention]) -> list[int]:
    return [m.id for m in items]


# -- pages -------------------------------------------------------------------------------


def test_pages_follow_each_other_without_gap_or_repeat(engine: Engine) -> None:
    load(engine, sample())
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = svc.page_mentions(engine, "default", cursor=cursor, limit=40)
        seen.extend(ids(page.items))
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids(everything(engine))
    assert pages == -(-len(seen) // 40)
    assert svc.count_mentions(engine, "default") == len(seen)


def test_a_page_cursor_ignores_mentions_that_arrive_meanwhile(engine: Engine) -> None:
    records = sample()
    load(engine, records[:200])
    first = svc.page_mentions(engine, "default", limit=25)
    # Newer tweets arrive between two pages: the second page goes on where the first ended.
    load_more = "".join(json.dumps(r) + "\n" for r in records[200:]).encode()
    import_stream(engine, "default", io.BytesIO(load_more), fmt="jsonl")
    second = svc.page_mentions(engine, "default", cursor=first.next_cursor, limit=25)
    before = ids(everything(engine))
    position = before.index(first.items[-1].id)
    assert ids(second.items) == before[position + 1 : position + 26]


def test_equal_times_are_paged_by_id(engine: Engine) -> None:
    at = "2011-10-19T02:00:00Z"
    texts = [r["text"] for r in sample(30)]
    load(engine, [{"id": f"t{i}", "text": t, "published_at": at} for i, t in enumerate(texts)])
    got: list[int] = []
    cursor = None
    while True:
        page = svc.page_mentions(engine, "default", cursor=cursor, limit=4)
        got.extend(ids(page.items))
        if not (cursor := page.next_cursor):
            break
    assert got == sorted(got, reverse=True) and len(got) == len(set(got)) > 4


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor!", "Zm9vLmJhcg", svc.encode_cursor(datetime.now(UTC), 1)[:-3] + "===", "x" * 90],
    ids=["garbage", "not-numbers", "truncated", "too-long"],
)
def test_a_damaged_cursor_is_refused(engine: Engine, cursor: str) -> None:
    with pytest.raises(BadCursor):
        svc.page_mentions(engine, "default", cursor=cursor)


def test_a_cursor_round_trips_its_position() -> None:
    at = datetime(2011, 10, 19, 2, 3, 4, 567890, tzinfo=UTC)
    assert svc.decode_cursor(svc.encode_cursor(at, 12345)) == (at, 12345)


# -- filters -----------------------------------------------------------------------------

Pick = Callable[[Mention], bool]
FILTERS: list[tuple[dict[str, Any], Pick]] = [
    ({"watches": ("Apple", "Google")}, lambda m: bool({"Apple", "Google"} & set(m.watches))),
    ({"source_kind": "forum"}, lambda m: m.source_kind == "forum"),
    ({"site": "https://www.BLOG1.example.org/"}, lambda m: m.site == "blog1.example.org"),
    ({"author": "@FAN3"}, lambda m: m.author_handle == "Fan3"),
    ({"sentiment": "negative"}, lambda m: m.sentiment == "negative"),
    ({"lang": "EN"}, lambda m: m.lang == "en"),
    ({"needs_answer": False}, lambda m: m.needs_answer is False),
    ({"include_duplicates": False}, lambda m: m.duplicate_of is None),
    (
        {"since": datetime(2011, 10, 19, tzinfo=UTC), "until": datetime(2011, 10, 20, tzinfo=UTC)},
        lambda m: m.published_at is not None and m.published_at.day == 19,
    ),
]


@pytest.mark.parametrize(
    ("query", "pick"),
    FILTERS,
    ids=[next(iter(q)) for q, _ in FILTERS],
)
def test_each_filter_selects_what_it_says(
    engine: Engine, query: dict[str, Any], pick: Pick
) -> None:
    load(engine, sample())
    expected = [m.id for m in everything(engine) if pick(m)]
    got = ids(svc.page_mentions(engine, "default", MentionQuery(**query), limit=500).items)
    assert got == expected and 0 < len(got) < len(everything(engine))
    assert svc.count_mentions(engine, "default", MentionQuery(**query)) == len(expected)


def test_filters_combine_with_full_text_search(engine: Engine) -> None:
    load(engine, sample())
    query = MentionQuery(search="iphone", sentiment="negative", watches=("Apple",))
    got = svc.page_mentions(engine, "default", query, limit=500).items
    assert got and all(
        "iphone" in m.text.lower() and m.sentiment == "negative" and "Apple" in m.watches
        for m in got
    )


def test_unknown_sentiment_selects_mentions_not_analysed(engine: Engine) -> None:
    watches_svc.add_watch(engine, "default", name="Apple", query="apple")
    data = "".join(json.dumps(r) + "\n" for r in sample(40)).encode()
    import_stream(engine, "default", io.BytesIO(data), fmt="jsonl")  # no settings: not analysed
    apple = everything(engine, watch="Apple")
    got = svc.page_mentions(engine, "default", MentionQuery(sentiment="unknown")).items
    assert ids(got) == ids(apple) and all(m.sentiment is None for m in got)


def test_an_unknown_watch_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        svc.page_mentions(engine, "default", MentionQuery(watches=("Nokia",)))


def test_a_query_round_trips_through_query_string_pairs() -> None:
    query = MentionQuery(
        watches=("Apple", "Google"),
        since=datetime(2011, 10, 19, tzinfo=UTC),
        until=datetime(2011, 10, 20, 12, tzinfo=UTC),
        search="battery life",
        sentiment="unknown",
        site="blog1.example.org",
        author="fan3",
        tag="crise",
        needs_answer=True,
        include_duplicates=False,
        include_muted=True,
    )
    pairs = query.to_params()
    assert ("watch", "Apple") in pairs and ("watch", "Google") in pairs
    assert MentionQuery.from_params([*pairs, ("cursor", "abc"), ("lang", "")]) == query
    assert MentionQuery.from_params([]) == MentionQuery()


@pytest.mark.parametrize(
    "pairs",
    [
        [("sentiment", "angry")],
        [("since", "yesterday")],
        [("needs_answer", "maybe")],
        [("since", "2011-10-20"), ("until", "2011-10-19")],
    ],
    ids=["sentiment", "date", "flag", "empty-period"],
)
def test_bad_query_string_values_are_refused(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(BadFilter):
        MentionQuery.from_params(pairs)


def test_a_date_without_time_zone_is_utc() -> None:
    query = MentionQuery.from_params([("since", "2011-10-19")])
    assert query.since == datetime(2011, 10, 19, tzinfo=UTC)


# -- one mention, threads ----------------------------------------------------------------


def test_a_mention_of_another_workspace_is_not_found(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "other")
    load(engine, sample(30), workspace="other")
    [theirs, *_] = everything(engine, "other")
    assert svc.get_mention(engine, "other", theirs.id) == theirs
    with pytest.raises(NotFound):
        svc.get_mention(engine, "default", theirs.id)
    with pytest.raises(NotFound):
        svc.thread(engine, "default", theirs.id)


def test_a_thread_shows_parents_and_replies_depth_first(engine: Engine) -> None:
    texts = [r["text"] for r in sample(6)]
    shape = {"a": None, "b": "a", "c": "b", "d": "a", "e": "c", "f": "b"}
    start = datetime(2011, 10, 19, 2, tzinfo=UTC)
    records = [
        {
            "id": key,
            "text": texts[i] + " apple",
            "published_at": (start + timedelta(minutes=i)).isoformat(),
            **({"parent_id": parent} if parent else {}),
        }
        for i, (key, parent) in enumerate(shape.items())
    ]
    load(engine, records)
    by_ext = {m.external_id: m for m in everything(engine)}
    got = svc.thread(engine, "default", by_ext["b"].id)
    assert got.root.external_id == "b"
    assert [m.external_id for m in got.ancestors] == ["a"]
    assert [(d, m.external_id) for d, m in got.replies] == [(1, "c"), (2, "e"), (1, "f")]
    assert not got.truncated
    top = svc.thread(engine, "default", by_ext["a"].id)
    assert top.ancestors == []
    assert [(d, m.external_id) for d, m in top.replies] == [
        (1, "b"),
        (2, "c"),
        (3, "e"),
        (2, "f"),
        (1, "d"),
    ]


def test_a_long_thread_is_cut_and_says_so(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [r["text"] for r in sample(5)]
    start = datetime(2011, 10, 19, 2, tzinfo=UTC)
    records = [
        {
            "id": f"r{i}",
            "text": text + " apple",
            "published_at": (start + timedelta(minutes=i)).isoformat(),
            **({"parent_id": "r0"} if i else {}),
        }
        for i, text in enumerate(texts)
    ]
    load(engine, records)
    root = next(m for m in everything(engine) if m.external_id == "r0")
    monkeypatch.setattr(svc, "THREAD_REPLIES", 2)
    got = svc.thread(engine, "default", root.id)
    assert [m.external_id for _, m in got.replies] == ["r1", "r2"] and got.truncated


# -- tags ----------------------------------------------------------------------------------


def test_tagging_ignores_ids_of_other_workspaces(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "other")
    load(engine, sample(60))
    load(engine, sample(60), workspace="other")
    mine = ids(everything(engine))[:5]
    theirs = ids(everything(engine, "other"))[:3]
    tagged = tags_svc.tag_mentions(
        engine, "default", [*mine, *theirs], "  Crise  Client ", actor="léa"
    )
    assert tagged == 5
    assert all(m.tags == () for m in everything(engine, "other"))
    listed = svc.page_mentions(engine, "default", MentionQuery(tag="CRISE client")).items
    assert sorted(ids(listed)) == sorted(mine)
    assert all(m.tags == ("crise client",) for m in listed)


def test_tagging_twice_counts_only_the_new_ones(engine: Engine) -> None:
    load(engine, sample(60))
    first = ids(everything(engine))[:6]
    assert tags_svc.tag_mentions(engine, "default", first[:4], "bug", actor="léa") == 4
    assert tags_svc.tag_mentions(engine, "default", first, "bug", actor="léa") == 2
    tags_svc.tag_mentions(engine, "default", first[:1], "urgent", actor="léa")
    assert tags_svc.list_tags(engine, "default") == [("bug", 6), ("urgent", 1)]
    assert svc.get_mention(engine, "default", first[0]).tags == ("bug", "urgent")


def test_untagging_takes_the_tag_off(engine: Engine) -> None:
    load(engine, sample(60))
    first = ids(everything(engine))[:4]
    tags_svc.tag_mentions(engine, "default", first, "bug", actor="léa")
    assert (
        tags_svc.untag_mentions(engine, "default", [*first[:3], 999_999], "Bug", actor="léa") == 3
    )
    assert tags_svc.list_tags(engine, "default") == [("bug", 1)]


@pytest.mark.parametrize("tag", ["", "   ", "x" * 51, "bad\x00tag", "line\nbreak"])
def test_invalid_tags_are_refused(tag: str) -> None:
    with pytest.raises(ConfigError):
        tags_svc.normalise_tag(tag)


def test_tag_actions_are_audited(engine: Engine) -> None:
    load(engine, sample(30))
    first = ids(everything(engine))[:2]
    tags_svc.tag_mentions(engine, "default", first, "bug", actor="lea@acme.test")
    [entry] = accounts.audit_events(engine, "default")
    assert (entry.actor, entry.action) == ("lea@acme.test", "mention.tag")
    assert entry.details["tag"] == "bug" and sorted(entry.details["ids"]) == sorted(first)


# -- mutes ---------------------------------------------------------------------------------


def test_muted_authors_and_sites_are_hidden_unless_asked_for(engine: Engine) -> None:
    load(engine, sample())
    tags_svc.mute(engine, "default", kind="author", value="@fan4", actor="léa")
    tags_svc.mute(engine, "default", kind="site", value="example.org", actor="léa")
    shown = svc.list_mentions(engine, "default", limit=1000)
    assert shown and not any(m.author_handle == "Fan4" for m in shown)
    assert not any(m.site.endswith("example.org") for m in shown)  # subdomains too
    hidden = [
        m
        for m in everything(engine)
        if m.author_handle == "Fan4" or m.site.endswith(".example.org")
    ]
    assert len(shown) + len(hidden) == len(everything(engine))
    assert svc.count_mentions(engine, "default") == len(shown)


def test_unmuting_shows_them_again(engine: Engine) -> None:
    load(engine, sample(60))
    tags_svc.mute(engine, "default", kind="author", value="Fan4", actor="léa")
    tags_svc.mute(engine, "default", kind="author", value="@FAN4", actor="léa")  # harmless
    assert [(m.kind, m.value) for m in tags_svc.list_mutes(engine, "default")] == [
        ("author", "fan4")
    ]
    tags_svc.unmute(engine, "default", kind="author", value="@Fan4", actor="léa")
    assert tags_svc.list_mutes(engine, "default") == []
    assert svc.count_mentions(engine, "default") == len(everything(engine))
    with pytest.raises(NotFound):
        tags_svc.unmute(engine, "default", kind="site", value="nowhere.test", actor="léa")


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("https://WWW.Example.org/path?q=1", "example.org"),
        ("www.example.org/", "example.org"),
        ("News.Example.org.", "news.example.org"),
    ],
)
def test_sites_are_muted_by_host(value: str, key: str) -> None:
    assert tags_svc.site_key(value) == key


@pytest.mark.parametrize("value", ["", "  ", "two words.org", "https://"])
def test_an_invalid_site_is_refused(value: str) -> None:
    with pytest.raises(ConfigError):
        tags_svc.site_key(value)


# -- corrections ---------------------------------------------------------------------------


def rollup_totals(engine: Engine) -> dict[str, int]:
    with read(engine) as conn:
        got = rq.stored(conn, 1)
    out: dict[str, int] = {}
    for key, n in got.items():
        if key.bucket_s == 3600:
            out[key.sentiment] = out.get(key.sentiment, 0) + n
    return out


def test_correcting_in_bulk_moves_mentions_and_rollups_to_the_label(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "other")
    load(engine, sample(80))
    load(engine, sample(10), workspace="other")
    chosen = [m for m in everything(engine, include_duplicates=False) if m.sentiment != "negative"][
        :6
    ]
    theirs = everything(engine, "other")[0]
    before = rollup_totals(engine)
    done = analysis_svc.correct_many(
        engine, "default", [*ids(chosen), theirs.id], "negative", by="lea@acme.test"
    )
    assert done == 6
    assert all(svc.get_mention(engine, "default", m.id).sentiment == "negative" for m in chosen)
    assert svc.get_mention(engine, "other", theirs.id).sentiment == theirs.sentiment
    after = rollup_totals(engine)
    moved = sum(len(m.watches) for m in chosen)
    assert after["negative"] == before["negative"] + moved
    assert rollups_svc.check(engine, "default").differences == []


def test_a_correction_keeps_who_when_and_the_model_label(engine: Engine) -> None:
    load(engine, sample(40))
    [m] = everything(engine)[:1]
    analysis_svc.correct_many(engine, "default", [m.id], "negative", by="lea@acme.test")
    analysis_svc.correct_many(engine, "default", [m.id], "positive", by="max@acme.test")
    with read(engine) as conn:
        [row] = conn.execute(select(sentiment_corrections)).all()
    assert (row.label, row.previous, row.corrected_by) == ("positive", m.sentiment, "max@acme.test")
    assert row.corrected_at is not None
    actions = [(e.actor, e.action) for e in accounts.audit_events(engine, "default")]
    assert actions == [("max@acme.test", "mention.correct"), ("lea@acme.test", "mention.correct")]


def test_a_single_correction_updates_the_mention_and_rollups(engine: Engine) -> None:
    load(engine, sample(40))
    m = next(x for x in everything(engine, include_duplicates=False) if x.sentiment != "neutral")
    previous = analysis_svc.correct_sentiment(engine, "default", m.id, "neutral", by="léa")
    assert previous == m.sentiment
    assert svc.get_mention(engine, "default", m.id).sentiment == "neutral"
    assert rollups_svc.check(engine, "default").differences == []


def test_a_correction_outlives_reanalysis(engine: Engine) -> None:
    load(engine, sample(40))
    m = next(x for x in everything(engine) if x.sentiment == "positive")
    analysis_svc.correct_sentiment(engine, "default", m.id, "negative", by="léa")
    analysis_svc.reanalyze(engine, settings_for(engine), "default")
    assert svc.get_mention(engine, "default", m.id).sentiment == "negative"
    with read(engine) as conn:
        previous = conn.execute(select(sentiment_corrections.c.previous)).scalar_one()
        model = conn.execute(
            select(mentions.c.analysis_model).where(mentions.c.id == m.id)
        ).scalar_one()
    assert previous == "positive" and model is not None
    assert rollups_svc.check(engine, "default").differences == []


def test_an_unknown_label_is_refused(engine: Engine) -> None:
    with pytest.raises(ConfigError):
        analysis_svc.correct_many(engine, "default", [1], "angry", by="léa")
