"""The labelled brand mentions and their fixed train/dev/test split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.support.datasets import write_brand_sets

from flocon.analysis.brandsets import brand_examples, part_of, split_key
from flocon.analysis.datasets import DatasetError


def test_retweets_and_copies_of_a_tweet_share_their_key_and_their_part() -> None:
    original = "Love my new iPad 2! {link} #sxsw"
    copies = [
        "RT @mention Love my new iPad 2! {link} #sxsw",
        "love my new ipad 2 http://t.co/abc #SXSW",
        "Love my new iPad 2!!! &amp; #sxsw via @someone",
    ]
    assert split_key(original) == "love my new ipad 2 sxsw"
    for copy in copies:
        assert split_key(copy) == split_key(original)
        assert part_of(copy) == part_of(original)
    assert split_key("Google Circles launch") != split_key("Google Circles delayed")


def test_parts_are_fixed_and_about_half_a_tenth_and_two_fifths() -> None:
    texts = [f"brand tweet number {i} with words {i * 7}" for i in range(4000)]
    parts = Counter(part_of(t) for t in texts)
    assert set(parts) == {"train", "dev", "test"}
    assert 0.46 < parts["train"] / 4000 < 0.54
    assert 0.08 < parts["dev"] / 4000 < 0.12
    assert 0.36 < parts["test"] / 4000 < 0.44
    assert [part_of(t) for t in texts[:50]] == [part_of(t) for t in texts[:50]]


def test_brand_examples_read_both_layouts_drop_unusable_rows_and_split_cleanly(
    tmp_path: Path,
) -> None:
    root = write_brand_sets(tmp_path)
    every = brand_examples(root, ["train", "dev", "test"])
    assert set(every) == {"sanders-brand-tweets", "brand-product-emotions-sxsw"}
    for examples in every.values():
        assert len(examples) == 60  # "irrelevant", "I can't tell" and empty rows dropped
        assert Counter(e.label for e in examples) == {
            "positive": 20,
            "negative": 20,
            "neutral": 20,
        }
        assert {e.language for e in examples} == {"en"}
    assert any("café" in e.text for e in every["brand-product-emotions-sxsw"])
    seen: dict[str, set[str]] = {}
    for part in ("train", "dev", "test"):
        for name, examples in brand_examples(root, [part]).items():
            texts = {e.text for e in examples}
            assert all(part_of(t) == part for t in texts)
            assert not texts & seen.get(name, set())
            seen.setdefault(name, set()).update(texts)
    assert {name: len(t) for name, t in seen.items()} == dict.fromkeys(every, 60)


def test_an_absent_set_is_left_out_and_a_folder_without_its_file_is_an_error(
    tmp_path: Path,
) -> None:
    assert brand_examples(tmp_path, ["train"]) == {}
    (tmp_path / "sanders-brand-tweets").mkdir()
    with pytest.raises(DatasetError, match=r"full-corpus\.csv"):
        brand_examples(tmp_path, ["train"])
