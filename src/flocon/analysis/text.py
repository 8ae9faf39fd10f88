"""Text preparation for the analyzers: the same cleaning at training and at run time.

Social text is noisy in ways that hurt small models and carry no meaning for them:
handles, links, stretched letters. :func:`clean` maps it onto a stable form:

* ``@someone`` → ``@user`` and web addresses → ``http`` (the form of the public
  tweet corpora the models learn from, so collected text looks like training text);
* letters repeated three times or more are cut to two (``trooop`` → ``troop``,
  ``!!!!!`` → ``!!``), so every stretching of a word shares its features;
* typographic apostrophes become ``'``; text is lower-cased;
* emoticons become word tokens (``:)`` → `` emopos ``, ``:(`` → `` emoneg ``);
  emoji stay as they are (character n-grams see them).

:func:`mark_negation` adds the word-level view: after a negation (``pas``,
``jamais``, ``ne``/``n'``, ``not``, ``n't``, ``never``, ``no``…) the following words,
up to punctuation, get a ``neg_`` prefix, so ``pas mal`` (``neg_mal``: rather good)
and ``mal`` are different features, and ``je ne recommande pas`` is not read as
``recommande``. Everything here is pure and does no I/O.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["clean", "mark_negation"]

_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttp\b", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_REPEAT = re.compile(r"(.)\1{2,}", re.DOTALL)
_APOSTROPHES = re.compile("[\u2019\u2018\u02bc\u2032\uff07\u00b4`]")
_SPACES = re.compile(r"\s+")

_POSITIVE_EMOTICONS: Final = (
    ":)",
    ":-)",
    ":d",
    ":-d",
    ";)",
    ";-)",
    ":p",
    "=)",
    "(:",
    "<3",
    "^^",
    ":')",
)
_NEGATIVE_EMOTICONS: Final = (":(", ":-(", ":'(", ":/", ":-/", "=(", "):", "</3", ">:(", "-_-")
_EMOTICON = re.compile(
    "|".join(
        re.escape(e)
        for e in sorted(_POSITIVE_EMOTICONS + _NEGATIVE_EMOTICONS, key=len, reverse=True)
    )
)
_EMOTICON_WORD: Final = {
    **dict.fromkeys(_POSITIVE_EMOTICONS, " emopos "),
    **dict.fromkeys(_NEGATIVE_EMOTICONS, " emoneg "),
}


def clean(text: str) -> str:
    """The normalised form of ``text`` that every analyzer reads."""
    text = _APOSTROPHES.sub("'", text)
    text = _URL.sub(" http ", text)
    text = _HANDLE.sub("@user", text)
    text = text.lower()
    text = _EMOTICON.sub(lambda m: _EMOTICON_WORD[m.group(0)], text)
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


# Words, with an optional French elided prefix kept apart (n', j', l'...), or single
# punctuation marks that end a negation's scope.
_TOKEN = re.compile(r"\w+n't|[^\W\d_]+'|[\w#@]+|[.,;:!?()\[\]…]+|\S", re.UNICODE)
_NEGATORS: Final = frozenset(
    {
        # French
        "ne",
        "n'",
        "pas",
        "jamais",
        "rien",
        "aucun",
        "aucune",
        "personne",
        "ni",
        "sans",
        "nul",
        "nulle",
        # English
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "without",
        "cannot",
        "dont",
        "cant",
        "wont",
        "isnt",
        "wasnt",
        "doesnt",
        "didnt",
    }
)
_SCOPE_END = re.compile(r"^[.,;:!?()\[\]…]+$")
#: Words a negation's scope covers at most.
_SCOPE: Final = 4


def mark_negation(cleaned: str) -> str:
    """Word tokens of a :func:`clean` text, space-separated, with negated words prefixed ``neg_``."""
    out: list[str] = []
    left = 0
    for token in _TOKEN.findall(cleaned):
        if _SCOPE_END.match(token):
            left = 0
            out.append(token)
            continue
        word = token
        if word.endswith("n't") or word in _NEGATORS:
            out.append(word)
            left = _SCOPE
            continue
        if left > 0:
            out.append("neg_" + word)
            left -= 1
        else:
            out.append(word)
    return " ".join(out)
