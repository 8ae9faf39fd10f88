"""The web connector: pure parsers on recorded pages, then fetching from a local server."""

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
from flocon.connectors.web import (
    WebConnector,
    discourse_posts,
    parse_page,
    wordpress_api_comments,
)
from flocon.connectors.web.common import PageContext
from flocon.domain.models import Draft
from flocon.errors import DisallowedByRobots, ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json; charset=utf-8"}
ARTICLE = "https://blog.example.fr/2024/01/galette-des-rois/"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def by_id(drafts: list[Draft]) -> dict[str | None, Draft]:
    return {draft.external_id: draft for draft in drafts}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- WordPress

#: comment id → (author, UTC date, parent comment id or None for the article)
WORDPRESS_THREAD = {
    101: ("Jérôme", utc(2024, 1, 6, 9, 15), None),
    102: ("Céline Martin", utc(2024, 1, 6, 10, 2), 101),
    103: ("Jérôme", utc(2024, 1, 6, 11, 30), 102),
    104: ("Anaïs", utc(2024, 1, 7, 7, 0), 101),
    105: ("François Lefèvre", utc(2024, 2, 1, 22, 45), None),
    106: ("Zoé", utc(2024, 8, 15, 12, 5), None),
}


def assert_wordpress_thread(drafts: list[Draft], *, markup: bool) -> None:
    assert len(drafts) == 1 + len(WORDPRESS_THREAD)
    found = by_id(drafts)
    for comment_id, (author, date, parent) in WORDPRESS_THREAD.items():
        draft = found[f"{ARTICLE}#comment-{comment_id}"]
        assert draft.source_kind == "web"
        assert draft.author is not None
        assert draft.author.name == author
        if markup and comment_id == 106:  # only a French text date, no time zone: read as UTC
            assert draft.published_at == utc(2024, 8, 15, 14, 5)
        else:
            assert draft.published_at == date
        assert draft.parent_external_id == (f"{ARTICLE}#comment-{parent}" if parent else ARTICLE)
        assert draft.url == f"{ARTICLE}#comment-{comment_id}"
    assert found[f"{ARTICLE}#comment-101"].text.startswith("Très déçu par la hausse du prix, 2 €")
    assert found[f"{ARTICLE}#comment-105"].text == (
        "La fève était une petite couronne dorée, très réussie.\n\nBravo à l’équipe !"
        if not markup
        else "La fève était une petite couronne dorée, très réussie.\n\nBravo à l'équipe !"
    )


def test_french_wordpress_article_gives_the_article_and_every_threaded_comment() -> None:
    page = parse_page(
        fixture("wordpress_fr.html"),
        source_name="blog",
        page_url=ARTICLE,
        content_type="text/html; charset=UTF-8",
    )
    assert page.engine == "wordpress"
    assert page.article_id == ARTICLE
    article = page.drafts[0]
    assert article.external_id == ARTICLE
    assert article.parent_external_id is None
    assert article.title == "Notre avis sur la nouvelle galette des rois"
    assert article.author is not None
    assert article.author.name == "Céline Martin"
    assert article.published_at == utc(2024, 1, 6, 8, 30)
    assert article.lang == "fr"
    assert "frangipane est plus légère" in article.text
    assert "Très déçu" not in article.text
    assert_wordpress_thread(page.drafts, markup=True)


def test_wordpress_page_announces_its_rest_api_and_post_id() -> None:
    page = parse_page(fixture("wordpress_fr.html"), source_name="blog", page_url=ARTICLE)
    assert page.wordpress is not None
    assert page.wordpress.post_id == 4242
    assert page.wordpress.comments_url() == "https://blog.example.fr/wp-json/wp/v2/comments"


def test_wordpress_rest_api_comments_match_the_markup() -> None:
    context = PageContext(source_name="blog", page_url=ARTICLE, article_id=ARTICLE)
    data = json.loads(fixture("wordpress_comments_api.json"))
    comments = wordpress_api_comments(data, context)
    article = parse_page(fixture("wordpress_fr.html"), source_name="blog", page_url=ARTICLE)
    assert_wordpress_thread([article.drafts[0], *comments], markup=False)


