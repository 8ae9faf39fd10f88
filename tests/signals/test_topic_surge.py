from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from flocon.signals.detectors import Reading
from flocon.signals.topic_surge import (
    PhraseCache,
    TopicConfig,
    TopicItem,
    negative_theme_config,
    phrases_of,
    shares_a_phrase,
    surging_topics,
    with_negative_theme,
)

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=14)

_CHATTER = [
    "Ma commande est arrivée en retard encore une fois",
    "Le service client ne répond pas au téléphone",
    "J'adore la nouvelle gamme de yaourts, très bon goût",
    "Quelqu'un sait si le magasin est ouvert dimanche ?",
    "Promo sur les pâtes cette semaine, super prix",
    "Application mobile qui plante au paiement",
    "My order arrived late again, customer service was helpful though",
    "Love the new flavour of the chocolate bar",
    "The store near my place closed early today",
    "Great deal on coffee this week at the supermarket",
    "Le livreur a laissé le paquet devant la porte",
    "Carte de fidélité : les points ne sont pas crédités",
    "Loyalty points still missing from my account",
    "Caisse automatique en panne, file d'attente énorme",
    "The checkout queue was huge this morning",
    "Rupture de stock sur le lait bio depuis lundi",
]
_WORDS = (
    "prix qualite rayon produit frais legumes fruits viande poisson pain boulangerie caisse "
    "parking horaires vendeur conseil accueil sourire livraison drive retrait emballage "
    "weekend morning evening staff friendly manager aisle shelf price fresh bakery"
).split()


def _chatter(rng: random.Random) -> str:
    base = rng.choice(_CHATTER)
    return f"{base} {' '.join(rng.sample(_WORDS, 3))}"


def _background(rng: random.Random, n: int, start_id: int = 0) -> list[TopicItem]:
    out = []
    for k in range(n):
        at = NOW - timedelta(hours=2) - SPAN * (k + 0.5) / n
        out.append(TopicItem(start_id + k, at, _chatter(rng), "fr", f"u{rng.randrange(3000)}"))
    return out


def _recent(rng: random.Random, n: int, start_id: int) -> list[TopicItem]:
    return [
        TopicItem(
            start_id + k,
            NOW - timedelta(hours=2) * (k + 0.5) / n,
            _chatter(rng),
            "fr",
            f"u{rng.randrange(3000)}",
        )
        for k in range(n)
    ]


def _replace_last(
    recent: list[TopicItem], texts: list[str], authors: list[str], minutes: float
) -> list[TopicItem]:
    """Replace the items of the last ``minutes`` (the total volume stays the same)."""
    late = sorted(
        (i for i, it in enumerate(recent) if it.at > NOW - timedelta(minutes=minutes)),
        key=lambda i: recent[i].at,
    )
    assert len(late) >= len(texts)
    out = list(recent)
    for j, (text, author) in enumerate(zip(texts, authors, strict=True)):
        i = late[-len(texts) + j]
        out[i] = TopicItem(out[i].id, out[i].at, text, "fr", author)
    return out


def test_steady_theme_does_not_fire() -> None:
    rng = random.Random(1)
    bg = _background(rng, 2000)
    # a theme present at a steady share in the background and in the window
    bg = [
        TopicItem(it.id, it.at, "Problème de carte bancaire refusée en caisse", "fr", it.author)
        if k % 10 == 0
        else it
        for k, it in enumerate(bg)
    ]
    recent = _recent(rng, 30, 10_000)
    recent = [
        TopicItem(it.id, it.at, "Carte bancaire refusée encore une fois", "fr", f"c{k}")
        if k % 10 == 0
        else it
        for k, it in enumerate(recent)
    ]
    assert surging_topics(NOW, recent, bg, SPAN, cache=PhraseCache()) == []


