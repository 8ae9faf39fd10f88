"""One alert per episode: opened once, updated on growth only, closed after quiet."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Literal

from flocon.signals.detectors import Reading
from flocon.signals.episodes import EpisodeTracker

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def reading(
    firing: bool,
    observed: float = 20.0,
    severity: Literal["low", "medium", "high"] | None = "low",
    kind: Literal["spike", "negative_shift"] = "spike",
) -> Reading:
    return Reading(
        kind=kind,
        firing=firing,
        severity=severity if firing else None,
        observed=observed,
        expected=5.0,
        p_value=1e-6 if firing else 0.5,
        window_minutes=30,
        onset=T0 - STEP if firing else None,
        explanation=f"{observed:.0f} mentions in the last 30 min against 5.0 expected",
    )


def test_opens_once_updates_on_growth_only_and_closes_after_quiet() -> None:
    tracker = EpisodeTracker(close_after=timedelta(minutes=30))
    actions: list[tuple[int, str]] = []
    series = [
        reading(True, 20),  # 0 opened
        reading(True, 22),  # 1 small growth: nothing
        reading(True, 25),  # 2 nothing (25 < 1.5 * 20)
        reading(True, 30),  # 3 updated (>= 30)
        reading(True, 31),  # 4 nothing
        reading(True, 31, "medium"),  # 5 updated: severity rises
        reading(True, 31, "low"),  # 6 severity falls: nothing
        reading(False),  # 7..12 quiet
        reading(False),
        reading(False),
        reading(False),
        reading(False),
        reading(False),  # 12: 30 min after the last firing (6) -> closed
        reading(False),
    ]
    for i, r in enumerate(series):
        for event in tracker.step(T0 + i * STEP, [r, reading(False, kind="negative_shift")]):
            actions.append((i, event.action))
            assert event.episode.kind == "spike"
    assert actions == [(0, "opened"), (3, "updated"), (5, "updated"), (12, "closed")]
    assert tracker.open_episodes == {}


def test_episode_fields_follow_the_readings() -> None:
    tracker = EpisodeTracker()
    opened = tracker.step(T0, [reading(True, 20)])[0]
    assert opened.episode.onset == T0 - STEP
    assert opened.episode.closed_at is None
    tracker.step(T0 + STEP, [reading(True, 45)])
    closed = tracker.step(T0 + STEP + timedelta(minutes=30), [])[0]
    assert closed.action == "closed"
    assert closed.episode.peak_observed == 45
    assert closed.episode.closed_at == T0 + STEP + timedelta(minutes=30)
    assert opened.episode.closed_at is None  # events hold copies


def test_a_new_episode_after_closing_is_opened_again() -> None:
    tracker = EpisodeTracker(close_after=timedelta(minutes=10))
    assert [e.action for e in tracker.step(T0, [reading(True)])] == ["opened"]
    assert [e.action for e in tracker.step(T0 + 2 * STEP, [reading(False)])] == ["closed"]
    assert [e.action for e in tracker.step(T0 + 3 * STEP, [reading(True)])] == ["opened"]


def test_kinds_are_independent() -> None:
    tracker = EpisodeTracker()
    events = tracker.step(T0, [reading(True), reading(True, 0.6, kind="negative_shift")])
    assert sorted(e.episode.kind for e in events) == ["negative_shift", "spike"]


def test_round_trips_through_json() -> None:
    tracker = EpisodeTracker(close_after=timedelta(minutes=20))
    tracker.step(T0, [reading(True, 20)])
    data = json.loads(json.dumps(tracker.to_dict()))
    restored = EpisodeTracker.from_dict(data)
    assert restored.close_after == timedelta(minutes=20)
    assert restored.open_episodes == tracker.open_episodes
    # the restored tracker behaves like the original: no re-open, update on growth, close
    assert restored.step(T0 + STEP, [reading(True, 25)]) == []
    assert [e.action for e in restored.step(T0 + 2 * STEP, [reading(True, 30)])] == ["updated"]
    later = T0 + 2 * STEP + timedelta(minutes=20)
    assert [e.action for e in restored.step(later, [reading(False)])] == ["closed"]
