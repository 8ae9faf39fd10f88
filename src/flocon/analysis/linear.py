"""Linear classifiers stored in a neutral format (NumPy ``.npz``), never as pickles.

A model file holds: the class names, the weight matrix (sparse, float16 values:
hashed n-gram models touch a small part of their columns), the bias, the
feature extractor's settings and free metadata (training data, scores, date).
It loads with NumPy alone under any library version, and ``allow_pickle`` is off,
so a model file cannot run code.

Training goes through scikit-learn's ``LogisticRegression`` (:func:`fit`); the
fitted coefficients are copied out, so run time needs no scikit-learn object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["LinearModel", "fit"]

FORMAT = "flocon-linear/1"


@dataclass(frozen=True)
class LinearModel:
    """``softmax(X @ weights + bias)`` over ``classes`` (one-vs-rest sigmoid for two classes)."""

    classes: tuple[str, ...]
    weights: sp.csr_matrix  # (n_features, n_classes or 1)
    bias: np.ndarray
    features: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def probabilities(self, x: Any) -> np.ndarray:
        """Class probabilities, one row per input row."""
        raw = x @ self.weights
        scores = np.asarray(raw.todense() if sp.issparse(raw) else raw, dtype=np.float64)
        scores = scores + self.bias
        if len(self.classes) == 2 and scores.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        out: np.ndarray = e / e.sum(axis=1, keepdims=True)
        return out

    def save(self, path: Path) -> None:
        w = self.weights.tocoo()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                format=np.array(FORMAT),
                classes=np.array(self.classes),
                shape=np.array(w.shape, dtype=np.int64),
                rows=w.row.astype(np.int32),
                cols=w.col.astype(np.int8),
                values=w.data.astype(np.float16),
                bias=self.bias.astype(np.float32),
                features=np.array(json.dumps(dict(self.features))),
                meta=np.array(json.dumps(dict(self.meta), ensure_ascii=False)),
            )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != FORMAT:
                    raise ValueError(f"{path}: not a {FORMAT} model file")
                shape = tuple(int(v) for v in data["shape"])
                weights = sp.csr_matrix(
                    (
                        data["values"].astype(np.float32),
                        (data["rows"].astype(np.int64), data["cols"].astype(np.int64)),
                    ),
                    shape=shape,
                )
                return cls(
                    classes=tuple(str(c) for c in data["classes"]),
                    weights=weights,
                    bias=data["bias"].astype(np.float64),
                    features=json.loads(str(data["features"])),
                    meta=json.loads(str(data["meta"])),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"cannot read the model file {path}: {exc}") from exc


def fit(
    x: Any,
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    features: Mapping[str, Any],
    c: float = 1.0,
    sample_weight: np.ndarray | None = None,
    class_weight: str | None = None,
    meta: Mapping[str, Any] | None = None,
    prune_below: float = 1e-4,
) -> LinearModel:
    """Fit a logistic regression and keep its coefficients as a :class:`LinearModel`."""
    from sklearn.linear_model import LogisticRegression

    index = {name: i for i, name in enumerate(classes)}
    y = np.array([index[label] for label in labels])
    model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight)
    model.fit(x, y, sample_weight=sample_weight)
    coef = np.asarray(model.coef_, dtype=np.float64)  # (k, n) or (1, n) for binary
    if list(model.classes_) != list(range(len(classes))):
        raise ValueError("every class needs at least one training example")
    coef[np.abs(coef) < prune_below] = 0.0
    return LinearModel(
        classes=tuple(classes),
        weights=sp.csr_matrix(coef.T),
        bias=np.asarray(model.intercept_, dtype=np.float64),
        features=dict(features),
        meta=dict(meta or {}),
    )
