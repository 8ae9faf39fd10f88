"""The feed connector: the pure parser on recorded feeds, then fetching from a local server."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply

from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.feeds import (
    SEEN_LIMIT,
    FeedConnector,
    ParsedFeed,
    advertised_feeds,
    entry_key,
    parse_feed,
    remember,
    select_new,
)
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.domain.models import AuthorRef, Draft
from flocon.errors import ParseError, SourceGone

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
BASE = "https://feeds.example.org/path/feed.xml"


def parse(name: str, *, base_url: str = BASE, content_type: str | None = None) -> ParsedFeed:
    raw = (FIXTURES / name).read_bytes()
    return parse_feed(raw, source_name="veille", base_url=base_url, content_type=content_type)


def by_id(feed: ParsedFeed) -> dict[str | None, Draft]:
    return {draft.external_id: draft for draft in feed.drafts}


# --------------------------------------------------------------------------- every format


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("rss091.xml", 2),
        ("rss10_rdf.xml", 2),
        ("rss20.xml", 3),
        ("atom.xml", 2),
        ("jsonfeed.json", 3),
        ("google_alerts.xml", 2),
        ("malformed_entries.xml", 2),
        ("latin1_declared_utf8.xml", 2),
    ],
)
def test_every_entry_becomes_a_feed_draft(name: str, count: int) -> None:
    feed = parse(name)
    assert len(feed.drafts) == count
    for draft in feed.drafts:
        assert draft.source_kind == "feed"
        assert draft.source_name == "veille"
        assert draft.text
        assert draft.external_id
        assert draft.published_at is None or draft.published_at.tzinfo is UTC


# --------------------------------------------------------------------------- RSS


def test_rss091_latin1_entries_use_the_link_as_id_and_the_channel_language() -> None:
    feed = parse("rss091.xml")
    first = feed.drafts[0]
    assert feed.title == "Le carnet du boulanger"
    assert first.external_id == "http://carnet-boulanger.example.fr/2024/11/farine.html"
    assert first.url == first.external_id
    assert first.title == "Hausse du prix de la farine : ce que ça change"
    assert first.lang == "fr"
    assert first.published_at is None


def test_rss10_rdf_reads_dublin_core_creator_date_and_language() -> None:
    veloxa = parse("rss10_rdf.xml").drafts[0]
    assert veloxa.author == AuthorRef(name="spokes_and_gears")
    assert veloxa.published_at == datetime(2024, 11, 18, 8, 42, tzinfo=UTC)
    assert veloxa.lang == "en"
    assert veloxa.text.startswith("Anyone else had their Veloxa battery fail?")


def test_rss20_prefers_content_encoded_and_keeps_its_html() -> None:
    panne = by_id(parse("rss20.xml"))["je-2024-118842"]
    assert panne.text.startswith("<p>Des milliers d'abonnés <strong>Orange</strong>")
    assert "cœur de réseau" in panne.text
    assert panne.author == AuthorRef(name="Camille Martin")
    assert panne.published_at == datetime(2024, 11, 19, 6, 58, tzinfo=UTC)
    assert panne.lang == "fr"


def test_rss20_relative_link_is_made_absolute_and_author_email_dropped() -> None:
    tgv = parse("rss20.xml").drafts[1]
    assert tgv.url == "https://feeds.example.org/entreprises/2024/11/18/sncf-tgv-m"
    assert tgv.external_id == tgv.url
    assert tgv.author == AuthorRef(name="Louis Bernard")
    assert tgv.text == "Le nouveau <em>TGV M</em> entrera en service commercial en 2025."


def test_entry_without_guid_or_link_gets_a_stable_content_key() -> None:
    breve = parse("rss20.xml").drafts[2]
    again = parse("rss20.xml", base_url="https://elsewhere.example.net/").drafts[2]
    assert breve.url is None
    assert breve.external_id is not None
    assert breve.external_id.startswith("sha256:")
    assert breve.external_id == again.external_id


def test_guid_is_not_resolved_against_the_feed_address() -> None:
    ids = [draft.external_id for draft in parse("latin1_declared_utf8.xml").drafts]
    assert ids == ["creperie-2024-11-prix", "creperie-2024-11-noel"]


# --------------------------------------------------------------------------- Atom


def test_atom_entry_takes_xml_lang_published_date_and_html_title() -> None:
    post = by_id(parse("atom.xml"))["tag:blog.example.co.uk,2024:post-318"]
    assert post.lang == "en"
    assert post.published_at == datetime(2024, 11, 19, 10, 30, tzinfo=UTC)
    assert post.title == "Why <em>Brewster &amp; Co</em> lost me as a customer"
    assert post.url == "https://blog.example.co.uk/posts/brewster-refund"
    assert post.author == AuthorRef(name="Harriet Cole")


def test_atom_entry_language_overrides_the_feed_and_updated_stands_in() -> None:
    post = by_id(parse("atom.xml"))["tag:blog.example.co.uk,2024:post-317"]
    assert post.lang == "fr"
    assert post.published_at == datetime(2024, 11, 12, 7, 0, tzinfo=UTC)
    assert "<b>Mariage</b>" in post.text
    assert post.author == AuthorRef(name="Harriet Cole")  # the feed's author


# --------------------------------------------------------------------------- JSON Feed


def test_json_feed_item_fields() -> None:
    feed = parse("jsonfeed.json", content_type="application/feed+json")
    episode = feed.drafts[0]
    assert feed.title == "Podcast Marketing Local"
    assert episode.external_id == "https://marketing-local.example.fr/episodes/42"
    assert episode.title == "Épisode 42 — Répondre aux avis négatifs sur Google"
    assert episode.text.startswith("<p>Comment <strong>répondre</strong>")
    assert episode.author == AuthorRef(name="Sophie Lefèvre")
    assert episode.published_at == datetime(2024, 11, 18, 5, 0, tzinfo=UTC)
    assert episode.lang == "fr"


def test_json_feed_relative_url_item_language_and_feed_author() -> None:
    episode = parse("jsonfeed.json").drafts[1]
    assert episode.url == "https://marketing-local.example.fr/episodes/41"
    assert episode.lang == "en"
    assert episode.published_at == datetime(2024, 11, 11, 7, 30, tzinfo=UTC)
    assert episode.author == AuthorRef(name="Équipe Marketing Local")


def test_json_feed_numeric_id_bad_date_and_summary_only() -> None:
    episode = parse("jsonfeed.json").drafts[2]
    assert episode.external_id == "40"
    assert episode.published_at is None
    assert episode.text.startswith("Un épisode sans titre")
    assert episode.title is None


def test_json_that_is_not_a_json_feed_is_refused() -> None:
    with pytest.raises(ParseError, match="not a feed: JSON without a JSON Feed version"):
        parse_feed(b'{"items": []}', source_name="s", base_url=BASE)


def test_invalid_json_declared_as_json_is_refused() -> None:
    with pytest.raises(ParseError, match="not a feed: invalid JSON"):
        parse_feed(b"<rss", source_name="s", base_url=BASE, content_type="application/json")


def test_json_feed_item_that_is_not_an_object_is_reported() -> None:
    raw = b'{"version": "https://jsonfeed.org/version/1", "items": [3, {"id": "a", "title": "t"}]}'
    feed = parse_feed(raw, source_name="s", base_url=BASE)
    assert [draft.external_id for draft in feed.drafts] == ["a"]
    assert feed.bozo_reason == "items [0] are not JSON objects"


# --------------------------------------------------------------------------- Google Alerts


def test_google_alerts_links_are_unwrapped() -> None:
    urls = [draft.url for draft in parse("google_alerts.xml").drafts]
    assert urls == [
        "https://www.midi-actu.example.fr/herault/2024/11/19/orange-fibre-vandalisme?utm_source=google",
        "https://www.conso-tech.example.com/comparatif-box",
    ]


def test_google_alerts_titles_lose_their_bold_markup() -> None:
    alert = parse("google_alerts.xml").drafts[0]
    assert alert.title == "Orange : la fibre coupée dans l'Hérault après des actes de vandalisme"
    assert alert.author is None
    assert alert.external_id == "tag:google.com,2013:googlealerts/feed:10245792640436153470"


def test_google_redirect_outside_an_alert_feed_is_left_alone() -> None:
    raw = (
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        b"<link>https://www.google.com/url?url=https://a.example/</link></item></channel></rss>"
    )
    draft = parse_feed(raw, source_name="s", base_url=BASE).drafts[0]
    assert draft.url == "https://www.google.com/url?url=https://a.example/"


# --------------------------------------------------------------------------- broken payloads


def test_malformed_feed_keeps_its_entries_and_says_why() -> None:
    feed = parse("malformed_entries.xml")
    assert feed.bozo_reason is not None
    assert "not well-formed" in feed.bozo_reason
    assert feed.drafts[0].title == "Rappel Peugeot 208 & problème de courroie"


def test_latin1_declared_utf8_keeps_every_entry_and_its_accents() -> None:
    feed = parse("latin1_declared_utf8.xml")
    assert feed.title == "Blog de la Crêperie Ségolène"
    assert [draft.title for draft in feed.drafts] == [
        "Galettes complètes à 9,50 euros : les clients réagissent",
        "Fermeture exceptionnelle à Noël",
    ]
    assert feed.bozo_reason is not None
    assert "declared as utf-8" in feed.bozo_reason


@pytest.mark.parametrize("name", ["truncated.xml", "html_page.html"])
def test_payload_without_a_feed_raises(name: str) -> None:
    with pytest.raises(ParseError, match=r"^not a feed: ") as caught:
        parse(name)
    assert caught.value.source == "veille"
    assert caught.value.url == BASE


def test_web_page_error_names_the_feed_it_announces() -> None:
    hint = re.escape("its feed may be https://news.example.fr/rss/une.xml")
    with pytest.raises(ParseError, match=f"{hint}$"):
        parse("html_page.html", base_url="https://news.example.fr/")


def test_advertised_feeds_reads_link_tags_in_any_attribute_order() -> None:
    page = b"""<html><head>
    <link type="application/atom+xml" href="/atom?lang=fr&amp;x=1" rel="alternate">
    <LINK REL='alternate feed' TYPE='application/rss+xml' HREF='https://a.example/rss'>
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/12">
    <link rel="stylesheet" type="text/css" href="/s.css">
    </head></html>"""
    assert advertised_feeds(page, "https://site.example/blog/") == [
        "https://site.example/atom?lang=fr&x=1",
        "https://a.example/rss",
    ]


@pytest.mark.parametrize(
    "raw", [b"", b"   \n", b"\x00\x01\x02garbage\xff", b"Service Unavailable", b"\xef\xbb\xbf"]
)
def test_empty_or_garbage_body_raises(raw: bytes) -> None:
    with pytest.raises(ParseError, match=r"^not a feed: "):
        parse_feed(raw, source_name="s", base_url=BASE)


def test_valid_feed_without_items_is_empty_not_an_error() -> None:
    raw = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Calme plat</title></channel></rss>'
    feed = parse_feed(raw, source_name="s", base_url=BASE, content_type="application/rss+xml")
    assert feed == ParsedFeed(title="Calme plat", drafts=[], bozo_reason=None)


def test_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes((FIXTURES / "rss20.xml").read_bytes())
    with pytest.raises(ParseError, match=r"^not a feed: "):
        parse_feed(str(secret).encode(), source_name="s", base_url=BASE)


def test_javascript_links_are_not_kept_as_urls() -> None:
    raw = (
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title><guid>g1</guid>'
        b"<link>javascript:alert(1)</link></item></channel></rss>"
    )
    draft = parse_feed(raw, source_name="s", base_url=BASE).drafts[0]
    assert draft.url is None
    assert draft.external_id == "g1"


# --------------------------------------------------------------------------- cursor helpers


def _draft(key: str) -> Draft:
    return Draft(source_kind="feed", source_name="s", text=key, external_id=key)


def test_select_new_skips_seen_and_repeated_keys() -> None:
    a, b, c = _draft("a"), _draft("b"), _draft("c")
    new, keys = select_new([a, b, a, c], [entry_key(b)])
    assert [draft.external_id for draft in new] == ["a", "c"]
    assert keys == [entry_key(a), entry_key(b), entry_key(c)]


def test_entry_key_is_short_and_stable() -> None:
    key = entry_key(_draft("https://example.org/" + "x" * 2000))
    assert len(key) == 20
    assert key == entry_key(_draft("https://example.org/" + "x" * 2000))


def test_remember_puts_current_keys_first_and_is_bounded() -> None:
    older = [f"old{i}" for i in range(SEEN_LIMIT)]
    kept = remember(["new", "old3"], older)
    assert kept[:3] == ["new", "old3", "old0"]
    assert len(kept) == SEEN_LIMIT
    assert "old3" not in kept[2:]


# --------------------------------------------------------------------------- target


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://www.lemonde.fr/rss/une.xml", "https://www.lemonde.fr/rss/une.xml"),
        ("  HTTPS://Blog.Example.FR/feed#top ", "https://blog.example.fr/feed"),
        ("http://example.org", "http://example.org/"),
        ("https://example.org:8443/f?x=1", "https://example.org:8443/f?x=1"),
    ],
)
def test_normalize_target_accepts_http_urls(target: str, expected: str) -> None:
    assert FeedConnector().normalize_target(target, {}) == expected


@pytest.mark.parametrize(
    "target",
    ["www.lemonde.fr/rss", "ftp://example.org/feed", "/rss.xml", "", "https://u:p@example.org/f"],
)
def test_normalize_target_refuses_other_addresses(target: str) -> None:
    with pytest.raises(ValueError, match="feed"):
        FeedConnector().normalize_target(target, {})


# --------------------------------------------------------------------------- fetching


RSS20 = (FIXTURES / "rss20.xml").read_bytes()
RSS20_WITHOUT_FIRST_ITEM = re.sub(rb"<item>.*?</item>", b"", RSS20, count=1, flags=re.DOTALL)
ETAG = '"5f2c-1732000000"'
LAST_MODIFIED = "Tue, 19 Nov 2024 07:15:00 GMT"
RSS_HEADERS = {
    "Content-Type": "application/rss+xml; charset=utf-8",
    "ETag": ETAG,
    "Last-Modified": LAST_MODIFIED,
}


def feed_source(url: str, cursor: dict[str, Any] | None = None) -> SourceSpec:
    return SourceSpec(id=1, kind="feed", name="journal-eco", target=url, cursor=cursor or {})


def fetch(source: SourceSpec) -> FetchResult:
    async def run() -> FetchResult:
        config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=0)
        async with HttpClient(config) as http:
            return await FeedConnector().fetch(source, http)

    return asyncio.run(run())


def test_first_fetch_returns_every_entry_and_stores_the_validators(
    http_server: LocalHTTPServer,
) -> None:
    http_server.route("/rss.xml", body=RSS20, headers=RSS_HEADERS)
    result = fetch(feed_source(http_server.url("/rss.xml")))
    (request,) = http_server.requests
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers
    assert len(result.drafts) == 3
    assert not result.not_modified
    assert result.cursor["etag"] == ETAG
    assert result.cursor["last_modified"] == LAST_MODIFIED
    assert result.cursor["seen"] == [entry_key(d) for d in result.drafts]
    assert result.note == "3 new of 3 entries"


def test_conditional_get_sends_validators_and_304_is_not_modified(
    http_server: LocalHTTPServer,
) -> None:
    def conditional(request: RecordedRequest) -> Reply:
        if request.headers.get("if-none-match") == ETAG:
            return Reply(304, headers={"ETag": ETAG})
        return Reply(200, RSS20, RSS_HEADERS)

    http_server.route_handler("/rss.xml", conditional)
    cursor = {"etag": ETAG, "last_modified": LAST_MODIFIED, "seen": ["k1"]}
    result = fetch(feed_source(http_server.url("/rss.xml"), cursor))
    (request,) = http_server.requests
    assert request.headers["if-none-match"] == ETAG
    assert request.headers["if-modified-since"] == LAST_MODIFIED
    assert result == FetchResult([], cursor, not_modified=True, note="not modified")


def test_second_fetch_returns_only_new_entries(http_server: LocalHTTPServer) -> None:
    http_server.route_sequence(
        "/rss.xml",
        [Reply(200, RSS20_WITHOUT_FIRST_ITEM, RSS_HEADERS), Reply(200, RSS20, {"ETag": '"v2"'})],
    )
    first = fetch(feed_source(http_server.url("/rss.xml")))
    second = fetch(feed_source(http_server.url("/rss.xml"), first.cursor))
    assert len(first.drafts) == 2
    assert [d.external_id for d in second.drafts] == ["je-2024-118842"]
    assert second.note == "1 new of 3 entries"
    assert second.cursor["etag"] == '"v2"'
    assert "last_modified" not in second.cursor  # the server stopped sending it
    assert len(second.cursor["seen"]) == 3


def test_links_resolve_against_the_address_that_answered(http_server: LocalHTTPServer) -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>Billet</title><link>billets/1.html</link></item></channel></rss>"
    )
    http_server.redirect("/old.xml", "/moved/rss.xml", status=301)
    http_server.route("/moved/rss.xml", body=body, headers=RSS_HEADERS)
    result = fetch(feed_source(http_server.url("/old.xml")))
    assert result.drafts[0].url == http_server.url("/moved/billets/1.html")


def test_json_feed_is_recognised_by_its_content_type(http_server: LocalHTTPServer) -> None:
    body = b"\n" + (FIXTURES / "jsonfeed.json").read_bytes()
    http_server.route("/feed.json", body=body, headers={"Content-Type": "application/feed+json"})
    result = fetch(feed_source(http_server.url("/feed.json")))
    assert len(result.drafts) == 3


def test_malformed_feed_is_noted(http_server: LocalHTTPServer) -> None:
    http_server.route("/forum.rss", body=(FIXTURES / "malformed_entries.xml").read_bytes())
    result = fetch(feed_source(http_server.url("/forum.rss")))
    assert len(result.drafts) == 2
    assert "feed is malformed but readable (SAXParseException" in result.note


def test_html_page_raises_parse_error_naming_source_and_url(http_server: LocalHTTPServer) -> None:
    page = (FIXTURES / "html_page.html").read_bytes()
    http_server.route("/", body=page, headers={"Content-Type": "text/html; charset=utf-8"})
    with pytest.raises(ParseError, match="not a feed") as caught:
        fetch(feed_source(http_server.url("/")))
    assert caught.value.source == "journal-eco"
    assert caught.value.url == http_server.url("/")


def test_gone_feed_is_not_swallowed(http_server: LocalHTTPServer) -> None:
    http_server.route("/rss.xml", status=410)
    with pytest.raises(SourceGone):
        fetch(feed_source(http_server.url("/rss.xml")))
