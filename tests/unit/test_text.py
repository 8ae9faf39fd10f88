"""Matching-oriented folding and tokenising (flocon.domain.text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flocon.domain.text import URL_TOKEN, fold, tokenize, tokens

# --------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Élan", "elan"),
        ("ELAN", "elan"),
        ("élan", "elan"),
        ("Noël à Besançon", "noel a besancon"),
        ("Œuvre", "oeuvre"),
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("e\u0301lan", "elan"),  # decomposed accent
        ("l’appli", "l'appli"),
        ("\u0386\u0388", "αε"),
    ],
)
def test_fold_lowercases_and_strips_accents(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_keeps_non_latin_scripts() -> None:
    assert fold("Москва हिंदी") == "москва हिंदी"


def test_fold_removes_the_url_placeholder_character() -> None:
    assert URL_TOKEN not in fold(f"a{URL_TOKEN}b") + fold(f"é{URL_TOKEN}b")


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


# --------------------------------------------------------------------------- tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("D'Orange", ["orange"]),
        ("l’appli", ["appli"]),
        ("qu'il", ["il"]),
        ("jusqu'à lorsqu'on puisqu'elle quoiqu'il", ["a", "on", "elle", "il"]),
        ("j'ai m'a n'est s'il t'as c'est", ["ai", "a", "est", "il", "as", "est"]),
        ("aujourd'hui", ["aujourd", "hui"]),
        ("it's", ["it", "s"]),
        ("l' avion", ["l", "avion"]),
    ],
)
def test_elisions_are_dropped(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_hashtags_and_handles_keep_their_sign() -> None:
    assert tokens("#Orange @orange_conseil #orangeade") == [
        "#orange",
        "@orange_conseil",
        "#orangeade",
    ]


def test_sign_glued_to_a_word_is_not_a_tag() -> None:
    assert tokens("john@orange.fr C# a#b") == ["john", "orange", "fr", "c", "a", "b"]


def test_url_is_one_placeholder_token() -> None:
    assert tokens("voir https://www.orange.fr/offre?x=1. merci") == ["voir", URL_TOKEN, "merci"]
    assert tokens("(www.sncf.com/a)") == [URL_TOKEN]


def test_emoji_are_tokens_of_their_own() -> None:
    assert tokens("super😍😍") == ["super", "😍", "😍"]
    assert tokens("👍🏽top") == ["👍", "top"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e-mail", ["e", "mail"]),
        ("wi-fi", ["wi", "fi"]),
        ("3.5", ["3", "5"]),
        ("orange.fr", ["orange", "fr"]),
        ("Lac-Mégantic", ["lac", "megantic"]),
    ],
)
def test_inner_punctuation_splits_words(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_combining_marks_stay_inside_words() -> None:
    assert tokens("हिंदी مُحَمَّد") == ["हिंदी", "مُحَمَّد"]


@given(st.text())
def test_every_token_tokenises_to_itself(text: str) -> None:
    for tok in tokens(text):
        assert tok == URL_TOKEN or tokenize(tok) == [tok]
