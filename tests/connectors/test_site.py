"""The site connector: pure parts (sitemaps, links, scope), then crawls of a local server."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest
from server import LocalHTTPServer

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.connectors.site import Scope, SiteConnector, crawl_options, page_links
from flocon.connectors.sitemap import parse_sitemap
from flocon.errors import ParseError

HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
TEXT = {"Content-Type": "text/plain"}


def page(title: str, *links: str, extra: str = "") -> str:
    """A page with enough text for trafilatura and the given links."""
    anchors = "".join(f"<li><a href='{link}'>{link}</a></li>" for link in links)
    body = f"Texte de la page {title}, assez long pour être retenu comme article. " * 15
    return (
        f"<html lang='fr'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}{extra}</p></article><ul>{anchors}</ul></body></html>"
    )


def serve(server: LocalHTTPServer, pages: dict[str, str]) -> None:
    for path, html in pages.items():
        server.route(path, body=html, headers=HTML)


def requested(server: LocalHTTPServer) -> list[str]:
    return [r.route for r in server.requests]


def site_source(url: str, cursor: dict[str, Any] | None = None, **options: str) -> SourceSpec:
    return SourceSpec(
        id=1, kind="site", name="veille-site", target=url, options=options, cursor=cursor or {}
    )


def fetch(source: SourceSpec, sleeps: list[float] | None = None) -> FetchResult:
    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await SiteConnector(sleep=fake_sleep).fetch(source, http)

    return asyncio.run(run())


def articles(result: FetchResult) -> set[str | None]:
    return {d.external_id for d in result.drafts if d.parent_external_id is None}


# --------------------------------------------------------------------------- sitemap (pure)

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://blog.example.fr/actualites/a</loc><lastmod>2024-01-06</lastmod></url>
  <url><loc> https://blog.example.fr/actualites/b </loc>
       <lastmod>2024-01-07T10:30:00+01:00</lastmod></url>
  <url><loc>https://blog.example.fr/actualites/c</loc></url>
</urlset>"""


def test_urlset_gives_pages_and_utc_lastmods() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.sitemaps == []
    assert sitemap.pages == [
        ("https://blog.example.fr/actualites/a", datetime(2024, 1, 6, tzinfo=UTC)),
        ("https://blog.example.fr/actualites/b", datetime(2024, 1, 7, 9, 30, tzinfo=UTC)),
        ("https://blog.example.fr/actualites/c", None),
    ]


def test_sitemap_index_gives_sitemaps() -> None:
    raw = (
        b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<sitemap><loc>https://x.example/s1.xml</loc><lastmod>2024-02-01</lastmod></sitemap>"
        b"</sitemapindex>"
    )
    assert parse_sitemap(raw).sitemaps == [
        ("https://x.example/s1.xml", datetime(2024, 2, 1, tzinfo=UTC))
    ]


def test_gzipped_sitemap_is_read() -> None:
    assert len(parse_sitemap(gzip.compress(URLSET)).pages) == 3


def test_sitemap_with_entities_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;">]><urlset><url><loc>&lol2;</loc></url></urlset>'
    )
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse_sitemap(bomb)


@pytest.mark.parametrize("raw", [b"<html><body>soft 404</body></html>", b"not xml at all <"])
def test_what_is_not_a_sitemap_is_a_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sitemap(raw)


# --------------------------------------------------------------------------- links, scope (pure)


def test_page_links_skip_files_fragments_and_other_schemes() -> None:
    html = page(
        "x",
        "/a/",
        "b?utm_source=x",
        "#top",
        "mailto:a@b.fr",
        "javascript:void(0)",
        "/photo.JPG",
        "/doc.pdf",
        "/a/#comments",
        "https://other.example/z",
    )
    assert page_links(html.encode(), page_url="https://blog.example.fr/dir/p") == [
        "https://blog.example.fr/a/",
        "https://blog.example.fr/dir/b",
        "https://other.example/z",
    ]


def test_scope_is_the_host_and_the_path_prefix() -> None:
    scope = Scope.of("https://blog.example.fr/actualites/", crawl_options({}))
    assert scope.contains("https://blog.example.fr/actualites/2024/a")
    assert scope.contains("https://blog.example.fr/actualites")
    assert not scope.contains("https://blog.example.fr/actualites-old/a")
    assert not scope.contains("https://blog.example.fr/autre/")
    assert not scope.contains("https://www.blog.example.fr/actualites/a")
    assert not scope.contains("http://blog.example.fr/actualites/a")
    assert Scope.of("https://x.example/blog/index.html", crawl_options({})).contains(
        "https://x.example/blog/2024/a"
    )


