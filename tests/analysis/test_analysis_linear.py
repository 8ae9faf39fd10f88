"""Model files: neutral format, round trip, refusal of bad files (flocon.analysis.linear)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from flocon.analysis.features import HashedNgrams, extractor_from_meta
from flocon.analysis.linear import LinearModel, fit

TEXTS = ["super produit", "génial merci", "nul et cassé", "horrible service", "ok", "bof moyen"]
LABELS = ["positive", "positive", "negative", "negative", "neutral", "neutral"]


def trained() -> tuple[LinearModel, HashedNgrams]:
    features = HashedNgrams(char=(2, 4), word=(1, 1), bits=12)
    model = fit(
        features.transform(TEXTS),
        LABELS,
        classes=("negative", "neutral", "positive"),
        features=features.meta(),
        c=10.0,
        meta={"name": "toy"},
    )
    return model, features


def test_save_and_load_give_the_same_probabilities(tmp_path: Path) -> None:
    model, features = trained()
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = LinearModel.load(path)
    assert loaded.classes == model.classes and loaded.meta["name"] == "toy"
    x = extractor_from_meta(loaded.features).transform(TEXTS)
    assert np.allclose(
        loaded.probabilities(x), model.probabilities(features.transform(TEXTS)), atol=1e-3
    )
    assert [loaded.classes[i] for i in loaded.probabilities(x).argmax(axis=1)] == LABELS


def test_model_file_holds_no_pickle(tmp_path: Path) -> None:
    model, _ = trained()
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            assert b"\x80\x04" not in zf.read(name)[:2]  # no pickle protocol header
    with np.load(path, allow_pickle=False) as data:
        assert "values" in data and data["values"].dtype == np.float16


def test_binary_model_uses_a_sigmoid(tmp_path: Path) -> None:
    features = HashedNgrams(char=(2, 3), word=None, bits=10)
    model = fit(
        features.transform(["help me", "thanks", "broken again", "love it"]),
        ["yes", "no", "yes", "no"],
        classes=("no", "yes"),
        features=features.meta(),
        c=10.0,
    )
    probs = model.probabilities(features.transform(["broken"]))
    assert probs.shape == (1, 2) and abs(probs.sum() - 1) < 1e-9


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot read the model file"):
        LinearModel.load(path)


def test_unknown_extractor_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown feature extractor"):
        extractor_from_meta({"kind": "bag-of-magic"})
