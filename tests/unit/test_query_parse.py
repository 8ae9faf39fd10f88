"""Parsing query text into trees: operators, precedence, fields, and every error with its position."""

from __future__ import annotations

import pytest

from flocon.domain.query import (
    And,
    FieldMatch,
    Near,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    Wildcard,
    parse,
)
from flocon.errors import QuerySyntaxError


def tree(text: str) -> object:
    return parse(text).root


def t(value: str, in_title: bool = False) -> Term:
    return Term(value, in_title)


# --------------------------------------------------------------------------- operators


def test_single_term_is_folded() -> None:
    assert tree("Élan") == t("elan")


def test_juxtaposition_means_and() -> None:
    assert tree("orange sncf") == And((t("orange"), t("sncf")))


def test_explicit_and_equals_juxtaposition() -> None:
    assert parse("orange AND sncf") == parse("orange sncf")


def test_or() -> None:
    assert tree("orange OR sncf") == Or((t("orange"), t("sncf")))


def test_not_and_minus_are_the_same() -> None:
    assert parse("orange NOT spam") == parse("orange -spam")
    assert tree("orange -spam") == And((t("orange"), Not(t("spam"))))


def test_minus_phrase_and_minus_group() -> None:
    assert tree('orange -"orange mécanique"') == And(
        (t("orange"), Not(Phrase(("orange", "mecanique"))))
    )
    assert tree("orange -(spam OR pub)") == And((t("orange"), Not(Or((t("spam"), t("pub"))))))


def test_lower_case_keywords_are_plain_terms() -> None:
    assert tree("rock and roll") == And((t("rock"), t("and"), t("roll")))
    assert tree("to be or not") == And((t("to"), t("be"), t("or"), t("not")))


def test_and_binds_tighter_than_or() -> None:
    assert tree("a b OR c") == Or((And((t("a"), t("b"))), t("c")))
    assert tree("a OR b AND c") == Or((t("a"), And((t("b"), t("c")))))


def test_not_binds_tighter_than_and() -> None:
    assert tree("NOT a b") == And((Not(t("a")), t("b")))


def test_parentheses_group() -> None:
    assert tree("(a OR b) c") == And((Or((t("a"), t("b"))), t("c")))


def test_redundant_parentheses_disappear() -> None:
    assert parse("((a))") == parse("a")


def test_nested_same_operator_keeps_its_structure() -> None:
    assert tree("a (b c)") == And((t("a"), And((t("b"), t("c")))))


# --------------------------------------------------------------------------- leaves


def test_phrase() -> None:
    assert tree('"service client"') == Phrase(("service", "client"))


def test_one_word_phrase_is_a_term() -> None:
    assert parse('"Orange"') == parse("orange")


def test_word_with_inner_punctuation_is_a_phrase() -> None:
    assert parse("e-mail") == parse('"e mail"')
    assert tree("wi-fi") == Phrase(("wi", "fi"))


def test_elision_in_query_term() -> None:
    assert parse("d'Orange") == parse("orange")
    assert parse("l’appli") == parse("appli")


def test_hashtag_and_handle_terms() -> None:
    assert tree("#Orange") == t("#orange")
    assert tree("@SNCF") == t("@sncf")


def test_suffix_wildcard() -> None:
    assert tree("Livr*") == Wildcard("livr*")


def test_question_mark_wildcard() -> None:
    assert tree("colo?r") == Wildcard("colo?r")


def test_wildcard_with_elision_and_tag() -> None:
    assert tree("l'appli*") == Wildcard("appli*")
    assert tree("#orange*") == Wildcard("#orange*")


def test_wildcard_characters_are_punctuation_inside_phrases() -> None:
    assert parse('"vraiment ?"') == parse("vraiment")
    assert parse('"livr* rapide"') == parse('"livr rapide"')


# --------------------------------------------------------------------------- NEAR


def test_near() -> None:
    assert tree("orange NEAR/3 livraison") == Near(t("orange"), t("livraison"), 3)


def test_near_ordered() -> None:
    assert tree("orange NEAR/3f livraison") == Near(t("orange"), t("livraison"), 3, ordered=True)


def test_near_with_phrase_wildcard_and_or_group() -> None:
    assert tree('(SNCF OR "ouigo") NEAR/5 (retard* OR annul*)') == Near(
        Or((t("sncf"), t("ouigo"))), Or((Wildcard("retard*"), Wildcard("annul*"))), 5
    )


def test_near_binds_tighter_than_and_and_not() -> None:
    assert tree("a b NEAR/2 c") == And((t("a"), Near(t("b"), t("c"), 2)))
    assert tree("x -a NEAR/2 c") == And((t("x"), Not(Near(t("a"), t("c"), 2))))


# --------------------------------------------------------------------------- fields


def test_title_field_restricts_leaves() -> None:
    assert tree("title:Orange") == t("orange", in_title=True)
    assert tree('title:"service client"') == Phrase(("service", "client"), in_title=True)
    assert tree("title:livr*") == Wildcard("livr*", in_title=True)


def test_field_applies_to_a_group() -> None:
    assert tree("title:(a OR b)") == Or((t("a", True), t("b", True)))
    assert tree("site:(lemonde.fr OR lefigaro.fr)") == Or(
        (FieldMatch("site", "lemonde.fr"), FieldMatch("site", "lefigaro.fr"))
    )


def test_field_applies_to_the_next_term_only() -> None:
    assert tree("title:orange sncf") == And((t("orange", True), t("sncf")))


def test_url_value_is_read_raw() -> None:
    assert tree("url:https://x.com/a?b=1&c=2") == FieldMatch("url", "https://x.com/a?b=1&c=2")


