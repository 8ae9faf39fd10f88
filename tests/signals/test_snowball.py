"""Snowball score (flocon.signals.snowball) and severity lexicon (flocon.signals.severity)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flocon.signals.severity import TERMS, severity, severity_hits
from flocon.signals.snowball import (
    CASCADE_FEATURES,
    FEATURES,
    PRIOR_FEATURES,
    Activity,
    SnowballInput,
    SnowballModel,
    cascade_features,
    snowball,
)

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def item(
    minutes_of_activity: list[float],
    now: float,
    **changes: object,
) -> SnowballInput:
    base = SnowballInput(
        published_at=T0,
        now=at(now),
        text="Service client nul, commande jamais livrée",
        sentiment_score=-0.6,
        platform="mastodon",
        author_followers=250,
        author_network_score=None,
        is_reply=False,
        activity=tuple(
            Activity(at=at(m), author_key=f"user{i}", kind="reply" if i % 3 == 0 else "share")
            for i, m in enumerate(minutes_of_activity)
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- severity lexicon ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Quelle ARNAQUE", "arnaque"),
        ("je me suis fait arnaquer", "arnaque"),
        ("Arnaqué par mon opérateur", "arnaque"),
        ("encore des arnaques", "arnaque"),
        ("c'est de l'escroquerie", "escroquerie"),
        ("they scammed me", "scam"),
        ("bunch of scammers", "scam"),
        ("Intoxication alimentaire après le déjeuner", "intoxication alimentaire"),
        ("intoxications alimentaires en série", "intoxication alimentaire"),
        ("got food poisoning there", "food poisoning"),
        ("voir le rappel conso de ce lot", "rappel conso"),
        ("je vais porter plainte", "plainte"),
        ("#BoycottBrand maintenant", "boycott"),
        ("boycottez cette marque", "boycott"),
        ("a class action is coming", "class action"),
        ("Ford recalls 1M cars", "recall"),
        ("they face a lawsuit", "lawsuit"),
        ("fraude à la carte bancaire", "fraude"),
        ("fraudulent charges", "fraud"),
        ("mise en demeure envoyée", "mise en demeure"),
        ("signalé à l'UFC-Que Choisir", "UFC-Que Choisir"),
        ("la DGCCRF est saisie", "DGCCRF"),
        ("lu dans 60 Millions de consommateurs", "60 millions de consommateurs"),
        ("fuite de données chez l'opérateur", "fuite de données"),
        ("massive data breach", "data breach"),
        ("produit dangereux pour les enfants", "danger"),
    ],
)
def test_severity_matches_inflections_and_accents(text: str, term: str) -> None:
    assert term in severity_hits(text)
    assert 0 < severity(text) <= 1


@pytest.mark.parametrize(
    "text",
    [
        "scampi à l'ail délicieux",  # scam inside a word
        "une belle complainte",  # plainte inside a word
        "I recall that evening",  # recall, the verb of memory
        "UFC 300 tonight",  # not the consumer association
        "Sue from support was lovely",  # a name, not a lawsuit
        "super produit, merci !",
    ],
)
def test_severity_ignores_other_words(text: str) -> None:
    assert severity_hits(text) == []
    assert severity(text) == 0.0


def test_severity_lexicon_shape_and_grading() -> None:
    assert 60 <= len(TERMS) <= 100
    assert {t.weight for t in TERMS} == {1, 2, 3}
    assert len({t.name for t in TERMS}) == len(TERMS)
    one = severity("arnaque")
    assert severity("arnaque, je porte plainte") > one
    assert severity("plainte") > severity("plus jamais")


# --- snowball --------------------------------------------------------------------------


def test_factors_sum_to_the_logit() -> None:
    score = snowball(item([1, 2, 3, 5, 8, 9], now=10, text="arnaque !"))
    logit = math.log(score.probability / (1 - score.probability))
    assert score.bias + sum(f.contribution for f in score.factors) == pytest.approx(logit)
    assert score.logit == pytest.approx(logit)
    assert {f.name for f in score.factors} == set(FEATURES)
    for f in score.factors:
        assert f.contribution == pytest.approx(f.weight * f.value)
        assert f.label
    sizes = [abs(f.contribution) for f in score.factors]
    assert sizes == sorted(sizes, reverse=True)


def test_accelerating_beats_the_same_replies_spread_over_hours() -> None:
    burst = snowball(item([2 + i * 0.9 for i in range(12)], now=14))
    spread = snowball(item([i * 20 for i in range(12)], now=240))
    assert burst.probability > spread.probability
    # Same `now`: activity bunched at the end beats activity bunched at the start.
    late = snowball(item([50 + i * 0.8 for i in range(12)], now=60))
    early = snowball(item([1 + i * 0.8 for i in range(12)], now=60))
    assert late.probability > early.probability


def test_more_followers_and_severity_raise_the_probability() -> None:
    base = item([1, 3, 4], now=10)
    low = snowball(base).probability
    assert snowball(dataclasses.replace(base, author_followers=200_000)).probability > low
    assert snowball(dataclasses.replace(base, author_network_score=0.8)).probability > low
    severe = dataclasses.replace(base, text="Intoxication alimentaire, je porte plainte")
    assert snowball(severe).probability > low
    assert snowball(dataclasses.replace(base, sentiment_score=-1.0)).probability > low
    assert snowball(dataclasses.replace(base, is_reply=True)).probability < low


def test_more_activity_raises_the_probability() -> None:
    few = snowball(item([1, 2, 3], now=10)).probability
    many = snowball(item([1 + i * 0.3 for i in range(30)], now=10)).probability
    assert many > few


def test_only_activity_up_to_now_counts() -> None:
    seen = item([1, 2, 3], now=10)
    with_future = item([1, 2, 3, 11, 12, 30, 60], now=10)
    assert snowball(with_future).probability == snowball(seen).probability
    assert cascade_features(T0, at(10), with_future.activity)["n"] == 3


def test_counters_stand_in_for_activity() -> None:
    bare = item([], now=20)
    counted = dataclasses.replace(bare, replies=8, shares=12, likes=50)
    values = cascade_features(T0, at(20), (), replies=8, shares=12, likes=50)
    assert values["n"] == pytest.approx(8 + 12 + 0.2 * 50)
    assert values["acceleration"] == 0.0
    assert snowball(counted).probability > snowball(bare).probability


def test_depth_and_repeat_participants() -> None:
    acts = [
        Activity(at(1), "a", "reply", key="r1"),
        Activity(at(2), "b", "reply", parent_key="r1", key="r2"),
        Activity(at(3), "a", "reply", parent_key="r2", key="r3"),
        Activity(at(4), "c", "share"),
    ]
    values = cascade_features(T0, at(5), acts)
    assert values["depth"] == pytest.approx(0.5)
    assert values["conversation"] == pytest.approx(0.75)
    assert values["repeat"] == pytest.approx(0.25)


def test_shipped_weights_load() -> None:
    model = SnowballModel.load()
    assert set(model.weights) >= set(FEATURES)
    assert model.metadata["train_trees"] > 0
    assert "--write-weights" in model.metadata["command"]
    assert model.weights["early_count"] > 0
    assert model.weights["acceleration"] > 0
    raw = json.loads(
        (
            Path(__file__).resolve().parents[2] / "src/flocon/signals/weights/snowball.json"
        ).read_text(encoding="utf-8")
    )
    kinds = {f["name"]: f["kind"] for f in raw["features"]}
    assert all(kinds[n] == "learnt" for n in CASCADE_FEATURES)
    assert all(kinds[n] == "prior" for n in PRIOR_FEATURES)


def test_explanation_lists_top_factors_with_weights() -> None:
    score = snowball(item([8 + i * 0.1 for i in range(20)], now=10, text="arnaque"))
    text = score.explanation(top=3)
    assert text.startswith(f"Snowball risk {100 * score.probability:.0f}%")
    top = [f for f in score.factors if f.contribution][:3]
    for f in top:
        assert f.label in text
        assert f"{f.weight:.2f}" in text
    assert score.factors[3].label not in text or score.factors[3].contribution == 0
    assert "20 replies and shares in the first 10 min" in text


@pytest.mark.skipif(
    not (DATASETS / "twitter16-propagation" / "tree").is_dir(), reason="no Twitter16 copy"
)
def test_parses_a_twitter16_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    from benchmarks.eval_snowball import parse_tree

    path = sorted((DATASETS / "twitter16-propagation" / "tree").glob("*.txt"))[0]
    tree = parse_tree(path)
    assert tree.size == len(tree.activity) + 1
    assert list(tree.times) == sorted(tree.times)
    assert tree.times.min() >= 0
