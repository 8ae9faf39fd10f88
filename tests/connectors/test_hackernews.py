"""The hackernews connector: hit parsing, keyword derivation, then fetching from a local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.hackernews import (
    INDEX_LAG_S,
    WATCHES,
    HackerNewsConnector,
    HackerNewsOptions,
    keywords_from_queries,
    parse_hits,
    parse_options,
    query_keywords,
)
from flocon.connectors.http import HttpClient, HttpConfig, HttpResponse
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hackernews"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def hits(name: str) -> dict[str, Draft]:
    return {d.external_id or "": d for d in parse_hits(load(name), source_name="hn")}


# --------------------------------------------------------------------------- parsing


def test_story_with_url() -> None:
    story = hits("search_page0.json")["42186912"]
    assert story.source_kind == "hackernews"
    assert story.source_name == "hn"
    assert story.text == "SQLite on the server: lessons from two years in production"
    assert story.title == story.text
    assert story.url == "https://blog.example.dev/sqlite-two-years"
    assert story.author == AuthorRef(handle="lrouquette")
    assert story.likes == 214
    assert story.replies == 97
    assert story.parent_external_id is None
    assert story.published_at == datetime(2024, 11, 19, 9, 13, 20, tzinfo=UTC)


def test_text_story_joins_title_and_story_text_and_links_to_hn() -> None:
    ask = hits("search_page0.json")["42187390"]
    assert ask.text.startswith("<p>Ask HN: Are you running SQLite in production?</p>\n<p>We are")
    assert "Litestream, LiteFS" in ask.text
    assert ask.url == "https://news.ycombinator.com/item?id=42187390"


def test_comment_points_to_its_parent_and_story() -> None:
    comment = hits("search_page0.json")["42187655"]
    assert comment.text.startswith("<p>SQLite in WAL mode")
    assert comment.title == "Ask HN: Are you running SQLite in production?"
    assert comment.parent_external_id == "42187390"
    assert comment.url == "https://news.ycombinator.com/item?id=42187655"
    assert comment.author == AuthorRef(handle="walmode_fan")
    assert comment.likes is None
    assert comment.replies is None
    assert comment.published_at == datetime(2024, 11, 19, 10, 41, 7, tzinfo=UTC)


def test_french_comment_on_the_second_page() -> None:
    comment = hits("search_page1.json")["42186001"]
    assert "Litestream vers un bucket S3" in comment.text
    assert comment.parent_external_id == "42185977"
    assert comment.title == "Le retour de SQLite côté serveur"


def test_created_at_is_used_when_created_at_i_is_missing() -> None:
    payload = {"hits": [{"objectID": "1", "title": "t", "created_at": "2024-11-19T10:00:00.000Z"}]}
    (draft,) = parse_hits(payload, source_name="hn")
    assert draft.published_at == datetime(2024, 11, 19, 10, 0, tzinfo=UTC)


def test_empty_response_has_no_drafts() -> None:
    assert parse_hits(load("search_empty.json"), source_name="hn") == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"message": "Invalid numericFilters"}, "no 'hits' list"),
        ({"hits": ["x"]}, "not an object"),
        ({"hits": [{"title": "no id"}]}, "without an objectID"),
        ({"hits": [{"objectID": True, "title": "bool id"}]}, "without an objectID"),
    ],
)
def test_broken_response_raises(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_hits(payload, source_name="hn")


def test_story_url_that_is_not_http_falls_back_to_hn() -> None:
    payload = {"hits": [{"objectID": "7", "title": "t", "url": "javascript:x", "_tags": ["story"]}]}
    (draft,) = parse_hits(payload, source_name="hn")
    assert draft.url == "https://news.ycombinator.com/item?id=7"


# --------------------------------------------------------------------------- keywords


@pytest.mark.parametrize(
    ("query", "keywords"),
    [
        ("orange", ["orange"]),
        ("orange NEAR/3 (livraison OR delivery) -spam", ["orange"]),
        ('"Crédit Agricole" OR LCL', ["credit agricole", "lcl"]),
        ("le AND sqlite", ["sqlite"]),
        ("livrai* AND (colis OR paquet OR carton)", ["livrai"]),
        ("#Orange OR @orange_fr", ["orange", "orange_fr"]),
        ("title:sncf -grève", ["sncf"]),
        ("site:lemonde.fr", None),
        ("-spam AND lang:fr", None),
        ("orange OR site:orange.fr", None),
    ],
)
def test_query_keywords(query: str, keywords: list[str] | None) -> None:
    assert query_keywords(query) == keywords


def test_keywords_from_queries_are_distinct_in_order_and_skip_the_unsearchable() -> None:
    queries = [
        "sqlite OR postgres",
        "site:lemonde.fr",
        "postgres AND pool",
        "pgbouncer",
        "(unbalanced",
    ]
    assert keywords_from_queries(queries) == ["sqlite", "postgres", "pgbouncer"]


# --------------------------------------------------------------------------- target and options


@pytest.mark.parametrize(
    ("target", "expected"),
    [(" watches ", WATCHES), ("WATCHES", WATCHES), ("  rust   async ", "rust async")],
)
def test_normalize_target(target: str, expected: str) -> None:
    assert HackerNewsConnector().normalize_target(target, {}) == expected


@pytest.mark.parametrize("target", ["", "   ", "x" * 201])
def test_normalize_target_refuses_empty_or_long_searches(target: str) -> None:
    with pytest.raises(ValueError, match="search"):
        HackerNewsConnector().normalize_target(target, {})


def test_options_defaults_and_values() -> None:
    assert parse_options({}) == HackerNewsOptions("https://hn.algolia.com", 24, 5)
    assert parse_options(
        {"base_url": "http://127.0.0.1:8000/", "lookback_hours": "48", "max_pages": "2"}
    ) == HackerNewsOptions("http://127.0.0.1:8000", 48, 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pages": "0"}, "max_pages"),
        ({"max_pages": "11"}, "max_pages"),
        ({"lookback_hours": "-1"}, "lookback_hours"),
        ({"lookback_hours": "deux"}, "lookback_hours"),
        ({"base_url": "hn.algolia.com"}, "base_url"),
        ({"lookback": "24"}, "unknown option 'lookback'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HackerNewsConnector().normalize_target("sqlite", options)


# --------------------------------------------------------------------------- fetch logic (fake HTTP)

NOW = 1732017600  # 2024-11-19T12:00:00Z
PAGE0_NEWEST = 1732012867  # the newest hit of search_page0.json


class FakeHttp:
    """Answers each search with ``pages[(query, page)]``, or an empty result."""

    def __init__(self, pages: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.pages = pages or {}
        self.calls: list[dict[str, str]] = []

    async def get(
        self,
        url: str,
        *,
        headers: Any = None,
        params: dict[str, str] | None = None,
        accept_statuses: Any = (),
    ) -> HttpResponse:
        assert url == "https://hn.algolia.com/api/v1/search_by_date"
        assert params is not None
        self.calls.append(params)
        payload = self.pages.get((params["query"], params["page"]), load("search_empty.json"))
        return HttpResponse(
            url, 200, {"content-type": "application/json"}, json.dumps(payload).encode()
        )


def spec(target: str, *, cursor: dict[str, Any] | None = None, **kwargs: Any) -> SourceSpec:
    return SourceSpec(
        id=1, kind="hackernews", name="hn", target=target, cursor=cursor or {}, **kwargs
    )


def run_fetch(source: SourceSpec, http: FakeHttp) -> FetchResult:
    connector = HackerNewsConnector(clock=lambda: NOW)
    return asyncio.run(connector.fetch(source, http))  # type: ignore[arg-type]


def test_first_fetch_looks_back_24_hours_and_follows_pages() -> None:
    http = FakeHttp(
        {("sqlite", "0"): load("search_page0.json"), ("sqlite", "1"): load("search_page1.json")}
    )
    result = run_fetch(spec("sqlite"), http)
    assert [call["page"] for call in http.calls] == ["0", "1"]
    assert http.calls[0] == {
        "query": "sqlite",
        "tags": "(story,comment)",
        "numericFilters": f"created_at_i>{NOW - 24 * 3600 - INDEX_LAG_S}",
        "hitsPerPage": "100",
        "page": "0",
    }
    assert len(result.drafts) == 5
    assert result.cursor["since"] == {"sqlite": PAGE0_NEWEST}


def test_next_fetch_starts_after_the_cursor() -> None:
    http = FakeHttp()
    result = run_fetch(spec("sqlite", cursor={"since": {"sqlite": PAGE0_NEWEST}}), http)
    assert http.calls[0]["numericFilters"] == f"created_at_i>{PAGE0_NEWEST - INDEX_LAG_S}"
    assert result.drafts == []
    assert result.cursor["since"] == {"sqlite": PAGE0_NEWEST}


def test_lookback_hours_option_sets_the_first_window() -> None:
    http = FakeHttp()
    run_fetch(spec("sqlite", options={"lookback_hours": "2"}), http)
    assert http.calls[0]["numericFilters"] == f"created_at_i>{NOW - 2 * 3600 - INDEX_LAG_S}"


def test_max_pages_caps_the_pages_and_says_so() -> None:
    http = FakeHttp(
        {("sqlite", "0"): load("search_page0.json"), ("sqlite", "1"): load("search_page1.json")}
    )
    result = run_fetch(spec("sqlite", options={"max_pages": "1"}), http)
    assert len(http.calls) == 1
    assert len(result.drafts) == 3
    assert "stopped after 1 pages of 5 results" in result.note


def test_watches_search_each_keyword_once_and_merge_duplicates() -> None:
    page = {**load("search_page0.json"), "nbPages": 1}
    http = FakeHttp({("sqlite", "0"): page, ("postgres", "0"): page})
    source = spec(WATCHES, queries=["sqlite OR postgres", "site:lemonde.fr", "sqlite -oracle"])
    result = run_fetch(source, http)
    assert [call["query"] for call in http.calls] == ["sqlite", "postgres"]
    assert len(result.drafts) == 3
    assert result.cursor["since"] == {"sqlite": PAGE0_NEWEST, "postgres": PAGE0_NEWEST}


def test_watches_without_keywords_fetch_nothing() -> None:
    http = FakeHttp()
    result = run_fetch(spec(WATCHES, queries=["site:lemonde.fr"], cursor={"x": 1}), http)
    assert http.calls == []
    assert result.cursor == {"x": 1}
    assert "no watch has a keyword" in result.note


def test_many_keywords_rotate_least_recently_searched_first() -> None:
    words = [f"mot{i:02d}" for i in range(12)]
    checked = {word: 100 + i for i, word in enumerate(words)}
    checked["mot11"] = 1  # searched longest ago
    source = spec(WATCHES, queries=words, cursor={"checked": checked})
    http = FakeHttp()
    result = run_fetch(source, http)
    searched = [call["query"] for call in http.calls]
    assert searched == ["mot11", *words[:9]]
    assert result.cursor["checked"]["mot11"] == NOW
    assert result.cursor["checked"]["mot10"] == 110
    assert "searched 10 of 12 keywords" in result.note


def test_keywords_no_longer_watched_leave_the_cursor() -> None:
    source = spec(WATCHES, queries=["sqlite"], cursor={"since": {"sqlite": 5, "oracle": 7}})
    result = run_fetch(source, FakeHttp())
    assert result.cursor["since"] == {"sqlite": 5}


def test_response_that_is_not_an_object_raises() -> None:
    class ListHttp(FakeHttp):
        async def get(self, url: str, **kwargs: Any) -> HttpResponse:
            return HttpResponse(url, 200, {}, b"[]")

    with pytest.raises(ParseError, match="not an object"):
        run_fetch(spec("sqlite"), ListHttp())


# --------------------------------------------------------------------------- fetching (local server)

SEARCH = "/api/v1/search_by_date"


def serve_search(http_server: LocalHTTPServer) -> None:
    """Answers 'sqlite' with the two recorded pages, anything else with no hits."""

    def search(request: RecordedRequest) -> Reply:
        query, page = request.query["query"][0], request.query["page"][0]
        name = {"0": "search_page0.json", "1": "search_page1.json"}.get(page)
        if query != "sqlite" or name is None:
            name = "search_empty.json"
        body = (FIXTURES / name).read_bytes()
        return Reply(200, body, {"Content-Type": "application/json; charset=utf-8"})

    http_server.route_handler(SEARCH, search)


def fetch_from(http_server: LocalHTTPServer, source: SourceSpec) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await HackerNewsConnector(clock=lambda: NOW).fetch(source, http)

    return asyncio.run(run())


def test_watches_fetch_pages_through_each_keyword_and_keeps_a_cursor(
    http_server: LocalHTTPServer,
) -> None:
    serve_search(http_server)
    options = {"base_url": http_server.url("")}
    queries = ["(SQLite OR Litestream) -oracle", "sqlite NEAR/5 production"]
    first = fetch_from(http_server, spec(WATCHES, options=options, queries=queries))
    asked = [(r.query["query"][0], r.query["page"][0]) for r in http_server.requests]
    assert asked == [("sqlite", "0"), ("sqlite", "1"), ("litestream", "0")]
    assert {r.route for r in http_server.requests} == {SEARCH}
    assert http_server.requests[0].query["numericFilters"] == [
        f"created_at_i>{NOW - 86400 - INDEX_LAG_S}"
    ]
    assert http_server.requests[0].query["tags"] == ["(story,comment)"]
    assert len(first.drafts) == 5
    assert first.cursor["since"] == {"sqlite": PAGE0_NEWEST, "litestream": NOW - 86400}

    second = fetch_from(
        http_server, spec(WATCHES, options=options, queries=queries, cursor=first.cursor)
    )
    assert http_server.requests[3].query["numericFilters"] == [
        f"created_at_i>{PAGE0_NEWEST - INDEX_LAG_S}"
    ]
    assert second.cursor["since"]["sqlite"] == PAGE0_NEWEST
