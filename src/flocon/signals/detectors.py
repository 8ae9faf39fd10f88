"""Volume-spike and shift-to-negative detectors for one watch.

Method (both detectors are pure functions of the counts; no I/O, deterministic):

1. **Seasonal baseline** (:func:`fit_baseline`, refitted once per hour is enough). From up to
   ``history_days`` of hourly counts, the expected number of mentions per hour is
   ``profile[hour of day] * weekday_factor[day of week]`` in the watch's time zone. The hour-of-day
   profile is a mean over days, shrunk towards the overall mean and smoothed over neighbouring
   hours; the weekday factors are shrunk towards 1 and only used with at least a week of history.
2. **Robust to past spikes**: before averaging, every hourly count is capped at
   ``e + 4 * sqrt(D * e) + 2`` of the current fit ``e`` (two passes), so a past burst cannot
   inflate the baseline and hide the next one.
3. **Overdispersion**: mentions come in clusters (threads, retweet cascades). The Pearson
   dispersion ``D = sum((x - e)^2) / sum(e)`` of the (generously capped) history gives a
   negative-binomial model with variance ``D * mean`` (NB1: it keeps the same dispersion index at
   every window length, which suits clusters shorter than an hour). ``D = 1`` is Poisson.
4. **Spike scan** (:func:`evaluate`): every window ending at ``now`` is tested, from the last
   5-minute bucket to the last ``max_window_minutes`` (2 h), against the expected count for those
   same clock hours. The score of a window is the quasi-Poisson log-likelihood ratio of a higher
   rate, ``(x log(x / e) - (x - e)) / D`` (a stateless CUSUM / generalized likelihood ratio
   scan); the reading's score is the best window's, and it fires when that score reaches the
   sensitivity's threshold, with at least ``spike_ratio`` times the expected count in the window
   and ``min_volume`` mentions in the last hour. Its thresholds are calibrated with the shift's
   (5. below).
5. **Shift to negative** (the bursts users care most about are negative): the negative mentions
   are tested *given the other mentions of the same window*. The usual share ``p0`` is the median
   of the daily shares (robust to past negative episodes). The window's rate is uncertain in a
   clustered stream: a gamma multiplier with mean 1 and the NB1 variance ``(D - 1) / e`` of the
   totals (``D``: the total dispersion above). The non-negative mentions of the window update it
   (a busy moment makes more negatives ordinary too; a quiet one makes them stand out), and the
   negatives are then negative binomial: ``P(N >= x | others) = I_q(x, k + others)`` with
   ``k = e / (D - 1)`` and ``q = p0 e / (k + e)`` (Poisson ``p0 e`` when ``D = 1``), their expected
   number ``p0 e (k + others) / (k + (1 - p0) e)``. A surge of negatives (much sooner visible than
   in the totals, since the usual negative rate is low) and a larger negative share at the same
   volume both make this tail small; the score of a window is ``-ln`` of it, and the reading's
   score is the best window's. It fires when that score reaches the sensitivity's threshold, with
   at least ``min_negative`` (3) negative mentions in the window, a share at least
   ``negative_delta`` above, and 1.5 times, the usual one, twice the usual negatives and
   ``min_volume`` mentions in the last hour. On the benchmark (clustered real streams) this
   conditional test is 2-3 minutes faster than the former larger of a count and a share test at
   the same false-alert rate (BENCHMARKS.md). The thresholds are calibrated on the tuning seed
   (seed 1, 6 watches per source, checks every 60 s as the product runs them), each level's
   spike threshold kept, for at most 0.3, 0.8 and 1.6 false alerts per watch per week (spike and
   shift together) at ``low``, ``medium`` and ``high``:
   ``python -m benchmarks.detection.tune --cadence 60 --min-volume 5 --watches 6 --per-level``.

Severity is the strictest sensitivity at which the reading would still fire: evidence enough for
``low`` sensitivity means a ``high`` severity, and so on. The onset is the start of the
best-scoring window. ``p_value`` is the one-window tail probability of that window (not corrected
for the scan over windows: the thresholds are on the score). The dispersion is estimated without
the hours of past spikes (:func:`_robust_dispersion`), so that a burst last week does not make the
next one look ordinary.

With less than a week of history the baseline has no weekday effect; with less than a day it is a
flat rate with a prior of one mention per hour, the dispersion is at least 2 and the minimum ratio is
doubled: the detector is conservative and says so in the explanation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "BUCKET",
    "SENSITIVITIES",
    "Baseline",
    "Counts",
    "DetectorConfig",
    "Reading",
    "Sensitivity",
    "assess",
    "assess_all",
    "evaluate",
    "fit_baseline",
    "negative_tail",
    "scan_scores",
]

Sensitivity = Literal["low", "medium", "high"]
SENSITIVITIES: tuple[Sensitivity, ...] = ("low", "medium", "high")
BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Counts:
    """Mentions of one watch in one time bucket."""

    total: int
    negative: int


@dataclass(frozen=True, slots=True)
class Reading:
    """What a detector says at one moment for one watch."""

    kind: Literal["spike", "negative_shift"]
    firing: bool
    severity: Literal["low", "medium", "high"] | None
    observed: float
    expected: float
    p_value: float
    window_minutes: int
    onset: datetime | None
    explanation: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds of one sensitivity level."""

    spike_llr: float  # scan score (log-likelihood ratio of the best window) needed to fire
    spike_ratio: float  # observed / expected needed as well in that window
    negative_score: float  # -ln P(negatives | the other mentions) of the best window needed
    negative_delta: float  # minimum rise of the negative share in that window (absolute)


