"""Metrics of flocon eval, checked against scikit-learn on random labels."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

from flocon.analysis.metrics import confusion, report

LABELS = ("negative", "neutral", "positive")
pairs = st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_matches_scikit_learn(items: list[tuple[str, str]]) -> None:
    truth = [t for t, _ in items]
    predicted = [p for _, p in items]
    rep = report(truth, predicted, LABELS)
    kw = {"labels": list(LABELS), "zero_division": 0}
    assert abs(rep.macro_f1 - f1_score(truth, predicted, average="macro", **kw)) < 1e-9
    for c, p, r in zip(
        rep.per_class,
        precision_score(truth, predicted, average=None, **kw),
        recall_score(truth, predicted, average=None, **kw),
        strict=True,
    ):
        assert abs(c.precision - p) < 1e-9 and abs(c.recall - r) < 1e-9


def test_confusion_rows_are_truth() -> None:
    matrix = confusion(
        ["negative", "negative", "positive"], ["negative", "positive", "positive"], LABELS
    )
    assert matrix == [[1, 0, 1], [0, 0, 0], [0, 0, 1]]
