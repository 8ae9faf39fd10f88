"""Write src/flocon/samples/sanders-demo.jsonl, the data of `flocon demo`.

The input is the Sanders Analytics "Twitter Sentiment Corpus" (2011) as re-hosted by
zfz/twitter_corpus (``full-corpus.csv``: topic, sentiment label, tweet id, date, text). The
output is a fixed subset in flocon's import format (JSON Lines), one tweet a line, oldest first:
``id``, ``text``, ``published_at``, ``source`` and ``url``.

What is kept and what is not:

* **A fixed share of each brand** (Apple, Google, Microsoft, Twitter: the corpus collected each
  with its own query), taken at random with a fixed seed, whatever its label: the subset keeps
  each brand's real timeline, bursts included, and the mix of relevant, irrelevant and
  non-English tweets a real watch sees.
* **No labels.** The sentiment labels are free to use, but the demo must show what flocon's own
  analysis finds; they stay out of the product.
* **No authors.** The corpus does not say who wrote a tweet. A leading ``@handle`` says whom a
  tweet answers, not who wrote it, so no author is derived from it (none is invented).

Run it again after changing ``SHARE`` or ``SEED``:
``python scripts/make_demo_sample.py /path/to/full-corpus.csv``. The result is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

#: Fraction of each brand's tweets kept (the corpus has 5,113: about 1,500 are kept).
SHARE: Final = 0.3
SEED: Final = 2011
BRANDS: Final = ("apple", "google", "microsoft", "twitter")
OUTPUT: Final = Path(__file__).resolve().parents[1] / "src/flocon/samples/sanders-demo.jsonl"
DEFAULT_INPUT: Final = Path("/work/shared/datasets/sanders-brand-tweets/full-corpus.csv")


def _published(value: str) -> datetime:
    """``Tue Oct 18 21:53:25 +0000 2011`` → an aware UTC datetime."""
    return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)


def subset(rows: list[dict[str, str]], *, share: float, seed: int) -> list[dict[str, str]]:
    """``share`` of each brand's tweets, drawn with ``seed``; oldest first (then by id)."""
    rng = random.Random(seed)
    kept: list[dict[str, str]] = []
    for brand in BRANDS:
        of_brand = sorted((r for r in rows if r["Topic"] == brand), key=lambda r: r["TweetId"])
        if not of_brand:
            raise SystemExit(f"no tweet about {brand!r}: is this the Sanders full-corpus.csv?")
        kept += rng.sample(of_brand, round(len(of_brand) * share))
    return sorted(kept, key=lambda r: (_published(r["TweetDate"]), int(r["TweetId"])))


def record(row: dict[str, str]) -> dict[str, object]:
    tweet_id = row["TweetId"].strip()
    return {
        "id": tweet_id,
        "text": row["TweetText"],
        "published_at": _published(row["TweetDate"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": {"kind": "twitter", "name": "sanders-2011"},
        "url": f"https://twitter.com/i/web/status/{tweet_id}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with args.corpus.open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["TweetText"].strip()]
    kept = subset(rows, share=SHARE, seed=SEED)
    with args.output.open("w", encoding="utf-8", newline="\n") as out:
        for row in kept:
            out.write(json.dumps(record(row), ensure_ascii=False) + "\n")
    counts = {b: sum(r["Topic"] == b for r in kept) for b in BRANDS}
    print(f"{len(kept)} tweets written to {args.output}: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
