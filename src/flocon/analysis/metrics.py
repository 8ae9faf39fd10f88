"""Classification metrics for ``flocon eval`` and training: plain, dependency-free, tested."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ClassScores", "Report", "confusion", "macro_f1", "report"]


@dataclass(frozen=True, slots=True)
class ClassScores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    labels: tuple[str, ...]
    macro_f1: float
    accuracy: float
    per_class: tuple[ClassScores, ...]
    #: matrix[i][j]: items of true label i predicted as label j.
    matrix: tuple[tuple[int, ...], ...]


def confusion(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    return matrix


def report(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Report:
    matrix = confusion(truth, predicted, labels)
    per_class = []
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        predicted_i = sum(row[i] for row in matrix)
        actual_i = sum(matrix[i])
        precision = tp / predicted_i if predicted_i else 0.0
        recall = tp / actual_i if actual_i else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassScores(label, precision, recall, f1, actual_i))
    total = sum(sum(row) for row in matrix)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return Report(
        labels=tuple(labels),
        macro_f1=sum(c.f1 for c in per_class) / len(per_class) if per_class else 0.0,
        accuracy=correct / total if total else 0.0,
        per_class=tuple(per_class),
        matrix=tuple(tuple(row) for row in matrix),
    )


def macro_f1(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """The mean of per-class F1 (a class never predicted nor present scores 0)."""
    return report(truth, predicted, labels).macro_f1
