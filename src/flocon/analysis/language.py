"""Language identification: an ISO 639-1 code per text, or ``und`` when it cannot tell.

Built on py3langid (a maintained, numpy-only fork of langid.py whose model ships in
its wheel: nothing is downloaded). Two choices, both measured on the UMSAB
validation tweets (see BENCHMARKS.md and ``flocon eval language``):

* the candidates are restricted to :data:`DEFAULT_LANGUAGES` (30 languages that
  cover the brands flocon serves; a setting can widen or narrow them): restricting
  is the largest single gain in accuracy on short texts;
* a text with fewer than :data:`MIN_LETTERS` letters once handles, links and
  hashtags are removed, or whose best language has a normalised probability below
  :data:`MIN_CONFIDENCE`, is ``und`` (undetermined) rather than a guess.

The identifier is loaded lazily, once per process (about 0.5 s).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

__all__ = [
    "DEFAULT_LANGUAGES",
    "MIN_CONFIDENCE",
    "MIN_LETTERS",
    "UNDETERMINED",
    "LanguageDetector",
]

UNDETERMINED: Final = "und"
DEFAULT_LANGUAGES: Final = (
    "ar",
    "ca",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "nl",
    "no",
    "pl",
    "pt",
    "ro",
    "ru",
    "sv",
    "th",
    "tr",
    "uk",
    "vi",
    "zh",
)
MIN_LETTERS: Final = 8
MIN_CONFIDENCE: Final = 0.3

_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|\bhttp\b", re.IGNORECASE)


def letters(text: str) -> int:
    """How many letters ``text`` has once handles, hashtags and links are removed."""
    return sum(1 for ch in _NOISE.sub(" ", text) if ch.isalpha())


class LanguageDetector:
    """Detects languages among ``languages``; thread-safe once loaded."""

    def __init__(
        self,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        min_letters: int = MIN_LETTERS,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        self.languages = tuple(languages)
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self._identifier: LanguageIdentifier | None = None
        self._lock = threading.Lock()

    def _load(self) -> LanguageIdentifier:
        with self._lock:
            if self._identifier is None:
                from py3langid import langid

                identifier = langid.LanguageIdentifier.from_model_file(
                    langid.MODEL_FILE, norm_probs=True
                )
                known = set(identifier.nb_classes)
                unknown = sorted(set(self.languages) - known)
                if unknown:
                    raise ValueError(
                        f"unknown language code(s) for the detector: {', '.join(unknown)}"
                    )
                identifier.set_languages(list(self.languages))
                self._identifier = identifier
            return self._identifier

    def detect(self, text: str) -> tuple[str, float]:
        """``(code, confidence)``; ``("und", 0.0)`` when the text is too short to tell."""
        if letters(text) < self.min_letters:
            return UNDETERMINED, 0.0
        code, probability = self._load().classify(_NOISE.sub(" ", text))
        if probability < self.min_confidence:
            return UNDETERMINED, float(probability)
        return str(code), float(probability)

    def detect_many(self, texts: Sequence[str]) -> list[str]:
        return [self.detect(text)[0] for text in texts]
