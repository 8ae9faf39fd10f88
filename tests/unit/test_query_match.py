"""What a query matches: words, folding, elisions, tags, URLs, emoji, phrases, NEAR, fields."""

from __future__ import annotations

import pytest

from flocon.domain.models import MatchInput
from flocon.domain.query import parse, prepare


def matches(query: str, text: str = "", **fields: str) -> bool:
    return parse(query).matches(prepare(MatchInput(text=text, **fields)))


# --------------------------------------------------------------------------- words and folding


@pytest.mark.parametrize("text", ["Élan", "ELAN", "un élan !", "elan"])
def test_case_and_accents_are_folded(text: str) -> None:
    assert matches("elan", text)
    assert matches("Élan", text)


def test_term_matches_whole_words_only() -> None:
    assert not matches("orange", "orangeade et orangers")


@pytest.mark.parametrize("text", ["service d'Orange", "l’Orange", "jusqu'orange"])
def test_elisions_are_split(text: str) -> None:
    assert matches("orange", text)


@pytest.mark.parametrize(
    ("query", "text"), [("appli", "l'appli"), ("il", "qu'il"), ("il", "qu’il vienne")]
)
def test_elided_words_are_found(query: str, text: str) -> None:
    assert matches(query, text)


def test_bare_term_matches_the_hashtag_and_handle_spelled_the_same() -> None:
    assert matches("orange", "vive #Orange")
    assert matches("orange", "merci @orange")


@pytest.mark.parametrize("text", ["#orangeade", "@orange_conseil", "orangeade"])
def test_bare_term_does_not_match_longer_tags(text: str) -> None:
    assert not matches("orange", text)


def test_hashtag_term_matches_only_the_hashtag() -> None:
    assert matches("#orange", "vive #ORANGE")
    assert not matches("#orange", "vive orange")
    assert not matches("#orange", "merci @orange")


def test_handle_term_matches_only_the_handle_in_the_text() -> None:
    assert matches("@orange", "merci @Orange")
    assert not matches("@orange", "merci orange")
    assert not matches("@orange", "merci", author_handle="orange")


def test_urls_are_not_searched_by_terms() -> None:
    text = "voir https://www.orange.fr/offre?x=1"
    assert not matches("offre", text)
    assert not matches("orange", text)
    assert matches("voir", text)


def test_emoji_do_not_glue_to_words() -> None:
    assert matches("super", "super😍")
    assert matches("😍", "super😍")
    assert matches("super NEAR/0 😍", "super😍")


def test_inner_hyphen_words_match_as_phrases() -> None:
    assert matches("e-mail", "envoyez un e-mail")
    assert matches("e-mail", "envoyez un e mail")
    assert matches('"e mail"', "envoyez un E-Mail")
    assert not matches("e-mail", "e et mail")


def test_numbers_with_dots() -> None:
    assert matches("3.5", "version 3.5 sortie")
    assert not matches("3.5", "version 3 ou 5")


def test_terms_search_the_title_too() -> None:
    assert matches("orange", "rien", title="Orange augmente ses prix")


# --------------------------------------------------------------------------- operators


def test_and_or_not() -> None:
    text = "Orange et SNCF"
    assert matches("orange sncf", text)
    assert matches("orange AND sncf", text)
    assert not matches("orange AND free", text)
    assert matches("free OR sncf", text)
    assert not matches("orange -sncf", text)
    assert matches("orange NOT free", text)


def test_exclusion_of_a_phrase() -> None:
    query = 'Orange -"orange mécanique"'
    assert matches(query, "Mon forfait Orange")
    assert not matches(query, "J'ai revu Orange mécanique hier")


def test_precedence() -> None:
    # a b OR c == (a b) OR c
    assert matches("a b OR c", "c")
    assert not matches("a b OR c", "a")


# --------------------------------------------------------------------------- phrases and wildcards


def test_phrase_needs_consecutive_words() -> None:
    assert matches('"service client"', "Le Service-Client est nul")
    assert not matches('"service client"', "service du client")
    assert not matches('"service client"', "client service")


def test_phrase_matches_a_tag_spelled_as_a_word() -> None:
    assert matches('"orange mobile"', "#Orange mobile")


def test_phrase_does_not_span_an_url() -> None:
    assert not matches('"voir ici"', "voir https://x.co/a ici")


def test_phrase_does_not_span_title_and_text() -> None:
    assert not matches('"prix orange"', "Orange baisse", title="Les prix")


def test_suffix_wildcard() -> None:
    assert matches("livr*", "ma livraison")
    assert matches("livr*", "livré hier")
    assert matches("livr*", "#Livraison")
    assert not matches("livr*", "délivrance")


