"""Themes and drivers of negativity (flocon.analysis.topics), on hand-written mentions."""

from __future__ import annotations

import numpy as np
import pytest

from flocon.analysis.topics import TopicInput, TopicReport, analyse_topics, log_odds_z

# A French and English conversation about a delivery brand: deliveries that come late
# drive the negative mentions; the app and the prices are talked about either way.
NEGATIVE_FR = [
    "Livraison en retard encore une fois, colis toujours pas arrivé",
    "Trois jours de retard pour ma livraison, service client injoignable",
    "Colis en retard et livreur introuvable, la livraison est un cauchemar",
    "Encore une livraison en retard, je ne commanderai plus",
]
NEGATIVE_EN = [
    "My delivery is late again and the parcel never arrived",
    "Late delivery for the third time, the parcel is lost",
    "Delivery late by two days, parcel still missing",
]
OTHER = [
    ("L'application mobile est pratique pour suivre les prix", "fr", "positive"),
    ("Les prix sont corrects et l'application mobile marche bien", "fr", "positive"),
    ("Bonne application mobile, des prix bas cette semaine", "fr", "neutral"),
    ("Application mobile mise à jour, les prix restent bas", "fr", "neutral"),
    ("The mobile app is great and the prices are low", "en", "positive"),
    ("Prices went down, the mobile app shows them clearly", "en", "positive"),
    ("Une livraison rapide, merci", "fr", "positive"),
    ("Delivery was on time, nice", "en", "positive"),
]


def conversation(copies: int = 3) -> list[TopicInput]:
    """The mentions above, each said ``copies`` times (by different people: other ids)."""
    items = []
    for copy in range(copies):
        base = 100 * copy
        items += [TopicInput(base + i, t, "fr", "negative") for i, t in enumerate(NEGATIVE_FR)]
        items += [TopicInput(base + 10 + i, t, "en", "negative") for i, t in enumerate(NEGATIVE_EN)]
        items += [TopicInput(base + 20 + i, t, lang, s) for i, (t, lang, s) in enumerate(OTHER)]
    return items


def phrases(report: TopicReport) -> set[str]:
    return {p.text for theme in report.themes for p in theme.phrases}


def test_the_theme_that_dominates_negatives_is_the_top_driver() -> None:
    report = analyse_topics(conversation(), exclude=["acme"])
    assert report.drivers, "a driver was expected"
    top = report.drivers[0]
    assert {p.text for p in top.phrases} & {"retard", "late", "livraison en retard"}
    assert top.z >= 1.96
    assert top.negative > top.mentions - top.negative
    assert all(e.id % 100 < 20 for e in top.examples), "a driver's examples are negative"
    # What is said in positive and neutral mentions does not drive negativity.
    driven = {p.text for d in report.drivers for p in d.phrases}
    assert not driven & {"application mobile", "mobile app", "prix", "prices"}


def test_stop_words_and_watch_words_are_not_themes() -> None:
    items = [
        TopicInput(i, f"Acme : le {word} est vraiment très bien pour nous", "fr", "positive")
        for i, word in enumerate(["service", "service", "service", "produit", "produit"])
    ]
    found = phrases(analyse_topics(items, exclude=["acme"]))
    assert "service" in found
    assert not found & {"le", "est", "vraiment", "tres", "pour", "nous", "acme"}
    assert all(not p.startswith(("le ", "est ")) for p in found)


def test_phrases_sharing_a_word_and_plural_variants_are_grouped() -> None:
    report = analyse_topics(conversation())
    [mobile] = [{p.text for p in t.phrases} for t in report.themes if t.label == "mobile"]
    assert {"application mobile", "mobile app"} <= mobile
    items = [
        TopicInput(1, "The employee was rude", "en", "negative"),
        TopicInput(2, "Rude employee at the counter", "en", "negative"),
        TopicInput(3, "Two employees laughing at us", "en", "negative"),
        TopicInput(4, "The employees ignored me", "en", "negative"),
        TopicInput(5, "The fries were cold", "en", "negative"),
        TopicInput(6, "Cold fries and a soggy burger", "en", "negative"),
    ]
    groups = [{p.text for p in t.phrases} for t in analyse_topics(items).themes]
    assert any({"employee", "employees"} <= g for g in groups)
    assert not any({"employee", "fries"} <= g for g in groups)


def test_a_phrase_found_inside_a_longer_one_gives_way() -> None:
    items = [
        TopicInput(i, "The drive thru was slow tonight", "en", "negative") for i in range(4)
    ] + [TopicInput(9, "Slow drive thru again", "en", "negative")]
    found = phrases(analyse_topics(items))
    assert "drive thru" in found
    assert "thru" not in found and "drive" not in found


def test_same_input_same_output() -> None:
    items = conversation()
    first = analyse_topics(items, examples=2)
    assert analyse_topics(list(items), examples=2) == first
    assert analyse_topics(list(reversed(items)), examples=2).themes == first.themes


def test_no_drivers_without_negative_mentions() -> None:
    items = [TopicInput(i, t, lang, "positive") for i, (t, lang, _) in enumerate(OTHER)]
    report = analyse_topics(items)
    assert report.themes and not report.drivers
    assert report.negative == 0


def test_empty_input() -> None:
    report = analyse_topics([])
    assert (report.mentions, report.themes, report.drivers) == (0, (), ())


def test_log_odds_matches_the_formula() -> None:
    # Monroe et al. (2008), eq. 16 and 20, for one feature by hand.
    delta, z = log_odds_z(np.array([30]), 100, np.array([10]), 200, np.array([4.0]), 50.0)
    expected = np.log(34 / (100 + 50 - 34)) - np.log(14 / (200 + 50 - 14))
    assert delta[0] == pytest.approx(expected)
    assert z[0] == pytest.approx(expected / np.sqrt(1 / 34 + 1 / 14))