def test_wordpress_rest_api_answer_that_is_not_a_list_is_a_parse_error() -> None:
    context = PageContext(source_name="blog", page_url=ARTICLE, article_id=ARTICLE)
    with pytest.raises(ParseError, match="did not answer with a list"):
        wordpress_api_comments({"code": "rest_no_route"}, context)


# --------------------------------------------------------------------------- other engines


def test_discourse_posts_keep_reply_links_and_the_first_post_is_the_topic() -> None:
    topic_url = "https://forum.example.org/t/probleme-de-synchronisation/77"
    context = PageContext(source_name="forum", page_url=topic_url, article_id=topic_url)
    first = discourse_posts(json.loads(fixture("discourse_topic.json")), context)
    more = discourse_posts(json.loads(fixture("discourse_posts.json")), context)
    found = by_id(first + more)
    assert list(found) == [topic_url, f"{topic_url}/2", f"{topic_url}/3", f"{topic_url}/4"]
    topic = found[topic_url]
    assert topic.parent_external_id is None
    assert topic.title == "Problème de synchronisation après la mise à jour"
    assert topic.author is not None
    assert (topic.author.name, topic.author.handle) == ("Marie L.", "marie_l")
    assert topic.likes == 3
    assert found[f"{topic_url}/2"].parent_external_id == topic_url
    assert found[f"{topic_url}/3"].parent_external_id == f"{topic_url}/2"
    assert found[f"{topic_url}/4"].parent_external_id == topic_url
    assert found[f"{topic_url}/4"].author.name == "jean"  # type: ignore[union-attr]
    assert found[f"{topic_url}/3"].published_at == utc(2024, 3, 10, 10, 0)


def test_jsonld_discussion_forum_posting_gives_nested_comments() -> None:
    url = "https://coffee.example.com/threads/best-budget-espresso.812/"
    page = parse_page(fixture("jsonld_forum.html"), source_name="coffee", page_url=url)
    assert page.engine == "schema.org"
    found = by_id(page.drafts)
    assert page.drafts[0].external_id == url
    assert page.drafts[0].published_at == utc(2024, 6, 1, 8, 0)
    post2, post3, post4 = (found[f"{url}post-{n}"] for n in (2, 3, 4))
    assert post2.author is not None
    assert post2.author.name == "crema_king"
    assert post2.parent_external_id == url
    assert post3.parent_external_id == post2.external_id
    assert post3.author.name == "oldtimer"  # type: ignore[union-attr]
    assert post4.author.name == "grindfirst"  # type: ignore[union-attr]
    assert post4.published_at == utc(2024, 6, 2, 6, 0)


def test_microdata_comments_are_read_with_their_nesting() -> None:
    html = """<html><body><article><p>Main text of the review page about the blender.</p></article>
    <div itemscope itemtype="https://schema.org/Comment" id="c1">
      <span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Ana</span></span>
      <time itemprop="dateCreated" datetime="2024-02-03T10:00:00+01:00">3 février</time>
      <div itemprop="text">Bon produit.</div>
      <div itemscope itemtype="https://schema.org/Comment" id="c2">
        <span itemprop="author">Luc</span><div itemprop="text">Pas d'accord.</div>
      </div>
    </div></body></html>"""
    page = parse_page(html.encode(), source_name="s", page_url="https://shop.example/p/1")
    found = by_id(page.drafts)
    first, reply = found["https://shop.example/p/1#c1"], found["https://shop.example/p/1#c2"]
    assert (first.author.name, first.text) == ("Ana", "Bon produit.")  # type: ignore[union-attr]
    assert first.published_at == utc(2024, 2, 3, 9, 0)
    assert first.parent_external_id == "https://shop.example/p/1"
    assert (reply.author.name, reply.parent_external_id) == ("Luc", first.external_id)  # type: ignore[union-attr]


