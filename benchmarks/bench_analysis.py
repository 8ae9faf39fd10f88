"""Benchmark: enrichment speed per core and memory, and quality on real brand mentions.

Speed: language + sentiment + needs-answer (``Analyzer.analyze``) for each profile,
pinned to one core, in batches of 256, on real tweets of the benchmark corpus; the
language detector alone and a bare "split into words" loop over the same texts are the
baselines of the same run. Memory: the peak resident size of a fresh process that
loads each profile and analyses 256 texts.

Quality (the issue's "real brand mentions" bar): macro-F1 of both profiles and of the
lexicon baseline (VADER / vaderSentiment-fr) in the same run, on items the models never
saw in training nor in selection: the *test* part of the Sanders brand tweets (3
classes, "irrelevant" dropped) and of the SXSW product tweets (3 classes: "no emotion"
read as neutral, "can't tell" dropped) — ``flocon.analysis.brandsets`` splits them for
good, and the models learn from their *train* part only — and AlloCiné French reviews
(dev split; 2 classes: a text is positive when its score is ≥ 0, for the models and the
lexicon alike).

Usage: ``.venv/bin/python benchmarks/bench_analysis.py [--texts N] [--no-quality]``
(embeddings of the quality sets are cached under ``--cache``; the first run embeds about
15,000 texts with the accurate profile: allow 10–15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from corpus import DEFAULT_DATASETS, load_texts
from flocon.analysis import models
from flocon.analysis.analyzer import Analyzer
from flocon.analysis.brandsets import brand_examples
from flocon.analysis.language import LanguageDetector
from flocon.analysis.metrics import macro_f1
from flocon.analysis.training import embed_cached

LABELS = ("negative", "neutral", "positive")


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def rate(fn, texts: list[str], batch: int = 256) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        fn(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def speed(texts: list[str]) -> None:
    words = rate(lambda b: [t.split() for t in b], texts)
    detector = LanguageDetector()
    detector.detect("warm up the detector")
    lang = rate(lambda b: [detector.detect(t) for t in b], texts)
    print(f"baseline, split into words        {words:>10,.0f} texts/s")
    print(f"language alone                    {lang:>10,.0f} texts/s")
    for profile, n in (("fast", len(texts)), ("accurate", min(len(texts), 512))):
        analyzer = Analyzer(profile=profile)  # type: ignore[arg-type]
        analyzer.analyze(texts[:8])  # load the models
        full = rate(analyzer.analyze, texts[:n])
        print(
            f"{profile:<8} language+sentiment+answer {full:>10,.0f} texts/s (one core, {n} texts)"
        )


def memory() -> None:
    code = (
        "import resource, sys; from flocon.analysis.analyzer import Analyzer; "
        "a = Analyzer(profile=sys.argv[1]); a.analyze(['un texte assez long pour tout charger'] * 256); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    for profile in ("fast", "accurate"):
        out = subprocess.run(
            [sys.executable, "-c", code, profile], check=True, capture_output=True, text=True
        )
        print(f"{profile:<8} peak memory of a process  {int(out.stdout) / 1024:>8.0f} MiB")


def brand_sets(root: Path) -> dict[str, tuple[list[str], list[str], str]]:
    sets: dict[str, tuple[list[str], list[str], str]] = {}
    names = {
        "sanders-brand-tweets": "Sanders brand tweets (en, test part)",
        "brand-product-emotions-sxsw": "SXSW product tweets (en, test part)",
    }
    for folder, examples in brand_examples(root, ["test"]).items():
        sets[names[folder]] = ([e.text for e in examples], [e.label for e in examples], "en")
    lines = (root / "allocine-tvseries-fr" / "fr" / "dev.tsv").read_text("utf-8").splitlines()
    pairs = [line.split("\t", 1) for line in lines if "\t" in line]
    sets["AlloCiné reviews (fr, dev)"] = (
        [t.strip() for _, t in pairs],
        ["positive" if lab == "1" else "negative" for lab, _ in pairs],
        "fr",
    )
    return sets


def predict(probs: np.ndarray, binary: bool) -> list[str]:
    if binary:
        return ["positive" if p[2] >= p[0] else "negative" for p in probs]
    return [LABELS[i] for i in probs.argmax(axis=1)]


def quality(root: Path, cache: Path) -> None:
    from flocon.analysis.features import E5Embeddings, extractor_from_meta
    from flocon.analysis.lexicon import LexiconBaseline

    fast = models.load(models.shipped_path(models.SENTIMENT_FAST))
    accurate = models.load(models.shipped_path(models.SENTIMENT_ACCURATE))
    lexicon = LexiconBaseline()
    print(f"{'set':<36} {'items':>6} {'lexicon':>8} {'fast':>6} {'accurate':>9}")
    for name, (texts, truth, lang) in brand_sets(root).items():
        binary = len(set(truth)) == 2
        labels = ("negative", "positive") if binary else LABELS
        lex = lexicon.predict(texts, [lang] * len(texts))
        if binary:
            lex = ["negative" if p == "negative" else "positive" for p in lex]
        grams = extractor_from_meta(fast.features).transform(texts)
        f = predict(fast.probabilities(grams), binary)
        encoder = extractor_from_meta(accurate.features)
        assert isinstance(encoder, E5Embeddings)
        probs = accurate.probabilities(embed_cached(texts, cache, None, encoder))
        partner = models.blend_partner(accurate)  # as SentimentStep answers
        if partner is not None:
            other, weight = partner
            assert other.features == fast.features
            probs = models.blended(probs, other.probabilities(grams), weight)
        a = predict(probs, binary)
        scores = [macro_f1(truth, p, labels) for p in (lex, f, a)]
        print(f"{name:<36} {len(texts):>6} {scores[0]:>8.3f} {scores[1]:>6.3f} {scores[2]:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache"))
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    texts = [m.text for m in load_texts(args.texts, args.datasets) if m.text.strip()]
    print(f"{len(texts)} real texts from {args.datasets}")
    memory()
    if not args.no_quality:
        quality(args.datasets, args.cache)  # both cores: it embeds about 12,000 texts
    pin_one_core()
    speed(texts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
