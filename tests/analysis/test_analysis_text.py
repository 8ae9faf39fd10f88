"""Text preparation shared by training and run time (flocon.analysis.text)."""

from __future__ import annotations

import pytest

from flocon.analysis.text import clean, mark_negation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@SNCF_Direct train en retard", "@user train en retard"),
        ("vu sur https://example.org/a?b=1 !", "vu sur http !"),
        ("trooooop bien!!!!!", "troop bien!!"),
        ("C\u2019est NUL", "c'est nul"),
        ("super :) mais :( ensuite", "super emopos mais emoneg ensuite"),
        ("  plusieurs   espaces\n", "plusieurs espaces"),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_french_negation_scope_marks_the_following_words() -> None:
    assert mark_negation(clean("je ne recommande pas ce produit")) == (
        "je ne neg_recommande pas neg_ce neg_produit"
    )


def test_pas_mal_differs_from_mal() -> None:
    assert "neg_mal" in mark_negation(clean("pas mal du tout"))
    assert "neg_mal" not in mark_negation(clean("vraiment mal"))


def test_elided_negation_and_english_contractions() -> None:
    assert mark_negation(clean("je n'aime pas")).split() == ["je", "n'", "neg_aime", "pas"]
    assert mark_negation(clean("I don't like it")).split() == ["i", "don't", "neg_like", "neg_it"]


def test_punctuation_ends_the_scope() -> None:
    marked = mark_negation(clean("not bad. great service"))
    assert marked.split() == ["not", "neg_bad", ".", "great", "service"]
