"""What an oracle could achieve: a lower bound on the detection delay at a false-alert budget.

The oracle knows everything the real detector has to estimate: the background is exactly Poisson
(no clustering, no daily shape) at the benchmark's rate (5 mentions / hour, 20 % negative, so
1 negative / hour), and the burst's shape (``r0 * exp(t / tau)`` up to 20 / hour, then 20 / hour for
an hour) is known; only its onset is unknown. Since the burst is all negative, the negative counts
are a sufficient statistic; the best detector of a change of known shape and unknown onset is the
CUSUM of the exact log-likelihood ratio (Lorden), here over the same 5-minute buckets, evaluated at
the end of each bucket like flocon and run through the same 30-minute episode logic. Its threshold is
set by simulation so that it raises at most the budget of false alerts per watch per week.

Real streams are harder (clustered background, estimated baseline, unknown shape, all-negative or
not), so no detector can beat this median delay at that budget on these bursts: it is the yardstick
for the "15 minutes" target.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from benchmarks.detection.streams import _burst_times
from scipy import signal

FloatArray = npt.NDArray[np.float64]
STEP_MIN = 5.0  # default cadence (minutes); ``oracle_bound(step_min=1.0)`` for 60-s checks
WINDOW_MIN = 120.0  # onsets up to 2 hours back


@dataclass(frozen=True)
class OracleResult:
    budget: float  # false alerts / watch / week
    step_min: float  # cadence of the checks (and resolution of the counts), minutes
    min_volume: int
    threshold: float
    median_delay_min: float
    detection_rate: float


def _burst_buckets(
    r0: float, tau: float, peak: float, hold: float, step: float = STEP_MIN
) -> FloatArray:
    """Expected burst items per bucket from an onset at the start of bucket 0."""
    ramp = tau * float(np.log(peak / r0)) if peak > r0 else 0.0
    edges = np.arange(round(WINDOW_MIN / step) + 1) * step

    def cum(t: FloatArray) -> FloatArray:  # expected items in [0, t] minutes (rate per minute)
        t_r = np.minimum(t, ramp)
        grow = r0 / 60.0 * tau * (np.exp(t_r / tau) - 1.0)
        flat = peak / 60.0 * np.clip(t - ramp, 0.0, hold)
        out: FloatArray = grow + flat
        return out

    per: FloatArray = np.diff(cum(edges))
    per[0] += 1.0  # the first item is at the onset
    return per


def _statistic(neg: FloatArray, weights: FloatArray, costs: FloatArray) -> FloatArray:
    """CUSUM over onsets 0 ... len(weights) - 1 buckets back, at every bucket."""
    n = len(neg)
    best = np.full(n, -np.inf)
    method = "fft" if n > 100_000 else "direct"
    for m in range(len(weights)):
        w = weights[: m + 1]
        # sum_j w_j * x[t - m + j]  for t >= m
        s = signal.correlate(neg, w, mode="valid", method=method) - costs[m]
        best[m:] = np.maximum(best[m:], s)
    return best


def _opened(firing: npt.NDArray[np.bool_], close_steps: int = 6) -> int:
    idx = np.flatnonzero(firing)
    if len(idx) == 0:
        return 0
    return int(np.sum(np.diff(idx, prepend=-(10**9)) > close_steps))


def oracle_bound(
    budgets: tuple[float, ...] = (1.0,),
    *,
    rate: float = 5.0,
    negative_share: float = 0.2,
    r0: float = 5.0,
    tau: float = 10.0,
    peak: float = 20.0,
    hold: float = 60.0,
    min_volume: int = 0,
    weeks: int = 200,
    bursts: int = 2000,
    seed: int = 7,
    step_min: float = STEP_MIN,
) -> list[OracleResult]:
    """Median delay (minutes after onset) of the oracle CUSUM at each false-alert budget.

    ``step_min``: the cadence of the checks; the oracle sees the counts at that resolution (at
    1 minute, finer than flocon's 5-minute buckets with a partial current one: still a bound).
    """
    rng = np.random.default_rng(seed)
    step = step_min
    n_win = round(WINDOW_MIN / step)
    per_hour = round(60.0 / step)
    close_steps = round(30.0 / step)
    lam = rate * negative_share * step / 60.0  # negatives per bucket
    other = rate * (1.0 - negative_share) * step / 60.0
    burst = _burst_buckets(r0, tau, peak, hold, step)
    weights = np.log1p(burst / lam)
    costs = np.cumsum(burst)

    def volume_ok(neg: FloatArray, pos: FloatArray) -> npt.NDArray[np.bool_]:
        tot = np.concatenate([[0.0], np.cumsum(neg + pos)])
        last_hour = np.zeros(len(neg))
        last_hour[per_hour - 1 :] = tot[per_hour:] - tot[:-per_hour]
        ok: npt.NDArray[np.bool_] = last_hour >= min_volume
        return ok

    n = int(weeks * 7 * 24 * 60 / step)
    neg = rng.poisson(lam, n).astype(np.float64)
    pos = rng.poisson(other, n).astype(np.float64)
    stat = np.where(volume_ok(neg, pos), _statistic(neg, weights, costs), -np.inf)
    # delays: 2 h of background before, the burst, then its detection (at bucket ends)
    pre = n_win
    length = pre + n_win + per_hour
    runs = []
    for _ in range(bursts):
        x = rng.poisson(lam, length).astype(np.float64)
        y = rng.poisson(other, length).astype(np.float64)
        onset = pre * step + float(rng.uniform(0.0, step))
        items, _stop = _burst_times(rng, onset * 60.0, r0, tau, peak, hold)
        idx = (items / 60.0 // step).astype(np.int64)
        idx = idx[idx < length]
        x += np.bincount(idx, minlength=length).astype(np.float64)
        s = np.where(volume_ok(x, y), _statistic(x, weights, costs), -np.inf)
        runs.append((onset, s))
    out = []
    candidates = np.unique(np.round(stat[np.isfinite(stat)], 3))
    for budget in budgets:
        # the smallest threshold whose false alerts fit the budget (bisection on candidates)
        lo, hi = 0, len(candidates) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if _opened(stat > candidates[mid], close_steps) / weeks <= budget:
                hi = mid
            else:
                lo = mid + 1
        h = float(candidates[lo])
        delays = []
        for onset, s in runs:
            first = int(onset // step)
            hit = np.flatnonzero(s[first:] > h)
            if len(hit):
                delays.append((first + int(hit[0]) + 1) * step - onset)
        out.append(
            OracleResult(
                budget=budget,
                step_min=step,
                min_volume=min_volume,
                threshold=h,
                median_delay_min=statistics.median(delays) if delays else float("nan"),
                detection_rate=len(delays) / bursts,
            )
        )
    return out


if __name__ == "__main__":
    for step in (5.0, 1.0):
        for mv in (0, 5, 10):
            for r in oracle_bound((0.5, 1.0), min_volume=mv, step_min=step):
                print(r)
