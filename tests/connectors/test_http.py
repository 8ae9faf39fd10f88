"""The shared HTTP client against a local server: limits, retries, redirects, SSRF guard."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import logging
import socket
import ssl
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.http import (
    HttpClient,
    HttpConfig,
    HttpResponse,
    build_http_client,
    is_public,
    parse_retry_after,
    redact_url,
)
from flocon.errors import (
    AuthFailed,
    BlockedAddress,
    FetchError,
    ParseError,
    RateLimited,
    ResponseTooLarge,
    SourceGone,
)
from flocon.settings import Settings

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

UA = "flocon-test/1.0 (+https://example.org/flocon)"
CAP = 1024 * 1024


class FakeSleep:
    """Records the waits between retries instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_config(**overrides: Any) -> HttpConfig:
    values: dict[str, Any] = {
        "timeout_s": 5.0,
        "connect_timeout_s": 2.0,
        "max_bytes": CAP,
        "retries": 3,
        "user_agent": UA,
        "allow_private_addresses": False,
        "allowed_hosts": frozenset({"127.0.0.1"}),
        "backoff_base_s": 0.5,
        "backoff_max_s": 30.0,
    }
    values.update(overrides)
    return HttpConfig(**values)


def run(
    action: Callable[[HttpClient], Awaitable[T]],
    *,
    sleep: FakeSleep | None = None,
    resolver: Callable[[str, int], Awaitable[list[str]]] | None = None,
    **overrides: Any,
) -> T:
    async def main() -> T:
        async with HttpClient(
            make_config(**overrides), sleep=sleep or FakeSleep(), resolver=resolver
        ) as http:
            return await action(http)

    return asyncio.run(main())


def get(url: str, **kwargs: Any) -> HttpResponse:
    return run(lambda http: http.get(url), **kwargs)


def get_error(url: str, expected: type[E], **kwargs: Any) -> E:
    with pytest.raises(expected) as info:
        get(url, **kwargs)
    return info.value


def fake_dns(table: dict[str, list[str]], calls: list[tuple[str, int]] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.fixture
def second_server() -> Iterator[LocalHTTPServer]:
    """A server on 127.0.0.2: loopback too, but not in ``allowed_hosts``."""
    try:
        server = LocalHTTPServer(host="127.0.0.2")
    except OSError:
        pytest.skip("this system cannot bind 127.0.0.2")
    with server:
        yield server


# -- plain responses -----------------------------------------------------------------------


def test_get_returns_status_headers_and_body(http_server: LocalHTTPServer) -> None:
    http_server.route("/feed", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})

    response = get(http_server.url("/feed"))

    assert response.status == 200
    assert response.content == b"<rss/>"
    assert response.headers["content-type"] == "application/rss+xml"
    assert response.headers["CONTENT-TYPE"] == "application/rss+xml"
    assert response.url == http_server.url("/feed")


def test_sends_the_user_agent_and_caller_headers(http_server: LocalHTTPServer) -> None:
    http_server.route("/ua", body=b"ok")

    run(lambda http: http.get(http_server.url("/ua"), headers={"Authorization": "Bearer t"}))

    sent = http_server.requests[0].headers
    assert sent["user-agent"] == UA
    assert sent["authorization"] == "Bearer t"
    assert sent["accept-encoding"] == "gzip, deflate"


def test_query_params_are_added(http_server: LocalHTTPServer) -> None:
    http_server.route("/search", body=b"[]")

    run(lambda http: http.get(http_server.url("/search?a=1"), params={"q": "snow flake"}))

    assert http_server.requests[0].query == {"a": ["1"], "q": ["snow flake"]}


def test_304_is_returned_and_conditional_headers_are_sent(http_server: LocalHTTPServer) -> None:
    def conditional(request: RecordedRequest) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        return Reply(200, b"new", {"ETag": '"v1"'})

    http_server.route_handler("/cond", conditional)

    response = run(
        lambda http: http.get(
            http_server.url("/cond"), headers={"If-None-Match": '"v1"'}, accept_statuses=(304,)
        )
    )

    assert response.status == 304
    assert response.content == b""
    assert http_server.requests[0].headers["if-none-match"] == '"v1"'


