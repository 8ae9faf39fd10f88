"""Benchmark of the per-topic surge detector (:mod:`flocon.signals.topic_surge`).

Run: ``python -m benchmarks.detection.topics [--seed S] [--json] [--tune]`` (about a minute).

Streams (one per watch, all texts real):

* **Background**: the 2,778 customer tweets (``inbound``) of ``twcs-customer-support-sample``,
  in their real chronological order (so the real drift of themes in a support inbox is kept),
  with their real (anonymised) author ids, laid from a random offset on the timestamps of
  :mod:`benchmarks.detection.streams` (real twcs inter-arrival gaps and daily shape, rescaled to
  ``--rate`` mentions per hour, 8 by default). 7 days of background (``background_span``), then
  7 days of evaluation: 14 × 24 × 8 ≈ 2,700 texts, about one pass over the pool.
* **Control**: a theme always present at a steady rate: labelled tweets of one CrisisLex T26
  event (Singapore haze) replace background items at about 1 per hour, everywhere, with
  distinct authors. It must not fire.
* **Injections** (injected streams only, 4 per week): "Related and informative" tweets of one
  CrisisLex T26 event (a different event each time, absent from the support inbox) *replace* the
  nearest background items (the total volume stays ordinary), at a rate growing from 1/h to
  8/h over 60 min then held at 8/h for 60 min (about 12 items in 2 h), each by a distinct new
  author.

Checks every 5 min with ``surging_topics`` (window 2 h, background = the preceding 7 days).
Episode: one alert per topic (readings sharing a phrase or a mention) until 60 min without firing.
An injection is detected when an alert whose evidence is mostly injected items is raised between
its first item and 60 min after its last; the delay is counted from its first item. False
alerts: episodes per watch per week on the streams without injection (control included).
Thresholds are tuned with ``--tune --seed 1`` and reported with ``--seed 2``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
from benchmarks.detection.streams import DATASETS, EPOCH, _background, load_source

from flocon.signals.topic_surge import (
    DEFAULT_TOPIC_THRESHOLDS,
    PhraseCache,
    TopicConfig,
    TopicItem,
    TopicReading,
    TopicThresholds,
    surging_topics,
)

BACKGROUND_DAYS = 7
EVAL_DAYS = 7
CHECK_MINUTES = 5
#: Injections: 1/h growing to 8/h over RAMP_MIN, then 8/h for HOLD_MIN (about 12 items in 2 h).
RAMP_MIN = 60.0
HOLD_MIN = 60.0
QUIET = timedelta(minutes=60)
CONTROL_EVENT = "2013_Singapore_haze"
#: English-language events (the support inbox is in English).
EVENTS = (
    "2012_Colorado_wildfires",
    "2012_Philipinnes_floods",
    "2012_Typhoon_Pablo",
    "2013_Alberta_floods",
    "2013_Australia_bushfire",
    "2013_Boston_bombings",
    "2013_Colorado_floods",
    "2013_Glasgow_helicopter_crash",
    "2013_LA_airport_shootings",
    "2013_NY_train_crash",
    "2013_Queensland_floods",
    "2013_Russia_meteor",
    "2013_Savar_building_collapse",
    "2013_Typhoon_Yolanda",
    "2013_West_Texas_explosion",
)
#: Scan-score grid of ``--tune`` (the ratio threshold is fixed at 4).
GRID = (10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 30.0, 34.0, 38.0)


@dataclass(frozen=True)
class Post:
    text: str
    author: str


@cache
def support_pool() -> tuple[Post, ...]:
    path = DATASETS / "twcs-customer-support-sample" / "twcs.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        raw = handle.read().replace("\r", " ")
    rows = [r for r in csv.DictReader(raw.split("\n")) if r.get("inbound") == "True"]
    rows.sort(key=lambda r: datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y"))
    return tuple(Post(r["text"], f"c{r['author_id']}") for r in rows)


@cache
def event_texts(event: str) -> tuple[str, ...]:
    path = next((DATASETS / "crisislex-t26" / event).glob("*-tweets_labeled.csv"))
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return tuple(
            row[1]
            for row in reader
            if len(row) >= 5 and row[4].strip() == "Related and informative"
        )


@dataclass
class Injection:
    event: str
    onset: float
    last: float
    ids: set[int]


@dataclass
class Watch:
    items: list[TopicItem]
    times: list[float]
    injections: list[Injection]
    control: set[int]
    eval_start: float
    end: float


def make_watch(seed: int, index: int, inject: bool, rate: float) -> Watch:
    rng = np.random.default_rng([seed, index, int(inject), 77])
    hours = (BACKGROUND_DAYS + EVAL_DAYS) * 24
    times = [float(t) for t in _background(load_source("twcs"), rng, EPOCH, hours, rate)]
    pool = support_pool()
    offset = int(rng.integers(len(pool)))
    texts = [pool[(offset + k) % len(pool)].text for k in range(len(times))]
    authors = [pool[(offset + k) % len(pool)].author for k in range(len(times))]
    kind = ["bg"] * len(times)
    fresh = 0

    def new_author() -> str:
        nonlocal fresh
        fresh += 1
        return f"n{index}-{fresh}"

    # control theme: replaces about one item per hour everywhere, steadily
    ctrl = event_texts(CONTROL_EVENT)
    for k in range(len(times)):
        if rng.random() < 1.0 / rate:
            texts[k], authors[k], kind[k] = str(rng.choice(ctrl)), new_author(), "ctrl"
    eval_start = EPOCH + BACKGROUND_DAYS * 86400.0
    end = EPOCH + hours * 3600.0
    plans: list[tuple[str, list[int]]] = []
    if inject:
        n = 4 * EVAL_DAYS // 7
        slot = (end - eval_start) / n
        arr = np.asarray(times)
        for j in range(n):
            event = EVENTS[(index * n + j + seed) % len(EVENTS)]
            onset = eval_start + j * slot + float(rng.uniform(3 * 3600.0, slot - 8 * 3600.0))
            grid = np.arange(0.0, RAMP_MIN + HOLD_MIN, 0.25)  # minutes
            per_hour = 8.0 ** (np.minimum(grid, RAMP_MIN) / RAMP_MIN)  # 1/h -> 8/h, then 8/h
            per_min = per_hour / 60.0 * 0.25
            hits = grid[rng.random(len(grid)) < per_min]
            at = onset + 60.0 * np.concatenate([[0.0], hits[hits > 0]])
            pool_e = list(event_texts(event))
            order = rng.permutation(len(pool_e))
            taken: list[int] = []
            for m, t in enumerate(at):
                k = int(np.argmin(np.abs(arr - t) + np.where([x != "bg" for x in kind], 1e12, 0)))
                texts[k], authors[k], kind[k] = pool_e[int(order[m])], new_author(), f"inj{j}"
                times[k] = float(t)
                taken.append(k)
            plans.append((event, taken))
    order_idx = sorted(range(len(times)), key=lambda k: times[k])
    items: list[TopicItem] = []
    new_pos = {}
    for pos, k in enumerate(order_idx):
        new_pos[k] = pos
        at = datetime.fromtimestamp(times[k], UTC)
        items.append(TopicItem(pos, at, texts[k], "en", authors[k]))
    injections = [
        Injection(
            event,
            min(times[k] for k in ks),
            max(times[k] for k in ks),
            {new_pos[k] for k in ks},
        )
        for event, ks in plans
    ]
    control = {new_pos[k] for k in range(len(times)) if kind[k] == "ctrl"}
    return Watch(items, sorted(times), injections, control, eval_start, end)


def run_checks(watch: Watch, config: TopicConfig) -> list[tuple[float, list[TopicReading]]]:
    """Readings at every check of the evaluation period (permissive config: filter later)."""
    cache_ = PhraseCache()
    out: list[tuple[float, list[TopicReading]]] = []
    window = config.window.total_seconds()
    span = timedelta(days=BACKGROUND_DAYS)
    t = watch.eval_start + CHECK_MINUTES * 60.0
    while t <= watch.end:
        lo = bisect.bisect_right(watch.times, t - window)
        hi = bisect.bisect_right(watch.times, t)
        b0 = bisect.bisect_right(watch.times, t - window - span.total_seconds())
        now = datetime.fromtimestamp(t, UTC)
        readings = surging_topics(
            now, watch.items[lo:hi], watch.items[b0:lo], span, config, cache=cache_
        )
        if readings:
            out.append((t, readings))
        t += CHECK_MINUTES * 60.0
    return out


def episodes(
    checks: Sequence[tuple[float, list[TopicReading]]], level: TopicThresholds
) -> list[tuple[float, TopicReading]]:
    """Alerts (first reading of each episode) for one sensitivity's thresholds."""
    open_: list[tuple[set[str], set[int], float]] = []  # phrases, ids, last firing time
    alerts: list[tuple[float, TopicReading]] = []
    for t, readings in checks:
        open_ = [ep for ep in open_ if t - ep[2] <= QUIET.total_seconds()]
        for r in readings:
            if r.score < level.score or r.window_count / max(r.expected, 1e-12) < level.ratio:
                continue
            phrases, ids = set(r.phrases), set(r.evidence)
            for k, ep in enumerate(open_):
                if ep[0] & phrases or ep[1] & ids:
                    open_[k] = (ep[0] | phrases, ep[1] | ids, t)
                    break
            else:
                open_.append((phrases, ids, t))
                alerts.append((t, r))
    return alerts


