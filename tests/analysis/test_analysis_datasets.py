"""Labelled data readers (flocon.analysis.datasets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flocon.analysis.datasets import (
    DatasetError,
    load_labelled,
    normalise_label,
    read_split,
    shuffled,
)


def umsab(tmp_path: Path, texts: list[str], labels: list[str]) -> Path:
    folder = tmp_path / "french"
    folder.mkdir()
    (folder / "val_text.txt").write_text("\n".join(texts), "utf-8")  # no trailing newline
    (folder / "val_labels.txt").write_text("\n".join(labels), "utf-8")
    return folder


def test_umsab_layout_keeps_the_last_line(tmp_path: Path) -> None:
    folder = umsab(tmp_path, ["nul", "bof", "top"], ["0", "1", "2"])
    items = read_split(folder, "val")
    assert [(e.text, e.label) for e in items] == [
        ("nul", "negative"),
        ("bof", "neutral"),
        ("top", "positive"),
    ]


def test_line_count_mismatch_is_reported(tmp_path: Path) -> None:
    folder = umsab(tmp_path, ["a", "b"], ["0"])
    with pytest.raises(DatasetError, match="2 lines"):
        read_split(folder, "val")


def test_mapping_file_overrides_the_order(tmp_path: Path) -> None:
    folder = umsab(tmp_path, ["x"], ["0"])
    (folder / "mapping.txt").write_text("0\tpositive\n1\tnegative\n", "utf-8")
    assert read_split(folder, "val")[0].label == "positive"


def test_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "super", "label": "pos"}\n\n{"text": "nul", "label": 0}\n', "utf-8")
    assert [e.label for e in load_labelled(jsonl)] == ["positive", "negative"]
    csv_path = tmp_path / "d.csv"
    csv_path.write_text('text,sentiment\n"bof, bof",neutre\n', "utf-8")
    assert [(e.text, e.label) for e in load_labelled(csv_path)] == [("bof, bof", "neutral")]


def test_bad_label_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "pos"}\n{"text": "b", "label": "meh"}\n', "utf-8")
    with pytest.raises(DatasetError, match=r"d\.jsonl:2"):
        load_labelled(path)
    with pytest.raises(DatasetError):
        normalise_label("7", where="x")


def test_shuffle_is_fixed_and_breaks_the_label_cycle(tmp_path: Path) -> None:
    folder = umsab(tmp_path, [f"t{i}" for i in range(30)], [str(i % 3) for i in range(30)])
    items = read_split(folder, "val")
    once, twice = shuffled(items), shuffled(items)
    assert once == twice
    assert [e.label for e in once] != [e.label for e in items]