def test_new_theme_from_four_authors_fires_with_onset_near_first_mention() -> None:
    rng = random.Random(2)
    bg = _background(rng, 2000)
    recent = _recent(rng, 24, 10_000)
    texts = [
        "Intoxication alimentaire après le poulet acheté hier",
        "Toute la famille malade, intoxication alimentaire ?",
        "Intoxications alimentaires signalées après le poulet rôti",
        "Encore une intoxication alimentaire, le poulet était avarié",
        "Mon fils aussi : intoxication alimentaire",
        "Intoxication alimentaire confirmée par le médecin",
    ]
    authors = ["a1", "a2", "a3", "a4", "a1", "a2"]
    recent = _replace_last(recent, texts, authors, 40)
    readings = surging_topics(NOW, recent, bg, SPAN, cache=PhraseCache())
    assert readings, "a new theme from four authors must fire"
    top = readings[0]
    assert "intoxication alimentaire" in (top.topic, *top.phrases)
    assert top.authors >= 4
    first = min(it.at for it in recent if "ntoxication" in it.text)
    assert abs((top.onset - first).total_seconds()) <= 10 * 60
    assert top.severity in ("low", "medium", "high")
    assert "distinct authors" in top.explanation


def test_one_author_repeating_does_not_fire() -> None:
    rng = random.Random(3)
    bg = _background(rng, 2000)
    recent = _recent(rng, 30, 10_000)
    texts = ["Colis jamais reçu, remboursez-moi !"] * 10
    recent = _replace_last(recent, texts, ["spammer"] * 10, 60)
    assert surging_topics(NOW, recent, bg, SPAN, cache=PhraseCache()) == []


def test_watch_keywords_never_fire() -> None:
    rng = random.Random(4)
    bg = _background(rng, 2000)
    recent = _recent(rng, 30, 10_000)
    texts = [f"Carrefour Market {k} ouvre ses portes" for k in range(8)]
    recent = _replace_last(recent, texts, [f"a{k}" for k in range(8)], 60)
    cfg = TopicConfig(sensitivity="high")
    readings = surging_topics(
        NOW, recent, bg, SPAN, cfg, exclude=["Carrefour", "market"], cache=PhraseCache()
    )
    for r in readings:
        for p in r.phrases:
            assert "carrefour" not in p and "market" not in p
    # without the exclusion, the same window fires on the keywords
    assert surging_topics(NOW, recent, bg, SPAN, cfg, cache=PhraseCache())


def test_variants_group_into_one_reading() -> None:
    rng = random.Random(5)
    bg = _background(rng, 2000)
    recent = _recent(rng, 30, 10_000)
    texts = [
        "Rappel produit sur les steaks hachés",
        "RAPPEL PRODUITS : steak haché contaminé",
        "Rappel de produit, steaks hachés retirés",
        "Le rappel produit des steaks, vous êtes au courant ?",
        "Rappels produits steak haché, remboursement ?",
        "rappel produit steaks hachés listeria",
        "Rappel produit : steaks hachés Charal",
    ]
    recent = _replace_last(recent, texts, [f"a{k}" for k in range(7)], 60)
    readings = surging_topics(NOW, recent, bg, SPAN, cache=PhraseCache())
    assert len(readings) == 1
    phrases = set(readings[0].phrases)
    assert {"rappel produit", "rappel"} <= phrases
    assert any(p.startswith("steak") for p in phrases)
    assert readings[0].observed >= 7  # and perhaps a chatter item with "produit"


def test_plural_and_accents_fold_to_one_phrase() -> None:
    assert "coli jamai recu" in phrases_of("Colis jamais reçu", "fr")
    assert phrases_of("intoxications alimentaires") & phrases_of("Intoxication alimentaire")


def test_fast_for_500_recent_and_5000_background() -> None:
    rng = random.Random(6)
    bg = _background(rng, 5000)
    recent = _recent(rng, 500, 100_000)
    cache = PhraseCache()
    surging_topics(NOW, recent, bg, SPAN, cache=cache)  # warm the phrase cache
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        surging_topics(NOW, recent, bg, SPAN, cache=cache)
        best = min(best, time.perf_counter() - t0)
    assert best < 0.05, best