def test_include_and_exclude_apply_to_the_path_and_query() -> None:
    options = crawl_options({"include": r"/20\d\d/", "exclude": r"replytocom="})
    scope = Scope.of("https://x.example/", options)
    assert scope.contains("https://x.example/2024/a")
    assert not scope.contains("https://x.example/tag/a")
    assert not scope.contains("https://x.example/2024/a?replytocom=3")


def test_target_and_options_are_checked() -> None:
    connector = SiteConnector()
    assert connector.normalize_target(" HTTPS://Blog.Example.FR/actualites/#x ", {}) == (
        "https://blog.example.fr/actualites/"
    )
    with pytest.raises(ValueError, match="full address"):
        connector.normalize_target("blog.example.fr", {})
    with pytest.raises(ValueError, match="max_pages must be between 1 and 500"):
        connector.normalize_target("https://x.example/", {"max_pages": "501"})
    with pytest.raises(ValueError, match="max_depth"):
        connector.normalize_target("https://x.example/", {"max_depth": "deux"})
    with pytest.raises(ValueError, match="exclude is not a valid regular expression"):
        connector.normalize_target("https://x.example/", {"exclude": "("})


# --------------------------------------------------------------------------- crawling


def test_crawl_stays_on_the_host_and_under_the_path(http_server: LocalHTTPServer) -> None:
    other_host = http_server.url("/blog/y").replace("127.0.0.1", "localhost")
    serve(
        http_server,
        {
            "/blog/": page("index", "/autre/x", other_host, "/blog-old/z", "/blog/ok", "/"),
            "/blog/ok": page("ok"),
            "/autre/x": page("x"),
            "/blog-old/z": page("z"),
        },
    )
    result = fetch(site_source(http_server.url("/blog/")))
    assert [r for r in requested(http_server) if r.startswith("/blog")] == ["/blog/", "/blog/ok"]
    assert "/autre/x" not in requested(http_server)
    assert articles(result) == {http_server.url("/blog/"), http_server.url("/blog/ok")}
    assert all(d.source_kind == "site" for d in result.drafts)


def test_robots_disallow_is_respected(http_server: LocalHTTPServer) -> None:
    http_server.route(
        "/robots.txt", body="User-agent: flocon\nDisallow: /blog/prive/\n", headers=TEXT
    )
    serve(
        http_server,
        {
            "/blog/": page("index", "/blog/a", "/blog/prive/b"),
            "/blog/a": page("a"),
            "/blog/prive/b": page("b"),
        },
    )
    fetch(site_source(http_server.url("/blog/")))
    assert "/blog/a" in requested(http_server)
    assert "/blog/prive/b" not in requested(http_server)


