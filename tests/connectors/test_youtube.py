"""The youtube connector: comment parsing, targets, quota, then fetching from a local server."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.youtube import (
    WATCHES,
    YouTubeConnector,
    parse_options,
    parse_replies,
    parse_threads,
    quota_day,
    seconds_to_quota_reset,
    threads_missing_replies,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import AuthFailed, ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "youtube"
VIDEO = "dQw4w9WgXcQ"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_id(drafts: list[Draft]) -> dict[str, Draft]:
    return {d.external_id or "": d for d in drafts}


# --------------------------------------------------------------------------- parsing


def test_top_level_comment_points_to_the_video() -> None:
    top = by_id(parse_threads(load("threads_page0.json"), source_name="yt"))["UgzAbC1thread"]
    assert top.source_kind == "youtube"
    assert top.text == "Le SAV m'a répondu en 2 jours, franchement bravo"
    assert top.parent_external_id == f"video:{VIDEO}"
    assert top.url == f"https://www.youtube.com/watch?v={VIDEO}&lc=UgzAbC1thread"
    assert top.author == AuthorRef(handle="claire-dupont", name="@claire-dupont")
    assert top.published_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert top.likes == 14
    assert top.replies == 3


def test_included_reply_points_to_its_top_level_comment() -> None:
    reply = by_id(parse_threads(load("threads_page0.json"), source_name="yt"))[
        "UgzAbC1thread.AAAreply1"
    ]
    assert reply.parent_external_id == "UgzAbC1thread"
    assert reply.url == f"https://www.youtube.com/watch?v={VIDEO}&lc=UgzAbC1thread.AAAreply1"


def test_threads_with_more_replies_than_included() -> None:
    assert threads_missing_replies(load("threads_page0.json")) == [("UgzAbC1thread", VIDEO)]


def test_replies_page_author_without_handle_and_text_display_fallback() -> None:
    replies = by_id(parse_replies(load("replies.json"), source_name="yt", video_id=VIDEO))
    old = replies["UgzAbC1thread.AAAreply2"]
    assert old.author == AuthorRef(handle="UColdoldoldoldoldoldoldo", name="Old Channel Name")
    assert old.parent_external_id == "UgzAbC1thread"
    assert replies["UgzAbC1thread.AAAreply3"].text == "@jeanmi75 appelle le 3631"


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"error": {"code": 403}}, "no 'items'"), ({"items": ["x"]}, "not an object")],
)
def test_broken_response_raises(payload: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_threads(payload, source_name="yt")


# --------------------------------------------------------------------------- targets, options, quota


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("watches", WATCHES),
        (f"video:{VIDEO}", f"video:{VIDEO}"),
        (f"video:https://www.youtube.com/watch?v={VIDEO}&t=42", f"video:{VIDEO}"),
        (f"https://youtu.be/{VIDEO}", f"video:{VIDEO}"),
        (f"video:https://www.youtube.com/shorts/{VIDEO}", f"video:{VIDEO}"),
        ("channel:UCabcdefghijklmnopqrstuv", "channel:UCabcdefghijklmnopqrstuv"),
        ("search:  avis   SAV ", "search:avis SAV"),
    ],
)
def test_normalize_target(target: str, expected: str) -> None:
    assert YouTubeConnector().normalize_target(target, {}) == expected


@pytest.mark.parametrize("target", ["", "video:short", "channel:@handle", "search:", "x:y"])
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match=r"youtube|video|channel|search"):
        YouTubeConnector().normalize_target(target, {})


def test_options() -> None:
    opts = parse_options({"daily_quota": "500", "max_videos": "2"})
    assert (opts.daily_quota, opts.max_videos, opts.max_pages) == (500, 2, 3)
    with pytest.raises(ValueError, match="daily_quota"):
        parse_options({"daily_quota": "0"})


def test_quota_day_is_pacific_time() -> None:
    # 2026-11-26 07:30 UTC is still 2026-11-25 in California (UTC-8)
    stamp = datetime(2026, 11, 26, 7, 30, tzinfo=UTC).timestamp()
    assert quota_day(stamp) == "2026-11-25"
    assert seconds_to_quota_reset(stamp) == 30 * 60


# --------------------------------------------------------------------------- fetching (local server)

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC).timestamp()  # 10:00 in California
KEY = "AIzaSyD-test-key-123"
JSON = {"Content-Type": "application/json; charset=UTF-8"}


def spec(target: str, server: LocalHTTPServer, **kwargs: Any) -> SourceSpec:
    options = {"base_url": server.url("/youtube/v3"), **kwargs.pop("options", {})}
    return SourceSpec(
        id=1,
        kind="youtube",
        name="yt",
        target=target,
        options=options,
        credentials=kwargs.pop("credentials", {"api_key": KEY}),
        **kwargs,
    )


def fetch(source: SourceSpec, now: float = NOW) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await YouTubeConnector(clock=lambda: now).fetch(source, http)

    return asyncio.run(run())


def serve(server: LocalHTTPServer) -> None:
    def threads(request: RecordedRequest) -> Reply:
        name = "threads_page1.json" if request.query.get("pageToken") else "threads_page0.json"
        if request.query.get("videoId") != [VIDEO]:
            name = "empty.json"
        return Reply(200, (FIXTURES / name).read_bytes(), JSON)

    server.route_handler("/youtube/v3/commentThreads", threads)
    for method, name in [
        ("comments", "replies.json"),
        ("search", "search.json"),
        ("channels", "channels.json"),
        ("playlistItems", "playlist_items.json"),
    ]:
        server.route(f"/youtube/v3/{method}", body=(FIXTURES / name).read_bytes(), headers=JSON)


def test_video_threads_pages_and_missing_replies(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    result = fetch(spec(f"video:{VIDEO}", http_server))
    routes = [r.route.rsplit("/", 1)[1] for r in http_server.requests]
    assert routes == ["commentThreads", "comments", "commentThreads"]
    first = http_server.requests[0].query
    assert first["key"] == [KEY]
    assert first["part"] == ["snippet,replies"]
    assert first["order"] == ["time"]
    assert first["maxResults"] == ["100"]
    assert http_server.requests[1].query["parentId"] == ["UgzAbC1thread"]
    assert http_server.requests[2].query["pageToken"] == ["QURTSl9pMFBBGE"]
    assert len(result.drafts) == 6
    assert result.cursor["quota"] == {"day": "2026-11-25", "used": 3}
    assert result.cursor["videos"][VIDEO] == datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()
    assert KEY not in result.note


def test_next_fetch_keeps_only_newer_threads(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    first = fetch(spec(f"video:{VIDEO}", http_server))
    assert set(first.cursor["threads"][VIDEO]) == {
        "UgzAbC1thread",
        "UgxDeF2thread",
        "UgyGhI3thread",
    }
    second = fetch(spec(f"video:{VIDEO}", http_server, cursor=first.cursor))
    assert second.drafts == []
    # Both pages are read again (the oldest tracked thread is on the second one), but
    # unchanged threads cost no replies call.
    routes = [r.route.rsplit("/", 1)[1] for r in http_server.requests[3:]]
    assert routes == ["commentThreads", "commentThreads"]
    assert second.cursor["quota"]["used"] == 5
    assert second.cursor["threads"] == first.cursor["threads"]


def test_a_new_reply_to_an_old_thread_is_found_once(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    first = fetch(spec(f"video:{VIDEO}", http_server))
    grown = load("threads_page0.json")
    grown["items"][0]["snippet"]["totalReplyCount"] = 4

    def threads(request: RecordedRequest) -> Reply:
        if request.query.get("pageToken"):
            return Reply(200, (FIXTURES / "threads_page1.json").read_bytes(), JSON)
        return Reply(200, json.dumps(grown).encode(), JSON)

    http_server.route_handler("/youtube/v3/commentThreads", threads)
    replies = (FIXTURES / "replies_newest.json").read_bytes()
    http_server.route("/youtube/v3/comments", body=replies, headers=JSON)
    later = NOW + 15 * 3600
    second = fetch(spec(f"video:{VIDEO}", http_server, cursor=first.cursor), later)
    assert [(d.external_id, d.parent_external_id) for d in second.drafts] == [
        ("UgzAbC1thread.AAAreply4", "UgzAbC1thread")
    ]
    asked = http_server.requests_to("/youtube/v3/comments")
    assert len(asked) == 2  # one for the first fetch, one (no next page) for the new reply
    assert asked[-1].query["parentId"] == ["UgzAbC1thread"]
    assert asked[-1].query["textFormat"] == ["plainText"]
    state = second.cursor["threads"][VIDEO]["UgzAbC1thread"]
    assert state[0] == 4
    assert state[2] == datetime(2026, 11, 26, 9, 0, tzinfo=UTC).timestamp()

    third = fetch(spec(f"video:{VIDEO}", http_server, cursor=second.cursor), later + 600)
    assert third.drafts == []
    assert len(http_server.requests_to("/youtube/v3/comments")) == 2


def test_a_new_reply_included_in_the_thread_costs_no_call(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    first = fetch(spec(f"video:{VIDEO}", http_server))
    grown = load("threads_page0.json")
    item = grown["items"][1]
    item["snippet"]["totalReplyCount"] = 1
    reply = load("replies_newest.json")["items"][0]
    reply = {**reply, "id": "UgxDeF2thread.AAAnew", "snippet": {**reply["snippet"]}}
    del reply["snippet"]["parentId"]  # the parent id comes from the thread
    item["replies"] = {"comments": [reply]}
    http_server.route_handler(
        "/youtube/v3/commentThreads",
        lambda request: Reply(
            200,
            (FIXTURES / "threads_page1.json").read_bytes()
            if request.query.get("pageToken")
            else json.dumps(grown).encode(),
            JSON,
        ),
    )
    second = fetch(spec(f"video:{VIDEO}", http_server, cursor=first.cursor))
    assert len(http_server.requests_to("/youtube/v3/comments")) == 1  # the first fetch's
    assert [(d.external_id, d.parent_external_id) for d in second.drafts] == [
        ("UgxDeF2thread.AAAnew", "UgxDeF2thread")
    ]


def test_tracked_threads_are_bounded() -> None:
    from flocon.connectors import youtube

    threads = {
        "v1": {f"t{i}": [0, i, i] for i in range(youtube.MAX_THREADS_PER_VIDEO + 50)},
        "v2": {"old": [0, 0, 0], "new": [1, 5, int(NOW)]},
        "gone": {"t": [0, 0, int(NOW)]},
    }
    kept = youtube._bounded_threads(threads, ["v1", "v2"], now=200.0)
    assert len(kept["v1"]) == youtube.MAX_THREADS_PER_VIDEO
    assert "t149" in kept["v1"] and "t0" not in kept["v1"]
    assert "gone" not in kept
    assert set(kept["v2"]) == {"old", "new"}  # both within 30 days of "now" here
    kept = youtube._bounded_threads(threads, ["v2"], now=NOW)
    assert kept == {"v2": {"new": [1, 5, int(NOW)]}}


def test_quota_reached_waits_until_midnight_pacific_then_resumes(
    http_server: LocalHTTPServer,
) -> None:
    serve(http_server)
    options = {"daily_quota": "3"}
    first = fetch(spec(f"video:{VIDEO}", http_server, options=options))
    assert first.cursor["quota"]["used"] == 3
    assert first.retry_after_s is None
    spent = fetch(spec(f"video:{VIDEO}", http_server, options=options, cursor=first.cursor))
    assert spent.drafts == []
    assert spent.retry_after_s == 14 * 3600  # 10:00 PT → midnight PT
    assert spent.cursor["quota"] == first.cursor["quota"]
    assert "stopped before passing the daily quota (3 of 3 units" in spent.note
    assert KEY not in spent.note
    assert len(http_server.requests) == 3
    tomorrow = NOW + 15 * 3600
    third = fetch(
        spec(f"video:{VIDEO}", http_server, options=options, cursor=first.cursor), tomorrow
    )
    assert third.cursor["quota"] == {"day": "2026-11-26", "used": 2}  # both pages: tracked


def test_quota_reached_midway_returns_what_was_found(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    result = fetch(spec(f"video:{VIDEO}", http_server, options={"daily_quota": "2"}))
    assert len(http_server.requests) == 2
    assert len(result.drafts) == 5
    assert "stopped before passing the daily quota (2 of 2 units" in result.note
    assert result.retry_after_s == 14 * 3600


def test_units_spent_before_a_quota_stop_are_kept(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    first = fetch(spec(f"video:{VIDEO}", http_server))
    options = {"daily_quota": "4"}
    # Page 1 is read again for the tracked threads: the stop comes after one unit, with
    # nothing new found; the unit is still counted.
    second = fetch(spec(f"video:{VIDEO}", http_server, options=options, cursor=first.cursor))
    assert second.drafts == []
    assert second.cursor["quota"] == {"day": "2026-11-25", "used": 4}
    assert second.retry_after_s == 14 * 3600
    assert second.cursor["videos"] == first.cursor["videos"]


def test_a_quota_stop_schedules_the_source_after_the_reset(
    sqlite_url: str, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    from flocon.credentials import CredentialBox
    from flocon.services import fetching
    from flocon.services import sources as svc
    from flocon.settings import Settings
    from flocon.storage import migrate
    from flocon.storage.engine import build_engine

    serve(http_server)
    engine = build_engine(Settings(database_url=sqlite_url))
    migrate.upgrade(engine)
    box = CredentialBox(Settings(), key_file=tmp_path / "secret.key")
    source = svc.add_source(
        engine,
        box,
        "default",
        kind="youtube",
        target=f"video:{VIDEO}",
        every_s=60,
        options={"base_url": http_server.url("/youtube/v3"), "daily_quota": "1"},
        credentials={"api_key": KEY},
    )

    async def go() -> fetching.CycleReport:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await fetching.run_cycle(engine, box, http, source_ids=[source.id])

    before = time.time()
    report = asyncio.run(go())
    after = time.time()
    assert report.outcomes[0].ok and report.outcomes[0].fetched == 3
    stored = svc.get_source(engine, "default", str(source.id))
    assert stored.cursor["quota"]["used"] == 1
    assert stored.next_run_at is not None
    wait = stored.next_run_at.replace(tzinfo=UTC).timestamp() - before
    expected = max(60.0, seconds_to_quota_reset(after))
    assert expected - 5 <= wait <= max(60.0, seconds_to_quota_reset(before)) + 5
    engine.dispose()


def test_search_costs_100_units_then_reads_the_videos_found(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    result = fetch(spec("search:avis SAV", http_server, options={"max_pages": "1"}))
    search = http_server.requests[0]
    assert search.route.endswith("/search")
    assert search.query["q"] == ["avis SAV"]
    assert search.query["type"] == ["video"]
    assert search.query["order"] == ["date"]
    assert search.query["publishedAfter"] == ["2026-11-22T18:00:00Z"]
    assert result.cursor["quota"]["used"] == 102
    assert result.cursor["searched"] == {"avis SAV": NOW}
    assert len(result.drafts) == 5


def test_watches_search_each_keyword(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    source = spec(
        WATCHES, http_server, queries=["colissimo OR chronopost"], options={"max_pages": "1"}
    )
    result = fetch(source)
    searches = [r.query["q"][0] for r in http_server.requests_to("/youtube/v3/search")]
    assert searches == ["colissimo", "chronopost"]
    assert result.cursor["quota"]["used"] == 202


def test_channel_reads_the_uploads_playlist(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    source = spec(
        "channel:UCabcdefghijklmnopqrstuv",
        http_server,
        options={"max_videos": "1", "max_pages": "1"},
    )
    result = fetch(source)
    routes = [r.route.rsplit("/", 1)[1] for r in http_server.requests]
    assert routes == ["channels", "playlistItems", "commentThreads", "comments"]
    assert http_server.requests[1].query["playlistId"] == ["UUabcdefghijklmnopqrstuv"]
    assert result.cursor["uploads"] == {"UCabcdefghijklmnopqrstuv": "UUabcdefghijklmnopqrstuv"}
    fetch(spec(source.target, http_server, options=source.options, cursor=result.cursor))
    assert len(http_server.requests_to("/youtube/v3/channels")) == 1


def test_missing_api_key_is_an_auth_failure(http_server: LocalHTTPServer) -> None:
    with pytest.raises(AuthFailed, match="api_key"):
        fetch(spec(f"video:{VIDEO}", http_server, credentials={}))


def test_refused_key_never_shows_in_the_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/youtube/v3/commentThreads", 403, body=b'{"error": {"code": 403}}')
    with pytest.raises(AuthFailed) as info:
        fetch(spec(f"video:{VIDEO}", http_server))
    assert KEY not in str(info.value)
    assert KEY not in (info.value.url or "")
