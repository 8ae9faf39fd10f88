"""Matching-oriented text normalisation: folding and tokenising, shared by queries and items.

The same two functions turn a query term and an item's text into tokens, so
both sides always agree on what a "word" is:

* :func:`fold` lower-cases, strips accents (``Élan`` → ``elan``, ``œ`` → ``oe``),
  turns typographic apostrophes into ``'`` and control characters into spaces.
* :func:`tokenize` cuts folded text into tokens:

  - words: runs of letters, digits, ``_`` and combining marks (so Hindi or
    Arabic words stay whole). Any other character separates words, hence
    ``e-mail`` → ``e``, ``mail``; ``3.5`` → ``3``, ``5``; ``aujourd'hui`` →
    ``aujourd``, ``hui``;
  - French elisions are dropped: ``l'appli`` → ``appli``, ``qu'il`` → ``il``
    (prefixes l d j m n s t c qu jusqu lorsqu puisqu quoiqu);
  - ``#hashtag`` and ``@handle`` tokens keep their sign (``#orange``);
  - each emoji is a token of its own (``super😍`` → ``super``, ``😍``);
    skin-tone modifiers, joiners and variation selectors are dropped;
  - a web address (``https://…``, ``www.…``) becomes the single token
    :data:`URL_TOKEN`, which no query term can produce or match.

Everything here is pure and cached; nothing is computed at import time.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

__all__ = [
    "ELISION_PREFIXES",
    "URL_TOKEN",
    "fold",
    "tokenize",
    "tokens",
    "word_class",
]

#: The token that stands for a web address in tokenised text.
URL_TOKEN = "\x01"

#: French elided words dropped before an apostrophe (``l'``, ``qu'``...).
ELISION_PREFIXES = (
    "l",
    "d",
    "j",
    "m",
    "n",
    "s",
    "t",
    "c",
    "qu",
    "jusqu",
    "lorsqu",
    "puisqu",
    "quoiqu",
)

_APOSTROPHES = "\u2019\u2018\u02bc\u2032\uff07\u00b4"
_SPECIAL_FOLDS = {
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ł": "l",
    "ħ": "h",
    "ŧ": "t",
    "ı": "i",
    "ĳ": "ij",
    "ŀ": "l",
    "þ": "th",
}
# Blocks whose accented letters are folded to their base letter.
_FOLDED_BLOCKS = ((0x00C0, 0x0250), (0x0370, 0x0400), (0x1E00, 0x2000))
_EMOJI_CLASS = (
    "\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f3fa\U0001f400-\U0001faff"
)
_URL_RE = re.compile(r"""(?:https?://|www\.)[^\s<>"]*[^\s<>"'.,;:!?)\]}»]""")


def _char_class(codepoints: list[int]) -> str:
    """The body of a regex character class holding exactly ``codepoints`` (sorted)."""
    ranges: list[list[int]] = []
    for cp in codepoints:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


@cache
def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(URL_TOKEN): " "}
    for ch in _APOSTROPHES:
        table[ord(ch)] = "'"
    for start, stop in _FOLDED_BLOCKS:
        for cp in range(start, stop):
            low = chr(cp).lower()
            if len(low) != 1:
                continue
            base = "".join(
                c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c)
            )
            if base and base != low:
                table[ord(low)] = base
    for ch, repl in _SPECIAL_FOLDS.items():
        table[ord(ch)] = repl
    for cp in range(0x0300, 0x0370):  # combining diacritical marks
        table[cp] = None
    return table


@cache
def _foldable_re() -> re.Pattern[str]:
    return re.compile(f"[{_char_class(sorted(_fold_table()))}]+")


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_fold_table())


def fold(text: str) -> str:
    """Lower-case ``text``, strip its accents, unify apostrophes; idempotent.

    Only runs of foldable characters are translated, which keeps ASCII text
    and non-Latin scripts on fast paths.
    """
    low = text.lower()
    if low.isascii():
        return low.replace(URL_TOKEN, " ") if URL_TOKEN in low else low
    return _foldable_re().sub(_fold_run, low)


@cache
def word_class() -> str:
    """The body of a regex character class matching one word character.

    ``\\w`` plus every combining mark of the Basic Multilingual Plane, which
    Python's ``\\w`` leaves out (Devanagari vowel signs, Arabic harakat...).
    """
    word = re.compile(r"\w")
    marks = [
        cp
        for cp in range(0x80, 0x10000)
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me") and not word.match(chr(cp))
    ]
    return "\\w" + _char_class(marks)


@cache
def _token_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Two equivalent tokenisers; the second also drops French elisions (slower)."""
    w = word_class()
    body = (
        f"[{w}]+"  # word
        f"|[#@](?<![{w}].)[{w}]+"  # hashtag or handle, not glued to a word (e-mail)
        f"|{URL_TOKEN}"  # web address placeholder
        f"|[{_EMOJI_CLASS}]"  # one emoji
    )
    elisions = "|".join(sorted(ELISION_PREFIXES, key=len, reverse=True))
    with_elisions = f"(?:(?:{elisions})'(?=[{w}]))?({body})"
    return re.compile(body), re.compile(with_elisions)


def tokenize(folded: str) -> list[str]:
    """Cut text already passed through :func:`fold` into tokens (see the module docstring)."""
    if "http" in folded or "www." in folded:
        folded = _URL_RE.sub(f" {URL_TOKEN} ", folded)
    plain, with_elisions = _token_res()
    return (with_elisions if "'" in folded else plain).findall(folded)


def tokens(text: str) -> list[str]:
    """Fold then tokenise ``text``."""
    return tokenize(fold(text))