def test_crawl_delay_is_slept_between_requests(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", body="User-agent: *\nCrawl-delay: 4\n", headers=TEXT)
    serve(http_server, {"/": page("index", "/a", "/b"), "/a": page("a"), "/b": page("b")})
    sleeps: list[float] = []
    fetch(site_source(http_server.url("/")), sleeps)
    # robots.txt, then /sitemap.xml (404), /, /a, /b: a wait before each but the first
    assert requested(http_server) == ["/robots.txt", "/sitemap.xml", "/", "/a", "/b"]
    assert sleeps == [4.0, 4.0, 4.0, 4.0]


def test_robots_forbidden_means_nothing_is_crawled(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", status=403)
    serve(http_server, {"/": page("index", "/a")})
    result = fetch(site_source(http_server.url("/"), cursor={"pages": []}))
    assert result.drafts == []
    assert requested(http_server) == ["/robots.txt"]
    assert "nothing crawled" in result.note
    assert "403" in result.note
    assert result.cursor == {"pages": []}


def sitemap_xml(server: LocalHTTPServer, entries: dict[str, str]) -> str:
    urls = "".join(
        f"<url><loc>{server.url(path)}</loc><lastmod>{lastmod}</lastmod></url>"
        for path, lastmod in entries.items()
    )
    return f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"


def test_sitemap_lastmod_limits_the_second_fetch_to_changed_pages(
    http_server: LocalHTTPServer,
) -> None:
    http_server.route(
        "/robots.txt", body=f"Sitemap: {http_server.url('/plan.xml')}\n", headers=TEXT
    )
    serve(http_server, {"/news/": page("index"), "/news/a": page("a"), "/news/b": page("b")})
    dates = {"/news/a": "2024-01-06", "/news/b": "2024-01-06"}
    http_server.route("/plan.xml", body=sitemap_xml(http_server, dates), headers=XML)
    first = fetch(site_source(http_server.url("/news/")))
    assert articles(first) == {http_server.url(p) for p in ("/news/", "/news/a", "/news/b")}

    http_server.route("/news/b", body=page("b", extra=" Mise à jour."), headers=HTML)
    dates["/news/b"] = "2024-02-01T09:00:00+01:00"
    http_server.route("/plan.xml", body=sitemap_xml(http_server, dates), headers=XML)
    before = len(http_server.requests)
    second = fetch(site_source(http_server.url("/news/"), cursor=first.cursor))
    assert articles(second) == {http_server.url("/news/b")}
    assert "Mise à jour." in second.drafts[0].text
    assert requested(http_server)[before:] == ["/robots.txt", "/plan.xml", "/news/", "/news/b"]
    assert "1 unchanged per the sitemap" in second.note


def test_unchanged_pages_are_not_returned_again(http_server: LocalHTTPServer) -> None:
    serve(http_server, {"/": page("index", "/a"), "/a": page("a")})
    first = fetch(site_source(http_server.url("/")))
    assert len(articles(first)) == 2
    http_server.route("/a", body=page("a", extra=" Nouveau paragraphe."), headers=HTML)
    second = fetch(site_source(http_server.url("/"), cursor=first.cursor))
    assert articles(second) == {http_server.url("/a")}
    third = fetch(site_source(http_server.url("/"), cursor=second.cursor))
    assert third.drafts == []
    assert "2 unchanged" in third.note


def test_max_depth_stops_following_links(http_server: LocalHTTPServer) -> None:
    serve(
        http_server,
        {
            "/": page("0", "/1"),
            "/1": page("1", "/2"),
            "/2": page("2", "/3"),
            "/3": page("3"),
        },
    )
    fetch(site_source(http_server.url("/"), max_depth="2"))
    assert [r for r in requested(http_server) if r[1:].isdigit()] == ["/1", "/2"]


def test_max_pages_caps_the_crawl_and_the_next_fetch_goes_on(
    http_server: LocalHTTPServer,
) -> None:
    links = [f"/p{i}" for i in range(6)]
    serve(http_server, {"/": page("index", *links), **{p: page(p) for p in links}})
    first = fetch(site_source(http_server.url("/"), max_pages="3"))
    assert requested(http_server)[2:] == ["/", "/p0", "/p1"]
    assert "4 page(s) left" in first.note
    before = len(http_server.requests)
    second = fetch(site_source(http_server.url("/"), cursor=first.cursor, max_pages="3"))
    assert requested(http_server)[before + 2 :] == ["/", "/p2", "/p3"]  # never fetched first
    assert articles(second) == {http_server.url("/p2"), http_server.url("/p3")}


def test_a_link_loop_is_fetched_once(http_server: LocalHTTPServer) -> None:
    serve(
        http_server, {"/": page("index", "/a"), "/a": page("a", "/b", "/"), "/b": page("b", "/a")}
    )
    fetch(site_source(http_server.url("/"), max_depth="10"))
    assert requested(http_server)[2:] == ["/", "/a", "/b"]


def test_missing_pages_are_skipped_with_a_note(http_server: LocalHTTPServer) -> None:
    serve(http_server, {"/": page("index", "/gone", "/a"), "/a": page("a")})
    result = fetch(site_source(http_server.url("/")))
    assert articles(result) == {http_server.url("/"), http_server.url("/a")}
    assert f"1 page(s) skipped: {http_server.url('/gone')} not found" in result.note


def test_non_html_answers_are_skipped(http_server: LocalHTTPServer) -> None:
    serve(http_server, {"/": page("index", "/data")})
    http_server.route("/data", body=b"{}", headers={"Content-Type": "application/json"})
    result = fetch(site_source(http_server.url("/")))
    assert articles(result) == {http_server.url("/")}
    assert "1 not HTML" in result.note
