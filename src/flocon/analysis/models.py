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

from flocon.analysis.linear import LinearModel

__all__ = [
    "PROFILES",
    "TRAINED_PROFILES",
    "Profile",
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


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