def test_phpbb_page_gives_the_first_post_as_the_thread_and_a_next_link() -> None:
    url = "https://forum.example.fr/viewtopic.php?t=55"
    page = parse_page(fixture("phpbb_page1.html"), source_name="velo", page_url=url)
    assert page.engine == "phpbb"
    assert page.next_url == "https://forum.example.fr/viewtopic.php?t=55&start=2"
    thread, reply = page.drafts
    assert thread.external_id == url
    assert thread.author.name == "Hélène"  # type: ignore[union-attr]
    assert thread.title == "Avis sur le vélo Brompton"
    assert reply.external_id == f"{url}#p1002"
    assert reply.author.name == "Marc"  # type: ignore[union-attr]
    assert reply.parent_external_id == url
    assert reply.url == "https://forum.example.fr/viewtopic.php?p=1002#p1002"
    assert reply.published_at == utc(2024, 5, 2, 8, 0)


def test_non_html_content_type_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a web page: content type application/pdf"):
        parse_page(
            b"%PDF-1.4",
            source_name="s",
            page_url="https://x.example/a.pdf",
            content_type="application/pdf",
        )


def test_latin1_page_declared_as_utf8_keeps_its_accents() -> None:
    html = (
        "<html><body><ol class='comment-list'><li id='comment-1' class='comment'>"
        "<div class='comment-author'><cite class='fn'>Hélène</cite></div>"
        "<div class='comment-content'><p>Très bien, merci à vous</p></div></li></ol></body></html>"
    ).encode("latin-1")
    page = parse_page(
        html,
        source_name="s",
        page_url="https://x.example/a",
        content_type="text/html; charset=utf-8",
    )
    comment = page.drafts[-1]
    assert comment.text == "Très bien, merci à vous"
    assert comment.author.name == "Hélène"  # type: ignore[union-attr]


def test_broken_html_still_gives_the_comments() -> None:
    html = (
        b"<html><body><p>Some text<div><ol class='comment-list'>"
        b"<li id='comment-7' class='comment'><div class='comment-content'><p>unclosed"
        b"<ul class='children'><li id='comment-8' class='comment'>"
        b"<div class='comment-content'>reply</ul></ol>"
    )
    page = parse_page(html, source_name="s", page_url="https://x.example/a")
    found = by_id(page.drafts)
    assert found["https://x.example/a#comment-8"].parent_external_id == (
        "https://x.example/a#comment-7"
    )


def thousand_comments() -> bytes:
    items = "".join(
        f"<li id='comment-{i}' class='comment'><article class='comment-body'>"
        f"<div class='comment-author'><b class='fn'>Lecteur {i}</b></div>"
        f"<time datetime='2024-03-01T10:{i % 60:02d}:00Z'>x</time>"
        f"<div class='comment-content'><p>Commentaire numéro {i}, plutôt d'accord.</p></div>"
        f"</article>"
        + (
            f"<ul class='children'><li id='comment-{i}000' class='comment'><article>"
            f"<div class='comment-content'><p>Réponse à {i}</p></div></article></li></ul>"
            if i % 10 == 0
            else ""
        )
        + "</li>"
        for i in range(1, 1001)
    )
    body = "<p>" + "Un long article. " * 200 + "</p>"
    return f"<html lang='fr'><body><article>{body}</article><ol class='comment-list'>{items}</ol></body></html>".encode()


def test_a_thousand_comments_parse_in_reasonable_time() -> None:
    raw = thousand_comments()
    start = time.perf_counter()
    page = parse_page(raw, source_name="s", page_url="https://x.example/a")
    elapsed = time.perf_counter() - start
    assert len(page.drafts) == 1 + 1000 + 100
    assert by_id(page.drafts)["https://x.example/a#comment-10000"].parent_external_id == (
        "https://x.example/a#comment-10"
    )
    assert elapsed < 10, f"took {elapsed:.1f}s"


# --------------------------------------------------------------------------- fetching


def web_source(url: str, cursor: dict[str, Any] | None = None, **options: str) -> SourceSpec:
    return SourceSpec(
        id=1, kind="web", name="veille-web", target=url, options=options, cursor=cursor or {}
    )


def fetch(source: SourceSpec) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await WebConnector().fetch(source, http)

    return asyncio.run(run())


def local_wordpress(http_server: LocalHTTPServer) -> bytes:
    """The French fixture, re-pointed at the local server (canonical and API root)."""
    return (
        fixture("wordpress_fr.html")
        .replace(
            b"https://blog.example.fr/2024/01/galette-des-rois/",
            http_server.url("/galette/").encode(),
        )
        .replace(b"https://blog.example.fr/wp-json/", http_server.url("/wp-json/").encode())
    )


