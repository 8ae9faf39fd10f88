"""Where trained models live and how they are loaded (lazily, once per process).

Shipped models are ``.npz`` files inside the package (``flocon/analysis/weights/``),
trained by ``flocon train`` from public data (see ``docs/analysis.md``). A workspace
retrained with its own corrections gets its files under the data directory,
``<data dir>/models/<workspace>/``; those win over the shipped ones.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Final, Literal

import numpy as np

from flocon.analysis.linear import LinearModel

__all__ = [
    "PROFILES",
    "TRAINED_PROFILES",
    "Profile",
    "blend_partner",
    "blended",
    "load",
    "shipped_path",
    "workspace_path",
]

Profile = Literal["fast", "accurate", "transformers"]
#: ``transformers`` runs a local model directory the user provides (optional extra).
PROFILES: Final[tuple[Profile, ...]] = ("fast", "accurate", "transformers")
#: The profiles whose models this project trains and ships.
TRAINED_PROFILES: Final[tuple[Profile, ...]] = ("fast", "accurate")
#: Model names: one file each.
SENTIMENT_FAST: Final = "sentiment-fast"
SENTIMENT_ACCURATE: Final = "sentiment-accurate"
NEEDS_ANSWER_FAST: Final = "needs-answer-fast"
NEEDS_ANSWER_ACCURATE: Final = "needs-answer-accurate"


#: The fine-tuned encoder of the accurate profile (``weights/<name>.e5patch``); see
#: training/e5_finetune/README.md.
ENCODER_PATCH: Final = "e5-small-sentiment-ft1"


def accurate_encoder_patch() -> str | None:
    """The encoder patch the accurate models are trained on, when it is installed."""
    path = Path(str(resources.files("flocon.analysis") / "weights" / f"{ENCODER_PATCH}.e5patch"))
    return ENCODER_PATCH if path.is_file() else None


def sentiment_name(profile: str) -> str:
    return SENTIMENT_FAST if profile == "fast" else SENTIMENT_ACCURATE


def needs_answer_name(profile: str) -> str:
    """The needs-answer model of ``profile`` (the transformers profile uses the fast one:
    its sentiment model already costs the most)."""
    return NEEDS_ANSWER_ACCURATE if profile == "accurate" else NEEDS_ANSWER_FAST


_cache: dict[Path, LinearModel] = {}
_lock = threading.Lock()


def shipped_path(name: str) -> Path:
    return Path(str(resources.files("flocon.analysis") / "weights" / f"{name}.npz"))


def workspace_path(data_dir: Path, workspace: str, name: str) -> Path:
    return data_dir / "models" / workspace / f"{name}.npz"


def load(path: Path) -> LinearModel:
    """The model at ``path``, read once (later calls reuse it until the file changes)."""
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached.meta.get("_mtime") == _mtime(path):
            return cached
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    model = LinearModel.load(path)
    model = LinearModel(
        classes=model.classes,
        weights=model.weights,
        bias=model.bias,
        features=model.features,
        meta={**model.meta, "_mtime": _mtime(path)},
    )
    with _lock:
        _cache[path] = model
    return model


def blend_partner(model: LinearModel) -> tuple[LinearModel, float] | None:
    """The shipped model whose answers ``model`` is averaged with, and its weight.

    An accurate sentiment model may name one (``blend_with``, ``blend_weight`` in its
    meta, chosen at training time on validation data): its probabilities are then a
    weighted geometric mean of its own and the partner's (:func:`blended`).
    """
    name = model.meta.get("blend_with")
    weight = float(model.meta.get("blend_weight") or 0.0)
    if not name or weight <= 0.0:
        return None
    if name not in (SENTIMENT_FAST,):  # a model file names a shipped model, never a path
        raise ValueError(f"a model can only be averaged with {SENTIMENT_FAST}, not {name!r}")
    partner = load(shipped_path(name))
    if partner.classes != model.classes:
        raise ValueError(f"{name} does not answer the same classes as the model it blends with")
    return partner, weight


def blended(own: np.ndarray, partner: np.ndarray, weight: float) -> np.ndarray:
    """Weighted geometric mean of two rows of class probabilities, renormalised."""
    logs = (1.0 - weight) * np.log(np.clip(own, 1e-12, None)) + weight * np.log(
        np.clip(partner, 1e-12, None)
    )
    logs -= logs.max(axis=1, keepdims=True)
    out: np.ndarray = np.exp(logs)
    out /= out.sum(axis=1, keepdims=True)
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
