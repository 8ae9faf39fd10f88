"""Benchmark mention streams built from real tweet timestamps, plus injected negative bursts.

Sources (all under ``/work/shared/datasets``; read their READMEs):

* ``crisislex-t26``: the timestamp of every tweet collected for 25 crisis events (one segment each);
* ``higgs-twitter``: ``higgs-activity_time.txt.gz``, 563k retweets / mentions / replies (unix times);
* ``twcs-customer-support-sample``: ``created_at`` of the 2,778 customer (inbound) tweets.

Not used: ``brand-product-emotions-sxsw`` has no timestamps, nor has ``crisislex-t6``.

How a stream keeps the real structure at the target rate (about 5 mentions / hour):

1. **Burstiness**: within each real segment the inter-arrival gaps (timestamps dithered by up to
   one second, since they are rounded to the second) are divided by their local median over the
   surrounding 200 gaps, capped at 20 (longer gaps are holes of the collection) and rescaled to
   unit mean. This removes the slow trend (the crisis peak itself) but keeps the
   clustering of cascades and threads: a unit-mean gap sequence with the real variability.
2. **Daily shape**: the hour-of-day profile of the source (mean over days of each day's share per
   hour, days with at least 20 items) gives an intensity ``lambda(t) = rate * 24 * profile[hour]``.
3. **Time change**: blocks of 200 consecutive normalised gaps, drawn at random offsets (fixed seed)
   are chained and laid out in "operational time" ``Lambda(t) = integral of lambda``; inverting
   ``Lambda`` puts the items on the clock. The result has the wanted mean rate, the real daily shape
   and the real clustering.

None of the sources with timestamps has a sentiment label, so negative flags are random with a
fixed seed (20 % of the background). Injected bursts are all negative.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
SOURCES: tuple[str, ...] = ("crisislex", "higgs", "twcs")
SKIPPED = {
    "brand-product-emotions-sxsw": "no timestamps in the CSV",
    "crisislex-t6": "no timestamps (ids, texts and labels only)",
}
#: Monday 2024-01-01 00:00 UTC: all streams start here (28 days of history, then evaluation).
EPOCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Source:
    """Normalised real gaps (unit mean, one array per segment) and the hour-of-day profile."""

    name: str
    segments: tuple[FloatArray, ...]
    profile: FloatArray  # 24 shares summing to 1


@dataclass(frozen=True)
class Burst:
    onset: float  # epoch seconds of the first injected item
    end: float  # epoch seconds when the burst stops
    size: int


@dataclass(frozen=True)
class Stream:
    """One synthetic watch: sorted item times (epoch seconds) and their negative flags."""

    source: str
    index: int
    times: FloatArray
    negative: BoolArray
    bursts: tuple[Burst, ...]
    start: float  # epoch seconds
    eval_start: float  # end of the 28-day history
    end: float
    #: which items are injected (``burst[k]`` is the index of their burst, -1 for background)
    burst: npt.NDArray[np.int64] | None = None


def _parse_twitter_time(text: str) -> float:
    return datetime.strptime(text.strip().strip('"'), "%a %b %d %H:%M:%S %z %Y").timestamp()


def _load_crisislex() -> list[FloatArray]:
    out = []
    for path in sorted((DATASETS / "crisislex-t26").glob("*/*-tweetids_entire_period.csv")):
        with path.open(encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            times = [_parse_twitter_time(row[0]) for row in reader if row]
        out.append(np.sort(np.asarray(times, dtype=np.float64)))
    return out


def _load_higgs() -> list[FloatArray]:
    path = DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz"
    with gzip.open(path, "rt", encoding="ascii") as handle:
        times = [float(line.split(" ", 3)[2]) for line in handle if line.strip()]
    return [np.sort(np.asarray(times, dtype=np.float64))]


def _load_twcs() -> list[FloatArray]:
    path = DATASETS / "twcs-customer-support-sample" / "twcs.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read().replace("\r", " ")
    reader = csv.DictReader(text.split("\n"))
    times = [
        _parse_twitter_time(row["created_at"])
        for row in reader
        if row.get("inbound") == "True" and row.get("created_at")
    ]
    arr = np.sort(np.asarray(times, dtype=np.float64))
    # The sample is ordered by conversation: keep the dense Oct-Nov 2017 part only.
    arr = arr[arr >= datetime(2017, 10, 1, tzinfo=UTC).timestamp()]
    return [arr]


_LOADERS = {"crisislex": _load_crisislex, "higgs": _load_higgs, "twcs": _load_twcs}


def _normalised_gaps(
    times: FloatArray, rng: np.random.Generator, half: int = 100, cap: float = 20.0
) -> FloatArray:
    dithered = np.sort(times + rng.uniform(0.0, 1.0, size=len(times)))
    gaps = np.diff(dithered)
    n = len(gaps)
    if n < 2 * half + 1:
        return gaps / max(float(gaps.mean()), 1e-9)
    # local median of the gaps around each position (on a grid, interpolated): robust to the
    # holes of a sampled collection and to the slow trend of the event itself
    grid = np.arange(half, n - half, 25)
    windows = gaps[grid[:, None] + np.arange(-half, half + 1)[None, :]]
    local = np.interp(np.arange(n), grid, np.median(windows, axis=1))
    normed = np.minimum(gaps / np.maximum(local, 1e-6), cap)  # cap = collection holes
    result: FloatArray = normed / float(normed.mean())
    return result


def _daily_profile(segments: Sequence[FloatArray]) -> FloatArray:
    shares = []
    for times in segments:
        day = np.floor(times / 86400.0).astype(np.int64)
        hour = (np.floor(times / 3600.0).astype(np.int64)) % 24
        for d in np.unique(day):
            sel = day == d
            if int(sel.sum()) >= 20:
                hist = np.bincount(hour[sel], minlength=24).astype(np.float64)
                shares.append(hist / hist.sum())
    profile = np.mean(shares, axis=0) if shares else np.full(24, 1 / 24)
    profile = 0.5 * profile + 0.25 * np.roll(profile, 1) + 0.25 * np.roll(profile, -1)
    out: FloatArray = profile / profile.sum()
    return out


@cache
def load_source(name: str) -> Source:
    """Load and normalise one source (cached)."""
    raw = _LOADERS[name]()
    rng = np.random.default_rng(12345)
    segments = tuple(_normalised_gaps(t, rng) for t in raw if len(t) > 300)
    return Source(name=name, segments=segments, profile=_daily_profile(raw))


def _background(
    source: Source, rng: np.random.Generator, start: float, hours: int, rate: float
) -> FloatArray:
    lam = rate * 24.0 * source.profile[np.arange(hours) % 24]  # mentions per hour, hour by hour
    cum = np.concatenate([[0.0], np.cumsum(lam)])  # operational time at hour boundaries
    needed = float(cum[-1])
    pieces: list[FloatArray] = []
    total = 0.0
    block = 200
    weights = np.array([len(s) for s in source.segments], dtype=np.float64)
    weights /= weights.sum()
    while total < needed + 10:
        seg = source.segments[int(rng.choice(len(source.segments), p=weights))]
        off = int(rng.integers(0, max(1, len(seg) - block)))
        piece = seg[off : off + block]
        pieces.append(piece)
        total += float(piece.sum())
    operational = np.cumsum(np.concatenate(pieces))
    operational = operational[operational < needed]
    hours_at = np.interp(operational, cum, np.arange(hours + 1, dtype=np.float64))
    result: FloatArray = start + 3600.0 * hours_at
    return result


def _burst_times(
    rng: np.random.Generator, onset: float, r0: float, tau_min: float, peak: float, hold_min: float
) -> tuple[FloatArray, float]:
    """Items of one burst: rate r0*exp(t/tau) per hour until ``peak``, then ``peak`` for a while."""
    ramp = tau_min * float(np.log(peak / r0)) if peak > r0 else 0.0
    end_min = ramp + hold_min
    grid = np.arange(0.0, end_min, 0.25)  # quarter-minute thinning grid
    rate = np.where(grid < ramp, r0 * np.exp(grid / tau_min), peak) / 60.0 * 0.25
    hits = rng.random(len(grid)) < rate
    minutes = grid[hits] + rng.uniform(0.0, 0.25, size=int(hits.sum()))
    times = onset + 60.0 * np.concatenate([[0.0], minutes[minutes > 0.0]])
    return np.sort(times), onset + 60.0 * end_min


def make_stream(
    source: str,
    index: int,
    *,
    seed: int,
    weeks: int,
    inject: bool,
    rate: float = 5.0,
    negative_share: float = 0.2,
    history_days: int = 28,
    bursts_per_week: int = 4,
    r0: float = 5.0,
    tau_min: float = 10.0,
    peak: float = 20.0,
    hold_min: float = 60.0,
) -> Stream:
    """One watch: ``history_days`` of background, then ``weeks`` of evaluation (with bursts)."""
    src = load_source(source)
    rng = np.random.default_rng([seed, SOURCES.index(source), index, int(inject)])
    hours = (history_days + 7 * weeks) * 24
    times = _background(src, rng, EPOCH, hours, rate)
    negative = rng.random(len(times)) < negative_share
    member = np.full(len(times), -1, dtype=np.int64)
    eval_start = EPOCH + history_days * 86400.0
    end = EPOCH + hours * 3600.0
    bursts: list[Burst] = []
    if inject:
        n = bursts_per_week * weeks
        span = end - eval_start
        slot = span / n
        for j in range(n):  # one burst per slot, at a random moment, at least ~8 h apart
            onset = eval_start + j * slot + float(rng.uniform(2 * 3600.0, slot - 6 * 3600.0))
            items, stop = _burst_times(rng, onset, r0, tau_min, peak, hold_min)
            bursts.append(Burst(onset=onset, end=stop, size=len(items)))
            times = np.concatenate([times, items])
            negative = np.concatenate([negative, np.ones(len(items), dtype=bool)])
            member = np.concatenate([member, np.full(len(items), j, dtype=np.int64)])
    order = np.argsort(times, kind="stable")
    return Stream(
        source=source,
        index=index,
        times=times[order],
        negative=negative[order],
        bursts=tuple(bursts),
        start=EPOCH,
        eval_start=eval_start,
        end=end,
        burst=member[order],
    )
