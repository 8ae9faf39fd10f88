"""Real-time sources against local servers: Mastodon's SSE streaming, a Jetstream WebSocket,
the stream runner (storage, restart, health) and the address guard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply
from sqlalchemy import Engine
from websockets.asyncio.server import ServerConnection, serve

from flocon.connectors.base import FetchResult, SourceSpec, supports_streaming
from flocon.connectors.bluesky import BlueskyConnector, keyword_filter, parse_jetstream_event
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.mastodon import MastodonConnector
from flocon.connectors.registry import CONNECTORS
from flocon.connectors.streaming import SseEvent, SseParser, open_websocket
from flocon.credentials import CredentialBox
from flocon.errors import AuthFailed, BlockedAddress
from flocon.services import fetching
from flocon.services import mentions as mentions_svc
from flocon.services import sources as svc
from flocon.services import watches as watches_svc
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine

LOCAL = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0, timeout_s=5.0)
INSTANCE = "fosstodon.org"
TAG = "/api/v1/timelines/tag/sqlite"
STREAM = "/api/v1/streaming/hashtag"
JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "text/event-stream"}


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = build_engine(Settings(database_url=sqlite_url))
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def box(tmp_path: Path) -> CredentialBox:
    return CredentialBox(Settings(), key_file=tmp_path / "secret.key")


async def collect(
    stream: Any, done: Any, *, timeout: float = 5.0
) -> tuple[list[FetchResult], dict[str, Any]]:
    """Batches of ``stream`` until ``done(batches)``; the stream is closed after."""
    found: list[FetchResult] = []
    try:
        async with asyncio.timeout(timeout):
            async for batch in stream:
                found.append(batch)
                if done(found):
                    break
    finally:
        await stream.aclose()
    return found, found[-1].cursor


def ids(batches: list[FetchResult]) -> list[str]:
    return [d.external_id or "" for b in batches for d in b.drafts]


# --------------------------------------------------------------------------- SSE parsing


def test_sse_parser_events_comments_and_multiline_data() -> None:
    parser = SseParser()
    lines = [":thump", "", "event: update", "data: {", "data: }", "id: 7", "", "data:x", ""]
    events = [e for line in lines if (e := parser.feed(line)) is not None]
    assert events == [SseEvent("update", "{\n}", "7"), SseEvent("message", "x", "7")]
    assert parser.comments == 1


# --------------------------------------------------------------------------- mastodon


def status(n: int, *, reply_to: int | None = None) -> dict[str, Any]:
    return {
        "id": str(100 + n),
        "content": f"<p>sqlite post {n}</p>",
        "url": f"https://{INSTANCE}/@a/{100 + n}",
        "created_at": "2026-11-25T10:00:00Z",
        "in_reply_to_id": str(100 + reply_to) if reply_to else None,
        "account": {"acct": "a", "display_name": "A"},
    }


def update(n: int, **kwargs: Any) -> bytes:
    return f"event: update\ndata: {json.dumps(status(n, **kwargs))}\n\n".encode()


class MastodonServer:
    """A hashtag timeline (statuses newer than min_id) and its stream: each connection
    sends the next list of events, then heartbeats until the client leaves."""

    def __init__(self, server: LocalHTTPServer, published: list[int], streams: list[list[bytes]]):
        self.published = published
        self.streams = streams
        server.route_handler(TAG, self.timeline)
        server.route_handler(STREAM, self.stream)

    def timeline(self, request: RecordedRequest) -> Reply:
        min_id = int(request.query.get("min_id", ["0"])[0])
        page = [status(n) for n in sorted(self.published, reverse=True) if 100 + n > min_id]
        return Reply(200, json.dumps(page), JSON)

    def stream(self, request: RecordedRequest) -> Reply:
        events = self.streams.pop(0) if self.streams else []

        def chunks() -> Iterator[bytes]:
            yield b":)\n\n"
            yield from events
            while True:
                yield b":thump\n"

        return Reply(200, headers=SSE, chunks=chunks, chunk_delay=0.02)


def masto_spec(server: LocalHTTPServer, cursor: dict[str, Any] | None = None) -> SourceSpec:
    return SourceSpec(
        id=1,
        kind="mastodon",
        name="masto",
        target="#sqlite@fosstodon.org",
        options={"base_url": server.url(""), "stream": "true", "window": "1"},
        cursor=cursor or {},
    )


def test_mastodon_stream_then_restart_catches_up_through_the_timeline(
    http_server: LocalHTTPServer,
) -> None:
    bad = b"event: update\ndata: {not json\n\n"
    masto = MastodonServer(
        http_server,
        published=[1, 2],
        streams=[[update(3, reply_to=1), bad, b"event: delete\ndata: 9\n\n", update(4)]],
    )
    connector = MastodonConnector(reconnect_s=0.01)

    async def first() -> tuple[list[FetchResult], dict[str, Any]]:
        async with HttpClient(LOCAL) as http:
            stream = connector.stream(masto_spec(http_server), http, max_seconds=0.1, max_items=50)
            return await collect(stream, lambda b: len(ids(b)) >= 4)

    batches, cursor = asyncio.run(first())
    assert sorted(ids(batches)) == [f"{INSTANCE}:{100 + n}" for n in (1, 2, 3, 4)]
    reply = next(d for b in batches for d in b.drafts if d.external_id == f"{INSTANCE}:103")
    assert reply.parent_external_id == f"{INSTANCE}:101"
    assert reply.author is not None and reply.author.handle == f"a@{INSTANCE}"
    assert cursor == {"min_id": {"#sqlite": "104"}}
    (stream_request,) = http_server.requests_to(STREAM)
    assert stream_request.query == {"tag": ["sqlite"]}

    # While disconnected, 5 was published; the new stream repeats 4 and brings 6.
    masto.published.append(5)
    masto.streams.append([update(4), update(6)])

    async def second() -> tuple[list[FetchResult], dict[str, Any]]:
        async with HttpClient(LOCAL) as http:
            spec = masto_spec(http_server, cursor)
            stream = connector.stream(spec, http, max_seconds=0.1, max_items=50)
            return await collect(stream, lambda b: len(ids(b)) >= 2)

    batches, cursor = asyncio.run(second())
    assert ids(batches) == [f"{INSTANCE}:105", f"{INSTANCE}:106"]
    assert http_server.requests_to(TAG)[-1].query["min_id"] == ["104"]
    assert cursor == {"min_id": {"#sqlite": "106"}}


def test_mastodon_fetch_of_a_streamed_tag_reads_a_window(http_server: LocalHTTPServer) -> None:
    MastodonServer(http_server, published=[1], streams=[[update(2)]])

    async def go() -> FetchResult:
        async with HttpClient(LOCAL) as http:
            return await MastodonConnector().fetch(masto_spec(http_server), http)

    result = asyncio.run(go())
    assert sorted(d.external_id or "" for d in result.drafts) == [
        f"{INSTANCE}:101",
        f"{INSTANCE}:102",
    ]
    assert result.cursor == {"min_id": {"#sqlite": "102"}}


def test_mastodon_stream_401_is_auth_failed(http_server: LocalHTTPServer) -> None:
    http_server.route(STREAM, 401, b'{"error":"The access token is invalid"}', JSON)

    async def go() -> FetchResult:
        async with HttpClient(LOCAL) as http:
            return await MastodonConnector().fetch(masto_spec(http_server), http)

    with pytest.raises(AuthFailed, match="access_token"):
        asyncio.run(go())


def test_stream_option_only_for_timelines() -> None:
    connector = MastodonConnector()
    assert connector.normalize_target("#sqlite@fosstodon.org", {"stream": "yes"})
    with pytest.raises(ValueError, match="stream=true is for"):
        connector.normalize_target("watches@fosstodon.org", {"stream": "true"})
    with pytest.raises(ValueError, match="window"):
        connector.normalize_target("#sqlite@fosstodon.org", {"window": "0"})


# --------------------------------------------------------------------------- jetstream


def post(n: int, text: str, *, reply_to: int | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "text": text,
        "createdAt": "2026-11-25T10:00:00.000Z",
        "langs": ["fr"],
    }
    if reply_to is not None:
        parent = {"uri": f"at://did:plc:bob/app.bsky.feed.post/r{reply_to}", "cid": "c"}
        record["reply"] = {"parent": parent, "root": parent}
    return {
        "did": "did:plc:bob",
        "time_us": 1_000 + n,
        "kind": "commit",
        "commit": {
            "rev": "x",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"r{n}",
            "cid": "c",
            "record": record,
        },
    }


class Jetstream:
    """A Jetstream on 127.0.0.1 that replays its events from ``cursor=`` on each connection."""

    def __init__(self, events: list[dict[str, Any] | str], *, hang_up_after: int | None = None):
        self.events = events
        self.cursors: list[str | None] = []
        self.hang_up_after = hang_up_after
        self.url = ""
        self.port = 0  # kept for a restart on the same address

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = dict(p.split("=", 1) for p in ws.request.path.split("?", 1)[1].split("&"))
        assert query["wantedCollections"] == "app.bsky.feed.post"
        cursor = query.get("cursor")
        self.cursors.append(cursor)
        sent = 0
        for event in self.events:
            if isinstance(event, dict) and cursor is not None and event["time_us"] < int(cursor):
                continue
            await ws.send(event if isinstance(event, str) else json.dumps(event))
            sent += 1
            if self.hang_up_after is not None and sent == self.hang_up_after:
                self.hang_up_after = None
                return  # closes the connection
        await ws.wait_closed()


@pytest.fixture
def run_jetstream() -> Any:
    """Run ``body(jetstream)`` with the jetstream serving on 127.0.0.1 in the same loop."""

    def run(jetstream: Jetstream, body: Any) -> Any:
        async def go() -> Any:
            async with serve(jetstream.handler, "127.0.0.1", jetstream.port) as server:
                port = jetstream.port = server.sockets[0].getsockname()[1]  # type: ignore[index]
                jetstream.url = f"ws://127.0.0.1:{port}"
                return await body()

        return asyncio.run(go())

    return run


def jet_spec(jetstream: Jetstream, cursor: dict[str, Any] | None = None) -> SourceSpec:
    return SourceSpec(
        id=1,
        kind="bluesky",
        name="jet",
        target="jetstream",
        options={"base_url": jetstream.url, "window": "2"},
        cursor=cursor or {},
        queries=['sqlite OR "base de données"'],
    )


def test_jetstream_event_parsing_and_keywords() -> None:
    time_us, draft = parse_jetstream_event(
        post(3, "Une BASE de  DONNÉES", reply_to=1), source_name="j"
    )
    assert time_us == 1003
    assert draft is not None
    assert draft.external_id == "at://did:plc:bob/app.bsky.feed.post/r3"
    assert draft.parent_external_id == "at://did:plc:bob/app.bsky.feed.post/r1"
    assert draft.url == "https://bsky.app/profile/did:plc:bob/post/r3"
    assert draft.lang == "fr"
    identity = {"did": "did:plc:bob", "time_us": 5, "kind": "identity", "identity": {}}
    assert parse_jetstream_event(identity, source_name="j") == (5, None)
    wanted = keyword_filter(["base de donnees", "sqlit"])
    assert wanted(draft.text) and wanted("#SQLite3 rocks") and not wanted("pysqlite")


def test_jetstream_filters_skips_junk_and_reconnects_from_its_cursor(run_jetstream: Any) -> None:
    jetstream = Jetstream(
        [
            post(1, "sqlite est partout"),
            {"did": "did:plc:bob", "time_us": 1002, "kind": "account", "account": {}},
            "this is not json",
            post(3, "rien à voir"),
            post(4, "Re: SQLite", reply_to=1),
            post(5, "encore sqlite"),
        ],
        hang_up_after=3,
    )

    async def body() -> tuple[list[FetchResult], dict[str, Any]]:
        async with HttpClient(LOCAL) as http:
            stream = BlueskyConnector(reconnect_s=0.01).stream(
                jet_spec(jetstream), http, max_seconds=0.05, max_items=None
            )
            return await collect(stream, lambda b: b[-1].cursor.get("time_us") == 1005)

    batches, cursor = run_jetstream(jetstream, body)
    assert ids(batches) == [
        "at://did:plc:bob/app.bsky.feed.post/r1",
        "at://did:plc:bob/app.bsky.feed.post/r4",
        "at://did:plc:bob/app.bsky.feed.post/r5",
    ]
    assert cursor == {"time_us": 1005}
    assert jetstream.cursors == [None, "1002"]  # hung up after 3 messages: replay from there


def test_jetstream_fetch_stops_when_caught_up(run_jetstream: Any) -> None:
    jetstream = Jetstream([post(1, "sqlite"), post(2, "sqlite encore")])

    async def body() -> FetchResult:
        async with HttpClient(LOCAL) as http:
            connector = BlueskyConnector(clock=lambda: 1002 / 1e6)
            return await connector.fetch(jet_spec(jetstream, {"time_us": 1000}), http)

    result = run_jetstream(jetstream, body)
    assert len(result.drafts) == 2
    assert result.cursor == {"time_us": 1002}
    assert jetstream.cursors == ["1000"]


def test_jetstream_target_and_options() -> None:
    connector = BlueskyConnector()
    assert connector.normalize_target(" JetStream ", {}) == "jetstream"
    assert connector.normalize_target("jetstream@jet.example.org", {"window": "10"}) == (
        "jetstream@jet.example.org"
    )
    with pytest.raises(ValueError, match="ws"):
        connector.normalize_target("jetstream", {"base_url": "http://x.example"})
    with pytest.raises(ValueError, match="unknown option 'max_pages'"):
        connector.normalize_target("jetstream", {"max_pages": "2"})
    assert supports_streaming(CONNECTORS["bluesky"]) and supports_streaming(CONNECTORS["mastodon"])
    assert not supports_streaming(CONNECTORS["feed"])


def test_websocket_guard_refuses_loopback_unless_allowed() -> None:
    async def go(url: str) -> None:
        async with HttpClient(HttpConfig()) as http:
            await open_websocket(http, url, source="jet")

    with pytest.raises(BlockedAddress, match="ws://"):
        asyncio.run(go("ws://127.0.0.1:9/subscribe"))
    with pytest.raises(BlockedAddress, match="private address"):
        asyncio.run(go("wss://127.0.0.1:9/subscribe"))


# --------------------------------------------------------------------------- run_stream


def test_run_stream_stores_batches_and_restarts_without_loss_or_duplicate(
    engine: Engine, box: CredentialBox, run_jetstream: Any
) -> None:
    watches_svc.add_watch(engine, "default", name="SQLite", query="sqlite")
    jetstream = Jetstream([post(n, f"sqlite {n}") for n in range(1, 4)])

    async def follow(expected: int) -> None:
        source = svc.get_source(engine, "default", "jet")
        stop = asyncio.Event()
        seen: list[int] = []

        def on_batch(outcome: fetching.SourceOutcome) -> None:
            assert outcome.ok, outcome.error
            seen.append(outcome.fetched)
            if sum(seen) >= expected:
                stop.set()

        async with HttpClient(LOCAL) as http:
            async with asyncio.timeout(10):
                await fetching.run_stream(
                    engine, box, http, source.id, stop=stop, batch_seconds=0.05, on_batch=on_batch
                )

    async def first() -> None:
        options = {"base_url": jetstream.url}
        svc.add_source(
            engine, box, "default", kind="bluesky", target="jetstream", name="jet", options=options
        )
        assert fetching.streamed_source_ids(engine) == [svc.get_source(engine, "default", "jet").id]
        await follow(3)

    run_jetstream(jetstream, first)
    stored = svc.get_source(engine, "default", "jet")
    assert stored.cursor == {"time_us": 1003}
    assert stored.last_success_at is not None and stored.last_error is None

    jetstream.events += [post(4, "sqlite 4"), post(5, "sqlite 5")]
    run_jetstream(jetstream, lambda: follow(2))  # replays 3 (the cursor's), then 4 and 5
    assert jetstream.cursors == [None, "1003"]
    mentions = mentions_svc.list_mentions(engine, "default", limit=100, include_duplicates=False)
    assert sorted(m.external_id for m in mentions) == [
        f"at://did:plc:bob/app.bsky.feed.post/r{n}" for n in range(1, 6)
    ]
    # a streamed source is not polled meanwhile
    report = asyncio.run(_cycle(engine, box, skip_ids={stored.id}))
    assert report.outcomes == []


async def _cycle(engine: Engine, box: CredentialBox, **kwargs: Any) -> fetching.CycleReport:
    async with HttpClient(LOCAL) as http:
        return await fetching.run_cycle(engine, box, http, source_ids=None, **kwargs)


def test_run_stream_failure_is_recorded_in_the_source_health(
    engine: Engine, box: CredentialBox
) -> None:
    watches_svc.add_watch(engine, "default", name="SQLite", query="sqlite")
    source = svc.add_source(
        engine,
        box,
        "default",
        kind="bluesky",
        target="jetstream",
        options={"base_url": "ws://127.0.0.1:9"},
    )
    failures: list[fetching.SourceOutcome] = []

    async def go() -> None:
        stop = asyncio.Event()

        def on_batch(outcome: fetching.SourceOutcome) -> None:
            failures.append(outcome)
            stop.set()

        async with HttpClient(HttpConfig()) as http:  # private addresses refused
            async with asyncio.timeout(10):
                await fetching.run_stream(
                    engine, box, http, source.id, stop=stop, on_batch=on_batch
                )

    asyncio.run(go())
    assert [f.ok for f in failures] == [False]
    (health,) = svc.list_sources(engine, "default")
    assert health.state == "backing off"
    assert "refused to open" in (health.source.last_error or "")
    assert health.source.failing_since is not None
    assert health.source.consecutive_failures == 1
