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
4. **Spike test** (:func:`evaluate`): for each window (15, 30, 60 min by default) ending at
   ``now``, the mentions observed in the 5-minute buckets are compared with the expected count for
   those same clock hours; the tail probability ``P(X >= observed)`` is computed with the
   regularised incomplete beta / gamma functions (microseconds, no ``scipy.stats`` overhead). A
   window fires when ``p`` is below the sensitivity's threshold, the observed count is at least
   ``min_ratio`` times the expected one and at least ``min_volume``.
5. **Shift to negative**: the usual negative share ``p0`` is the median of the daily shares over
   the history (robust to past negative episodes); over 30 / 60 / 120 minutes the number of
   negative mentions is tested twice, against ``Binomial(n, p0)`` (quasi-binomial when the history
   shows extra variance: the share rose) and against the negative-binomial count expected from
   ``p0`` times the seasonal volume (a surge of negative mentions); the smaller p is kept. It fires
   with a minimum absolute rise of the share, a share at least 1.5 times the usual one and
   ``n >= min_volume`` mentions in the window.

Severity is the strictest sensitivity at which the reading would still fire: evidence enough for
``low`` sensitivity means a ``high`` severity, and so on. The onset is the start of the longest
recent run of buckets whose cumulative excess over the baseline is maximal (a CUSUM change point).

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

    spike_p: float  # tail probability below which a window may fire
    spike_ratio: float  # observed / expected needed as well
    negative_p: float
    negative_delta: float  # minimum rise of the negative share (absolute)


