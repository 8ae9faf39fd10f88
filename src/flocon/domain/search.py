"""Folding of text for full-text search: case and accents removed, French and English aware."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
# Mention language → PostgreSQL text-search configuration used to stem it.
FTS_CONFIGS = {
    "fr": "french",
    "en": "english",
    "es": "spanish",
    "de": "german",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}


def fold(value: str) -> str:
    """Lower-case ``value`` and strip accents (``Élan`` → ``elan``); keeps other characters."""
    if value.isascii():
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text(title: str | None, text: str) -> str:
    """What the full-text index stores for one mention."""
    return fold(f"{title}\n{text}" if title else text)


def search_terms(query: str) -> list[str]:
    """The folded words of a user's search box text; elisions split (``l'appli`` → ``l``, ``appli``)."""
    return _WORD.findall(fold(query))


def fts_config(lang: str | None) -> str:
    return FTS_CONFIGS.get((lang or "").split("-")[0].lower(), "simple")
