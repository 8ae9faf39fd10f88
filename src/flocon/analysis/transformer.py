"""The ``transformers`` sentiment profile: a local Hugging Face model directory, run on the CPU.

The user provides the directory (``FLOCON_TRANSFORMERS_MODEL``), for example an XLM-R
sentiment model saved with ``save_pretrained``: ``config.json``, the weights and the
tokenizer files. Nothing is ever downloaded: the hub is switched off before
``transformers`` is imported and every load is ``local_files_only``. It needs the optional
extra ``flocon[transformers]`` (PyTorch and transformers).

The model's labels (``config.id2label``) are mapped onto negative / neutral / positive:
names such as ``negative``, ``NEG``, ``neutral``, ``Positive``; the ``LABEL_0``…``LABEL_2``
of models saved without names (read as negative, neutral, positive, the order of the
TweetEval/UMSAB models); and 1–5 star ratings (1–2 negative, 3 neutral, 4–5 positive,
probabilities summed). A two-label model (negative, positive) never says neutral.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from flocon.analysis.datasets import LABELS
from flocon.errors import ConfigError

__all__ = ["TransformerSentimentStep", "map_labels"]

#: Longest input in tokens; longer texts are cut (mentions are short; reviews rarely need more).
MAX_LENGTH: Final = 256
BATCH_SIZE: Final = 32

_STARS = re.compile(r"^([1-5])\s*stars?$")
_NUMBERED = re.compile(r"^label_([0-9]+)$")


def map_labels(id2label: Mapping[int, str]) -> list[str]:
    """For each output of the model, in order, which of negative / neutral / positive it counts for.

    Raises :class:`ConfigError` when a label cannot be read, or when negative or positive is
    missing (the score is P(positive) − P(negative)).
    """
    names = [str(id2label[i]).strip().lower() for i in range(len(id2label))]
    out: list[str] = []
    for name in names:
        stars = _STARS.match(name)
        numbered = _NUMBERED.match(name)
        if stars:
            n = int(stars.group(1))
            out.append("negative" if n <= 2 else "neutral" if n == 3 else "positive")
        elif numbered and len(names) == 3:
            out.append(LABELS[int(numbered.group(1))])
        elif name.startswith("neg"):
            out.append("negative")
        elif name.startswith("neu"):
            out.append("neutral")
        elif name.startswith("pos"):
            out.append("positive")
        else:
            raise ConfigError(
                f"cannot read the model's label {name!r} as negative, neutral or positive "
                f"(labels: {', '.join(names)}); set id2label in its config.json"
            )
    if "negative" not in out or "positive" not in out:
        raise ConfigError(
            f"the model's labels ({', '.join(names)}) must include a negative and a positive one"
        )
    return out


def _import_transformers() -> tuple[Any, Any]:
    # Never reach the hub, whatever the environment says.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigError(
            "the transformers profile needs the optional extra: pip install 'flocon[transformers]' "
            f"({exc})"
        ) from exc
    hf_logging: Any = transformers.logging
    hf_logging.set_verbosity_error()
    return torch, transformers


class _Loaded:
    def __init__(self, directory: Path) -> None:
        torch, transformers = _import_transformers()
        self.torch = torch
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                directory, local_files_only=True
            )
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
                directory, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"cannot load a sequence-classification model from {directory}: {exc}"
            ) from exc
        self.model.eval()
        config = self.model.config
        self.labels = map_labels(config.id2label)
        # The longest input the model takes: its position table (RoBERTa-style models such as
        # XLM-R and CamemBERT number positions after the padding index) and the tokenizer's cap.
        limit = int(getattr(config, "max_position_embeddings", 0) or 512)
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= int(getattr(config, "pad_token_id", 1) or 0) + 1
        cap = int(getattr(self.tokenizer, "model_max_length", limit) or limit)
        self.max_length = max(8, min(limit, cap))
        self.name = str(getattr(self.model.config, "_name_or_path", "") or directory.name)


_loaded: dict[Path, _Loaded] = {}
_load_lock = threading.Lock()


def _load(directory: Path) -> _Loaded:
    with _load_lock:
        if directory not in _loaded:
            _loaded[directory] = _Loaded(directory)
        return _loaded[directory]


class TransformerSentimentStep:
    """negative / neutral / positive with a score, from a local transformer model directory."""

    name = "sentiment"

    def __init__(
        self, directory: Path, *, max_length: int = MAX_LENGTH, batch_size: int = BATCH_SIZE
    ) -> None:
        directory = Path(directory).expanduser()
        if not (directory / "config.json").is_file():
            raise ConfigError(
                f"FLOCON_TRANSFORMERS_MODEL must be a local model directory with a config.json "
                f"(saved with save_pretrained); nothing is downloaded. Got {directory}"
            )
        self.directory = directory.resolve()
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def model_name(self) -> str:
        return f"transformers:{self.directory.name}"[:100]

    def probabilities(
        self, texts: Sequence[str], features: object = None
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """P(negative), P(neutral), P(positive) for each text (``features`` is not used)."""
        loaded = _load(self.directory)
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        columns = [LABELS.index(label) for label in loaded.labels]
        torch = loaded.torch
        for start in range(0, len(texts), self.batch_size):
            batch = [t or " " for t in texts[start : start + self.batch_size]]
            encoded = loaded.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=min(self.max_length, loaded.max_length),
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits = loaded.model(**encoded).logits
            probs = torch.softmax(logits.float(), dim=-1).numpy()
            rows = out[start : start + len(batch)]
            for j, column in enumerate(columns):
                rows[:, column] += probs[:, j]
        return LABELS, out

    def run(self, texts: Sequence[str], features: object = None) -> list[tuple[str, float, float]]:
        classes, probs = self.probabilities(texts)
        neg, pos = classes.index("negative"), classes.index("positive")
        results = []
        for row in probs:
            best = int(np.argmax(row))
            results.append((classes[best], float(row[pos] - row[neg]), float(row[best])))
        return results
