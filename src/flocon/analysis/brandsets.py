"""Labelled brand mentions: sentiment *toward a brand*, with a fixed train/dev/test split.

Two public sets label what people feel about the brand or product a tweet names, which
is what flocon reports, rather than the tweet's overall mood:

* ``sanders-brand-tweets``: 5,513 tweets about Apple, Google, Microsoft and Twitter,
  labelled positive, negative, neutral or irrelevant (irrelevant ones are dropped);
* ``brand-product-emotions-sxsw``: 9,093 tweets from SXSW 2011 about Apple and Google
  products, labelled "positive/negative emotion toward the brand or product", "no
  emotion toward brand or product" (read as neutral) or "I can't tell" (dropped).

Each item falls in one part for good, by a hash of its text with retweet markers,
handles, links and punctuation removed, so that a tweet and its retweets always land in
the same part:

* ``train`` (about 50 %): the sentiment models learn from it;
* ``dev`` (about 10 %): settings are chosen on it, with the UMSAB validation tweets;
* ``test`` (about 40 %): only reported (``benchmarks/bench_analysis.py``), never used
  to train or choose anything.
"""

from __future__ import annotations

import csv
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from flocon.analysis.datasets import DatasetError, Example

__all__ = [
    "BRAND_SETS",
    "Part",
    "brand_examples",
    "part_of",
    "split_key",
]

Part = Literal["train", "dev", "test"]

#: The folders of the brand sets in the data directory.
BRAND_SETS: Final = ("sanders-brand-tweets", "brand-product-emotions-sxsw")
SXSW_LABELS: Final = {
    "Negative emotion": "negative",
    "Positive emotion": "positive",
    "No emotion toward brand or product": "neutral",
}
SANDERS_LABELS: Final = ("negative", "neutral", "positive")

_RETWEET = re.compile(r"\b(?:rt|via|mt)\b", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_LINK = re.compile(r"https?://\S+|www\.\S+|\{link\}", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:amp|quot|lt|gt|#\d+);")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def split_key(text: str) -> str:
    """The text a part is drawn from: lower case, without RT markers, handles, links
    or punctuation, so that retweets and copies of one tweet share their key."""
    key = _LINK.sub(" ", text.lower())
    key = _ENTITY.sub(" ", key)
    key = _HANDLE.sub(" ", key)
    key = _RETWEET.sub(" ", key)
    return " ".join(_NON_WORD.sub(" ", key).split())


def part_of(text: str) -> Part:
    """``train`` for hash buckets 0–4, ``dev`` for 5, ``test`` for 6–9 (out of 10)."""
    bucket = zlib.crc32(split_key(text).encode("utf-8")) % 10
    if bucket < 5:
        return "train"
    return "dev" if bucket == 5 else "test"


@dataclass(frozen=True)
class _Layout:
    file: str
    encoding: str
    text_column: int
    label_column: int
    labels: Mapping[str, str]  # the set's label → negative / neutral / positive


_LAYOUTS: Final = {
    "sanders-brand-tweets": _Layout(
        "full-corpus.csv", "utf-8", 4, 1, {label: label for label in SANDERS_LABELS}
    ),
    "brand-product-emotions-sxsw": _Layout(
        "judge-1377884607_tweet_product_company.csv", "latin-1", 0, 2, SXSW_LABELS
    ),
}


def _read(path: Path, layout: _Layout) -> list[Example]:
    """Rows with a known label and a text; other labels (irrelevant, can't tell) dropped."""
    width = max(layout.text_column, layout.label_column) + 1
    out = []
    with path.open(encoding=layout.encoding, newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or len(header) < width:
            raise DatasetError(f"{path}: expected at least {width} columns in its header")
        for row in rows:
            if len(row) < width:
                continue
            label = layout.labels.get(row[layout.label_column])
            text = row[layout.text_column]
            if label is not None and text.strip():
                out.append(Example(text=text, label=label, language="en"))
    return out


def brand_examples(
    data_dir: Path, parts: Sequence[Part], *, sets: Sequence[str] = BRAND_SETS
) -> dict[str, list[Example]]:
    """The examples of each brand set found in ``data_dir`` that fall in ``parts``.

    A set whose folder is absent is left out of the result (the caller says so); a
    folder without its file is an error.
    """
    found: dict[str, list[Example]] = {}
    for name in sets:
        folder = data_dir / name
        if not folder.is_dir():
            continue
        layout = _LAYOUTS[name]
        path = folder / layout.file
        if not path.is_file():
            raise DatasetError(f"{path} is missing from {folder}")
        found[name] = [e for e in _read(path, layout) if part_of(e.text) in parts]
    return found
