"""Evaluation of themes (flocon.analysis.topics) on McDonald's negative Yelp reviews.

Data: /work/shared/datasets/dfe-mcdonalds-yelp (1,525 negative reviews, crowd-tagged with
complaint reasons; the 54 rows without any aggregated label are dropped). The set has a
single split and nothing is fitted on it: the figures are **descriptive**, not held-out
scores. The reason labels are used only to score the themes, never to build them.

Metric. For a theme *t* (the reviews containing any of its phrases) and a reason *r*
(the eight problem labels; ``na`` is not a reason), the **lift** is
P(r | t) / P(r): how much more often the theme's reviews carry the reason than reviews
in general. A theme *matches* the reason of highest lift when that lift is ≥ 1.5 and at
least 5 of its reviews carry the reason.

* **precision@k**: the share of the top-k themes (ranked by the tool, by mention count)
  that match a reason, i.e. whose reviews are clearly enriched in one complaint reason;
* **reason recall@k**: the share of the eight reasons matched by at least one top-k theme.

Two baselines in the same run: the k most frequent single words (same tokenizer and
stop words, no phrases and no grouping), and chance (the same themes scored against
labels shuffled across reviews, mean of 20 seeded shuffles).

Timing: the analysis of the whole set, and of 10,000 mentions (the set repeated, with
fresh ids and every other copy marked not negative, so the drivers run too), on one core.

Usage: ``.venv/bin/python benchmarks/eval_topics.py [--k 10] [--path CSV]``
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from flocon.analysis.topics import TopicInput, analyse_topics, stop_words
from flocon.domain.text import fold, tokenize

DEFAULT = Path("/work/shared/datasets/dfe-mcdonalds-yelp/McDonalds-Yelp-Sentiment-DFE.csv")
REASONS = (
    "RudeService",
    "SlowService",
    "OrderProblem",
    "BadFood",
    "ScaryMcDs",
    "Filthy",
    "Cost",
    "MissingFood",
)
#: What the watch "McDonald's" would require (flocon excludes the watch's own words).
BRAND = ("mcdonalds", "mcdonald", "mcd", "mcds", "mickey")
MIN_LIFT = 1.5
MIN_SUPPORT = 5


def load(path: Path) -> list[tuple[int, str, frozenset[str]]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            labels = frozenset(
                x.strip() for x in row["policies_violated"].splitlines() if x.strip()
            )
            if not labels:
                continue
            rows.append((int(row["_unit_id"]), row["review"].replace("Î¾", " "), labels))
    return rows


def best_reason(
    members: Sequence[int], labels: dict[int, frozenset[str]], base: dict[str, float]
) -> tuple[str, float, int]:
    """The reason of highest lift among ``members``: (reason, lift, support)."""
    counts = Counter(r for m in members for r in labels[m] if r in base)
    scored = [(counts[r] / len(members) / base[r], counts[r], r) for r in REASONS if base[r] > 0]
    lift, support, reason = max(scored)
    return reason, lift, support


def _lift(members: Sequence[int], labels: dict[int, frozenset[str]], reason: str) -> float:
    rate = sum(reason in labels[m] for m in members) / len(members)
    return rate / (sum(reason in ls for ls in labels.values()) / len(labels))


def score(
    theme_members: list[Sequence[int]], labels: dict[int, frozenset[str]]
) -> tuple[float, float, list[tuple[str, float, int, bool]]]:
    n = len(labels)
    base = {r: sum(r in ls for ls in labels.values()) / n for r in REASONS}
    rows = []
    for members in theme_members:
        reason, lift, support = best_reason(members, labels, base)
        rows.append((reason, lift, support, lift >= MIN_LIFT and support >= MIN_SUPPORT))
    precision = sum(ok for *_, ok in rows) / len(rows) if rows else 0.0
    recall = len({r for r, *_, ok in rows if ok}) / len(REASONS)
    return precision, recall, rows


def unigram_baseline(items: list[TopicInput], k: int) -> list[list[int]]:
    banned = set(BRAND)
    stops = stop_words("en")
    postings: dict[str, set[int]] = {}
    for it in items:
        for w in tokenize(fold(it.text)):
            if w.isalpha() and len(w) > 1 and w not in stops and w not in banned:
                postings.setdefault(w, set()).add(it.id)
    top = sorted(postings, key=lambda w: (-len(postings[w]), w))[:k]
    return [sorted(postings[w]) for w in top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", type=Path, default=DEFAULT)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows = load(args.path)
    labels = {i: ls for i, _, ls in rows}
    items = [TopicInput(i, text, "en", "negative") for i, text, _ in rows]
    started = time.perf_counter()
    report = analyse_topics(items, exclude=BRAND, limit=args.k, examples=3)
    seconds = time.perf_counter() - started

    members = [list(t.mention_ids) for t in report.themes]
    precision, recall, detail = score(members, labels)
    print(f"{len(items)} labelled reviews, top {args.k} themes (descriptive: one split, no fit)")
    print(f"{'theme':<44} {'reviews':>7}  best reason    lift  support")
    for theme, (reason, lift, support, ok) in zip(report.themes, detail, strict=True):
        phrases = ", ".join(p.text for p in theme.phrases[:4])
        mark = "✓" if ok else " "
        print(
            f"{phrases[:44]:<44} {theme.mentions:>7}  {reason:<13} {lift:4.2f}  {support:>5} {mark}"
        )
    base_p, base_r, _ = score(unigram_baseline(items, args.k), labels)
    chance_p = chance_r = 0.0
    ids = list(labels)
    for seed in range(20):
        values = list(labels.values())
        random.Random(seed).shuffle(values)
        p, r, _ = score(members, dict(zip(ids, values, strict=True)))
        chance_p += p / 20
        chance_r += r / 20
    print(
        f"\nprecision@{args.k}: themes {precision:.2f} | top words {base_p:.2f} | chance {chance_p:.2f}"
    )
    print(
        f"reason recall@{args.k}: themes {recall:.2f} | top words {base_r:.2f} | chance {chance_r:.2f}"
    )
    print(f"time: {seconds:.2f} s for {len(items)} mentions")

    print("\ndrivers: reviews tagged with the reason read as NEGATIVE, the others as positive")
    hits = enriched = shown_drivers = 0
    for reason in REASONS:
        flagged = [
            TopicInput(i, text, "en", "negative" if reason in labels[i] else "positive")
            for i, text, _ in rows
        ]
        drivers = analyse_topics(flagged, exclude=BRAND, limit=3).drivers
        matches = [
            _lift(d.mention_ids, labels, reason) >= MIN_LIFT
            and sum(reason in labels[m] for m in d.mention_ids) >= MIN_SUPPORT
            for d in drivers
        ]
        ok = any(matches)
        enriched += sum(matches)
        shown_drivers += len(drivers)
        hits += ok
        shown = "; ".join(f"{d.label} (z {d.z:.1f})" for d in drivers)
        print(f"  {reason:<13} {'✓' if ok else ' '} {shown}")
    print(f"driver recall@3: {hits}/{len(REASONS)} = {hits / len(REASONS):.2f}")
    print(f"driver precision@3: {enriched}/{shown_drivers} = {enriched / shown_drivers:.2f}")

    big = [
        TopicInput(n * 10**10 + i, text, "en", "negative" if "RudeService" in ls else "positive")
        for n in range(7)
        for i, text, ls in rows
    ][:10_000]
    started = time.perf_counter()
    big_report = analyse_topics(big, exclude=BRAND, limit=args.k)
    print(
        f"time: {time.perf_counter() - started:.2f} s for {len(big)} mentions "
        f"({len(big_report.themes)} themes, {len(big_report.drivers)} drivers), one core"
    )


if __name__ == "__main__":
    main()