#: Tuned on the benchmark streams with the tuning seed (see benchmarks/detection/run.py).
DEFAULT_THRESHOLDS: dict[Sensitivity, Thresholds] = {
    "low": Thresholds(spike_llr=16.0, spike_ratio=1.5, negative_score=9.1, negative_delta=0.15),
    "medium": Thresholds(spike_llr=14.0, spike_ratio=1.5, negative_score=8.1, negative_delta=0.15),
    "high": Thresholds(spike_llr=10.0, spike_ratio=1.5, negative_score=7.5, negative_delta=0.15),
}


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the detectors of one watch (all have defaults)."""

    sensitivity: Sensitivity = "medium"
    min_volume: int = 5  # fewer mentions in the last ``volume_window_minutes`` never fire
    min_negative: int = 3  # a shift to negative needs at least this many negatives in its window
    volume_window_minutes: int = 60
    tz: str = "UTC"  # time zone for "hour of day / day of week"
    history_days: int = 28  # hourly history used by the baseline
    max_window_minutes: int = 120  # the scan tests every window of 5 min ... this, ending now
    #: the current, partial bucket is expected pro rata of its elapsed time, but at least this
    #: many minutes' worth: a check in the first seconds of a bucket must not see a few
    #: clustered mentions as a huge excess over an expectation of nearly zero
    min_elapsed_minutes: float = 2.0
    thresholds: Mapping[Sensitivity, Thresholds] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )


@dataclass(frozen=True, eq=False)
class Baseline:
    """The fitted seasonal model of one watch, valid for the clock hour starting at ``hour``."""

    hour: datetime  # UTC start of the hour the baseline was fitted for (history ends before it)
    history_hours: int
    profile: FloatArray  # expected mentions per hour, by local hour of day (24)
    weekday: FloatArray  # multiplicative factor by local day of week, Monday = 0 (7)
    dispersion: float  # variance / mean of counts (>= 1)
    negative_share: float  # usual share of negative mentions
    tz: str

    @property
    def conservative(self) -> bool:
        """True when the history is shorter than a day."""
        return self.history_hours < 24

    def rate(self, local_hour: int, local_weekday: int) -> float:
        """Expected mentions per hour for a local clock hour and weekday."""
        return float(self.profile[local_hour] * self.weekday[local_weekday])

    def history_note(self) -> str:
        """Empty when the history is long enough, else a short caveat for explanations."""
        if self.history_hours >= 7 * 24:
            return ""
        if self.history_hours >= 24:
            days = self.history_hours // 24
            return f"; only {days} day{'s' if days > 1 else ''} of history, no weekday effect yet"
        return f"; only {self.history_hours} h of history, conservative"


# --------------------------------------------------------------------------------------------
# Tail probabilities (vectorisable, no scipy.stats overhead)


def count_tail(observed: float, expected: float, dispersion: float) -> float:
    """``P(X >= observed)`` for a count with mean ``expected`` and variance ``dispersion * mean``.

    Poisson when ``dispersion <= 1``, else negative binomial with size ``mean / (dispersion - 1)``.
    """
    if observed <= 0:
        return 1.0
    mu = max(expected, 1e-6)
    if dispersion <= 1.0 + 1e-9:
        return float(special.gammainc(observed, mu))
    size = mu / (dispersion - 1.0)
    return float(special.betainc(observed, size, (dispersion - 1.0) / dispersion))


def share_tail(negative: float, total: float, share: float, dispersion: float = 1.0) -> float:
    """``P(K >= negative)`` for ``K ~ Binomial(total, share)``, quasi-binomial if dispersion > 1."""
    if negative <= 0:
        return 1.0
    if negative > total:
        return 0.0
    phi = max(dispersion, 1.0)
    k, n = negative / phi, total / phi
    return float(special.betainc(k, n - k + 1.0, min(max(share, 1e-6), 1 - 1e-6)))


def _negative_tails(
    negative: FloatArray, others: FloatArray, expected: FloatArray, share: float, dispersion: float
) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`negative_tail`, with the expected negatives given the others as well."""
    x = np.maximum(negative, 0.0)
    e = np.maximum(expected, 1e-6)
    p0 = min(max(share, 1e-6), 1.0 - 1e-6)
    if dispersion <= 1.0 + 1e-6:  # Poisson: the others say nothing about the negatives
        mean = p0 * e
        tail = special.gammainc(np.maximum(x, 1e-12), mean)
    else:
        k = e / (dispersion - 1.0)  # shape (and rate) of the window's gamma rate multiplier
        size = k + np.maximum(others, 0.0)
        mean = p0 * e * size / (k + (1.0 - p0) * e)
        tail = special.betainc(np.maximum(x, 1e-12), size, p0 * e / (k + e))
    out: FloatArray = np.where(x > 0.0, tail, 1.0)
    return out, mean


