"""robots.txt: pure parsing, then the conventions of robots_for against a local server."""

from __future__ import annotations

import asyncio
import socket

from server import LocalHTTPServer

from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.robots import Robots, parse_robots, robots_for, robots_url

ROBOTS = """\
# a comment
User-agent: *
Disallow: /admin/

User-agent: flocon
Disallow: /blog/prive/
Crawl-delay: 2.5

Sitemap: https://blog.example.fr/sitemap.xml
Sitemap: https://blog.example.fr/sitemap-news.xml
"""


def test_the_flocon_group_applies_to_flocon() -> None:
    robots = parse_robots(ROBOTS)
    assert not robots.can_fetch("https://blog.example.fr/blog/prive/note")
    assert robots.can_fetch("https://blog.example.fr/blog/public")
    assert robots.can_fetch("https://blog.example.fr/admin/")  # only `*` forbids it
    assert robots.crawl_delay == 3  # whole seconds, rounded up


def test_the_star_group_applies_when_flocon_has_none() -> None:
    robots = parse_robots("User-agent: *\nDisallow: /admin/\n")
    assert not robots.can_fetch("https://blog.example.fr/admin/x")
    assert robots.can_fetch("https://blog.example.fr/x")
    assert robots.crawl_delay is None


def test_sitemap_lines_are_listed_once_in_order() -> None:
    assert parse_robots(ROBOTS + "Sitemap: https://blog.example.fr/sitemap.xml\n").sitemaps == (
        "https://blog.example.fr/sitemap.xml",
        "https://blog.example.fr/sitemap-news.xml",
    )


def test_empty_file_allows_everything() -> None:
    assert parse_robots("").can_fetch("https://blog.example.fr/anything")


def test_robots_url_is_at_the_origin() -> None:
    assert (
        robots_url("https://blog.example.fr:8443/a/b?c=1")
        == "https://blog.example.fr:8443/robots.txt"
    )


def robots_of(url: str) -> Robots:
    async def run() -> Robots:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await robots_for(http, url)

    return asyncio.run(run())


