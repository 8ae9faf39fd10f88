"""Readers for labelled text sets: the layouts ``flocon train`` and ``flocon eval`` accept.

* **UMSAB / TweetEval layout**: a folder with ``<split>_text.txt`` and
  ``<split>_labels.txt``, one item per line, labels ``0`` negative, ``1`` neutral,
  ``2`` positive (a ``mapping.txt`` in the folder overrides that order). The files
  may lack a trailing newline: the last line is kept.
* **JSONL**: one object per line with ``text`` and ``label``.
* **CSV**: a header with ``text`` and ``label`` columns (``sentiment`` and
  ``polarity`` are accepted for ``label``).

Labels are normalised to ``negative`` / ``neutral`` / ``positive``: numbers 0/1/2,
``neg``/``neu``/``pos``, French ``négatif``/``neutre``/``positif`` and 1–5 star
ratings are understood. Anything else is an error naming the file and line.

Also here: the readers of the public sets that train the shipped models (see
``docs/analysis.md``), each from the folder layout in ``shared/datasets``.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "LABELS",
    "DatasetError",
    "Example",
    "load_labelled",
    "normalise_label",
    "read_split",
    "shuffled",
]

LABELS: Final = ("negative", "neutral", "positive")
SEED: Final = 20261125

_LABEL_WORDS: Final = {
    "0": "negative",
    "1": "neutral",
    "2": "positive",
    "neg": "negative",
    "negative": "negative",
    "négatif": "negative",
    "negatif": "negative",
    "neu": "neutral",
    "neutral": "neutral",
    "neutre": "neutral",
    "pos": "positive",
    "positive": "positive",
    "positif": "positive",
    "-1": "negative",
    "+1": "positive",
}


class DatasetError(ValueError):
    """A data file that cannot be read as labelled examples."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    language: str = ""


def normalise_label(value: object, *, where: str) -> str:
    key = str(value).strip().lower()
    if key in _LABEL_WORDS:
        return _LABEL_WORDS[key]
    raise DatasetError(
        f"{where}: label {value!r} is not negative, neutral or positive (or 0/1/2, neg/neu/pos)"
    )


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_split(folder: Path, split: str, *, language: str = "") -> list[Example]:
    """One split of a UMSAB/TweetEval-layout folder."""
    text_path, label_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    if not text_path.is_file() or not label_path.is_file():
        raise DatasetError(f"{folder}: no {split}_text.txt and {split}_labels.txt here")
    texts, labels = _lines(text_path), _lines(label_path)
    if len(texts) != len(labels):
        raise DatasetError(
            f"{folder}: {split}_text.txt has {len(texts)} lines but "
            f"{split}_labels.txt has {len(labels)}"
        )
    names = list(LABELS)
    mapping = folder / "mapping.txt"
    if mapping.is_file():
        names = _mapping(mapping)
    out = []
    for number, (text, raw) in enumerate(zip(texts, labels, strict=True), start=1):
        where = f"{label_path}:{number}"
        try:
            label = normalise_label(names[int(raw)], where=where)
        except (ValueError, IndexError):
            label = normalise_label(raw, where=where)
        out.append(Example(text=text, label=label, language=language))
    return out


def _mapping(path: Path) -> list[str]:
    names: dict[int, str] = {}
    for line in _lines(path):
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit():
            names[int(parts[0])] = parts[1]
    return [names[i] for i in sorted(names)]


def _from_jsonl(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or "text" not in obj or "label" not in obj:
                raise DatasetError(f"{where}: needs an object with 'text' and 'label'")
            yield Example(
                text=str(obj["text"]),
                label=normalise_label(obj["label"], where=where),
                language=str(obj.get("language") or obj.get("lang") or ""),
            )


def _from_csv(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = {f.lower(): f for f in reader.fieldnames or []}
        label_field = next(
            (fields[k] for k in ("label", "sentiment", "polarity") if k in fields), None
        )
        if "text" not in fields or label_field is None:
            raise DatasetError(f"{path}: the header needs a 'text' and a 'label' column")
        for number, row in enumerate(reader, start=2):
            yield Example(
                text=row[fields["text"]] or "",
                label=normalise_label(row[label_field], where=f"{path}:{number}"),
                language=row.get(fields.get("language", ""), "") or "",
            )


def load_labelled(path: Path, *, split: str = "test") -> list[Example]:
    """Examples from a UMSAB/TweetEval folder (its ``split``), a JSONL file or a CSV file."""
    if path.is_dir():
        return read_split(path, split)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file or folder")
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        return list(_from_jsonl(path))
    if path.suffix.lower() in {".csv", ".tsv"}:
        return list(_from_csv(path))
    raise DatasetError(f"{path}: expected a folder, a .jsonl or a .csv file")


def shuffled(examples: list[Example], *, seed: int = SEED) -> list[Example]:
    """A copy in a fixed pseudo-random order (UMSAB files leak labels through line order)."""
    out = list(examples)
    random.Random(seed).shuffle(out)
    return out