def negative_tail(
    negative: float, others: float, expected: float, share: float, dispersion: float
) -> float:
    """``P(N >= negative)`` for the negatives of a window, given its ``others`` mentions.

    ``expected``: the window's usual number of mentions (all sentiments); ``share``: the usual
    negative share; ``dispersion``: the NB1 dispersion ``D`` of the totals. The window's rate is
    ``expected`` times a gamma multiplier of mean 1 and variance ``(D - 1) / expected``; negatives
    and others are Poisson given it, so the others update the multiplier and the negatives are
    negative binomial with size ``k + others`` (``k = expected / (D - 1)``) and probability
    ``share * expected / (k + expected)``. Poisson with mean ``share * expected`` when ``D = 1``.
    """
    tail, _ = _negative_tails(
        np.array([float(negative)]),
        np.array([float(others)]),
        np.array([float(expected)]),
        share,
        dispersion,
    )
    return float(tail[0])


# --------------------------------------------------------------------------------------------
# Baseline


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_hour_weekday(stamps: FloatArray, tz: str) -> tuple[IntArray, IntArray]:
    """Local hour of day and weekday (Monday = 0) of UTC epoch seconds, vectorised."""
    zone = _zone(tz)
    if len(stamps) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    first = datetime.fromtimestamp(float(stamps[0]), UTC)
    last = datetime.fromtimestamp(float(stamps[-1]), UTC)
    off0 = first.astimezone(zone).utcoffset() or timedelta(0)
    off1 = last.astimezone(zone).utcoffset() or timedelta(0)
    if off0 == off1:
        offsets = np.full(len(stamps), off0.total_seconds())
    else:  # a daylight-saving change inside the history: convert each hour
        offsets = np.array(
            [
                (
                    datetime.fromtimestamp(float(s), UTC).astimezone(zone).utcoffset()
                    or timedelta(0)
                ).total_seconds()
                for s in stamps
            ]
        )
    local = stamps + offsets
    hours = (np.floor(local / 3600.0).astype(np.int64)) % 24
    weekdays = (np.floor(local / 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return hours, weekdays


def _smooth_circular(values: FloatArray) -> FloatArray:
    out: FloatArray = 0.25 * np.roll(values, 1) + 0.5 * values + 0.25 * np.roll(values, -1)
    return out


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC)


def fit_baseline(
    now: datetime, hourly: Mapping[datetime, Counts], config: DetectorConfig = DetectorConfig()
) -> Baseline:
    """Fit the seasonal, spike-robust baseline from the hourly counts before the current hour.

    The history starts at the earliest key of ``hourly`` inside the ``history_days`` window
    (missing keys after it count as zero), so a new watch is recognised as such.
    """
    hour = _as_utc(now).replace(minute=0, second=0, microsecond=0)
    n_max = config.history_days * 24
    start_ts = hour.timestamp() - n_max * 3600.0
    total = np.zeros(n_max)
    negative = np.zeros(n_max)
    earliest = n_max
    for key, counts in hourly.items():
        idx = int((key.timestamp() - start_ts) // 3600.0)
        if 0 <= idx < n_max:
            total[idx] += counts.total
            negative[idx] += counts.negative
            earliest = min(earliest, idx)
    x = total[earliest:]
    neg = negative[earliest:]
    n = len(x)
    stamps = start_ts + 3600.0 * np.arange(earliest, n_max, dtype=np.float64)
    hod, dow = _local_hour_weekday(stamps, config.tz)

    weekday = np.ones(7)
    if n < 24:
        level = (float(x.sum()) + 1.0) / (n + 1.0)  # prior: one mention per hour
        profile = np.full(24, level)
        expected = np.full(n, level)
        dispersion = 2.0
        if n >= 2:
            dispersion = max(2.0, float(np.var(x)) / max(level, 1e-6))
    else:
        hour_counts = np.bincount(hod, minlength=24).astype(np.float64)
        expected = np.full(n, max(float(x.mean()), 1e-3))
        dispersion = 1.5
        profile = np.full(24, float(x.mean()))
        for _ in range(2):
            capped = np.minimum(x, expected + 4.0 * np.sqrt(dispersion * expected) + 2.0)
            overall = float(capped.mean())
            sums = np.bincount(hod, weights=capped, minlength=24)
            # shrink each hour of day towards the overall mean with two pseudo-days
            profile = _smooth_circular((sums + 2.0 * overall) / (hour_counts + 2.0))
            profile = np.maximum(profile, 0.02)
            base = profile[hod]
            if n >= 7 * 24:
                s_day = np.bincount(dow, weights=capped, minlength=7)
                e_day = np.bincount(dow, weights=base, minlength=7)
                pseudo = 12.0 * max(overall, 0.1)  # half a day's worth of mentions
                weekday = (s_day + pseudo) / (e_day + pseudo)
            expected = np.maximum(base * weekday[dow], 0.02)
            loose = np.minimum(x, expected + 8.0 * np.sqrt(expected) + 4.0)
            dispersion = float(np.sum((loose - expected) ** 2) / np.sum(expected))
            dispersion = min(max(dispersion, 1.0), 20.0)

    # usual negative share: median of daily shares (robust to past negative episodes)
    neg_total, all_total = float(neg.sum()), float(x.sum())
    pooled = (neg_total + 2.0) / (all_total + 10.0)
    share = pooled
    if n >= 72:
        days = n // 24
        day_tot = x[n - days * 24 :].reshape(days, 24).sum(axis=1)
        day_neg = neg[n - days * 24 :].reshape(days, 24).sum(axis=1)
        ok = day_tot >= 5
        if int(ok.sum()) >= 3:
            share = float(np.median(day_neg[ok] / day_tot[ok]))
    share = min(max(share, 0.02), 0.95)
    if n >= 24:
        dispersion = _robust_dispersion(x, expected, dispersion)

    return Baseline(
        hour=hour,
        history_hours=n,
        profile=profile,
        weekday=weekday,
        dispersion=dispersion,
        negative_share=share,
        tz=config.tz,
    )


def _robust_dispersion(x: FloatArray, expected: FloatArray, start: float) -> float:
    """Pearson dispersion of hourly counts, leaving out the hours of past spikes.

    Starting from a loose estimate, hours more than ``5 sd + 2`` above their expectation are left
    out and the dispersion is recomputed (three passes): a past burst must neither inflate the
    baseline nor the variance, or it would hide the next burst.
    """
    d = min(max(start, 1.0), 20.0)
    for _ in range(3):
        keep = x <= expected + 5.0 * np.sqrt(d * expected) + 2.0
        d = float(
            np.sum((x[keep] - expected[keep]) ** 2) / max(float(np.sum(expected[keep])), 1e-9)
        )
        d = min(max(d, 1.0), 20.0)
    return d


# --------------------------------------------------------------------------------------------
# Evaluation of the recent buckets


def _format_p(p: float) -> str:
    if p >= 0.001:
        return f"{p:.2g}"
    if p <= 0.0:
        return "<1e-300"
    exponent = math.floor(math.log10(p))
    mantissa = round(p / 10**exponent)
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    return f"{mantissa}e{exponent}"


def _severity(passes: Mapping[Sensitivity, bool]) -> Literal["low", "medium", "high"] | None:
    if passes.get("low"):
        return "high"
    if passes.get("medium"):
        return "medium"
    if passes.get("high"):
        return "low"
    return None


def _recent_arrays(
    now: datetime, recent: Mapping[datetime, Counts], n_buckets: int
) -> tuple[datetime, FloatArray, FloatArray, FloatArray]:
    """Totals, negatives and covered fraction of the ``n_buckets`` buckets ending at ``now``."""
    now_utc = _as_utc(now)
    now_ts = now_utc.timestamp()
    step = BUCKET.total_seconds()
    current_ts = math.floor(now_ts / step) * step
    first_ts = current_ts - (n_buckets - 1) * step
    total = np.zeros(n_buckets)
    negative = np.zeros(n_buckets)
    for key, counts in recent.items():
        idx = int((key.timestamp() - first_ts) // step)
        if 0 <= idx < n_buckets:
            total[idx] += counts.total
            negative[idx] += counts.negative
    coverage = np.ones(n_buckets)
    coverage[-1] = min(max((now_ts - current_ts) / step, 0.0), 1.0)
    return datetime.fromtimestamp(first_ts, UTC), total, negative, coverage


def _bucket_rates(first: datetime, n_buckets: int, baseline: Baseline) -> FloatArray:
    """Expected mentions per bucket (full bucket) from the baseline's seasonal rates."""
    step = BUCKET.total_seconds()
    stamps = first.timestamp() + step * np.arange(n_buckets, dtype=np.float64)
    hod, dow = _local_hour_weekday(stamps, baseline.tz)
    rates: FloatArray = baseline.profile[hod] * baseline.weekday[dow] * (step / 3600.0)
    return rates


def _thresholds(config: DetectorConfig) -> Mapping[Sensitivity, Thresholds]:
    return config.thresholds


def _llr(observed: FloatArray, expected: FloatArray, dispersion: float) -> FloatArray:
    """Quasi-Poisson log-likelihood ratio of a rate increase, ``0`` where there is no excess.

    ``x log(x / e) - (x - e)`` is the Poisson GLR of "rate above ``e``"; dividing it by the
    dispersion ``D`` gives the quasi-likelihood of the NB1 model (variance ``D * mean``).
    """
    x = np.maximum(observed, 0.0)
    e = np.maximum(expected, 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(x > 0.0, x * np.log(np.maximum(x, 1e-12) / e), 0.0)
    out: FloatArray = np.where(x > e, (term - (x - e)) / max(dispersion, 1.0), 0.0)
    return out


@dataclass(frozen=True, slots=True)
class _Scan:
    """Best window ending now of one stream (spike: totals; negative shift: negatives)."""

    score: float  # spike: log-likelihood ratio; shift: -ln of the tail (0: nothing in excess)
    buckets: int  # length of the best window, in buckets
    count: float  # mentions (spike) or negative mentions in it
    count_expected: float  # (negative shift: expected given the other mentions of the window)
    total: float  # all mentions in it
    p_value: float  # one-window tail probability of ``count`` (not corrected for the scan)


def _best(scores: FloatArray, eligible: npt.NDArray[np.bool_]) -> int:
    """Index of the highest eligible score (the highest overall when none is eligible)."""
    if bool(eligible.any()):
        return int(np.argmax(np.where(eligible, scores, -1.0)))
    return int(np.argmax(scores))


@dataclass(frozen=True, slots=True)
class _Scans:
    spike: _Scan
    negative: _Scan
    volume_ok: bool
    last_hour: float
    first: datetime  # start of the first recent bucket
    n_buckets: int
    ratio_boost: float
    elapsed_min: float  # minutes of the current bucket elapsed at ``now``


def _scan_all(
    now: datetime,
    baseline: Baseline,
    recent: Mapping[datetime, Counts],
    config: DetectorConfig,
) -> _Scans:
    """Both scans over every window of 5 min ... ``max_window_minutes`` ending at ``now``."""
    thresholds = _thresholds(config)
    step_min = int(BUCKET.total_seconds() // 60)
    n_scan = max(1, config.max_window_minutes // step_min)
    n_buckets = max(n_scan, 60 // step_min)
    n_volume = max(1, config.volume_window_minutes // step_min)
    n_buckets = max(n_buckets, n_volume)
    first, total, negative, coverage = _recent_arrays(now, recent, n_buckets)
    # the current bucket holds the mentions up to ``now`` only: it is expected pro rata of its
    # elapsed part, but never less than ``min_elapsed_minutes`` of it, so that a few mentions in
    # the first seconds of a bucket (one thread, one retweet cascade) are not a huge excess over
    # an expectation of nearly zero
    expected = _bucket_rates(first, n_buckets, baseline)
    floor = min(max(config.min_elapsed_minutes / step_min, 0.0), 1.0)
    expected[-1] *= max(float(coverage[-1]), floor)
    ratio_boost = 2.0 if baseline.conservative else 1.0
    last_hour = float(total[-n_volume:].sum())
    volume_ok = last_hour >= config.min_volume
    # sums over every window ending now: index k - 1 is the window of the last k buckets
    x_tot = np.cumsum(total[::-1])[:n_scan]
    x_neg = np.cumsum(negative[::-1])[:n_scan]
    e_tot = np.cumsum(expected[::-1])[:n_scan]
    p0 = baseline.negative_share
    e_neg = p0 * e_tot

    # ---- spike: scan of the total counts
    spike_llr = _llr(x_tot, e_tot, baseline.dispersion)
    # the excess must also be large relative to the expectation (same rule at every sensitivity)
    ratio = min(t.spike_ratio for t in thresholds.values()) * ratio_boost
    spike_ok = x_tot >= ratio * e_tot
    i = _best(spike_llr, spike_ok)
    spike = _Scan(
        score=float(spike_llr[i]) if spike_ok[i] else 0.0,
        buckets=i + 1,
        count=float(x_tot[i]),
        count_expected=float(e_tot[i]),
        total=float(x_tot[i]),
        p_value=count_tail(float(x_tot[i]), float(e_tot[i]), baseline.dispersion),
    )

    # ---- shift to negative: the negatives of every window given its other mentions (a surge of
    # negative mentions, or the same volume with more of it negative, make the tail small)
    tails, neg_mean = _negative_tails(x_neg, x_tot - x_neg, e_tot, p0, baseline.dispersion)
    neg_score = -np.log(np.maximum(tails, 1e-300))
    share = np.where(x_tot > 0, x_neg / np.maximum(x_tot, 1e-12), 0.0)
    delta = min(t.negative_delta for t in thresholds.values())
    neg_ok = (
        (share >= p0 + delta)
        & (share >= 1.5 * p0)
        & (x_neg >= 2.0 * ratio_boost * e_neg)
        & (x_neg >= config.min_negative)
    )
    j = _best(neg_score, neg_ok)
    neg = _Scan(
        score=float(neg_score[j]) if neg_ok[j] else 0.0,
        buckets=j + 1,
        count=float(x_neg[j]),
        count_expected=float(neg_mean[j]),
        total=float(x_tot[j]),
        p_value=float(tails[j]),
    )

    elapsed = float(coverage[-1]) * step_min
    return _Scans(spike, neg, volume_ok, last_hour, first, n_buckets, ratio_boost, elapsed)


def evaluate_all(
    now: datetime,
    baseline: Baseline,
    recent: Mapping[datetime, Counts],
    config: DetectorConfig = DetectorConfig(),
    sensitivities: Iterable[Sensitivity] | None = None,
) -> dict[Sensitivity, list[Reading]]:
    """Readings for several sensitivities at once (the statistics are computed only once)."""
    wanted: tuple[Sensitivity, ...] = (
        tuple(sensitivities) if sensitivities is not None else (config.sensitivity,)
    )
    thresholds = _thresholds(config)
    step_min = int(BUCKET.total_seconds() // 60)
    scans = _scan_all(now, baseline, recent, config)
    spike, neg, volume_ok, last_hour = scans.spike, scans.negative, scans.volume_ok, scans.last_hour
    first, n_buckets = scans.first, scans.n_buckets
    p0 = baseline.negative_share
    local_now = _as_utc(now).astimezone(_zone(baseline.tz))
    when = f"a {_WEEKDAYS[local_now.weekday()]} {local_now.hour:02d}:00"
    if baseline.history_hours < 7 * 24:
        when = f"{local_now.hour:02d}:00"
    note = baseline.history_note()

    spike_passes = {s: volume_ok and spike.score >= thresholds[s].spike_llr for s in SENSITIVITIES}
    neg_passes = {s: volume_ok and neg.score >= thresholds[s].negative_score for s in SENSITIVITIES}
    now_bucket = first + (n_buckets - 1) * BUCKET
    spike_onset = now_bucket - (spike.buckets - 1) * BUCKET
    neg_onset = now_bucket - (neg.buckets - 1) * BUCKET
    span = "hour" if config.volume_window_minutes == 60 else f"{config.volume_window_minutes} min"
    volume_note = (
        "" if volume_ok else f"; {last_hour:.0f} mentions in the last {span} < {config.min_volume}"
    )

    def window_minutes(buckets: int) -> int:  # the window's length up to ``now``
        return max(1, math.ceil((buckets - 1) * step_min + scans.elapsed_min - 1e-9))

    out: dict[Sensitivity, list[Reading]] = {}
    for s in wanted:
        fires = spike_passes[s]
        minutes = window_minutes(spike.buckets)
        verdict = "" if fires else ": normal"
        spike_reading = Reading(
            kind="spike",
            firing=fires,
            severity=_severity(spike_passes) if fires else None,
            observed=spike.count,
            expected=spike.count_expected,
            p_value=spike.p_value,
            window_minutes=minutes,
            onset=spike_onset if fires else None,
            explanation=(
                f"{spike.count:.0f} mentions in the last {minutes} min against "
                f"{spike.count_expected:.1f} expected for {when} (p={_format_p(spike.p_value)}, "
                f"scan score {spike.score:.1f})"
                f"{note}{volume_note}{verdict}"
            ),
        )
        fires = neg_passes[s]
        minutes = window_minutes(neg.buckets)
        verdict = "" if fires else ": normal"
        neg_share = neg.count / neg.total if neg.total > 0 else 0.0
        neg_reading = Reading(
            kind="negative_shift",
            firing=fires,
            severity=_severity(neg_passes) if fires else None,
            observed=neg_share,
            expected=p0,
            p_value=neg.p_value,
            window_minutes=minutes,
            onset=neg_onset if fires else None,
            explanation=(
                f"{neg_share:.0%} negative ({neg.count:.0f} of {neg.total:.0f} mentions) in the "
                f"last {minutes} min against a usual {p0:.0%}, "
                f"{neg.count_expected:.1f} negative mentions expected given the "
                f"{neg.total - neg.count:.0f} others (p={_format_p(neg.p_value)}, "
                f"scan score {neg.score:.1f})"
                f"{note}{volume_note}{verdict}"
            ),
        )
        out[s] = [spike_reading, neg_reading]
    return out


def scan_scores(
    now: datetime,
    baseline: Baseline,
    recent: Mapping[datetime, Counts],
    config: DetectorConfig = DetectorConfig(),
) -> tuple[float, float]:
    """The (spike, negative shift) scan scores at ``now``, 0 when ``min_volume`` is not met.

    A reading fires at a sensitivity when its score reaches that sensitivity's threshold; this is
    what the benchmark uses to tune the thresholds.
    """
    scans = _scan_all(now, baseline, recent, config)
    if not scans.volume_ok:
        return 0.0, 0.0
    return scans.spike.score, scans.negative.score


def evaluate(
    now: datetime,
    baseline: Baseline,
    recent: Mapping[datetime, Counts],
    config: DetectorConfig = DetectorConfig(),
) -> list[Reading]:
    """Readings (spike, negative_shift) from an already fitted baseline and the recent buckets."""
    return evaluate_all(now, baseline, recent, config)[config.sensitivity]


def assess(
    now: datetime,
    hourly: Mapping[datetime, Counts],
    recent: Mapping[datetime, Counts],
    config: DetectorConfig = DetectorConfig(),
) -> list[Reading]:
    """One reading per kind (``spike`` then ``negative_shift``) for one watch at ``now``.

    ``hourly``: counts per UTC hour start for the past (up to ``history_days``) hours before the
    current hour; ``recent``: counts per 5-minute bucket for at least the last 2 hours, up to and
    including the bucket that contains ``now`` (complete up to ``now``).
    """
    return evaluate(now, fit_baseline(now, hourly, config), recent, config)


def assess_all(
    now: datetime,
    hourly: Mapping[datetime, Counts],
    recent: Mapping[datetime, Counts],
    config: DetectorConfig = DetectorConfig(),
) -> dict[Sensitivity, list[Reading]]:
    """:func:`assess` for the three sensitivities at once (for previews and benchmarks)."""
    return evaluate_all(now, fit_baseline(now, hourly, config), recent, config, SENSITIVITIES)
