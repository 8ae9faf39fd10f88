"""The mastodon connector: status parsing, targets and options, then fetching from a local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.mastodon import (
    MastodonConnector,
    MastodonOptions,
    MastodonTarget,
    parse_options,
    parse_statuses,
    parse_target,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import AuthFailed, ParseError, RateLimited

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mastodon"
INSTANCE = "fosstodon.org"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def drafts(name: str, instance: str = INSTANCE) -> dict[str, Draft]:
    parsed = parse_statuses(load(name), instance=instance, source_name="masto")
    return {d.external_id or "": d for d in parsed}


# --------------------------------------------------------------------------- parsing


def test_reply_has_its_parent_with_the_same_id_scheme() -> None:
    reply = drafts("tag_timeline.json")["fosstodon.org:113512345678901240"]
    assert reply.source_kind == "mastodon"
    assert reply.source_name == "masto"
    assert reply.parent_external_id == "fosstodon.org:113512345678901100"
    assert reply.text.startswith('<p><span class="h-card">')
    assert "2k writes/s" in reply.text
    assert reply.url == "https://fosstodon.org/@walmode/113512345678901240"
    assert reply.lang == "en"
    assert reply.published_at == datetime(2024, 11, 19, 10, 42, 17, tzinfo=UTC)
    assert (reply.likes, reply.shares, reply.replies) == (4, 1, 0)
    assert reply.title is None


def test_local_author_gets_the_instance_in_the_handle() -> None:
    reply = drafts("tag_timeline.json")["fosstodon.org:113512345678901240"]
    assert reply.author == AuthorRef(
        handle="walmode@fosstodon.org", name="WAL Mode Fan", followers=312
    )


def test_reblog_becomes_the_reblogged_status() -> None:
    found = drafts("tag_timeline.json")
    assert "fosstodon.org:113512345678901230" not in found  # the reblog wrapper
    original = found["fosstodon.org:113512300000000001"]
    assert "Litestream" in original.text
    assert original.lang == "fr"
    assert original.author == AuthorRef(
        handle="claire_dev@piaille.fr", name="Claire 🐘", followers=1289
    )
    assert original.url == "https://piaille.fr/@claire_dev/113512299887766554"
    assert (original.likes, original.shares, original.replies) == (41, 23, 6)
    assert original.published_at == datetime(2024, 11, 19, 9, 58, 40, tzinfo=UTC)


def test_content_warning_becomes_the_title() -> None:
    status = drafts("tag_timeline.json")["fosstodon.org:113512345678901100"]
    assert status.title == "Retour d'expérience"
    assert "&amp; toujours aucun regret" in status.text


def test_search_response_statuses_and_remote_handles() -> None:
    found = drafts("search_statuses.json", "mastodon.social")
    assert list(found) == [
        "mastodon.social:113520000000000002",
        "mastodon.social:113520000000000001",
    ]
    remote = found["mastodon.social:113520000000000001"]
    assert remote.author == AuthorRef(handle="parcelwatch@hachyderm.io", name=None, followers=431)
    assert remote.parent_external_id == "mastodon.social:113519999999999999"
    assert found["mastodon.social:113520000000000002"].author == AuthorRef(
        handle="sncf_fan@mastodon.social", name="Usager du TER", followers=58
    )


def test_url_falls_back_to_the_uri() -> None:
    payload = [{"id": "1", "uri": "https://x.example/users/a/statuses/1", "url": None}]
    (draft,) = parse_statuses(payload, instance="x.example", source_name="m")
    assert draft.url == "https://x.example/users/a/statuses/1"


def test_empty_timeline_has_no_drafts() -> None:
    assert parse_statuses(load("timeline_empty.json"), instance=INSTANCE, source_name="m") == []
    assert parse_statuses(load("search_empty.json"), instance=INSTANCE, source_name="m") == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": "boom"}, "no list of statuses"),
        (["x"], "not an object"),
        ([{"content": "<p>no id</p>"}], "without an id"),
        ([{"id": True}], "without an id"),
    ],
)
def test_broken_response_raises(payload: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_statuses(payload, instance=INSTANCE, source_name="m")


# --------------------------------------------------------------------------- targets and options


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("#SQLite@Fosstodon.org", MastodonTarget("tag", "sqlite", "fosstodon.org")),
        ("public@mastodon.social", MastodonTarget("public", "", "mastodon.social")),
        ("Watches@mastodon.social", MastodonTarget("watches", "", "mastodon.social")),
        (
            "search:retard  TER@https://mastodon.social/",
            MastodonTarget("search", "retard TER", "mastodon.social"),
        ),
        ("search:@sncf@mastodon.social", MastodonTarget("search", "@sncf", "mastodon.social")),
    ],
)
def test_parse_target(target: str, expected: MastodonTarget) -> None:
    assert parse_target(target) == expected


def test_normalize_target_round_trips() -> None:
    connector = MastodonConnector()
    assert connector.normalize_target(" #Rstats@fosstodon.org ", {}) == "#rstats@fosstodon.org"
    assert connector.normalize_target("search:ter@piaille.fr", {}) == "search:ter@piaille.fr"
    assert connector.normalize_target("PUBLIC@piaille.fr", {}) == "public@piaille.fr"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("#sqlite", "a mastodon target is"),
        ("sqlite@fosstodon.org", "a mastodon target is"),
        ("#@fosstodon.org", "not a hashtag"),
        ("#sql-ite@fosstodon.org", "not a hashtag"),
        ("#sqlite@localhost", "not an instance name"),
        ("#sqlite@fos stodon.org", "not an instance name"),
        ("search:@fosstodon.org", "needs a query"),
        ("search:" + "x" * 201 + "@fosstodon.org", "at most 200"),
    ],
)
def test_bad_targets_are_refused(target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MastodonConnector().normalize_target(target, {})


def test_options_defaults_and_values() -> None:
    assert parse_options({}) == MastodonOptions(None, False, 3)
    assert parse_options(
        {"base_url": "http://127.0.0.1:8000/", "local": "true", "max_pages": "5"}
    ) == MastodonOptions("http://127.0.0.1:8000", True, 5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pages": "0"}, "max_pages"),
        ({"max_pages": "11"}, "max_pages"),
        ({"local": "peut-être"}, "local"),
        ({"base_url": "fosstodon.org"}, "base_url"),
        ({"token": "x"}, "unknown option 'token'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MastodonConnector().normalize_target("#sqlite@fosstodon.org", options)


# --------------------------------------------------------------------------- fetching (local server)

NOW = 1732100000.0  # 2024-11-20T10:53:20Z
TAG = "/api/v1/timelines/tag/sqlite"
PUBLIC = "/api/v1/timelines/public"
SEARCH = "/api/v2/search"
JSON = {"Content-Type": "application/json; charset=utf-8"}
TOKEN = "masto-token-123"
NEWEST_TAG_ID = "113512345678901240"


def spec(
    http_server: LocalHTTPServer,
    target: str,
    *,
    cursor: dict[str, Any] | None = None,
    options: dict[str, str] | None = None,
    **kwargs: Any,
) -> SourceSpec:
    return SourceSpec(
        id=1,
        kind="mastodon",
        name="masto",
        target=target,
        options={"base_url": http_server.url(""), **(options or {})},
        cursor=cursor or {},
        **kwargs,
    )


def fetch_from(source: SourceSpec) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await MastodonConnector(clock=lambda: NOW).fetch(source, http)

    return asyncio.run(run())


def serve_timeline(http_server: LocalHTTPServer, path: str = TAG) -> None:
    """The recorded page without min_id; with a min_id, only what is newer (nothing here)."""

    def timeline(request: RecordedRequest) -> Reply:
        name = "timeline_empty.json" if "min_id" in request.query else "tag_timeline.json"
        return Reply(200, (FIXTURES / name).read_bytes(), JSON)

    http_server.route_handler(path, timeline)


def test_hashtag_timeline_first_fetch_then_only_newer(http_server: LocalHTTPServer) -> None:
    serve_timeline(http_server)
    first = fetch_from(spec(http_server, "#sqlite@fosstodon.org"))
    (request,) = http_server.requests
    assert request.route == TAG
    assert request.query == {"limit": ["40"]}
    assert "authorization" not in request.headers
    assert len(first.drafts) == 3
    assert first.cursor["min_id"] == {"#sqlite": NEWEST_TAG_ID}

    second = fetch_from(spec(http_server, "#sqlite@fosstodon.org", cursor=first.cursor))
    assert http_server.requests[1].query == {"limit": ["40"], "min_id": [NEWEST_TAG_ID]}
    assert second.drafts == []
    assert second.cursor["min_id"] == {"#sqlite": NEWEST_TAG_ID}


def test_timeline_follows_min_id_pages_up_to_the_cap(http_server: LocalHTTPServer) -> None:
    def full_page(request: RecordedRequest) -> Reply:
        start = int(request.query["min_id"][0])
        page = [{"id": str(start + 40 - i), "content": "<p>x</p>"} for i in range(40)]
        return Reply(200, json.dumps(page), JSON)

    http_server.route_handler(PUBLIC, full_page)
    source = spec(
        http_server,
        "public@mastodon.social",
        options={"local": "true", "max_pages": "2"},
        cursor={"min_id": {"public": "1000"}},
    )
    result = fetch_from(source)
    assert [r.query["min_id"] for r in http_server.requests] == [["1000"], ["1040"]]
    assert http_server.requests[0].query["local"] == ["true"]
    assert len(result.drafts) == 80
    assert result.cursor["min_id"] == {"public": "1080"}
    assert "stopped after 2 pages" in result.note


def test_token_is_sent_to_timelines_when_given(http_server: LocalHTTPServer) -> None:
    serve_timeline(http_server)
    fetch_from(spec(http_server, "#sqlite@fosstodon.org", credentials={"access_token": TOKEN}))
    assert http_server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_search_without_a_token_fails_clearly(http_server: LocalHTTPServer) -> None:
    with pytest.raises(AuthFailed, match="access_token"):
        fetch_from(spec(http_server, "search:retard TER@mastodon.social"))
    assert http_server.requests == []


def test_search_sends_the_token_and_keeps_a_min_id(http_server: LocalHTTPServer) -> None:
    http_server.route(SEARCH, 200, (FIXTURES / "search_statuses.json").read_bytes(), JSON)
    source = spec(
        http_server, "search:retard TER@mastodon.social", credentials={"access_token": TOKEN}
    )
    result = fetch_from(source)
    (request,) = http_server.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.query == {
        "q": ["retard TER"],
        "type": ["statuses"],
        "resolve": ["false"],
        "limit": ["40"],
    }
    assert {d.external_id for d in result.drafts} == {
        "mastodon.social:113520000000000002",
        "mastodon.social:113520000000000001",
    }
    assert result.cursor["min_id"] == {"retard TER": "113520000000000002"}


def test_watches_search_each_keyword(http_server: LocalHTTPServer) -> None:
    def search(request: RecordedRequest) -> Reply:
        name = (
            "search_statuses.json" if request.query["q"] == ["livraison"] else "search_empty.json"
        )
        return Reply(200, (FIXTURES / name).read_bytes(), JSON)

    http_server.route_handler(SEARCH, search)
    queries = ["livraison NEAR/3 retard", "colis OR parcel", "site:lemonde.fr"]
    source = spec(
        http_server,
        "watches@mastodon.social",
        credentials={"access_token": TOKEN},
        queries=queries,
        cursor={"min_id": {"colis": "5"}},
    )
    result = fetch_from(source)
    asked = [(r.query["q"][0], r.query.get("min_id")) for r in http_server.requests]
    assert asked == [("livraison", None), ("colis", ["5"]), ("parcel", None)]
    assert len(result.drafts) == 2
    assert result.cursor["min_id"] == {"livraison": "113520000000000002", "colis": "5"}


def test_401_is_auth_failed(http_server: LocalHTTPServer) -> None:
    http_server.route(SEARCH, 401, (FIXTURES / "error_invalid_token.json").read_bytes(), JSON)
    source = spec(http_server, "search:ter@mastodon.social", credentials={"access_token": "bad"})
    with pytest.raises(AuthFailed, match="401"):
        fetch_from(source)


def test_no_request_left_and_nothing_found_is_rate_limited(http_server: LocalHTTPServer) -> None:
    headers = {
        **JSON,
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2024-11-20T10:55:00.000Z",
    }
    http_server.route(TAG, 200, b"[]", headers)
    with pytest.raises(RateLimited) as caught:
        fetch_from(spec(http_server, "#sqlite@fosstodon.org"))
    assert caught.value.retry_after == 100.0


def test_no_request_left_after_finding_some_returns_them(http_server: LocalHTTPServer) -> None:
    exhausted = {**JSON, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2024-11-20T10:58:20Z"}

    def search(request: RecordedRequest) -> Reply:
        body = (FIXTURES / "search_statuses.json").read_bytes()
        return Reply(200, body, exhausted if request.query["q"] == ["colis"] else JSON)

    http_server.route_handler(SEARCH, search)
    source = spec(
        http_server,
        "watches@mastodon.social",
        credentials={"access_token": TOKEN},
        queries=["colis", "parcel", "livraison"],
    )
    result = fetch_from(source)
    assert [r.query["q"][0] for r in http_server.requests] == ["colis"]
    assert len(result.drafts) == 2
    assert result.cursor["min_id"] == {"colis": "113520000000000002"}
    assert "rate limit of mastodon.social reached; the rest in 300 s" in result.note


def test_cursor_keeps_only_what_the_target_reads(http_server: LocalHTTPServer) -> None:
    serve_timeline(http_server)
    result = fetch_from(
        spec(
            http_server,
            "#sqlite@fosstodon.org",
            cursor={"min_id": {"#sqlite": NEWEST_TAG_ID, "#old": "1"}},
        )
    )
    assert result.cursor["min_id"] == {"#sqlite": NEWEST_TAG_ID}
