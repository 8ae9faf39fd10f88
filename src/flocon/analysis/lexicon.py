"""Lexicon baselines for ``flocon eval``: VADER for English, vaderSentiment-fr for French.

They are the yardstick every figure is compared with in the same run, not a
product feature, so they live in the optional extra ``flocon[baselines]``
(vaderSentiment-fr depends on fuzzywuzzy, which is GPL-licensed; flocon itself
does not need it). A text whose language is neither French nor English is read
with the English lexicon.

Labels follow VADER's documented thresholds: compound ≥ 0.05 positive,
≤ −0.05 negative, neutral in between.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["BaselineUnavailable", "LexiconBaseline"]

THRESHOLD: Final = 0.05


class BaselineUnavailable(RuntimeError):
    """The lexicon packages are not installed."""


class LexiconBaseline:
    name = "lexicon (VADER / vaderSentiment-fr)"

    def __init__(self) -> None:
        self._en: Any = None
        self._fr: Any = None

    def _load(self) -> None:
        if self._en is not None:
            return
        try:
            with warnings.catch_warnings():
                # fuzzywuzzy warns at import that python-Levenshtein is missing.
                warnings.simplefilter("ignore")
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as English
                from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer as French
        except ImportError as exc:
            raise BaselineUnavailable(
                "the lexicon baseline needs the optional packages of flocon[baselines]: "
                "pip install 'flocon[baselines]'"
            ) from exc
        self._en, self._fr = English(), French()

    def predict(self, texts: Sequence[str], languages: Sequence[str]) -> list[str]:
        self._load()
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for text, lang in zip(texts, languages, strict=True):
                engine = self._fr if lang == "fr" else self._en
                compound = float(engine.polarity_scores(text)["compound"])
                if compound >= THRESHOLD:
                    out.append("positive")
                elif compound <= -THRESHOLD:
                    out.append("negative")
                else:
                    out.append("neutral")
        return out
