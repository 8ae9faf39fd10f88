"""The bluesky connector: post parsing, options, then logging in and searching on a local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.bluesky import (
    BlueskyConnector,
    BlueskyOptions,
    parse_options,
    parse_posts,
    post_url,
)
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import AuthFailed, FetchError, ParseError, RateLimited

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bluesky"

FRENCH = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbcx7yqoja2k"
REPLY = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbcx5ab2ck2s"
BARE = "at://did:plc:4d2xqmxgaxefnvafmr6lbfhj/app.bsky.feed.post/3lbcwzzp7dk2y"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def posts(name: str) -> dict[str, Draft]:
    return {d.external_id or "": d for d in parse_posts(load(name), source_name="bsky")}


# --------------------------------------------------------------------------- parsing


def test_french_post() -> None:
    post = posts("search_page0.json")[FRENCH]
    assert post.source_kind == "bluesky"
    assert post.source_name == "bsky"
    assert post.text.startswith("Deux ans de SQLite en production avec Litestream")
    assert post.url == "https://bsky.app/profile/claire-dev.bsky.social/post/3lbcx7yqoja2k"
    assert post.author == AuthorRef(handle="claire-dev.bsky.social", name="Claire Martin")
    assert post.published_at == datetime(2024, 11, 20, 14, 2, 31, 512000, tzinfo=UTC)
    assert post.lang == "fr"
    assert post.parent_external_id is None
    assert (post.likes, post.shares, post.replies) == (57, 13, 4)  # 11 reposts + 2 quotes


def test_reply_points_to_its_parent_not_its_root() -> None:
    reply = posts("search_page0.json")[REPLY]
    assert reply.parent_external_id == (
        "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbcw9kkbp22f"
    )
    assert reply.lang == "en"
    assert reply.author == AuthorRef(handle="walmode.dev", name="WAL Mode Fan")


def test_post_with_invalid_handle_and_bad_date_uses_did_and_indexed_at() -> None:
    bare = posts("search_page0.json")[BARE]
    assert bare.url == (
        "https://bsky.app/profile/did:plc:4d2xqmxgaxefnvafmr6lbfhj/post/3lbcwzzp7dk2y"
    )
    assert bare.published_at == datetime(2024, 11, 20, 13, 50, tzinfo=UTC)
    assert bare.text == "sqlite <3 & litestream"
    assert bare.lang is None
    assert (bare.likes, bare.shares, bare.replies) == (None, None, None)
    assert bare.author == AuthorRef(handle="handle.invalid", name=None)


def test_first_of_several_languages() -> None:
    (post,) = parse_posts(load("search_page1.json"), source_name="bsky")
    assert post.lang == "fr"
    assert post.author == AuthorRef(handle="ops-lyon.bsky.social", name="Ops à Lyon")


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("at://did:plc:abc/app.bsky.feed.post/3k", "https://bsky.app/profile/a.b/post/3k"),
        ("at://did:plc:abc/app.bsky.feed.like/3k", None),
        ("https://bsky.app/x", None),
    ],
)
def test_post_url(uri: str, url: str | None) -> None:
    assert post_url(uri, "a.b") == url


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": "BadQueryString"}, "no 'posts' list"),
        ([], "no 'posts' list"),
        ({"posts": ["x"]}, "not an object"),
        ({"posts": [{"record": {"text": "no uri"}}]}, "without an at:// uri"),
    ],
)
def test_broken_response_raises(payload: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_posts(payload, source_name="bsky")


def test_empty_response() -> None:
    assert parse_posts(load("search_empty.json"), source_name="bsky") == []


# --------------------------------------------------------------------------- target and options


@pytest.mark.parametrize(
    ("target", "expected"),
    [(" watches ", "watches"), ("WATCHES", "watches"), ("  sqlite   lang:fr ", "sqlite lang:fr")],
)
def test_normalize_target(target: str, expected: str) -> None:
    assert BlueskyConnector().normalize_target(target, {}) == expected


@pytest.mark.parametrize("target", ["", "  ", "x" * 201])
def test_normalize_target_refuses_empty_or_long_searches(target: str) -> None:
    with pytest.raises(ValueError, match="search"):
        BlueskyConnector().normalize_target(target, {})


def test_options_defaults_and_values() -> None:
    assert parse_options({}) == BlueskyOptions("https://bsky.social", 24, 3)
    assert parse_options(
        {"service": "https://pds.example.org/", "lookback_hours": "2", "max_pages": "1"}
    ) == BlueskyOptions("https://pds.example.org", 2, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pages": "0"}, "max_pages"),
        ({"lookback_hours": "x"}, "lookback_hours"),
        ({"service": "bsky.social"}, "service"),
        ({"base_url": "http://x"}, "unknown option 'base_url'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlueskyConnector().normalize_target("sqlite", options)


# --------------------------------------------------------------------------- fetching (local server)

NOW = 1732111200.0  # 2024-11-20T14:00:00Z
SESSION = "/xrpc/com.atproto.server.createSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
JSON = {"Content-Type": "application/json; charset=utf-8"}
ACCESS = load("session.json")["accessJwt"]
CREDENTIALS = {"identifier": "veille-flocon.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
NEWEST = "2024-11-20T14:02:33.104Z"  # the newest indexedAt of search_page0.json


def spec(
    http_server: LocalHTTPServer,
    target: str = "sqlite",
    *,
    cursor: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    **kwargs: Any,
) -> SourceSpec:
    return SourceSpec(
        id=1,
        kind="bluesky",
        name="bsky",
        target=target,
        options={"service": http_server.url("")},
        credentials=CREDENTIALS if credentials is None else credentials,
        cursor=cursor or {},
        **kwargs,
    )


def fetch_from(source: SourceSpec, connector: BlueskyConnector | None = None) -> FetchResult:
    connector = connector or BlueskyConnector(clock=lambda: NOW)

    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await connector.fetch(source, http)

    return asyncio.run(run())


def serve(http_server: LocalHTTPServer, *, token: str = ACCESS) -> None:
    """A PDS: createSession hands out ``token``; 'sqlite' has two pages, anything else none.

    Like searchPosts, it only answers posts indexed at or after ``since``.
    """
    http_server.route(SESSION, 200, (FIXTURES / "session.json").read_bytes(), JSON)

    def search(request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {token}":
            return Reply(400, (FIXTURES / "error_expired_token.json").read_bytes(), JSON)
        name = "search_empty.json"
        if request.query["q"] == ["sqlite"]:
            name = "search_page1.json" if "cursor" in request.query else "search_page0.json"
        payload = load(name)
        since = request.query["since"][0]
        payload["posts"] = [p for p in payload["posts"] if p["indexedAt"] >= since]
        return Reply(200, json.dumps(payload), JSON)

    http_server.route_handler(SEARCH, search)


def test_logs_in_searches_every_page_and_keeps_the_newest_indexed_at(
    http_server: LocalHTTPServer,
) -> None:
    serve(http_server)
    result = fetch_from(spec(http_server))
    login, page0, page1 = http_server.requests
    assert login.route == SESSION
    assert login.method == "POST"
    assert json.loads(login.body) == {
        "identifier": "veille-flocon.bsky.social",
        "password": "abcd-efgh-ijkl-mnop",
    }
    assert page0.headers["authorization"] == f"Bearer {ACCESS}"
    assert page0.query == {
        "q": ["sqlite"],
        "sort": ["latest"],
        "since": ["2024-11-19T13:50:00.000Z"],  # 24 hours and 10 minutes before NOW
        "limit": ["100"],
    }
    assert page1.query["cursor"] == ["3"]
    assert len(result.drafts) == 4
    assert result.cursor["since"] == {"sqlite": NEWEST}


def test_second_fetch_reuses_the_session_and_starts_from_the_cursor(
    http_server: LocalHTTPServer,
) -> None:
    serve(http_server)
    connector = BlueskyConnector(clock=lambda: NOW)
    first = fetch_from(spec(http_server), connector)
    second = fetch_from(spec(http_server, cursor=first.cursor), connector)
    assert [r.route for r in http_server.requests].count(SESSION) == 1
    last = http_server.requests[-1]
    assert last.query["since"] == ["2024-11-20T13:52:33.104Z"]  # the cursor less 10 minutes
    # Only the posts of the last 10 minutes come back (deduplicated on ingest).
    assert {d.external_id for d in second.drafts} == {FRENCH, REPLY}
    assert second.cursor["since"] == {"sqlite": NEWEST}


def test_expired_token_logs_in_again_once(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    connector = BlueskyConnector(clock=lambda: NOW)
    fetch_from(spec(http_server, "rust"), connector)
    connector._tokens = dict.fromkeys(connector._tokens, "stale")
    fetch_from(spec(http_server, "rust"), connector)
    routes = [r.route for r in http_server.requests]
    assert routes == [SESSION, SEARCH, SEARCH, SESSION, SEARCH]


def test_watches_search_each_keyword(http_server: LocalHTTPServer) -> None:
    serve(http_server)
    queries = ["(SQLite OR Litestream) -oracle", "site:lemonde.fr"]
    result = fetch_from(spec(http_server, "watches", queries=queries))
    asked = [r.query["q"][0] for r in http_server.requests if r.route == SEARCH]
    assert asked == ["sqlite", "sqlite", "litestream"]
    assert len(result.drafts) == 4
    assert result.cursor["since"] == {"sqlite": NEWEST, "litestream": "2024-11-19T14:00:00.000Z"}


@pytest.mark.parametrize("missing", ["identifier", "app_password"])
def test_missing_credentials_name_both(http_server: LocalHTTPServer, missing: str) -> None:
    credentials = {k: v for k, v in CREDENTIALS.items() if k != missing}
    with pytest.raises(AuthFailed, match=r"identifier .*app_password"):
        fetch_from(spec(http_server, credentials=credentials))
    assert http_server.requests == []


def test_refused_login_is_auth_failed(http_server: LocalHTTPServer) -> None:
    http_server.route(SESSION, 401, (FIXTURES / "error_bad_login.json").read_bytes(), JSON)
    with pytest.raises(AuthFailed, match=r"refused to log in .*Invalid identifier or password"):
        fetch_from(spec(http_server))


def test_search_401_with_a_fresh_token_is_auth_failed(http_server: LocalHTTPServer) -> None:
    http_server.route(SESSION, 200, (FIXTURES / "session.json").read_bytes(), JSON)
    http_server.route(SEARCH, 401, b'{"error": "AuthRequired", "message": "nope"}', JSON)
    with pytest.raises(AuthFailed, match="AuthRequired"):
        fetch_from(spec(http_server))
    assert [r.route for r in http_server.requests] == [SESSION, SEARCH]


def test_bad_query_is_a_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.route(SESSION, 200, (FIXTURES / "session.json").read_bytes(), JSON)
    body = b'{"error": "BadQueryString", "message": "query too long"}'
    http_server.route(SEARCH, 400, body, JSON)
    with pytest.raises(FetchError, match="BadQueryString: query too long"):
        fetch_from(spec(http_server))


def test_429_is_rate_limited_with_retry_after(http_server: LocalHTTPServer) -> None:
    http_server.route(SESSION, 200, (FIXTURES / "session.json").read_bytes(), JSON)
    http_server.route(SEARCH, 429, b'{"error": "RateLimitExceeded"}', {**JSON, "Retry-After": "42"})
    with pytest.raises(RateLimited) as caught:
        fetch_from(spec(http_server))
    assert caught.value.retry_after == 42.0