def test_wordpress_fetch_prefers_the_rest_api(http_server: LocalHTTPServer) -> None:
    http_server.route("/galette/", body=local_wordpress(http_server), headers=HTML)
    api_body = fixture("wordpress_comments_api.json").replace(
        ARTICLE.encode(), http_server.url("/galette/").encode()
    )
    http_server.route(
        "/wp-json/wp/v2/comments", body=api_body, headers={**JSON, "X-WP-TotalPages": "1"}
    )
    result = fetch(web_source(http_server.url("/galette/")))
    assert len(result.drafts) == 7
    api_request = http_server.requests_to("/wp-json/wp/v2/comments")[0]
    assert api_request.query["post"] == ["4242"]
    assert api_request.query["per_page"] == ["100"]
    assert api_request.query["page"] == ["1"]
    reply = by_id(result.drafts)[http_server.url("/galette/#comment-103")]
    assert reply.parent_external_id == http_server.url("/galette/#comment-102")
    assert reply.published_at == utc(2024, 1, 6, 11, 30)
    assert "wordpress-api" in result.note


def test_wordpress_fetch_falls_back_to_the_markup_when_the_api_fails(
    http_server: LocalHTTPServer,
) -> None:
    http_server.route("/galette/", body=local_wordpress(http_server), headers=HTML)
    http_server.route("/wp-json/wp/v2/comments", status=404, body=b"{}", headers=JSON)
    result = fetch(web_source(http_server.url("/galette/")))
    assert len(result.drafts) == 7
    assert by_id(result.drafts)[http_server.url("/galette/#comment-104")].author.name == "Anaïs"  # type: ignore[union-attr]


def test_second_fetch_returns_only_new_comments(http_server: LocalHTTPServer) -> None:
    page = local_wordpress(http_server)
    http_server.route("/galette/", body=page, headers=HTML)
    http_server.route("/wp-json/wp/v2/comments", status=404)
    first = fetch(web_source(http_server.url("/galette/")))
    assert len(first.drafts) == 7
    new_comment = (
        "<li id='comment-107' class='comment'><article class='comment-body'>"
        "<div class='comment-author'><b class='fn'>Nadia</b></div>"
        "<time datetime='2024-09-01T10:00:00+02:00'>1 sept.</time>"
        "<div class='comment-content'><p>Enfin goûtée, délicieuse.</p></div></article></li>"
        "</ol><!-- .comment-list -->"
    ).encode()
    updated = page.replace(b"</ol><!-- .comment-list -->", new_comment)
    http_server.route("/galette/", body=updated, headers=HTML)
    second = fetch(web_source(http_server.url("/galette/"), cursor=first.cursor))
    assert [d.external_id for d in second.drafts] == [http_server.url("/galette/#comment-107")]
    assert second.drafts[0].published_at == utc(2024, 9, 1, 8, 0)
    assert len(second.cursor["seen"]) == 8


def test_discourse_topic_is_read_in_two_requests(http_server: LocalHTTPServer) -> None:
    http_server.route("/t/77.json", body=fixture("discourse_topic.json"), headers=JSON)
    http_server.route("/t/77/posts.json", body=fixture("discourse_posts.json"), headers=JSON)
    result = fetch(web_source(http_server.url("/t/probleme-de-synchronisation/77")))
    assert len(http_server.requests) == 2
    assert http_server.requests_to("/t/77/posts.json")[0].query["post_ids[]"] == ["9005", "9010"]
    topic = http_server.url("/t/probleme-de-synchronisation/77")
    assert [d.external_id for d in result.drafts] == [
        topic,
        f"{topic}/2",
        f"{topic}/3",
        f"{topic}/4",
    ]
    again = fetch(web_source(topic, cursor=result.cursor))
    assert again.drafts == []
    assert len(http_server.requests) == 3  # no posts.json request: every post id is known