def test_url_value_with_balanced_parentheses() -> None:
    assert tree("url:wikipedia.org/wiki/Orange_(fruit) fruit") == And(
        (FieldMatch("url", "wikipedia.org/wiki/orange_(fruit)"), t("fruit"))
    )


def test_field_inside_parentheses_stops_at_the_closing_one() -> None:
    assert tree("(site:lemonde.fr OR orange)") == Or(
        (FieldMatch("site", "lemonde.fr"), t("orange"))
    )


def test_quoted_field_value() -> None:
    assert tree('url:"https://x.com/a b"') == FieldMatch("url", "https://x.com/a b")
    assert tree('author:"Jean  Dupont"') == FieldMatch("author", "jean dupont")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("site:lemonde.fr", "lemonde.fr"),
        ("site:www.LeMonde.fr", "lemonde.fr"),
        ("site:https://www.lemonde.fr/economie/", "lemonde.fr"),
        ("site:lemonde.fr:443", "lemonde.fr"),
    ],
)
def test_site_value_is_normalised_to_a_domain(text: str, value: str) -> None:
    assert tree(text) == FieldMatch("site", value)


def test_other_field_values_are_normalised() -> None:
    assert tree("lang:FR_ca") == FieldMatch("lang", "fr-ca")
    assert tree("source:Reddit") == FieldMatch("source", "reddit")
    assert tree("country:FR") == FieldMatch("country", "fr")
    assert tree("author:@Orange") == FieldMatch("author", "orange")


def test_field_names_are_case_insensitive() -> None:
    assert parse("Title:orange") == parse("title:orange")


def test_colon_followed_by_slash_is_not_a_field() -> None:
    with pytest.raises(QuerySyntaxError, match="url: or site:"):
        parse("https://x.com")


def test_negated_field() -> None:
    assert tree("orange -source:reddit") == And((t("orange"), Not(FieldMatch("source", "reddit"))))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(orange OR sncf", 0, "unbalanced parenthesis"),
        ("orange OR sncf)", 14, "unbalanced parenthesis"),
        ("a (", 2, "unbalanced parenthesis"),
        ("a ()", 2, "empty parentheses"),
        ('orange "service client', 7, "unbalanced quote"),
        ("orange AND", 7, "AND needs an operand on each side"),
        ("OR orange", 0, "OR needs an operand on each side"),
        ("orange OR", 7, "OR needs an operand on each side"),
        ("a AND OR b", 6, "OR needs an operand on each side"),
        ("(a OR) b", 3, "OR needs an operand on each side"),
        ("a NOT", 2, "NOT needs something to exclude after it"),
        ("a -", 2, "- must be followed, without a space, by what to exclude"),
        ("a - b", 2, "- must be followed, without a space, by what to exclude"),
        ('a ""', 2, "empty phrase"),
        ('a " !? "', 2, "empty phrase"),
        ("orange NEAR/3", 7, "NEAR needs an operand on each side"),
        ("NEAR/3 orange", 0, "NEAR needs an operand on each side"),
        ("a NEAR b", 2, "NEAR needs a distance, like NEAR/5 or NEAR/5f"),
        ("a NEAR/x b", 2, "NEAR needs a distance, like NEAR/5 or NEAR/5f"),
        ("a NEAR/-1 b", 2, "NEAR needs a distance, like NEAR/5 or NEAR/5f"),
        ("a NEAR/101 b", 2, "NEAR distance must be between 0 and 100"),
        ("(a b) NEAR/3 c", 6, "NEAR operands must be terms, phrases or OR-groups of them"),
        ("a NEAR/3 -b", 2, "NEAR operands must be terms, phrases or OR-groups of them"),
        ("a NEAR/3 site:x.fr", 2, "NEAR operands must be terms, phrases or OR-groups of them"),
        ("a NEAR/3 b NEAR/3 c", 11, "NEAR cannot be chained: join NEAR clauses with AND"),
        ("li*", 0, "wildcard needs at least 3 characters before *"),
        ("x #or*", 2, "wildcard needs at least 3 characters before *"),
        ("li*vr", 0, "* is only allowed at the end of a word"),
        ("e-ma*", 0, "a wildcard must be one word: letters, digits, ? and a final *"),
        ("a foo:bar", 2, "unknown field foo"),
        ("title: orange", 0, "title: needs a value right after the colon"),
        ("a site:", 2, "site: needs a value right after the colon"),
        ("title:-spam", 0, "title: must be followed by a term, a phrase or a group"),
        ("title:(a site:b.fr)", 9, "fields cannot be nested"),
        ("author:(a NEAR/2 b)", 10, "NEAR only works on text, not inside author:"),
        ("lang:f*", 5, "wildcards are not allowed in lang:"),
        ('site:"a b"', 5, "site: needs a domain, like lemonde.fr"),
        ("author:@", 7, "author: needs a name or a handle"),
        ('source:" "', 7, "source: needs a value"),
        ("-spam", 0, "query needs at least one term to look for"),
        ("NOT spam", 0, "query needs at least one term to look for"),
        ("orange OR -spam", 0, "query needs at least one term to look for"),
        ("a & b", 2, "nothing to search for in '&'"),
        ("www.orange.fr", 0, "web addresses are searched with url: or site:"),
        ('"voir https://x.co"', 0, "web addresses are searched with url: or site:"),
        ("(" * 60 + "a" + ")" * 60, 50, "query is nested too deeply (more than 50 levels)"),
    ],
)
def test_errors_carry_position_and_reason(text: str, position: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert (caught.value.position, caught.value.reason) == (position, reason)
    assert str(caught.value) == f"position {position}: {reason}"


def test_parse_returns_a_query() -> None:
    assert isinstance(parse("orange"), Query)


def test_equal_queries_hash_alike() -> None:
    assert len({parse("Orange SNCF"), parse("orange AND sncf")}) == 1