def test_post_sends_json_and_forms(http_server: LocalHTTPServer) -> None:
    http_server.route("/token", body=b'{"access_token": "x"}')

    async def both(http: HttpClient) -> Any:
        await http.post(http_server.url("/token"), json={"grant": "a"})
        return (await http.post(http_server.url("/token"), data={"grant": "b c"})).json()

    assert run(both) == {"access_token": "x"}
    first, second = http_server.requests
    assert (first.method, first.body) == ("POST", b'{"grant":"a"}')
    assert first.headers["content-type"] == "application/json"
    assert second.body == b"grant=b+c"
    assert second.headers["content-type"] == "application/x-www-form-urlencoded"


def test_requests_to_one_host_are_limited_to_two_at_a_time(http_server: LocalHTTPServer) -> None:
    http_server.route("/slow", body=b"ok", delay=0.05)

    async def six(http: HttpClient) -> list[HttpResponse]:
        return list(await asyncio.gather(*(http.get(http_server.url("/slow")) for _ in range(6))))

    assert [r.status for r in run(six)] == [200] * 6
    assert http_server.peak_concurrency == 2


# -- text and JSON ---------------------------------------------------------------------------


def test_text_uses_the_declared_charset(http_server: LocalHTTPServer) -> None:
    body = "Crème brûlée à l'œuf".replace("œ", "oe").encode("iso-8859-1")
    http_server.route("/l1", body=body, headers={"Content-Type": "text/plain; charset=iso-8859-1"})

    assert get(http_server.url("/l1")).text() == "Crème brûlée à l'oeuf"


def test_text_survives_a_wrong_charset(http_server: LocalHTTPServer) -> None:
    http_server.route(
        "/lie", body="café".encode("latin-1"), headers={"Content-Type": "text/html; charset=utf-8"}
    )

    assert get(http_server.url("/lie")).text() == "caf\ufffd"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, "é"),  # utf-8 by default
        ("text/plain; charset=no-such-charset", "é"),
        ("text/plain; charset=rot13", "é"),  # not a text encoding
        ('text/plain; charset="UTF-8"', "é"),
    ],
)
def test_text_falls_back_to_utf8(content_type: str | None, expected: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = HttpResponse(url="http://x/", status=200, headers=headers, content="é".encode())

    assert response.text() == expected


def test_invalid_json_raises_parse_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/api", body=b'{"items": [1, 2', headers={"Content-Type": "application/json"})
    response = get(http_server.url("/api?access_token=SECRET"))

    with pytest.raises(ParseError, match="is not valid JSON") as info:
        response.json()
    assert "SECRET" not in str(info.value)


# -- statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthFailed, "401 unauthorized"),
        (403, AuthFailed, "403 forbidden"),
        (404, SourceGone, "not found"),
        (410, SourceGone, "gone"),
        (400, FetchError, "error 400 (bad request)"),
        (501, FetchError, "server error 501"),
    ],
)
def test_error_statuses_raise_typed_errors(
    http_server: LocalHTTPServer, status: int, error: type[Exception], words: str
) -> None:
    http_server.route("/x", status)
    sleep = FakeSleep()

    exc = get_error(http_server.url("/x"), error, sleep=sleep)

    assert words in str(exc)
    assert http_server.url("/x") in str(exc)
    assert len(http_server.requests) == 1  # none of these is retried
    assert sleep.calls == []


def test_accepted_statuses_are_returned(http_server: LocalHTTPServer) -> None:
    http_server.route("/gone", 404, b'{"error": "no such user"}')

    response = run(lambda http: http.get(http_server.url("/gone"), accept_statuses={404}))

    assert (response.status, response.json()) == (404, {"error": "no such user"})


# -- retries -------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured_on_429(http_server: LocalHTTPServer) -> None:
    http_server.route_sequence("/r", [Reply(429, headers={"Retry-After": "1"}), Reply(200, b"ok")])
    sleep = FakeSleep()

    response = get(http_server.url("/r"), sleep=sleep)

    assert response.content == b"ok"
    assert sleep.calls == [1.0]
    assert len(http_server.requests) == 2


def test_retry_after_date_is_honoured_on_503(http_server: LocalHTTPServer) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    retry = Reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    http_server.route_sequence("/r", [retry, Reply(200, b"ok")])
    sleep = FakeSleep()

    assert get(http_server.url("/r"), sleep=sleep).content == b"ok"
    assert len(sleep.calls) == 1
    assert 25 < sleep.calls[0] <= 30


def test_huge_retry_after_raises_rate_limited_at_once(http_server: LocalHTTPServer) -> None:
    http_server.route("/r", 429, headers={"Retry-After": "86400"})
    sleep = FakeSleep()

    exc = get_error(http_server.url("/r"), RateLimited, sleep=sleep)

    assert exc.retry_after == 86400
    assert "wait 24.0 hours" in str(exc)
    assert sleep.calls == []
    assert len(http_server.requests) == 1


