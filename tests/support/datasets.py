"""Small data folders in the layouts of the public sets in shared/datasets."""

from __future__ import annotations

import csv
from pathlib import Path


def write_brand_sets(root: Path, n: int = 60) -> Path:
    """Both brand sets in their published layouts, with ``n`` labelled rows each."""
    sanders = root / "sanders-brand-tweets"
    sanders.mkdir(parents=True)
    labels = ("positive", "negative", "neutral", "irrelevant")
    with (sanders / "full-corpus.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Topic", "Sentiment", "TweetId", "TweetDate", "TweetText"])
        for i in range(n + n // 3):
            out.writerow(
                ["apple", labels[i % 4], str(i), "Tue Oct 18 2011", f"tweet {i} about @apple"]
            )
    sxsw = root / "brand-product-emotions-sxsw"
    sxsw.mkdir(parents=True)
    emotions = (
        "Positive emotion",
        "Negative emotion",
        "No emotion toward brand or product",
        "I can't tell",
    )
    with (sxsw / "judge-1377884607_tweet_product_company.csv").open(
        "w", encoding="latin-1", newline=""
    ) as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "tweet_text",
                "emotion_in_tweet_is_directed_at",
                "is_there_an_emotion_directed_at_a_brand_or_product",
            ]
        )
        for i in range(n + n // 3):
            out.writerow([f"#sxsw iPad {i} café", "iPad", emotions[i % 4]])
        out.writerow(["", "iPad", "Positive emotion"])  # an empty tweet is skipped
    return root