def test_the_phrase_cache_never_serves_another_mentions_phrases() -> None:
    from flocon.signals.topic_surge import PhraseCache, TopicItem

    cache = PhraseCache(capacity=10)
    at = datetime(2026, 11, 25, tzinfo=UTC)
    first = cache.get(TopicItem(1, at, "rappel produit chez Acme", "fr"))
    reused = cache.get(TopicItem(1, at, "livraison rapide, merci", "fr"))
    assert first != reused
    assert any("livraison" in k for k in reused.keys)


# --------------------------------------------------------------------------------------------
# Negative themes: the same scan on the last 30 minutes' negative mentions


def _negatives(texts: list[str], authors: list[str], minutes_ago: list[float]) -> list[TopicItem]:
    return [
        TopicItem(20_000 + k, NOW - timedelta(minutes=m), text, "fr", author)
        for k, (text, author, m) in enumerate(zip(texts, authors, minutes_ago, strict=True))
    ]


_RECALL = [
    "Rappel produit sur les steaks hachés, salmonelle détectée",
    "Ma fille a mangé ces steaks hachés, salmonelle ?? rappel produit",
    "Salmonelle dans les steaks hachés, c'est une honte",
    "Encore un rappel : steaks hachés contaminés à la salmonelle",
]


def test_three_authors_sharing_a_rare_negative_phrase_fire_within_minutes() -> None:
    bg = _background(random.Random(10), 2000)
    recent = _negatives(_RECALL[:3], ["p1", "p2", "p3"], [9.0, 5.0, 1.0])
    readings = surging_topics(NOW, recent, bg, SPAN, negative_theme_config(), cache=PhraseCache())
    assert readings, "three authors with the same rare negative phrase must fire"
    top = readings[0]
    assert {"salmonelle", "steak hache", "steaks haches"} & {top.topic, *top.phrases}
    assert top.window_count == 3 and top.window_minutes <= 10
    assert top.onset == NOW - timedelta(minutes=9)
    assert set(top.evidence) == {it.id for it in recent}
    assert "negative mentions" in top.explanation


def test_negative_theme_needs_three_authors_in_one_window() -> None:
    bg = _background(random.Random(11), 2000)
    config = negative_theme_config()
    # two authors only: one of them writes twice
    two = _negatives(_RECALL, ["p1", "p2", "p1", "p2"], [12.0, 8.0, 4.0, 1.0])
    assert surging_topics(NOW, two, bg, SPAN, config, cache=PhraseCache()) == []
    # three authors, but spread over more than the 30-minute window
    spread = _negatives(_RECALL[:3], ["p1", "p2", "p3"], [50.0, 35.0, 1.0])
    assert surging_topics(NOW, spread, bg, SPAN, config, cache=PhraseCache()) == []


def test_unrelated_complaints_or_a_usual_phrase_do_not_fire() -> None:
    rng = random.Random(12)
    bg = _background(rng, 2000)
    config = negative_theme_config()
    unrelated = _negatives(
        [
            "Le livreur a jeté mon colis par-dessus le portail",
            "Application qui plante encore au moment de payer",
            "Rayon frais vide à 18 h, inadmissible",
            "Remboursement toujours pas reçu après trois semaines",
        ],
        ["p1", "p2", "p3", "p4"],
        [20.0, 12.0, 6.0, 2.0],
    )
    assert surging_topics(NOW, unrelated, bg, SPAN, config, cache=PhraseCache()) == []
    # "service client" is in a tenth of the background: three complaints about it are ordinary
    usual = [
        TopicItem(it.id, it.at, "Le service client ne répond jamais", "fr", it.author)
        if k % 10 == 0
        else it
        for k, it in enumerate(bg)
    ]
    about_it = _negatives(
        [
            "Le service client ne répond jamais",
            "Service client aux abonnés absents",
            "Toujours rien du service client",
        ],
        ["p1", "p2", "p3"],
        [9.0, 5.0, 1.0],
    )
    assert surging_topics(NOW, about_it, usual, SPAN, config, cache=PhraseCache()) == []


