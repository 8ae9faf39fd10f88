"""Volume-spike and shift-to-negative detectors (scan statistics) on simulated watches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from flocon.signals.detectors import (
    BUCKET,
    SENSITIVITIES,
    Counts,
    DetectorConfig,
    Reading,
    Sensitivity,
    assess,
    count_tail,
    evaluate_all,
    fit_baseline,
    negative_tail,
    share_tail,
)
from flocon.signals.episodes import EpisodeTracker

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
PER_HOUR = 12  # 5-minute buckets


class Watch:
    """A simulated watch: 5-minute buckets of (total, negative) from a rate function."""

    def __init__(
        self,
        days: int,
        rate: Callable[[datetime], float],
        seed: int = 0,
        negative_share: Callable[[datetime], float] = lambda _t: 0.15,
    ) -> None:
        rng = np.random.default_rng(seed)
        n = days * 24 * PER_HOUR
        self.total = np.zeros(n, dtype=np.int64)
        self.negative = np.zeros(n, dtype=np.int64)
        for i in range(n):
            t = START + i * BUCKET
            k = int(rng.poisson(rate(t) / PER_HOUR))
            self.total[i] = k
            self.negative[i] = int(rng.binomial(k, negative_share(t)))

    def add(self, at: datetime, total: int, negative: int) -> None:
        i = int((at - START) / BUCKET)
        self.total[i] += total
        self.negative[i] += negative

    def hourly(self, hour: int, history_days: int = 28) -> dict[datetime, Counts]:
        tot = self.total.reshape(-1, PER_HOUR).sum(axis=1)
        neg = self.negative.reshape(-1, PER_HOUR).sum(axis=1)
        return {
            START + h * HOUR: Counts(int(tot[h]), int(neg[h]))
            for h in range(max(0, hour - history_days * 24), hour)
        }

    def inputs(
        self, now: datetime, history_days: int = 28
    ) -> tuple[dict[datetime, Counts], dict[datetime, Counts]]:
        cur = int((now - START) // BUCKET)
        hour = cur // PER_HOUR
        hourly = self.hourly(hour, history_days)
        recent = {
            START + j * BUCKET: Counts(int(self.total[j]), int(self.negative[j]))
            for j in range(max(0, cur - 23), cur + 1)
        }
        return hourly, recent

    def run(
        self, first: datetime, last: datetime, config: DetectorConfig = DetectorConfig()
    ) -> list[tuple[datetime, list[Reading]]]:
        """Readings every 5 minutes (baseline refitted once per hour, as the lead's job may)."""
        out = []
        now = first
        baseline = None
        while now <= last:
            cur = int((now - START) // BUCKET)
            if baseline is None or baseline.hour != now.replace(minute=0, second=0):
                hourly = self.hourly(cur // PER_HOUR, config.history_days)
                baseline = fit_baseline(now, hourly, config)
            recent = {
                START + j * BUCKET: Counts(int(self.total[j]), int(self.negative[j]))
                for j in range(max(0, cur - 23), cur + 1)
            }
            at = _bucket_end(now)  # the buckets are whole: check at their end
            out.append((now, evaluate_all(at, baseline, recent, config)[config.sensitivity]))
            now += BUCKET
        return out

    def episodes(
        self, first: datetime, last: datetime, config: DetectorConfig = DetectorConfig()
    ) -> dict[Sensitivity, int]:
        """Episodes opened at each sensitivity (all kinds), readings every 5 minutes."""
        trackers = {s: EpisodeTracker() for s in SENSITIVITIES}
        opened = dict.fromkeys(SENSITIVITIES, 0)
        now = first
        baseline = None
        while now <= last:
            cur = int((now - START) // BUCKET)
            if baseline is None or baseline.hour != now.replace(minute=0, second=0):
                hourly = self.hourly(cur // PER_HOUR, config.history_days)
                baseline = fit_baseline(now, hourly, config)
            recent = {
                START + j * BUCKET: Counts(int(self.total[j]), int(self.negative[j]))
                for j in range(max(0, cur - 23), cur + 1)
            }
            at = _bucket_end(now)  # the buckets are whole: check at their end
            readings = evaluate_all(at, baseline, recent, config, SENSITIVITIES)
            for s in SENSITIVITIES:
                events = trackers[s].step(now, readings[s])
                opened[s] += sum(e.action == "opened" for e in events)
            now += BUCKET
        return opened


def _just_before(t: datetime) -> datetime:
    return t - timedelta(seconds=1)


def _bucket_end(t: datetime) -> datetime:
    """``t`` itself, or the end of its bucket when ``t`` is a bucket's start (whole buckets are
    simulated, so a check at their start would see mentions from the future)."""
    return _just_before(t + BUCKET) if (t - START) % BUCKET == timedelta(0) else t


def _kind(readings: list[Reading], kind: str) -> Reading:
    return next(r for r in readings if r.kind == kind)


def test_tails_match_scipy_stats() -> None:
    from scipy import stats

    assert count_tail(12, 5.0, 1.0) == pytest.approx(stats.poisson.sf(11, 5.0), rel=1e-9)
    mu, d = 5.0, 2.5
    size = mu / (d - 1)
    expected = stats.nbinom.sf(11, size, 1 / d)
    assert count_tail(12, mu, d) == pytest.approx(expected, rel=1e-9)
    assert share_tail(7, 20, 0.15) == pytest.approx(stats.binom.sf(6, 20, 0.15), rel=1e-9)


def test_negative_tail_is_the_negative_binomial_given_the_others() -> None:
    from scipy import stats

    # Poisson (D = 1): the others say nothing; P(N >= 4) with mean share * expected
    assert negative_tail(4, 7, 5.0, 0.2, 1.0) == pytest.approx(stats.poisson.sf(3, 1.0), rel=1e-9)
    # D = 3: the window's rate is a gamma multiplier (shape = rate = k = e / (D - 1)); given the
    # others, the negatives are negative binomial with size k + others, p = (k + e) / (k + e + ...)
    e, share, d, others = 5.0, 0.2, 3.0, 2
    k = e / (d - 1.0)
    q = share * e / (k + e)
    expected = stats.nbinom.sf(3, k + others, 1.0 - q)
    assert negative_tail(4, others, e, share, d) == pytest.approx(expected, rel=1e-9)


def test_busy_moment_makes_the_same_negatives_ordinary() -> None:
    # four negatives with no other mention stand out; with 30 others (a cascade of every
    # sentiment) they are what a busy moment brings
    quiet = negative_tail(4, 0, 2.0, 0.2, 3.0)
    busy = negative_tail(4, 30, 2.0, 0.2, 3.0)
    assert quiet < 1e-2
    assert busy > 0.5


def test_flat_poisson_background_stays_within_the_false_alert_budget_for_a_week() -> None:
    # medium is calibrated for at most one false alert per watch per week; low for fewer (with
    # min_volume 5, a 5/h background often meets the volume rule: low may see one in a week)
    watch = Watch(35, lambda _t: 5.0, seed=1)
    first = START + timedelta(days=28)
    opened = watch.episodes(first, first + timedelta(days=7) - BUCKET)
    assert opened["low"] <= 1
    assert opened["medium"] <= 1
    assert opened["low"] <= opened["medium"] <= opened["high"] <= 2


def test_flat_poisson_background_does_not_fire_for_a_week_at_medium() -> None:
    watch = Watch(35, lambda _t: 5.0, seed=3)
    first = START + timedelta(days=28)
    fired = [
        (now, r.explanation)
        for now, readings in watch.run(first, first + timedelta(days=7) - BUCKET)
        for r in readings
        if r.firing
    ]
    # with min_volume 5 a 5/h background meets the volume rule: one chance firing a week is
    # within the medium budget (1 false alert / watch / week)
    assert len(fired) <= 1, fired


def test_injected_burst_fires_within_15_minutes() -> None:
    watch = Watch(30, lambda _t: 5.0, seed=2)
    onset = START + timedelta(days=29, hours=14, minutes=2)
    for minute in range(0, 60, 5):  # about 60 mentions / hour on top of 5 / hour
        watch.add(onset + timedelta(minutes=minute), 5, 1)
    readings = watch.run(_just_before(onset + BUCKET), onset + timedelta(minutes=30))
    firing = [now for now, rs in readings if _kind(rs, "spike").firing]
    assert firing, "the burst was not detected"
    assert firing[0] - onset <= timedelta(minutes=15)
    spike = _kind(next(rs for now, rs in readings if now == firing[0]), "spike")
    assert spike.severity in {"low", "medium", "high"}
    assert spike.onset is not None
    assert abs(spike.onset - onset) <= timedelta(minutes=10)
    assert "mentions in the last" in spike.explanation
    assert "expected for a Tuesday 14:00" in spike.explanation


def _benchmark_like_burst(watch: Watch, onset: datetime, *, negative: bool) -> None:
    """A typical benchmark burst (its expected items, rounded; 1 at onset): 5/h * exp(t / 10 min)
    up to 20/h, then 20/h; all negative, or with the usual 20 % negatives when not ``negative``."""
    ramp = 10.0 * np.log(4.0)  # minutes to reach 20 / hour

    def items_by(t: float) -> int:
        grow = 5.0 / 60.0 * 10.0 * (np.exp(min(t, ramp) / 10.0) - 1.0)
        return int(1.0 + grow + 20.0 / 60.0 * max(t - ramp, 0.0) + 0.5)

    added = 0
    for minute in range(0, 90, 5):
        k = items_by(minute + 5.0) - (items_by(float(minute)) if minute else 0)
        before = added
        added += k
        negatives = k if negative else (added // 5 - before // 5)  # every fifth mention
        watch.add(onset + timedelta(minutes=minute), k, negatives)


def test_negative_burst_opens_an_episode_within_15_minutes_at_medium() -> None:
    watch = Watch(30, lambda _t: 5.0, seed=11, negative_share=lambda _t: 0.2)
    onset = START + timedelta(days=29, hours=15)
    _benchmark_like_burst(watch, onset, negative=True)
    tracker = EpisodeTracker()
    opened = []
    for now, readings in watch.run(_just_before(onset + BUCKET), onset + timedelta(minutes=60)):
        opened += [(now, e.episode) for e in tracker.step(now, readings) if e.action == "opened"]
    assert opened, "the burst was not detected"
    at, episode = opened[0]
    assert at - onset <= timedelta(minutes=15)
    assert episode.kind == "negative_shift"
    # one alert for the episode (the volume may open a spike episode of its own)
    assert [e.kind for _, e in opened].count("negative_shift") == 1


def test_same_burst_with_the_usual_share_is_not_a_shift() -> None:
    # the same extra mentions with 20 % negatives: the volume may be a spike, never a shift
    watch = Watch(30, lambda _t: 5.0, seed=11, negative_share=lambda _t: 0.2)
    onset = START + timedelta(days=29, hours=15)
    _benchmark_like_burst(watch, onset, negative=False)
    readings = watch.run(_just_before(onset + BUCKET), onset + timedelta(minutes=90))
    assert not [r.explanation for _, rs in readings for r in rs if r.firing and r.kind != "spike"]


def test_flat_stream_with_the_same_total_never_fires() -> None:
    # the burst's extra negatives spread evenly over the day: nothing stands out
    extra = 50.0 / 24.0  # about the burst's 50 mentions, per hour
    watch = Watch(
        30, lambda _t: 5.0 + extra, seed=11, negative_share=lambda _t: 0.2 + 0.8 * extra / 7.0
    )
    first = START + timedelta(days=29)
    readings = watch.run(first, first + timedelta(days=1) - BUCKET)
    assert not [r.explanation for _, rs in readings for r in rs if r.firing]


def _threaded_watch() -> Watch:
    """A bursty watch: 5 mentions / hour plus a thread of 8-15 mentions (20 % negative) every
    4 hours for 28 days, so its dispersion is well above 1."""
    rng = np.random.default_rng(17)
    watch = Watch(29, lambda _t: 5.0, seed=17, negative_share=lambda _t: 0.2)
    for day in range(28):
        for hour in range(0, 24, 4):
            at = START + timedelta(days=day, hours=hour, minutes=int(rng.integers(0, 60)))
            size = int(rng.integers(8, 16))
            watch.add(at, size, int(rng.binomial(size, 0.2)))
    return watch


def test_mixed_thread_on_a_bursty_watch_is_a_spike_not_a_shift() -> None:
    # 15 mentions in 2 minutes, 6 of them negative (40 %): on this watch threads are common and
    # the 9 others say "a busy moment", so 6 negatives are not a shift to negative
    watch = _threaded_watch()
    now = _just_before(START + timedelta(days=28, hours=14))
    watch.add(now - timedelta(minutes=2), 15, 6)
    hourly, recent = watch.inputs(now)
    spike, negative = assess(now, hourly, recent)
    assert fit_baseline(now, hourly).dispersion > 1.5
    assert spike.firing
    assert not negative.firing
    assert "given the 9 others" in negative.explanation


def test_negatives_alone_on_a_bursty_watch_are_a_shift() -> None:
    # the same 6 negatives with no other mention stand out
    watch = _threaded_watch()
    now = _just_before(START + timedelta(days=28, hours=14))
    watch.add(now - timedelta(minutes=2), 6, 6)
    hourly, recent = watch.inputs(now)
    negative = _kind(assess(now, hourly, recent), "negative_shift")
    assert negative.firing
    assert negative.p_value < 1e-5
    assert "100% negative (6 of 6 mentions)" in negative.explanation


def test_two_negatives_never_make_a_shift() -> None:
    # a quiet watch (one mention every two hours): two negatives in a minute are very unlikely,
    # but fewer than ``min_negative``; three do fire at high sensitivity
    watch = Watch(29, lambda _t: 0.5, seed=16, negative_share=lambda _t: 0.2)
    now = _just_before(START + timedelta(days=28, hours=11))
    watch.add(now - timedelta(minutes=1), 2, 2)
    config = DetectorConfig(sensitivity="high", min_volume=0)
    hourly, recent = watch.inputs(now)
    negative = _kind(assess(now, hourly, recent, config), "negative_shift")
    assert not negative.firing
    assert negative.p_value < 1e-3
    watch.add(now - timedelta(minutes=1), 1, 1)
    hourly, recent = watch.inputs(now)
    assert _kind(assess(now, hourly, recent, config), "negative_shift").firing


def test_negative_burst_fires_at_every_sensitivity_and_names_its_onset() -> None:
    watch = Watch(30, lambda _t: 5.0, seed=11, negative_share=lambda _t: 0.2)
    onset = START + timedelta(days=29, hours=15)
    _benchmark_like_burst(watch, onset, negative=True)
    first_at = {}
    for s in SENSITIVITIES:
        config = DetectorConfig(sensitivity=s)
        readings = watch.run(_just_before(onset + BUCKET), onset + timedelta(minutes=60), config)
        firing = [(now, r) for now, rs in readings for r in rs if r.firing]
        assert firing, f"the burst was not detected at {s}"
        first_at[s], first = firing[0]
        assert first_at[s] - onset <= timedelta(minutes=20)
        assert first.kind == "negative_shift"
        assert first.onset is not None
        assert abs(first.onset - onset) <= timedelta(minutes=15)
    assert first_at["high"] <= first_at["medium"] <= first_at["low"]


def test_negative_excess_fires_negative_shift() -> None:
    watch = Watch(29, lambda _t: 10.0, seed=12)  # 15 % negative: 1.5 negative mentions / hour
    start = START + timedelta(days=28, hours=16)
    for minute in range(0, 30, 5):  # 2 more negative mentions every 5 minutes
        watch.add(start + timedelta(minutes=minute), 2, 2)
    now = _just_before(start + timedelta(minutes=30))
    hourly, recent = watch.inputs(now)
    negative = _kind(assess(now, hourly, recent), "negative_shift")
    assert negative.firing
    assert negative.observed > negative.expected + 0.15
    assert negative.onset is not None
    assert abs(negative.onset - start) <= timedelta(minutes=10)
    assert "negative mentions expected given the" in negative.explanation
    # nothing of the kind before
    before = _just_before(start)
    hourly, recent = watch.inputs(before)
    assert not _kind(assess(before, hourly, recent), "negative_shift").firing


def test_daily_peak_is_learnt_and_does_not_fire() -> None:
    def rate(t: datetime) -> float:
        return 15.0 if t.hour == 12 else 5.0  # every day at 12:00 the volume triples

    watch = Watch(31, rate, seed=3)
    first = START + timedelta(days=28)
    readings = watch.run(first, first + timedelta(days=3) - BUCKET)
    assert not [r.explanation for _, rs in readings for r in rs if r.firing]
    # and the same hour is expected higher than the others
    hourly, _ = watch.inputs(first)
    baseline = fit_baseline(first, hourly)
    assert baseline.profile[12] > 2.0 * baseline.profile[3]


def test_negative_share_jump_fires_negative_shift_not_spike() -> None:
    switch = START + timedelta(days=28, hours=10)

    def share(t: datetime) -> float:
        return 0.60 if t >= switch else 0.15

    watch = Watch(29, lambda _t: 30.0, seed=4, negative_share=share)
    now = _just_before(switch + timedelta(minutes=60))
    hourly, recent = watch.inputs(now)
    spike, negative = assess(now, hourly, recent)
    assert spike.kind == "spike"
    assert not spike.firing
    assert negative.kind == "negative_shift"
    assert negative.firing
    assert negative.observed > 0.45
    assert negative.expected == pytest.approx(0.15, abs=0.03)
    assert "negative" in negative.explanation


def test_min_volume_holds() -> None:
    watch = Watch(29, lambda _t: 0.5, seed=5)  # a quiet watch
    now = _just_before(START + timedelta(days=28, hours=9, minutes=30))
    watch.add(now - timedelta(minutes=10), 8, 8)  # 8 mentions out of nowhere: p is tiny
    hourly, recent = watch.inputs(now)
    quiet = assess(now, hourly, recent, DetectorConfig(sensitivity="high", min_volume=10))
    assert not any(r.firing for r in quiet)
    assert _kind(quiet, "spike").p_value < 1e-4
    loud = assess(now, hourly, recent, DetectorConfig(sensitivity="high", min_volume=5))
    assert _kind(loud, "spike").firing


@pytest.mark.parametrize("hours", [0, 1, 6, 20])
def test_short_history_is_handled_conservatively(hours: int) -> None:
    watch = Watch(2, lambda _t: 5.0, seed=6)
    now = _just_before(START + timedelta(hours=hours + 1))
    hourly, recent = watch.inputs(now)
    hourly = {k: v for k, v in hourly.items() if k >= START + HOUR * (hours and 0)}
    readings = assess(now, hourly, recent)
    assert [r.kind for r in readings] == ["spike", "negative_shift"]
    assert not any(r.firing for r in readings)
    if hours < 24:
        assert "history" in readings[0].explanation
    # a real burst on a new watch still fires, with the caveat
    watch.add(now - timedelta(minutes=10), 40, 10)
    watch.add(now - timedelta(minutes=5), 40, 10)
    hourly, recent = watch.inputs(now)
    spike = assess(now, hourly, recent)[0]
    assert spike.firing
    assert "history" in spike.explanation


def test_sensitivities_are_nested_and_severity_set() -> None:
    watch = Watch(29, lambda _t: 5.0, seed=7)
    now = _just_before(START + timedelta(days=28, hours=15))
    watch.add(now - timedelta(minutes=20), 9, 2)
    watch.add(now - timedelta(minutes=10), 9, 2)
    hourly, recent = watch.inputs(now)
    config = DetectorConfig()
    baseline = fit_baseline(now, hourly, config)
    by_sens = evaluate_all(now, baseline, recent, config, SENSITIVITIES)
    firing = {s: by_sens[s][0].firing for s in SENSITIVITIES}
    assert firing["high"] >= firing["medium"] >= firing["low"]
    for s in SENSITIVITIES:
        spike = by_sens[s][0]
        assert (spike.severity is None) == (not spike.firing)


def test_assess_is_deterministic() -> None:
    # Its speed (about 1 ms) is measured by the detection benchmark, not asserted here.
    watch = Watch(29, lambda t: 5.0 + 3.0 * (t.hour in (9, 10, 11)), seed=8)
    now = _just_before(START + timedelta(days=28, hours=13, minutes=20))
    hourly, recent = watch.inputs(now)
    config = DetectorConfig(tz="Europe/Paris")
    first = assess(now, hourly, recent, config)
    for _ in range(5):
        assert assess(now, hourly, recent, config) == first


def test_partial_bucket_early_check_does_not_fire_but_a_burst_does() -> None:
    # the product checks every minute: the current bucket is partial (counts up to ``now``)
    watch = Watch(29, lambda _t: 5.0, seed=13, negative_share=lambda _t: 0.2)
    bucket = START + timedelta(days=28, hours=15)
    watch.add(bucket, 2, 2)  # two negative mentions in the first seconds of the bucket
    early = bucket + timedelta(seconds=30)
    hourly, recent = watch.inputs(early)
    assert not any(r.firing for r in assess(early, hourly, recent, DetectorConfig(min_volume=0)))
    # the same bucket at the end of a burst (the three buckets before it as loaded) fires
    for back in (1, 2, 3):
        watch.add(bucket - back * BUCKET, 2, 2)
    late = bucket + BUCKET - timedelta(seconds=1)
    hourly, recent = watch.inputs(late)
    assert any(r.firing for r in assess(late, hourly, recent))
    # and a check one minute into the next bucket (nothing new yet) keeps firing
    after = bucket + BUCKET + timedelta(minutes=1)
    hourly, recent = watch.inputs(after)
    assert any(r.firing for r in assess(after, hourly, recent))
    assert "mentions in the last" in assess(after, hourly, recent)[0].explanation


def test_tiny_watch_does_not_fire_on_a_few_mentions() -> None:
    watch = Watch(29, lambda _t: 1.0 / 24.0, seed=14)  # about one mention a day
    now = _just_before(START + timedelta(days=28, hours=11))
    watch.add(now - timedelta(minutes=3), 3, 3)
    hourly, recent = watch.inputs(now)
    for s in SENSITIVITIES:
        assert not any(r.firing for r in assess(now, hourly, recent, DetectorConfig(sensitivity=s)))