def test_phpbb_thread_over_two_pages(http_server: LocalHTTPServer) -> None:
    def page(request: RecordedRequest) -> Reply:
        name = "phpbb_page2.html" if request.query.get("start") == ["2"] else "phpbb_page1.html"
        body = fixture(name).replace(b"https://forum.example.fr/", http_server.url("/").encode())
        return Reply(200, body, HTML)

    http_server.route_handler("/viewtopic.php", page)
    thread = http_server.url("/viewtopic.php?t=55")
    result = fetch(web_source(thread))
    assert [d.author.name for d in result.drafts] == ["Hélène", "Marc", "Sébastien"]  # type: ignore[union-attr]
    assert [d.external_id for d in result.drafts] == [thread, f"{thread}#p1002", f"{thread}#p1003"]
    assert all(d.parent_external_id == thread for d in result.drafts[1:])
    assert result.cursor["resume_url"] == http_server.url("/viewtopic.php?t=55&start=2")
    again = fetch(web_source(thread, cursor=result.cursor))
    assert again.drafts == []
    assert http_server.requests[-1].query.get("start") == ["2"]  # resumed on the last page


def test_max_pages_stops_pagination_and_resumes_there(http_server: LocalHTTPServer) -> None:
    def page(request: RecordedRequest) -> Reply:
        n = int(request.query.get("n", ["1"])[0])
        body = (
            f"<html><body><link rel='next' href='/c?n={n + 1}'>"
            f"<div itemscope itemtype='https://schema.org/Comment' id='c{n}'>"
            f"<span itemprop='author'>A{n}</span><p itemprop='text'>comment {n}</p></div>"
            "</body></html>"
        )
        return Reply(200, body, HTML)

    http_server.route_handler("/c", page)
    result = fetch(web_source(http_server.url("/c"), max_pages="3"))
    assert len(page_requests(http_server)) == 3
    assert [d.text for d in result.drafts if d.text.startswith("comment")] == [
        "comment 1",
        "comment 2",
        "comment 3",
    ]
    assert result.cursor["resume_url"] == http_server.url("/c?n=4")


def test_a_next_link_to_another_article_is_not_followed(http_server: LocalHTTPServer) -> None:
    body = (
        "<html><body><article><p>"
        + "Un article assez long pour être extrait. " * 20
        + "</p></article><a rel='next' href='/autre-article/'>Article suivant</a></body></html>"
    )
    http_server.route("/article/", body=body, headers=HTML)
    result = fetch(web_source(http_server.url("/article/")))
    assert len(result.drafts) == 1
    assert [r.route for r in page_requests(http_server)] == ["/article/"]
    assert "resume_url" not in result.cursor


def test_fetch_of_a_non_html_page_is_a_parse_error(http_server: LocalHTTPServer) -> None:
    http_server.route("/doc.pdf", body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    with pytest.raises(ParseError, match="not a web page: content type application/pdf"):
        fetch(web_source(http_server.url("/doc.pdf")))


# --------------------------------------------------------------------------- target


def test_normalize_target_checks_the_url_and_max_pages() -> None:
    connector = WebConnector()
    assert connector.normalize_target(" HTTPS://Blog.Example.FR/a?b=1#x ", {}) == (
        "https://blog.example.fr/a?b=1"
    )
    with pytest.raises(ValueError, match="full address"):
        connector.normalize_target("blog.example.fr/a", {})
    with pytest.raises(ValueError, match="max_pages"):
        connector.normalize_target("https://blog.example.fr/", {"max_pages": "0"})
    with pytest.raises(ValueError, match="max_pages"):
        connector.normalize_target("https://blog.example.fr/", {"max_pages": "ten"})


def page_requests(server: LocalHTTPServer) -> list[RecordedRequest]:
    """Requests for pages, without the robots.txt look-up that precedes them."""
    return [r for r in server.requests if r.route != "/robots.txt"]


def test_robots_txt_that_disallows_the_page_stops_the_fetch(http_server: LocalHTTPServer) -> None:
    http_server.route("/robots.txt", 200, "User-agent: *\nDisallow: /private/\n")
    http_server.route("/private/thread", 200, "<html><body><p>secret</p></body></html>")
    source = SourceSpec(
        id=1, kind="web", name="t", target=http_server.url("/private/thread"), options={}
    )
    with pytest.raises(DisallowedByRobots, match=r"robots\.txt"):
        fetch(source)
    assert [r.route for r in http_server.requests] == ["/robots.txt"]