def test_429_after_all_retries_raises_rate_limited(http_server: LocalHTTPServer) -> None:
    http_server.route("/r", 429, headers={"Retry-After": "2"})
    sleep = FakeSleep()

    exc = get_error(http_server.url("/r"), RateLimited, sleep=sleep, retries=2)

    assert exc.retry_after == 2
    assert sleep.calls == [2.0, 2.0]
    assert len(http_server.requests) == 3


def test_5xx_is_retried_with_jittered_backoff(http_server: LocalHTTPServer) -> None:
    http_server.route_sequence("/r", [Reply(500), Reply(502), Reply(200, b"ok")])
    sleep = FakeSleep()

    assert get(http_server.url("/r"), sleep=sleep).content == b"ok"
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5
    assert 0 <= sleep.calls[1] <= 1.0


def test_backoff_is_capped(http_server: LocalHTTPServer) -> None:
    http_server.route("/r", 500)
    sleep = FakeSleep()

    get_error(http_server.url("/r"), FetchError, sleep=sleep, retries=8, backoff_max_s=2.0)

    assert len(sleep.calls) == 8
    assert max(sleep.calls) <= 2.0


def test_persistent_5xx_raises_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/r", 503)

    exc = get_error(http_server.url("/r"), FetchError)

    assert "server error 503 after 4 attempts" in str(exc)
    assert exc.retryable
    assert len(http_server.requests) == 4


def test_refused_connection_is_retried_then_fetch_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = FakeSleep()

    exc = get_error(f"http://127.0.0.1:{port}/", FetchError, sleep=sleep, retries=2)

    assert "could not connect to 127.0.0.1" in str(exc)
    assert "after 3 attempts" in str(exc)
    assert len(sleep.calls) == 2


def test_unanswered_request_times_out_quickly(http_server: LocalHTTPServer) -> None:
    http_server.route("/hang", body=b"late", delay=60)
    started = time.monotonic()

    exc = get_error(http_server.url("/hang"), FetchError, timeout_s=0.3, retries=1)

    assert time.monotonic() - started < 3
    assert "did not answer in full within 0.3 s" in str(exc)
    assert len(http_server.requests) == 2  # a timeout is retried


def test_total_timeout_covers_a_dripping_body(http_server: LocalHTTPServer) -> None:
    drip = (b"x" for _ in range(1000))
    http_server.route("/drip", chunks=drip, chunk_delay=0.05)
    started = time.monotonic()

    get_error(http_server.url("/drip"), FetchError, timeout_s=0.4, retries=0)

    assert time.monotonic() - started < 3


def test_connection_closed_mid_body_is_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/cut", body=b"x" * 10_000, truncate_at=1000)

    exc = get_error(http_server.url("/cut"), FetchError, retries=1)

    assert "broke in the middle of the response" in str(exc)
    assert len(http_server.requests) == 2


def test_chunked_body_cut_short_is_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/cut", chunks=[b"a" * 100, b"b" * 100], truncate_at=150)

    get_error(http_server.url("/cut"), FetchError, retries=0)


def test_post_is_not_retried_once_sent(http_server: LocalHTTPServer) -> None:
    http_server.route("/token", body=b"x" * 100, truncate_at=10)

    with pytest.raises(FetchError):
        run(lambda http: http.post(http_server.url("/token"), data={"a": "b"}))
    assert len(http_server.requests) == 1


# -- size cap --------------------------------------------------------------------------------


def counted(total: int, piece: bytes = b"z" * 65536) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def test_declared_length_above_the_cap_is_refused_before_reading(
    http_server: LocalHTTPServer,
) -> None:
    size = 50 * 1024 * 1024
    http_server.route("/big", chunks=lambda: counted(size), framing="length", content_length=size)

    exc = get_error(http_server.url("/big"), ResponseTooLarge)

    assert "is 50 MB, more than the 1 MB limit" in str(exc)
    assert not exc.retryable
    request = http_server.requests[0]
    request.wait_finished()
    assert request.aborted
    assert request.bytes_sent < 20 * 1024 * 1024


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_body_without_length_stops_at_the_cap(http_server: LocalHTTPServer, framing: str) -> None:
    http_server.route("/big", chunks=lambda: counted(50 * 1024 * 1024), framing=framing)

    exc = get_error(http_server.url("/big"), ResponseTooLarge)

    assert "larger than the 1 MB limit" in str(exc)
    request = http_server.requests[0]
    request.wait_finished()
    assert request.bytes_sent < 20 * 1024 * 1024


