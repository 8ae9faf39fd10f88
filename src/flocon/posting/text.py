"""Measuring and marking up reply text the way platforms count it; pure functions.

Bluesky limits a post to 300 *graphemes* (what a reader sees as one character) and
turns links into links only through "facets" that point at UTF-8 byte offsets.
Python has no grapheme segmentation in its standard library; :func:`graphemes`
folds what never stands alone (combining marks, variation selectors, skin-tone
modifiers, zero-width joiner sequences, paired regional indicators) into the
character before it. It may count a rare cluster as two, never two as one, so the
platform's own check stays the last word.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final

_ZWJ: Final = "\u200d"
_URL_RE: Final = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING: Final = ".,;:!?)]}'\"…"


def _extends(char: str) -> bool:
    """True for a code point that belongs to the grapheme before it."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def graphemes(text: str) -> int:
    """How many characters a reader sees in ``text`` (see the module docstring)."""
    count = 0
    previous = ""
    joined = False
    pending_flag = False
    for char in text:
        if char == _ZWJ:
            joined = True
            continue
        if joined or (count and _extends(char)):
            joined = False
            previous = char
            continue
        if _regional(char) and pending_flag:
            pending_flag = False
            previous = char
            continue
        if previous == "\r" and char == "\n":
            previous = char
            continue
        pending_flag = _regional(char)
        count += 1
        previous = char
    return count


def links(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, url)`` of each http(s) link in ``text``, as UTF-8 byte offsets."""
    found = []
    for match in _URL_RE.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # https://en.wikipedia.org/wiki/Foo_(bar) keeps its ")"
            url = url[:-1]
        start = len(text[: match.start()].encode())
        found.append((start, start + len(url.encode()), url))
    return found


def link_facets(text: str) -> list[dict[str, Any]]:
    """Bluesky ``app.bsky.richtext.facet`` records that make the links of ``text`` clickable."""
    return [
        {
            "index": {"byteStart": start, "byteEnd": end},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
        }
        for start, end, url in links(text)
    ]
