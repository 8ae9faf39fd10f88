"""Benchmark: match real mentions against many watches with QueryIndex, on one core.

Generates realistic watches deterministically (brands found in the corpora,
invented products and campaigns; phrases, NEAR/n, NEAR/nf, wildcards,
exclusions, fields, hashtags, handles), loads real texts (see ``corpus.py``)
and prints the throughput of ``prepare`` + ``QueryIndex.match`` against the
naive loop that evaluates every query on every mention. Exits non-zero if the
index and the naive loop disagree on the subset.

Usage: ``.venv/bin/python benchmarks/bench_matching.py [--mentions N] [--watches N]``
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from corpus import DEFAULT_DATASETS, load_texts
from flocon.domain.models import MatchInput
from flocon.domain.query import Query, QueryIndex, parse, prepare

BRANDS = [
    "Apple", "Google", "Microsoft", "Twitter", "Sprint", "Verizon", "AmazonHelp", "Amazon",
    "Comcast", "SNCF", "Orange", "iPhone", "iPad", "Android", "Chipotle", "Uber", "Delta",
    '"British Airways"', "Spotify", '"T-Mobile"', "Southwest", "Tesco", '"American Airlines"',
    "PlayStation", "Xbox", "Adobe", "eBay", "Hulu", "Spectrum", "AirAsia", '"Marks and Spencer"',
    "Argos", '"Wells Fargo"', "UPS", '"Virgin Trains"', '"Papa Johns"', "PayPal", "Morrisons",
    "Sainsburys", "Postmates", "Target", "McDonalds", "Amex", "Dropbox", "Azure", "Chase",
    "Walmart", "Airbnb", "Newegg", "Nike", "Lyft", "Citi", "Nestle", "Pfizer", "Merck",
    "Barclays", "Danone", "Samsung", "Netflix", "Facebook", "Instagram", "YouTube", "Bouygues",
    "SFR", "Ouigo", "RATP", '"Air France"', "Carrefour", "Renault", "Peugeot", "Decathlon",
    "Fnac", "Darty", '"La Poste"', "EDF", "Engie", '"BNP Paribas"', '"Société Générale"',
    '"Crédit Agricole"', "Lidl", "Leclerc", "Auchan", '"Red Cross"', "FEMA", "Starbucks",
    '"Coca-Cola"', "Pepsi", "Boeing", "Tesla", "Nokia", "BlackBerry", "Dell", "Sony", "Intel",
]  # fmt: skip
HANDLES = [
    "AppleSupport", "AmazonHelp", "comcastcares", "sprintcare", "VerizonSupport", "Uber_Support",
    "Delta", "British_Airways", "SpotifyCares", "TMobileHelp", "SouthwestAir", "Tesco",
    "AmericanAir", "AskPlayStation", "XboxSupport", "AdobeCare", "AskeBay", "hulu_support",
    "ChipotleTweets", "SNCF", "Orange_conseil", "RATPgroup", "Ouigo", "AirFrance", "googlenews",
]  # fmt: skip
DOMAINS = ["lemonde.fr", "lefigaro.fr", "bbc.co.uk", "nytimes.com", "reddit.com", "apple.com",
           "sncf-connect.com", "orange.fr", "theguardian.com", "20minutes.fr"]  # fmt: skip
TOPICS_EN = ["delay*", "cancel*", "refund*", "outage", "broken", "crash*", "price*", "fail*",
             "scam", "support", "help", "problem*", "issue*", '"customer service"', "love",
             "hate", "worst", "awesome", "update*", "battery", "signal", "bill*", "order*"]  # fmt: skip
TOPICS_FR = ["retard*", "annul*", "rembours*", "panne", "livraison", "colis", "factur*",
             "arnaque", "bug", "réseau", '"service client"', "grève", "nul", "génial",
             "problème", "attente", "abonnement", "résili*"]  # fmt: skip
CRISIS = ["flood*", "earthquake", "tornado", "fire*", "explosion", "bomb*", "typhoon",
          "hurricane", "storm*", "evacuat*", "rescue*", "victim*", "donat*", "pray*",
          "séisme", "inondation*", "incendie", "terremoto", "inundaci*", "tremor"]  # fmt: skip
SPAM = ["spam", "giveaway", "concours", "porn", "bot", "promo", "coupon", "free", "gratuit"]
LANGS = ["fr", "en", "es", "de", "it", "pt"]
SYLLABLES = ["ka", "zen", "lo", "vi", "tra", "no", "mi", "sol", "ra", "xo", "qua", "bel",
             "dor", "fi", "ly", "mar", "te", "zu", "pix", "ora"]  # fmt: skip


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _bare(brand: str) -> str:
    return brand.strip('"')


def _tag(brand: str) -> str:
    return "".join(ch for ch in _bare(brand) if ch.isalnum())


def _topics(rng: random.Random, pool: list[str], k: int) -> str:
    return "(" + " OR ".join(rng.sample(pool, k)) + ")"


def _templates() -> list[Callable[[random.Random, str], str]]:
    return [
        lambda g, b: b,
        lambda g, b: f'{b} -{g.choice(SPAM)} -"{g.choice(SPAM)} {g.choice(SPAM)}"',
        lambda g, b: f'"{_bare(b)} {_name(g, 2)}"',
        lambda g, b: f"{b} NEAR/{g.randint(2, 8)} {_topics(g, TOPICS_EN, 3)}",
        lambda g, b: f"({b} OR #{_tag(b)}) NEAR/{g.randint(2, 6)}f {_topics(g, TOPICS_FR, 3)}",
        lambda g, b: f"#{_tag(b)} OR @{g.choice(HANDLES)}",
        lambda g, b: f"{b} lang:{g.choice(LANGS)}",
        lambda g, b: f"title:{b} OR site:{g.choice(DOMAINS)}",
        lambda g, b: f"{b} {_topics(g, TOPICS_EN + TOPICS_FR, 2)} -source:reddit",
        lambda g, b: (
            f"{_tag(b)[:4].lower()}* -{g.choice(SPAM)}"
            if len(_tag(b)) >= 4
            else f"{b} -{g.choice(SPAM)}"
        ),
        lambda g, b: f"{b} NOT ({g.choice(SPAM)} OR {g.choice(SPAM)})",
        lambda g, b: f'"{_name(g, 2)} {_name(g, 1)}" OR #{_name(g, 3)}',
        lambda g, b: f"{b} AND {_topics(g, TOPICS_FR, 4)} lang:fr",
        lambda g, b: f"country:{g.choice(['fr', 'us', 'gb'])} {b}",
        lambda g, b: f"{_topics(g, CRISIS, 2)} NEAR/5 (help OR donat* OR {b})",
        lambda g, b: f"({b} OR {_name(g, 2)}) -@{g.choice(HANDLES)} -{_tag(b).lower()}ade",
        lambda g, b: f"{b} colo?r",
        lambda g, b: f"site:{g.choice(DOMAINS)} OR url:{g.choice(DOMAINS)}/{_name(g, 1).lower()}",
    ]


def make_watches(n: int, seed: int = 20240601) -> list[tuple[str, Query]]:
    """``n`` (name, query) pairs, always the same for the same ``n`` and seed."""
    rng = random.Random(seed)
    templates = _templates()
    weights = [10, 8, 6, 8, 6, 5, 5, 3, 5, 4, 4, 4, 4, 2, 4, 3, 1, 1]
    products = [_name(rng, rng.randint(2, 3)) for _ in range(200)]
    watches = []
    for i in range(n):
        brand = rng.choice(BRANDS) if rng.random() < 0.7 else rng.choice(products)
        template = rng.choices(templates, weights)[0]
        text = template(rng, brand)
        watches.append((f"watch-{i:04d}", parse(text)))
    return watches


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def bench_index(
    index: QueryIndex[str], texts: list[MatchInput]
) -> tuple[float, int, list[list[str]]]:
    gc.collect()
    results: list[list[str]] = []
    start = time.perf_counter()
    for item in texts:
        results.append(index.match(prepare(item)))
    elapsed = time.perf_counter() - start
    return elapsed, sum(len(r) for r in results), results


def bench_naive(
    watches: list[tuple[str, Query]], texts: list[MatchInput]
) -> tuple[float, list[list[str]]]:
    gc.collect()
    results: list[list[str]] = []
    start = time.perf_counter()
    for item in texts:
        doc = prepare(item)
        results.append([key for key, query in watches if query.matches(doc)])
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=1_000)
    parser.add_argument("--naive", type=int, default=5_000, help="mentions for the naive loop")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args(argv)

    print(f"date        {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine     {platform.platform()} / {platform.machine()} / {platform.processor()}")
    print(f"python      {platform.python_implementation()} {platform.python_version()}")
    print(f"cpus        {os.cpu_count()} ({_pin_one_core()})")

    watches = make_watches(args.watches)
    index: QueryIndex[str] = QueryIndex()
    for key, query in watches:
        index.add(key, query)
    always = sum(1 for _, q in watches if q.required_literals() is None)
    texts = load_texts(args.mentions, args.datasets)
    print(f"watches     {len(watches)} ({always} without a required literal)")
    print(f"mentions    {len(texts)}")

    gc.collect()
    start = time.perf_counter()
    for item in texts:
        prepare(item)
    prepare_s = time.perf_counter() - start

    elapsed, total, results = bench_index(index, texts)
    rate = len(texts) / elapsed
    print(f"matches     {total} ({sum(1 for r in results if r)} mentions matched at least once)")
    print(f"prepare     {len(texts) / prepare_s:,.0f} mentions/s alone")
    print(f"index       {rate:,.0f} mentions/s (prepare + QueryIndex.match, one core)")

    subset = texts[: args.naive]
    naive_s, naive_results = bench_naive(watches, subset)
    naive_rate = len(subset) / naive_s
    print(f"naive       {naive_rate:,.0f} mentions/s (every query on every mention, {len(subset)})")
    print(f"speed-up    x{rate / naive_rate:,.1f}")

    mismatches = [i for i, expected in enumerate(naive_results) if results[i] != expected]
    if mismatches:
        first = mismatches[0]
        print(
            f"MISMATCH    {len(mismatches)} mentions differ; first #{first}: {subset[first].text!r}"
        )
        print(f"            index {results[first]} naive {naive_results[first]}")
        return 1
    print(f"agreement   index == naive on {len(subset)} mentions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