def test_fetched_robots_txt_is_applied(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", body=ROBOTS, headers={"Content-Type": "text/plain"})
    robots = robots_of(http_server.url("/blog/"))
    assert not robots.can_fetch(http_server.url("/blog/prive/x"))
    assert robots.can_fetch(http_server.url("/blog/x"))
    assert robots.note == ""


def test_missing_robots_txt_allows_everything(http_server: LocalHTTPServer) -> None:
    robots = robots_of(http_server.url("/blog/"))  # no route: 404
    assert robots.can_fetch(http_server.url("/blog/prive/x"))
    assert robots.note == ""


def test_forbidden_robots_txt_allows_nothing(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", status=403)
    robots = robots_of(http_server.url("/blog/"))
    assert not robots.can_fetch(http_server.url("/blog/x"))
    assert "403" in robots.note


def test_server_error_on_robots_txt_allows_nothing(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", status=503)
    assert not robots_of(http_server.url("/")).can_fetch(http_server.url("/x"))


def test_unreachable_robots_txt_allows_everything_with_a_note() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    robots = robots_of(f"http://127.0.0.1:{port}/blog/")
    assert robots.can_fetch(f"http://127.0.0.1:{port}/blog/x")
    assert "could not be read" in robots.note


# Wildcards, specificity and percent-encoding (RFC 9309, section 2.2.3)


def allowed(rules: str, path: str) -> bool:
    return parse_robots(f"User-agent: *\n{rules}\n").can_fetch(f"https://blog.example.fr{path}")


def test_star_and_dollar_anchor_the_end_of_the_path() -> None:
    assert not allowed("Disallow: /*.pdf$", "/a/b.pdf")
    assert not allowed("Disallow: /*.pdf$", "/b.pdf")
    assert allowed("Disallow: /*.pdf$", "/a/b.pdf?x=1")
    assert allowed("Disallow: /*.pdf$", "/a.pdfx")
    assert allowed("Disallow: /*.pdf$", "/a/b.PDF")


def test_star_then_a_slash() -> None:
    assert not allowed("Disallow: /private*/", "/private/")
    assert not allowed("Disallow: /private*/", "/private-notes/x")
    assert allowed("Disallow: /private*/", "/private")
    assert allowed("Disallow: /private*/", "/privateer")


def test_a_longer_allow_overrides_a_shorter_disallow() -> None:
    rules = "Disallow: /p/\nAllow: /p/*/public"
    assert allowed(rules, "/p/x/public")
    assert allowed(rules, "/p/x/y/public/page")
    assert not allowed(rules, "/p/x/private")
    assert not allowed(rules, "/p/")
    # the order of the lines does not matter, only their length
    assert allowed("Allow: /p/*/public\nDisallow: /p/", "/p/x/public")
    # a longer Disallow still wins over a shorter Allow
    assert not allowed("Allow: /p/\nDisallow: /p/*/secret", "/p/x/secret")


def test_equal_length_allow_and_disallow_allow_wins() -> None:
    assert allowed("Disallow: /page\nAllow: /page", "/page")
    assert allowed("Disallow: /a*c\nAllow: /a*b", "/axbxc")  # both match, both 4 long
    assert not allowed("Disallow: /a*cc\nAllow: /a*b", "/axbxcc")


def test_dollar_alone() -> None:
    assert not allowed("Disallow: /$", "/")
    assert not allowed("Disallow: /$", "")  # no path: "/"
    assert allowed("Disallow: /$", "/a")
    assert allowed("Disallow: /$", "/?x=1")
    assert allowed("Disallow: $", "/")  # a bare `$` matches no path (all start with /)


def test_star_in_the_middle_with_query_strings() -> None:
    rules = "Disallow: /*?*sessionid="
    assert not allowed(rules, "/shop/item?sessionid=42")
    assert not allowed(rules, "/shop?page=2&sessionid=42")
    assert allowed(rules, "/shop/sessionid=42")
    assert allowed(rules, "/shop?page=2")
    assert not allowed("Disallow: /search?q=*&page=", "/search?q=chat&page=3")
    assert allowed("Disallow: /search?q=*&page=", "/search?q=chat")


def test_percent_encoding_is_normalised() -> None:
    assert not allowed("Disallow: /caf%C3%A9", "/café")
    assert not allowed("Disallow: /café", "/caf%C3%A9")
    assert not allowed("Disallow: /caf%c3%a9", "/caf%C3%A9/menu")
    assert not allowed("Disallow: /%7Euser", "/~user/x")  # unreserved: decoded
    assert allowed("Disallow: /a%2Fb", "/a/b")  # reserved: stays distinct
    assert not allowed("Disallow: /a%2fb", "/a%2Fb")
    assert not allowed("Disallow: /*é$", "/x/%C3%A9")


def test_empty_disallow_allows_everything() -> None:
    assert allowed("Disallow:", "/")
    assert allowed("Disallow:", "/anything/at/all?x=1")
    assert not allowed("Disallow:\nDisallow: /x", "/x")


def test_repeated_stars_and_redundant_ends() -> None:
    assert not allowed("Disallow: /a***b", "/a-b")
    assert not allowed("Disallow: /a*$", "/abc")
    assert not allowed("Disallow: /a*", "/a")
    assert allowed("Disallow: /a*", "/b")
    assert not allowed("Disallow: /*", "/")
    assert not allowed("Disallow: *", "/x")


def test_pathological_patterns_stay_fast() -> None:
    import time

    pattern = "/" + "*a" * 40 + "*b$"
    start = time.perf_counter()
    assert allowed(f"Disallow: {pattern}", "/" + "a" * 5000)
    assert not allowed(f"Disallow: {pattern}", "/" + "a" * 5000 + "b")
    assert time.perf_counter() - start < 1.0


def test_group_choice_is_unchanged_with_wildcards() -> None:
    robots = parse_robots(
        "User-agent: *\nDisallow: /\n\nUser-agent: flocon\nDisallow: /*.zip$\nAllow: /\n"
    )
    assert robots.can_fetch("https://blog.example.fr/blog/")
    assert not robots.can_fetch("https://blog.example.fr/files/x.zip")
    other = parse_robots("User-agent: *\nDisallow: /*.zip$\n", user_agent="otherbot")
    assert not other.can_fetch("https://blog.example.fr/x.zip")