@dataclass
class Outcome:
    detected: int = 0
    injected: int = 0
    delays: list[float] | None = None
    false_alerts: int = 0
    control_alerts: int = 0
    clean_weeks: float = 0.0


def score_level(
    clean: Sequence[tuple[Watch, list[tuple[float, list[TopicReading]]]]],
    injected: Sequence[tuple[Watch, list[tuple[float, list[TopicReading]]]]],
    level: TopicThresholds,
) -> Outcome:
    out = Outcome(delays=[])
    for watch, checks in clean:
        out.clean_weeks += (watch.end - watch.eval_start) / (7 * 86400.0)
        for _, r in episodes(checks, level):
            out.false_alerts += 1
            if sum(i in watch.control for i in r.evidence) * 2 > len(r.evidence):
                out.control_alerts += 1
    for watch, checks in injected:
        alerts = episodes(checks, level)
        for inj in watch.injections:
            out.injected += 1
            hits = [
                t
                for t, r in alerts
                if inj.onset <= t <= inj.last + QUIET.total_seconds()
                and sum(i in inj.ids for i in r.evidence) * 2 > len(r.evidence)
            ]
            if hits:
                out.detected += 1
                assert out.delays is not None
                out.delays.append((min(hits) - inj.onset) / 60.0)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--watches", type=int, default=6, help="clean and injected, each")
    parser.add_argument("--rate", type=float, default=8.0, help="mentions per hour")
    parser.add_argument("--min-mentions", type=int, default=TopicConfig().min_mentions)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tune", action="store_true", help="print the score grid")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    lowest = min([*GRID, *(t.score for t in DEFAULT_TOPIC_THRESHOLDS.values())])
    permissive = TopicConfig(
        sensitivity="high",
        max_readings=20,
        min_mentions=args.min_mentions,
        thresholds={
            s: replace(
                t, score=lowest, ratio=min(t.ratio for t in DEFAULT_TOPIC_THRESHOLDS.values())
            )
            for s, t in DEFAULT_TOPIC_THRESHOLDS.items()
        },
    )
    clean, injected = [], []
    for w in range(args.watches):
        for inject, bucket in ((False, clean), (True, injected)):
            watch = make_watch(args.seed, w, inject, args.rate)
            bucket.append((watch, run_checks(watch, permissive)))
    rows: dict[str, dict[str, float | int | None]] = {}
    levels: dict[str, TopicThresholds] = dict(DEFAULT_TOPIC_THRESHOLDS)
    if args.tune:
        levels = {f"score>={s:g}": TopicThresholds(s, 4.0) for s in GRID}
    for name, level in levels.items():
        o = score_level(clean, injected, level)
        delays = o.delays or []
        rows[name] = {
            "score": level.score,
            "ratio": level.ratio,
            "detected": o.detected,
            "injected": o.injected,
            "detection_rate": o.detected / max(o.injected, 1),
            "median_delay_min": float(np.median(delays)) if delays else None,
            "false_alerts_per_watch_week": o.false_alerts / max(o.clean_weeks, 1e-9),
            "control_alerts": o.control_alerts,
        }
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"seed": args.seed, "rows": rows, "seconds": elapsed}, indent=2))
        return
    print(
        f"topic surge benchmark: seed {args.seed}, {args.watches} clean + {args.watches} injected "
        f"watches, {args.rate:g}/h, {EVAL_DAYS} days evaluated each, checks every "
        f"{CHECK_MINUTES} min ({elapsed:.0f} s)"
    )
    print(
        f"{'level':<12} {'score':>6} {'ratio':>5} {'detected':>10} {'rate':>6} "
        f"{'delay(min)':>10} {'FA/watch/wk':>12} {'control FA':>10}"
    )
    for name, row in rows.items():
        delay = row["median_delay_min"]
        print(
            f"{name:<12} {row['score']:>6g} {row['ratio']:>5g} "
            f"{row['detected']:>4}/{row['injected']:<5} {row['detection_rate']:>6.2f} "
            f"{'-' if delay is None else f'{delay:.0f}':>10} "
            f"{row['false_alerts_per_watch_week']:>12.2f} {row['control_alerts']:>10}"
        )


if __name__ == "__main__":
    main()