#: Tuned on the benchmark streams with the tuning seed (see benchmarks/detection/run.py).
DEFAULT_THRESHOLDS: dict[Sensitivity, Thresholds] = {
    "low": Thresholds(spike_p=1e-6, spike_ratio=2.0, negative_p=1e-6, negative_delta=0.20),
    "medium": Thresholds(spike_p=1e-5, spike_ratio=1.5, negative_p=1e-5, negative_delta=0.15),
    "high": Thresholds(spike_p=1e-4, spike_ratio=1.5, negative_p=1e-4, negative_delta=0.12),
}


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the detectors of one watch (all have defaults)."""

    sensitivity: Sensitivity = "medium"
    min_volume: int = 10  # fewer mentions in the tested window never fire
    tz: str = "UTC"  # time zone for "hour of day / day of week"
    history_days: int = 28  # hourly history used by the baseline
    spike_windows_minutes: tuple[int, ...] = (15, 30, 60)
    negative_windows_minutes: tuple[int, ...] = (30, 60, 120)
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
    negative_dispersion: float  # quasi-binomial factor (>= 1)
    tz: str
    negative_count_dispersion: float = 1.0  # variance / mean of hourly negative counts (>= 1)

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
    neg_dispersion = 1.0
    mask = x >= 2
    if int(mask.sum()) >= 24:
        resid = np.sum((neg[mask] - x[mask] * share) ** 2)
        neg_dispersion = float(resid / np.sum(x[mask] * share * (1 - share)))
        neg_dispersion = min(max(neg_dispersion, 1.0), 5.0)

    neg_count_dispersion = 2.0 if n < 24 else 1.0
    if n >= 24:
        neg_expected = np.maximum(share * expected, 0.01)
        loose_neg = np.minimum(neg, neg_expected + 8.0 * np.sqrt(neg_expected) + 4.0)
        neg_count_dispersion = float(np.sum((loose_neg - neg_expected) ** 2) / np.sum(neg_expected))
        neg_count_dispersion = min(max(neg_count_dispersion, 1.0), 20.0)

    return Baseline(
        hour=hour,
        history_hours=n,
        profile=profile,
        weekday=weekday,
        dispersion=dispersion,
        negative_share=share,
        negative_dispersion=neg_dispersion,
        tz=config.tz,
        negative_count_dispersion=neg_count_dispersion,
    )


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


@dataclass(frozen=True, slots=True)
class _Window:
    minutes: int
    observed: float
    expected: float
    p_value: float
    passes: dict[Sensitivity, bool]
    count: float  # mentions (spike) or negative mentions (negative shift) in the window
    count_expected: float


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
    spike_windows = sorted(config.spike_windows_minutes)
    neg_windows = sorted(config.negative_windows_minutes)
    step_min = int(BUCKET.total_seconds() // 60)
    longest = max([*spike_windows, *neg_windows, 120])
    n_buckets = longest // step_min
    first, total, negative, coverage = _recent_arrays(now, recent, n_buckets)
    expected = _bucket_rates(first, n_buckets, baseline) * coverage
    local_now = _as_utc(now).astimezone(_zone(baseline.tz))
    when = f"a {_WEEKDAYS[local_now.weekday()]} {local_now.hour:02d}:00"
    if baseline.history_hours < 7 * 24:
        when = f"{local_now.hour:02d}:00"
    note = baseline.history_note()
    ratio_boost = 2.0 if baseline.conservative else 1.0

    # ---- spike
    windows: list[_Window] = []
    for minutes in spike_windows:
        k = max(1, minutes // step_min)
        obs = float(total[-k:].sum())
        exp = float(expected[-k:].sum())
        p = count_tail(obs, exp, baseline.dispersion)
        passes = {
            s: bool(
                obs >= config.min_volume
                and p <= thresholds[s].spike_p
                and obs >= thresholds[s].spike_ratio * ratio_boost * exp
            )
            for s in SENSITIVITIES
        }
        windows.append(_Window(minutes, obs, exp, p, passes, obs, exp))
    spike_onset = _onset(first, total - expected)

    # ---- shift to negative
    neg_windows_out: list[_Window] = []
    p0 = baseline.negative_share
    for minutes in neg_windows:
        k = max(1, minutes // step_min)
        n = float(total[-k:].sum())
        kneg = float(negative[-k:].sum())
        p_share = share_tail(kneg, n, p0, baseline.negative_dispersion)
        # a surge of negative mentions: negatives against the usual share of the expected volume
        neg_expected = p0 * float(expected[-k:].sum())
        p_count = count_tail(kneg, neg_expected, baseline.negative_count_dispersion)
        p = min(p_share, p_count)
        share = kneg / n if n > 0 else 0.0
        passes = {
            s: bool(
                n >= config.min_volume
                and p <= thresholds[s].negative_p
                and share >= p0 + thresholds[s].negative_delta
                and share >= 1.5 * p0
            )
            for s in SENSITIVITIES
        }
        neg_windows_out.append(_Window(minutes, share, p0, p, passes, kneg, neg_expected))
    neg_onset = _onset(first, negative - p0 * total)

    out: dict[Sensitivity, list[Reading]] = {}
    for s in wanted:
        spike = _pick(windows, s, config.min_volume)
        sev = _severity(spike.passes) if spike.passes[s] else None
        verdict = "" if spike.passes[s] else ": normal"
        spike_reading = Reading(
            kind="spike",
            firing=spike.passes[s],
            severity=sev,
            observed=spike.observed,
            expected=spike.expected,
            p_value=spike.p_value,
            window_minutes=spike.minutes,
            onset=spike_onset if spike.passes[s] else None,
            explanation=(
                f"{spike.observed:.0f} mentions in the last {spike.minutes} min against "
                f"{spike.expected:.1f} expected for {when} (p={_format_p(spike.p_value)})"
                f"{note}{verdict}"
            ),
        )
        negw = _pick(neg_windows_out, s, config.min_volume)
        k = max(1, negw.minutes // step_min)
        n_win = float(total[-k:].sum())
        neg_win = float(negative[-k:].sum())
        sev = _severity(negw.passes) if negw.passes[s] else None
        verdict = "" if negw.passes[s] else ": normal"
        neg_reading = Reading(
            kind="negative_shift",
            firing=negw.passes[s],
            severity=sev,
            observed=negw.observed,
            expected=negw.expected,
            p_value=negw.p_value,
            window_minutes=negw.minutes,
            onset=neg_onset if negw.passes[s] else None,
            explanation=(
                f"{negw.observed:.0%} negative ({neg_win:.0f} of {n_win:.0f} mentions) in the "
                f"last {negw.minutes} min against a usual {negw.expected:.0%}, "
                f"{negw.count_expected:.1f} negative mentions expected "
                f"(p={_format_p(negw.p_value)}){note}{verdict}"
            ),
        )
        out[s] = [spike_reading, neg_reading]
    return out


def _pick(windows: list[_Window], sensitivity: Sensitivity, min_volume: int) -> _Window:
    """The firing window with the smallest p, else the smallest p among windows with volume."""
    firing = [w for w in windows if w.passes[sensitivity]]
    if firing:
        return min(firing, key=lambda w: w.p_value)
    return min(windows, key=lambda w: w.p_value)


def _onset(first: datetime, excess: FloatArray) -> datetime:
    """Start of the recent suffix with the largest cumulative excess (CUSUM change point)."""
    suffix = np.cumsum(excess[::-1])[::-1]
    idx = int(np.argmax(suffix))
    return first + idx * BUCKET


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
