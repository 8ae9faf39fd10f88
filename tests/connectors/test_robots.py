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