def test_negative_theme_sensitivity_orders_severity() -> None:
    bg = _background(random.Random(13), 2000)
    recent = _negatives(_RECALL, ["p1", "p2", "p3", "p4"], [14.0, 9.0, 5.0, 1.0])
    readings = {
        level: surging_topics(
            NOW, recent, bg, SPAN, negative_theme_config(level), cache=PhraseCache()
        )
        for level in ("low", "medium", "high")
    }
    assert all(readings.values())
    # evidence enough for the strictest level: the severity says so at every level
    assert {r[0].severity for r in readings.values()} == {"high"}
    cfg = negative_theme_config()
    assert cfg.thresholds["low"].score > cfg.thresholds["medium"].score
    assert cfg.thresholds["medium"].score > cfg.thresholds["high"].score


def test_shares_a_phrase_counts_authors_and_skips_watch_keywords() -> None:
    cache = PhraseCache()
    story = _negatives(_RECALL[:3], ["p1", "p2", "p3"], [9.0, 5.0, 1.0])
    assert shares_a_phrase(story, 3, cache=cache)
    # one of the three writes twice: two authors only
    twice = _negatives(_RECALL[:3], ["p1", "p2", "p1"], [9.0, 5.0, 1.0])
    assert not shares_a_phrase(twice, 3, cache=cache)
    # the only words they share are the watch's own keywords
    brand = _negatives(
        ["Acme encore en retard", "Livreur Acme impoli", "Colis Acme abîmé"],
        ["p1", "p2", "p3"],
        [9.0, 5.0, 1.0],
    )
    assert not shares_a_phrase(brand, 3, exclude=["Acme"], cache=cache)
    assert shares_a_phrase(brand, 3, cache=cache)


def _reading(kind: str, firing: bool, severity: str | None, onset_min: float) -> Reading:
    return Reading(
        kind=kind,  # type: ignore[arg-type]
        firing=firing,
        severity=severity,  # type: ignore[arg-type]
        observed=4.0,
        expected=1.0,
        p_value=0.01,
        window_minutes=20,
        onset=NOW - timedelta(minutes=onset_min),
        explanation=f"{kind} by counts",
    )


def test_a_negative_theme_folds_into_the_one_negative_shift_reading() -> None:
    bg = _background(random.Random(14), 2000)
    recent = _negatives(_RECALL[:3], ["p1", "p2", "p3"], [9.0, 5.0, 1.0])
    (theme, *_) = surging_topics(
        NOW, recent, bg, SPAN, negative_theme_config(), cache=PhraseCache()
    )
    spike = _reading("spike", False, None, 5)
    quiet = _reading("negative_shift", False, None, 5)
    assert with_negative_theme([spike, quiet], None) == [spike, quiet]
    # the counts are quiet: the theme makes the shift fire, with its own onset and figures
    got_spike, shift = with_negative_theme([spike, quiet], theme)
    assert got_spike == spike
    assert shift.firing and shift.severity == theme.severity and shift.onset == theme.onset
    assert shift.explanation.startswith("Negative theme: ") and theme.topic in shift.explanation
    assert 0.0 < shift.p_value < 1e-6
    # both fire: the earlier onset and the higher severity win, both explanations are kept
    loud = _reading("negative_shift", True, "low", 30)
    (_, both) = with_negative_theme([spike, loud], theme)
    assert both.firing and both.onset == loud.onset
    assert both.severity == theme.severity == "high"
    assert (
        both.explanation.startswith("negative_shift by counts")
        and "Negative theme" in both.explanation
    )
