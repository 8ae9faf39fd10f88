"""The reddit connector: listing and comment-tree parsing, targets, then fetching from a local server."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.reddit import (
    WATCHES,
    MoreStub,
    RedditConnector,
    RedditOptions,
    parse_comment_page,
    parse_comment_tree,
    parse_listing,
    parse_more_children,
    parse_options,
)
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import AuthFailed, ParseError, RateLimited

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reddit"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_id(drafts: list[Draft]) -> dict[str, Draft]:
    return {d.external_id or "": d for d in drafts}


# --------------------------------------------------------------------------- parsing


def test_self_post_joins_title_and_selftext_html() -> None:
    post = by_id(parse_listing(load("search_page0.json"), source_name="rd"))["t3_1gz9a7q"]
    assert post.source_kind == "reddit"
    assert post.title == "Livraison Colissimo bloquée depuis une semaine"
    assert post.text.startswith(
        "<p>Livraison Colissimo bloquée depuis une semaine</p>\n<!-- SC_OFF"
    )
    assert "en cours d&#39;acheminement" in post.text
    assert post.url == (
        "https://www.reddit.com/r/france/comments/1gz9a7q/livraison_colissimo_bloquee_depuis_une_semaine/"
    )
    assert post.author == AuthorRef(handle="marmotte_du_13")
    assert post.published_at == datetime(2024, 11, 25, 13, 20, tzinfo=UTC)
    assert post.likes == 42
    assert post.replies == 17
    assert post.parent_external_id is None


def test_link_post_by_a_deleted_account_has_no_author() -> None:
    post = by_id(parse_listing(load("search_page0.json"), source_name="rd"))["t3_1gz8k2p"]
    assert post.text == "Colissimo API outage this morning?"
    assert post.author is None
    assert post.url is not None and post.url.startswith("https://www.reddit.com/r/sysadmin/")


def test_comment_tree_gives_one_draft_per_comment_with_its_parent() -> None:
    drafts = parse_comment_tree(load("comments.json"), source_name="rd")
    assert [d.external_id for d in drafts] == [
        "t1_lz1aaa1",
        "t1_lz1bbb2",
        "t1_lz1ccc3",
        "t1_lz1ddd4",
    ]
    parents = {d.external_id: d.parent_external_id for d in drafts}
    assert parents == {
        "t1_lz1aaa1": "t3_1gz9a7q",
        "t1_lz1bbb2": "t1_lz1aaa1",
        "t1_lz1ccc3": "t1_lz1bbb2",
        "t1_lz1ddd4": "t3_1gz9a7q",
    }
    first = drafts[0]
    assert first.text == "Pareil ici, colis bloqué à la plateforme de Wissous."
    assert first.title == "Livraison Colissimo bloquée depuis une semaine"
    assert first.url is not None and first.url.endswith("/lz1aaa1/")
    assert first.likes == 8
    assert drafts[2].author is None  # [deleted]


def test_comment_page_gives_the_more_stubs() -> None:
    drafts, stubs, title = parse_comment_page(load("comments.json"), source_name="rd")
    assert len(drafts) == 4
    assert title == "Livraison Colissimo bloquée depuis une semaine"
    assert stubs == [
        MoreStub("t1_lz1ccc3", (), 0),  # "continue this thread"
        MoreStub("t3_1gz9a7q", ("lz1eee5", "lz1fff6", "lz1ggg7"), 3),
    ]
    assert stubs[0].is_thread and not stubs[1].is_thread


def test_more_children_are_flat_comments_with_their_parents_and_nested_stubs() -> None:
    drafts, stubs = parse_more_children(load("morechildren.json"), source_name="rd", title="T")
    parents = {d.external_id: d.parent_external_id for d in drafts}
    assert parents == {
        "t1_lz1eee5": "t3_1gz9a7q",
        "t1_lz1fff6": "t1_lz1eee5",
        "t1_lz1ggg7": "t3_1gz9a7q",
    }
    assert drafts[0].title == "T"
    assert drafts[0].text == "Chez moi le suivi indique « pris en charge » depuis lundi."
    assert by_id(drafts)["t1_lz1ggg7"].author is None
    assert stubs == [MoreStub("t1_lz1fff6", ("lz1hhh8", "lz1iii9"), 2)]


def test_more_children_errors_and_empty_answers() -> None:
    assert parse_more_children({"json": {"errors": []}}, source_name="rd") == ([], [])
    with pytest.raises(ParseError, match="RATELIMIT"):
        parse_more_children(
            {"json": {"errors": [["RATELIMIT", "slow down", "ratelimit"]]}}, source_name="rd"
        )
    with pytest.raises(ParseError, match="no json"):
        parse_more_children(load("empty.json"), source_name="rd")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": 403}, "not a Listing"),
        ({"data": {"children": ["x"]}}, "not a thing"),
        ({"data": {"children": [{"kind": "t3", "data": {"title": "no id"}}]}}, "without a name"),
    ],
)
def test_broken_listing_raises(payload: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_listing(payload, source_name="rd")


def test_comments_response_must_be_a_pair() -> None:
    with pytest.raises(ParseError, match=r"\[post, comments\]"):
        parse_comment_tree(load("search_page0.json"), source_name="rd")


# --------------------------------------------------------------------------- targets and options


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (" watches ", WATCHES),
        ("search:  colissimo   retard ", "search:colissimo retard"),
        ("r/france", "r/france"),
        ("/r/france/", "r/france"),
        ("r/france?q=colissimo", "r/france?q=colissimo"),
        (
            "comments:https://www.reddit.com/r/france/comments/1gz9a7q/livraison/",
            "comments:https://www.reddit.com/comments/1gz9a7q",
        ),
        (
            "comments:https://old.reddit.com/comments/1gz9a7q",
            "comments:https://www.reddit.com/comments/1gz9a7q",
        ),
        ("comments:https://redd.it/1gz9a7q", "comments:https://www.reddit.com/comments/1gz9a7q"),
    ],
)
def test_normalize_target(target: str, expected: str) -> None:
    assert RedditConnector().normalize_target(target, {}) == expected


@pytest.mark.parametrize(
    "target",
    [
        "",
        "colissimo",
        "search:",
        "r/x",
        "r/france?sort=new",
        "comments:https://example.com/comments/abc",
    ],
)
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match=r"target|search|subreddit|comments"):
        RedditConnector().normalize_target(target, {})


def test_options() -> None:
    assert parse_options({}) == RedditOptions()
    assert parse_options({"limit": "25", "max_pages": "2", "base_url": "http://127.0.0.1:1/"}) == (
        RedditOptions(base_url="http://127.0.0.1:1", limit=25, max_pages=2)
    )
    assert parse_options({"max_more": "0"}).max_more == 0
    assert RedditOptions().max_more == 10
    bad_options: list[dict[str, str]] = [
        {"limit": "101"},
        {"max_pages": "0"},
        {"max_more": "51"},
        {"max_more": "-1"},
        {"auth_url": "ftp://x"},
        {"sort": "new"},
    ]
    for bad in bad_options:
        with pytest.raises(ValueError, match=next(iter(bad))):
            parse_options(bad)


# --------------------------------------------------------------------------- fetching (local server)

NOW = 1732550000.0
CREDS = {"client_id": "abcDEF123", "client_secret": "s3cr3t-value"}
JSON = {"Content-Type": "application/json; charset=UTF-8"}


def spec(target: str, server: LocalHTTPServer, **kwargs: Any) -> SourceSpec:
    options = {"base_url": server.url(""), "auth_url": server.url("/api/v1/access_token")}
    options.update(kwargs.pop("options", {}))
    return SourceSpec(id=1, kind="reddit", name="rd", target=target, options=options, **kwargs)


def fetch(source: SourceSpec) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await RedditConnector(clock=lambda: NOW).fetch(source, http)

    return asyncio.run(run())


def serve_token(server: LocalHTTPServer, body: str = "token.json") -> None:
    server.route("/api/v1/access_token", body=(FIXTURES / body).read_bytes(), headers=JSON)


def serve_search(
    server: LocalHTTPServer, path: str = "/search", headers: dict[str, str] | None = None
) -> None:
    def search(request: RecordedRequest) -> Reply:
        name = "search_page1.json" if request.query.get("after") else "search_page0.json"
        if request.query["q"][0] != "colissimo":
            name = "empty.json"
        return Reply(200, (FIXTURES / name).read_bytes(), {**JSON, **(headers or {})})

    server.route_handler(path, search)


def test_oauth_token_then_bearer_search_pages_through_after(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_search(http_server)
    result = fetch(spec("search:colissimo", http_server, credentials=CREDS))
    token_request, page0, page1 = http_server.requests
    assert token_request.method == "POST"
    expected = base64.b64encode(b"abcDEF123:s3cr3t-value").decode()
    assert token_request.headers["authorization"] == f"Basic {expected}"
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"]}
    assert page0.headers["authorization"] == "bearer eyJhbGciOiJSUzI1NiJ9.test-token"
    assert page0.query == {
        "q": ["colissimo"],
        "sort": ["new"],
        "type": ["link"],
        "limit": ["100"],
        "raw_json": ["1"],
    }
    assert page1.query["after"] == ["t3_1gz8k2p"]
    assert len(result.drafts) == 3
    state = result.cursor["targets"]["search:colissimo"]
    assert state["since"] == 1732540800.0
    assert set(state["seen"]) == {"t3_1gz9a7q", "t3_1gz8k2p", "t3_1gz5b0c"}
    assert "public" not in result.note


def test_second_fetch_drops_what_was_seen(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_search(http_server)
    first = fetch(spec("search:colissimo", http_server, credentials=CREDS))
    second = fetch(spec("search:colissimo", http_server, credentials=CREDS, cursor=first.cursor))
    assert second.drafts == []
    # page 0 holds an item older than the cursor: no need for page 1
    assert len(http_server.requests_to("/search")) == 3


def test_password_grant_for_script_apps(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    http_server.route("/r/france/new", body=(FIXTURES / "empty.json").read_bytes(), headers=JSON)
    creds = {**CREDS, "username": "veille_bot", "password": "p@ss word"}
    fetch(spec("r/france", http_server, credentials=creds))
    form = parse_qs(http_server.requests[0].body.decode())
    assert form == {
        "grant_type": ["password"],
        "username": ["veille_bot"],
        "password": ["p@ss word"],
    }
    assert http_server.requests[1].route == "/r/france/new"


def test_refused_token_is_an_auth_failure(http_server: LocalHTTPServer) -> None:
    serve_token(http_server, "token_error.json")
    with pytest.raises(AuthFailed, match="invalid_grant") as info:
        fetch(spec("r/france", http_server, credentials=CREDS))
    assert "s3cr3t" not in str(info.value)


def test_without_credentials_reads_the_public_json(http_server: LocalHTTPServer) -> None:
    serve_search(http_server, "/r/france/search.json")
    result = fetch(spec("r/france?q=colissimo", http_server, options={"max_pages": "1"}))
    (request,) = http_server.requests
    assert "authorization" not in request.headers
    assert request.query["restrict_sr"] == ["on"]
    assert len(result.drafts) == 2
    assert "public JSON" in result.note


POST = "comments:https://www.reddit.com/comments/1gz9a7q"
ALL_COMMENTS = {
    "t1_lz1aaa1": "t3_1gz9a7q",
    "t1_lz1bbb2": "t1_lz1aaa1",
    "t1_lz1ccc3": "t1_lz1bbb2",
    "t1_lz1jjj0": "t1_lz1ccc3",
    "t1_lz1ddd4": "t3_1gz9a7q",
    "t1_lz1eee5": "t3_1gz9a7q",
    "t1_lz1fff6": "t1_lz1eee5",
    "t1_lz1ggg7": "t3_1gz9a7q",
    "t1_lz1hhh8": "t1_lz1fff6",
    "t1_lz1iii9": "t1_lz1hhh8",
}


def serve_comments(
    server: LocalHTTPServer,
    *,
    suffix: str = "",
    headers: dict[str, str] | None = None,
    thread: bool = True,
) -> None:
    tree = (FIXTURES / "comments.json").read_bytes()
    server.route("/comments/1gz9a7q" + suffix, body=tree, headers={**JSON, **(headers or {})})
    if thread:
        body = (FIXTURES / "continue_thread.json").read_bytes()
        server.route("/comments/1gz9a7q/_/lz1ccc3" + suffix, body=body, headers=JSON)

    def more(request: RecordedRequest) -> Reply:
        first = request.query["children"][0].split(",")[0]
        name = "morechildren_nested.json" if first == "lz1hhh8" else "morechildren.json"
        return Reply(200, (FIXTURES / name).read_bytes(), JSON)

    server.route_handler("/api/morechildren" + suffix, more)


def test_comments_target_gives_the_tree_and_what_more_stubs_left_out(
    http_server: LocalHTTPServer,
) -> None:
    serve_token(http_server)
    serve_comments(http_server)
    result = fetch(spec(POST, http_server, credentials=CREDS))
    routes = [r.route for r in http_server.requests]
    assert routes == [
        "/api/v1/access_token",
        "/comments/1gz9a7q",
        "/comments/1gz9a7q/_/lz1ccc3",
        "/api/morechildren",
        "/api/morechildren",
    ]
    assert http_server.requests[1].query["sort"] == ["new"]
    first_more, nested_more = http_server.requests_to("/api/morechildren")
    assert first_more.headers["authorization"] == "bearer eyJhbGciOiJSUzI1NiJ9.test-token"
    assert first_more.query == {
        "link_id": ["t3_1gz9a7q"],
        "children": ["lz1eee5,lz1fff6,lz1ggg7"],
        "api_type": ["json"],
        "sort": ["new"],
        "raw_json": ["1"],
    }
    assert nested_more.query["children"] == ["lz1hhh8,lz1iii9"]
    assert len(result.drafts) == len(ALL_COMMENTS)  # lz1ccc3 is not returned twice
    assert {d.external_id: d.parent_external_id for d in result.drafts} == ALL_COMMENTS
    state = result.cursor["targets"][POST]
    assert set(state["seen"]) == set(ALL_COMMENTS)
    assert "more" not in state and "threads" not in state
    assert "(4 requests)" in result.note  # the token request is not counted


def test_comments_seen_are_not_returned_nor_asked_for_again(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_comments(http_server)
    first = fetch(spec(POST, http_server, credentials=CREDS))
    before = len(http_server.requests)
    again = fetch(spec(POST, http_server, credentials=CREDS, cursor=first.cursor))
    assert again.drafts == []
    # every id of the stub was seen: no morechildren call; the thread may hold new replies
    assert [r.route for r in http_server.requests][before + 1 :] == [
        "/comments/1gz9a7q",
        "/comments/1gz9a7q/_/lz1ccc3",
    ]


def test_public_json_uses_morechildren_json(http_server: LocalHTTPServer) -> None:
    serve_comments(http_server, suffix=".json")
    result = fetch(spec(POST, http_server))
    assert len(http_server.requests_to("/api/morechildren.json")) == 2
    assert all("authorization" not in r.headers for r in http_server.requests)
    assert {d.external_id: d.parent_external_id for d in result.drafts} == ALL_COMMENTS


def test_max_more_caps_the_calls_and_keeps_the_rest_for_next_time(
    http_server: LocalHTTPServer,
) -> None:
    serve_token(http_server)
    serve_comments(http_server)
    source = spec(POST, http_server, credentials=CREDS, options={"max_more": "1"})
    first = fetch(source)
    assert http_server.requests_to("/api/morechildren") == []
    assert "t1_lz1jjj0" in by_id(first.drafts)
    assert len(first.drafts) == 5
    state = first.cursor["targets"][POST]
    assert state["more"] == ["lz1eee5", "lz1fff6", "lz1ggg7"]
    assert "max_more=1" in first.note
    # next time the kept ids come first, and are returned although older than the cursor
    assert state["since"] - 3600 > 1732541200.0  # created_utc of lz1ggg7
    second = fetch(spec(POST, http_server, credentials=CREDS, cursor=first.cursor))
    assert set(by_id(second.drafts)) == set(ALL_COMMENTS) - set(by_id(first.drafts))
    assert "more" not in second.cursor["targets"][POST]


def test_max_more_zero_reads_only_the_tree(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_comments(http_server)
    result = fetch(spec(POST, http_server, credentials=CREDS, options={"max_more": "0"}))
    assert len(http_server.requests) == 2
    assert len(result.drafts) == 4
    assert result.cursor["targets"][POST]["threads"] == ["lz1ccc3"]


def test_rate_limit_used_up_while_expanding_keeps_the_tree(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_comments(http_server, headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "30"})
    result = fetch(spec(POST, http_server, credentials=CREDS))
    assert len(http_server.requests) == 2
    assert len(result.drafts) == 4
    state = result.cursor["targets"][POST]
    assert state["threads"] == ["lz1ccc3"]
    assert state["more"] == ["lz1eee5", "lz1fff6", "lz1ggg7"]
    assert "rate limit is used up while reading left-out comments" in result.note


def test_a_deleted_thread_is_skipped(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_comments(http_server, thread=False)  # /comments/1gz9a7q/_/lz1ccc3 answers 404
    result = fetch(spec(POST, http_server, credentials=CREDS))
    assert len(result.drafts) == len(ALL_COMMENTS) - 1
    assert "skipped some left-out comments" in result.note
    assert "threads" not in result.cursor["targets"][POST]


def test_exhausted_rate_limit_returns_what_was_found(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_search(
        http_server,
        headers={
            "X-Ratelimit-Remaining": "0.0",
            "X-Ratelimit-Reset": "312",
            "X-Ratelimit-Used": "100",
        },
    )
    source = spec(WATCHES, http_server, credentials=CREDS, queries=["colissimo", "chronopost"])
    result = fetch(source)
    assert len(http_server.requests_to("/search")) == 1
    assert len(result.drafts) == 2
    assert "rate limit is used up (resets in 312 s)" in result.note
    # the interrupted keyword keeps its cursor: its older page comes next time
    assert result.cursor["checked"] == {}
    assert result.cursor["targets"]["colissimo"] == {"since": 0.0, "seen": []}


def test_exhausted_rate_limit_before_anything_found_waits(http_server: LocalHTTPServer) -> None:
    serve_token(http_server)
    serve_search(http_server, headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "45"})
    source = spec(WATCHES, http_server, credentials=CREDS, queries=["chronopost", "colissimo"])
    with pytest.raises(RateLimited) as info:
        fetch(source)
    assert info.value.retry_after == 45


def test_watches_without_keywords_fetch_nothing(http_server: LocalHTTPServer) -> None:
    result = fetch(spec(WATCHES, http_server, queries=["site:lemonde.fr"], cursor={"x": 1}))
    assert http_server.requests == []
    assert result.cursor == {"x": 1}