def test_lying_content_length_does_not_lift_the_cap(http_server: LocalHTTPServer) -> None:
    # Declares less than the cap, sends far more: h11 reads only what was declared.
    http_server.route(
        "/lie", chunks=lambda: counted(8 * 1024 * 1024), framing="length", content_length=1000
    )

    assert len(get(http_server.url("/lie")).content) == 1000


def zero_bomb(total: int, wbits: int) -> Iterator[bytes]:
    """``total`` zero bytes compressed on the fly (1 GB → about 1 MB), lazily, in pieces
    of 64 KB that each inflate to about 64 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    pending = b""
    for _ in range(total // len(block)):
        pending += compressor.compress(block)
        if len(pending) >= 65536:
            yield pending
            pending = b""
    yield pending + compressor.flush()


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15), ("deflate", -15)])
def test_compression_bomb_stops_at_the_cap_in_little_memory(
    http_server: LocalHTTPServer, encoding: str, wbits: int
) -> None:
    http_server.route(
        "/bomb", chunks=lambda: zero_bomb(1024**3, wbits), headers={"Content-Encoding": encoding}
    )

    tracemalloc.start()
    try:
        exc = get_error(http_server.url("/bomb"), ResponseTooLarge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "larger than the 1 MB limit" in str(exc)
    assert peak < 8 * CAP  # httpx's own decoder would inflate ~64 MB from one chunk
    request = http_server.requests[0]
    request.wait_finished()
    assert request.bytes_sent < 10 * 1024 * 1024


def test_gzip_and_deflate_bodies_are_decoded(http_server: LocalHTTPServer) -> None:
    text = b"snowflake " * 1000
    http_server.route("/gz", body=gzip.compress(text), headers={"Content-Encoding": "gzip"})
    http_server.route("/zz", body=zlib.compress(text), headers={"Content-Encoding": "deflate"})
    two_members = gzip.compress(b"snow") + gzip.compress(b"flake")
    http_server.route("/2m", body=two_members, headers={"Content-Encoding": "gzip"})

    assert get(http_server.url("/gz")).content == text
    assert get(http_server.url("/zz")).content == text
    assert get(http_server.url("/2m")).content == b"snowflake"


def test_body_exactly_at_the_cap_is_accepted(http_server: LocalHTTPServer) -> None:
    http_server.route("/gz", body=gzip.compress(bytes(CAP)), headers={"Content-Encoding": "gzip"})

    assert len(get(http_server.url("/gz")).content) == CAP


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [("br", b"\x1b\x00", "compressed as 'br'"), ("gzip", b"not gzip", "not valid gzip")],
)
def test_unreadable_compression_is_parse_error(
    http_server: LocalHTTPServer, encoding: str, body: bytes, words: str
) -> None:
    http_server.route("/c", body=body, headers={"Content-Encoding": encoding})

    exc = get_error(http_server.url("/c"), ParseError)

    assert words in str(exc)


# -- redirects -------------------------------------------------------------------------------


def test_redirects_are_followed(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "/new", 301)
    http_server.redirect("/new", http_server.url("/final"), 307)
    http_server.route("/final", body=b"here")

    response = get(http_server.url("/old"))

    assert (response.content, response.url) == (b"here", http_server.url("/final"))


def test_redirect_loop_is_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/loop", "/loop")

    exc = get_error(http_server.url("/loop"), FetchError)

    assert "too many redirects (more than 5)" in str(exc)
    assert len(http_server.requests) == 6


def test_post_303_becomes_get(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/form", "/done", 303)
    http_server.route("/done", body=b"thanks")

    response = run(lambda http: http.post(http_server.url("/form"), data={"a": "b"}))

    assert response.content == b"thanks"
    assert [r.method for r in http_server.requests] == ["POST", "GET"]


def test_credentials_are_not_sent_to_another_host(http_server: LocalHTTPServer) -> None:
    port = http_server.port
    http_server.redirect("/a", "/b")  # same origin: credentials kept
    http_server.redirect("/b", f"http://elsewhere.test:{port}/c")
    http_server.route("/c", body=b"ok")
    headers = {"Authorization": "Bearer t", "X-Api-Key": "k", "Accept": "text/html"}

    run(
        lambda http: http.get(http_server.url("/a"), headers=headers),
        resolver=fake_dns({"elsewhere.test": ["127.0.0.1"]}),
    )

    _, b, c = http_server.requests
    assert b.headers["authorization"] == "Bearer t"
    assert "authorization" not in c.headers
    assert "x-api-key" not in c.headers
    assert c.headers["accept"] == "text/html"


def test_cookies_live_for_one_redirect_chain(http_server: LocalHTTPServer) -> None:
    http_server.route("/login", 302, headers={"Location": "/home", "Set-Cookie": "s=1; Path=/"})
    http_server.route("/home", body=b"ok")

    async def twice(http: HttpClient) -> None:
        await http.get(http_server.url("/login"))
        await http.get(http_server.url("/home"))

    run(twice)

    _, home, again = http_server.requests
    assert home.headers.get("cookie") == "s=1"
    assert "cookie" not in again.headers


# -- SSRF guard ----------------------------------------------------------------------------


def test_redirect_to_another_loopback_address_is_blocked(
    http_server: LocalHTTPServer, second_server: LocalHTTPServer
) -> None:
    second_server.route("/", body=b"secret")
    http_server.redirect("/go", second_server.url("/"))

    exc = get_error(http_server.url("/go"), BlockedAddress)

    assert f"(redirected from {http_server.url('/go')})" in str(exc)
    assert "resolves to a private address (127.0.0.2)" in str(exc)
    assert "set FLOCON_ALLOW_PRIVATE_ADDRESSES=true to allow self-hosted sources" in str(exc)
    assert not exc.retryable
    assert second_server.requests == []


def test_redirect_to_cloud_metadata_is_blocked(http_server: LocalHTTPServer) -> None:
    # A connection attempt would fail as FetchError (tests may not reach the network).
    http_server.redirect("/go", "http://169.254.169.254/latest/meta-data")

    exc = get_error(http_server.url("/go"), BlockedAddress)

    assert "(169.254.169.254)" in str(exc)


@pytest.mark.parametrize(
    "addresses", [["10.0.0.1"], ["93.184.216.34", "10.0.0.1"], ["::ffff:192.168.1.1"]]
)
def test_host_resolving_to_a_private_address_is_blocked(addresses: list[str]) -> None:
    calls: list[tuple[str, int]] = []

    exc = get_error(
        "https://intranet.example/feed",
        BlockedAddress,
        resolver=fake_dns({"intranet.example": addresses}, calls),
    )

    assert "intranet.example resolves to a private address" in str(exc)
    assert calls == [("intranet.example", 443)]


def test_the_checked_address_is_the_one_connected_to(http_server: LocalHTTPServer) -> None:
    # feed.example exists only in the injected resolver: reaching the server proves the
    # connection went to the address the guard checked, with the original Host header.
    http_server.route("/feed", body=b"ok")
    calls: list[tuple[str, int]] = []
    url = f"http://feed.example:{http_server.port}/feed"

    response = get(url, resolver=fake_dns({"feed.example": ["127.0.0.1"]}, calls))

    assert response.content == b"ok"
    assert http_server.requests[0].headers["host"] == f"feed.example:{http_server.port}"
    assert calls == [("feed.example", http_server.port)]


def test_allow_private_addresses_lifts_the_guard(second_server: LocalHTTPServer) -> None:
    second_server.route("/", body=b"self-hosted")

    response = get(second_server.url("/"), allow_private_addresses=True, allowed_hosts=frozenset())

    assert response.content == b"self-hosted"


def test_allowed_hosts_lift_the_guard_for_those_hosts_only(http_server: LocalHTTPServer) -> None:
    http_server.route("/", body=b"ok")
    dns = fake_dns({"forum.lan": ["127.0.0.1"]})
    allowed = frozenset({"forum.lan"})

    ok = get(f"http://forum.lan:{http_server.port}/", resolver=dns, allowed_hosts=allowed)
    assert ok.content == b"ok"
    get_error(http_server.url("/"), BlockedAddress, resolver=dns, allowed_hosts=allowed)


def test_unresolvable_host_is_fetch_error() -> None:
    exc = get_error("http://nowhere.example/", FetchError, resolver=fake_dns({}), retries=0)

    assert "cannot look up nowhere.example" in str(exc)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/pub", "gopher://example.org/", "example.org"]
)
def test_other_schemes_are_refused(url: str) -> None:
    exc = get_error(url, BlockedAddress)

    assert "only http:// and https:// addresses can be fetched" in str(exc)


def test_redirect_to_another_scheme_is_refused(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/go", "file:///etc/passwd")

    exc = get_error(http_server.url("/go"), BlockedAddress)

    assert f"refused to follow {http_server.url('/go')} to file:///etc/passwd" in str(exc)


def test_redirect_without_location_is_fetch_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/moved", 302, b"somewhere")

    exc = get_error(http_server.url("/moved"), FetchError)

    assert "answered 302 (moved) without saying where" in str(exc)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses(address: str) -> None:
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses(address: str) -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address(address))


# -- TLS -------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "feed.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("feed.example")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_context(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a self-signed certificate for feed.example."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_tls_is_verified_with_the_original_server_name(tls_context: ssl.SSLContext) -> None:
    server_names: list[str | None] = []
    tls_context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    with LocalHTTPServer(tls=tls_context) as server:
        server.route("/", body=b"never sent")

        exc = get_error(
            f"https://feed.example:{server.port}/",
            FetchError,
            resolver=fake_dns({"feed.example": ["127.0.0.1"]}),
        )

        assert server.requests == []
    assert "security certificate of feed.example could not be verified" in str(exc)
    assert server_names == ["feed.example"]  # SNI is the name, not the address; no retry


def test_tls_to_the_checked_address_works_with_a_trusted_certificate(
    tls_context: ssl.SSLContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trust the test certificate as if a public authority had signed it: the connection
    # goes to 127.0.0.1 and the certificate is still checked against feed.example.
    trusting = ssl.create_default_context(cafile=tmp_path / "cert.pem")
    monkeypatch.setattr(httpx, "create_ssl_context", lambda **_kwargs: trusting)
    dns = fake_dns({"feed.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    with LocalHTTPServer(tls=tls_context) as server:
        server.route("/", body=b"secure")

        ok = get(f"https://feed.example:{server.port}/", resolver=dns)
        wrong = get_error(f"https://other.example:{server.port}/", FetchError, resolver=dns)

    assert ok.content == b"secure"
    assert "could not be verified" in str(wrong)


# -- secrets ---------------------------------------------------------------------------------


def test_secrets_are_redacted_from_errors_and_logs(
    http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.route("/api", 500)
    port = http_server.port
    url = (
        f"http://bob:hunter2@127.0.0.1:{port}/api?access_token=TOK1&key=KEY2"
        "&client_secret=SEC3&q=keep"
    )
    caplog.set_level(logging.DEBUG, logger="flocon.connectors.http")

    exc = get_error(url, FetchError, retries=1)

    shown = f"http://bob:***@127.0.0.1:{port}/api?access_token=***&key=***&client_secret=***&q=keep"
    assert shown in str(exc)
    assert exc.url == shown
    everything = str(exc) + caplog.text
    for secret in ("hunter2", "TOK1", "KEY2", "SEC3"):
        assert secret not in everything
    assert "attempt 2 of 2" in caplog.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p?a=1&token=x", "https://h/p?a=1&token=***"),
        ("https://h/p?api_key=x&apiKey=y&sig=z", "https://h/p?api_key=***&apiKey=***&sig=***"),
        ("https://h/p?refresh_token=x#frag", "https://h/p?refresh_token=***#frag"),
        ("https://tok@h/p", "https://***@h/p"),
        ("https://h/p?q=x", "https://h/p?q=x"),
        ("http://[::1/p?token=x", "http://[::1/p?token=***"),  # unparsable: still redacted
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# -- helpers ---------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("inf", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None


def test_build_http_client_uses_the_settings() -> None:
    settings = Settings(http_timeout_s=7, http_retries=1, allow_private_addresses=True)

    async def build() -> HttpConfig:
        async with build_http_client(settings) as http:
            return http.config

    config = asyncio.run(build())

    assert (config.timeout_s, config.retries, config.allow_private_addresses) == (7, 1, True)
    assert config.user_agent.startswith("flocon/")
    assert config.max_bytes == 10 * 1024 * 1024


def test_metadata_address_stays_refused_when_private_addresses_are_allowed() -> None:
    from flocon.connectors.http.guard import AddressPolicy

    policy = AddressPolicy.build(allow_private=True, allowed_hosts=())
    assert policy.refused_address("10.0.0.5", ["10.0.0.5"]) is None
    assert policy.refused_address("meta.internal", ["169.254.169.254"]) == "169.254.169.254"
