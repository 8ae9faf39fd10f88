"""Text and URL normalisation: HTML to text, whitespace, canonical URLs, sites."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flocon.domain.normalize import (
    TRACKING_PARAMETERS,
    canonical_url,
    clean_whitespace,
    html_to_text,
    normalize_text,
    site_of,
)

# --------------------------------------------------------------------------- html_to_text


def test_plain_text_is_returned_unchanged() -> None:
    value = "Le service client de @SNCF ne répond pas  #fail"
    assert html_to_text(value) is value


def test_comparison_signs_are_not_taken_for_tags() -> None:
    assert html_to_text("if a<b and c>d then I <3 you") == "if a<b and c>d then I <3 you"


def test_entities_alone_are_decoded_without_parsing() -> None:
    assert html_to_text("AT&amp;T &lt;3 caf&eacute; &#8364;") == "AT&T <3 café €"


def test_legacy_entity_without_semicolon_is_left_alone() -> None:
    assert html_to_text("https://x.fr/?a=1&para=2 &amp; b") == "https://x.fr/?a=1&para=2 & b"


def test_entities_next_to_a_non_tag_are_decoded() -> None:
    assert html_to_text("a<b &amp; c") == "a<b & c"


def test_ampersand_without_entity_is_unchanged() -> None:
    assert html_to_text("Marks & Spencer") == "Marks & Spencer"


def test_inline_tags_are_removed() -> None:
    assert html_to_text('Un <b>très</b> bon <a href="https://x.fr">produit</a>') == (
        "Un très bon produit"
    )


def test_script_style_noscript_template_are_dropped() -> None:
    value = (
        "<p>visible</p><script>alert(1)</script><style>p{}</style>"
        "<noscript>no js</noscript><template><p>tpl</p></template>"
    )
    assert html_to_text(value) == "visible"


def test_head_content_is_dropped() -> None:
    value = "<html><head><title>Titre</title></head><body><p>Corps</p></body></html>"
    assert html_to_text(value) == "Corps"


def test_paragraphs_are_separated_by_a_blank_line() -> None:
    assert html_to_text("<p>Premier</p><p>Second</p>") == "Premier\n\nSecond"


def test_br_and_divs_become_line_breaks() -> None:
    assert html_to_text("<div>un<br>deux</div><div>trois</div>") == "un\ndeux\ntrois"


def test_list_items_are_on_their_own_lines() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"


def test_source_whitespace_is_collapsed() -> None:
    assert html_to_text("<p>Hello\n   <b>wor</b>ld\t!</p>") == "Hello world !"


def test_entities_inside_html_are_decoded() -> None:
    assert html_to_text("<p>Caf&eacute; &amp; cr&egrave;me</p>") == "Café & crème"


def test_comments_are_dropped() -> None:
    assert html_to_text("<p>a<!-- secret --> b</p>") == "a b"


def test_deeply_nested_html_does_not_hit_the_recursion_limit() -> None:
    value = "<div>" * 5000 + "deep" + "</div>" * 5000
    assert html_to_text(value) == "deep"


# --------------------------------------------------------------------------- clean_whitespace


def test_runs_of_spaces_and_tabs_collapse_to_one_space() -> None:
    assert clean_whitespace("a  \t b") == "a b"


def test_no_break_spaces_become_plain_spaces() -> None:
    assert clean_whitespace("Bonjour\u202f!\u00a0ok") == "Bonjour ! ok"


def test_at_most_one_blank_line_is_kept() -> None:
    assert clean_whitespace("a\n\n\n\nb") == "a\n\nb"


def test_crlf_and_cr_become_newlines() -> None:
    assert clean_whitespace("a\r\nb\rc") == "a\nb\nc"


def test_spaces_around_newlines_are_dropped() -> None:
    assert clean_whitespace("a   \n   b") == "a\nb"


def test_value_is_stripped() -> None:
    assert clean_whitespace("  \n a \n ") == "a"


def test_zero_width_and_control_characters_are_removed() -> None:
    assert clean_whitespace("in\u200bvi\ufeffsi\u2060ble\x00\x07\x1b") == "invisible"


def test_zero_width_joiner_is_kept_in_emoji_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_whitespace(family) == family


def test_unpaired_surrogates_are_removed() -> None:
    assert clean_whitespace("a\ud800b") == "ab"


def test_text_is_nfc_normalised() -> None:
    assert clean_whitespace("cafe\u0301") == "caf\u00e9"


def test_clean_text_is_unchanged() -> None:
    assert clean_whitespace("Déjà vu.\n\nNouveau paragraphe.") == "Déjà vu.\n\nNouveau paragraphe."


@given(st.text())
def test_clean_whitespace_is_idempotent(value: str) -> None:
    once = clean_whitespace(value)
    assert clean_whitespace(once) == once


@given(st.text(alphabet=st.sampled_from(list("<>&;/=\"'!-#abpdivr \n")) | st.characters()))
def test_html_to_text_accepts_any_text(value: str) -> None:
    assert isinstance(html_to_text(value), str)


def test_normalize_text_combines_html_and_whitespace() -> None:
    assert normalize_text("<p>Caf&eacute;&nbsp;&nbsp;fermé</p>\n\n\n<p>Dommage</p>") == (
        "Café fermé\n\nDommage"
    )


# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    "value",
    ["", "not a url", "example.com/page", "ftp://example.com/", "mailto:a@b.fr", "http://[::1"],
)
def test_non_http_urls_have_no_canonical_form(value: str) -> None:
    assert canonical_url(value) is None


def test_invalid_port_has_no_canonical_form() -> None:
    assert canonical_url("http://example.com:99999/") is None


def test_scheme_and_host_are_lower_cased() -> None:
    assert canonical_url("HTTPS://WWW.Exemple.FR/Page") == "https://www.exemple.fr/Page"


def test_default_port_is_dropped() -> None:
    assert canonical_url("https://exemple.fr:443/a") == "https://exemple.fr/a"


def test_other_port_is_kept() -> None:
    assert canonical_url("http://exemple.fr:8080/a") == "http://exemple.fr:8080/a"


def test_fragment_is_dropped() -> None:
    assert canonical_url("https://exemple.fr/a#section") == "https://exemple.fr/a"


def test_credentials_are_dropped() -> None:
    assert canonical_url("https://user:secret@exemple.fr/a") == "https://exemple.fr/a"


def test_unicode_host_is_idna_encoded() -> None:
    assert canonical_url("https://café.fr/menu") == "https://xn--caf-dma.fr/menu"


def test_empty_path_becomes_slash() -> None:
    assert canonical_url("https://exemple.fr") == "https://exemple.fr/"


def test_trailing_slash_of_a_path_is_kept() -> None:
    assert canonical_url("https://exemple.fr/a/") == "https://exemple.fr/a/"


def test_utm_parameters_are_removed() -> None:
    url = "https://exemple.fr/a?utm_source=tw&utm_medium=social&UTM_Campaign=x&id=3"
    assert canonical_url(url) == "https://exemple.fr/a?id=3"


def test_click_ids_are_removed() -> None:
    url = "https://exemple.fr/a?fbclid=1&gclid=2&msclkid=3&igshid=4&mc_eid=5&p=1"
    assert canonical_url(url) == "https://exemple.fr/a?p=1"


def test_other_parameters_keep_their_order() -> None:
    assert canonical_url("https://exemple.fr/s?z=1&a=2&m=3") == "https://exemple.fr/s?z=1&a=2&m=3"


def test_query_made_only_of_tracking_is_dropped() -> None:
    assert canonical_url("https://exemple.fr/a?utm_source=x&&") == "https://exemple.fr/a"


def test_si_is_removed_on_youtube() -> None:
    url = "https://www.youtube.com/watch?v=abc&si=XYZ"
    assert canonical_url(url) == "https://www.youtube.com/watch?v=abc"


def test_si_is_kept_on_other_sites() -> None:
    assert canonical_url("https://exemple.fr/a?si=1") == "https://exemple.fr/a?si=1"


def test_twitter_share_parameters_are_removed() -> None:
    url = "https://x.com/sncf/status/1?s=20&t=abc"
    assert canonical_url(url) == "https://x.com/sncf/status/1"


def test_non_ascii_path_is_percent_encoded() -> None:
    assert canonical_url("https://exemple.fr/été?q=crème") == (
        "https://exemple.fr/%C3%A9t%C3%A9?q=cr%C3%A8me"
    )


def test_existing_escapes_are_left_alone() -> None:
    assert canonical_url("https://exemple.fr/a%20b") == "https://exemple.fr/a%20b"


def test_ipv6_host_keeps_its_brackets() -> None:
    assert canonical_url("http://[2001:db8::1]:8080/") == "http://[2001:db8::1]:8080/"


_URLISH = st.builds(
    "{}://{}{}{}".format,
    st.sampled_from(["http", "HTTPS", "ftp", ""]),
    st.text(max_size=20),
    st.text(max_size=20),
    st.text(max_size=30),
)


@given(st.one_of(st.text(), _URLISH))
def test_canonical_url_is_idempotent(value: str) -> None:
    canonical = canonical_url(value)
    if canonical is not None:
        assert canonical_url(canonical) == canonical


def test_tracking_list_is_lower_case() -> None:
    assert all(name == name.lower() for name in TRACKING_PARAMETERS)


# --------------------------------------------------------------------------- site_of


def test_site_drops_www_and_lower_cases() -> None:
    assert site_of("https://WWW.LeMonde.fr/economie/") == "lemonde.fr"


def test_site_keeps_other_subdomains() -> None:
    assert site_of("https://blog.exemple.fr/") == "blog.exemple.fr"


@pytest.mark.parametrize("value", [None, "", "pas une url", "http://[::1"])
def test_site_of_unknown_is_empty(value: str | None) -> None:
    assert site_of(value) == ""