def test_question_mark_is_exactly_one_character() -> None:
    assert matches("colo?r", "nice colour")
    assert matches("colo?r", "nice COLOUR")
    assert not matches("colo?r", "nice color")
    assert not matches("colo?r", "nice colouur")


def test_tag_wildcard() -> None:
    assert matches("#orange*", "#OrangeFrance")
    assert not matches("#orange*", "orangefrance")


def test_wildcards_do_not_match_urls() -> None:
    assert not matches("http*", "see https://x.co/abc")


# --------------------------------------------------------------------------- NEAR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Orange livraison", True),
        ("livraison Orange", True),
        ("Orange a b c livraison", True),
        ("Orange a b c d livraison", False),
        ("livraison a b c Orange", True),
    ],
)
def test_near_counts_words_between_in_any_order(text: str, expected: bool) -> None:
    assert matches("orange NEAR/3 livraison", text) is expected


def test_near_ordered_needs_the_left_operand_first() -> None:
    assert matches("orange NEAR/3f livraison", "Orange : livraison en retard")
    assert not matches("orange NEAR/3f livraison", "livraison Orange")


def test_near_zero_means_adjacent() -> None:
    assert matches("a NEAR/0 b", "b a")
    assert not matches("a NEAR/0 b", "a x b")


def test_near_with_groups_phrases_and_wildcards() -> None:
    query = '(SNCF OR "ouigo") NEAR/5 (retard* OR annul*)'
    assert matches(query, "Encore un train SNCF en retard")
    assert matches(query, "Ouigo : train annulé")
    assert not matches(query, "SNCF " + "x " * 6 + "retard")
    assert matches('"service client" NEAR/1 nul', "nul le service client")


def test_near_needs_two_occurrences_of_the_same_word() -> None:
    assert not matches("orange NEAR/2 orange", "orange")
    assert matches("orange NEAR/2 orange", "orange et orange")


def test_near_does_not_span_title_and_text() -> None:
    assert not matches("orange NEAR/5 retard", "retard", title="Orange")
    assert matches("orange NEAR/5 retard", "rien", title="Orange en retard")


def test_near_on_title_operand() -> None:
    assert matches("title:orange NEAR/2 retard", "x", title="Orange retard")
    assert not matches("title:orange NEAR/2 retard", "Orange retard")


# --------------------------------------------------------------------------- fields


def test_title_field_looks_only_at_the_title() -> None:
    assert matches("title:orange", "rien", title="Orange")
    assert not matches("title:orange", "Orange")
    assert matches('title:"prix orange"', "", title="Les prix Orange")
    assert matches("title:(free OR orange)", "", title="Orange")


@pytest.mark.parametrize(
    ("site", "expected"),
    [("lemonde.fr", True), ("www.lemonde.fr", True), ("blog.lemonde.fr", True)],
)
def test_site_matches_the_domain_and_its_subdomains(site: str, expected: bool) -> None:
    assert matches("site:lemonde.fr", "x", site=site) is expected


def test_site_does_not_match_other_domains() -> None:
    assert not matches("site:lemonde.fr", "x", site="notlemonde.fr")
    assert not matches("site:lemonde.fr", "x", site="lemonde.fr.evil.com")


def test_url_is_a_case_insensitive_substring() -> None:
    url = "https://www.Orange.fr/Offres/Fibre?x=1"
    assert matches("url:orange.fr/offres", "x", url=url)
    assert matches("url:https://www.orange.fr/offres/fibre?x=1", "x", url=url)
    assert not matches("url:sosh.fr", "x", url=url)


def test_author_matches_the_handle_or_the_name() -> None:
    assert matches("author:orange", "x", author_handle="Orange")
    assert matches("author:@orange", "x", author_handle="@orange")
    assert matches('author:"jean dupont"', "x", author_name="Jean Dupont")
    assert matches("author:dupont", "x", author_name="Jean Dupont")
    assert not matches("author:orange", "x", author_handle="orange_conseil")
    assert not matches("author:orange", "Orange")


def test_lang_source_country_are_equalities() -> None:
    assert matches("orange lang:fr", "Orange", lang="fr")
    assert matches("orange lang:fr", "Orange", lang="fr-CA")
    assert not matches("orange lang:fr", "Orange", lang="frr")
    assert not matches("orange lang:fr", "Orange", lang="en")
    assert matches("orange source:reddit", "Orange", source="Reddit")
    assert not matches("orange source:reddit", "Orange", source="rss")
    assert matches("orange country:fr", "Orange", country="FR")
    assert not matches("orange country:fr", "Orange", country="")


def test_field_alone_is_a_valid_query() -> None:
    assert matches("lang:fr", "x", lang="fr")
    assert matches("site:lemonde.fr OR url:lefigaro.fr", "x", url="https://lefigaro.fr/a")
