"""Threshold tuning of flocon's detectors on the tuning seed, at the product's cadence.

Run from the repository root::

    .venv/bin/python -m benchmarks.detection.tune [--cadence 60] [--min-volume 10] ...

The scan scores of every check are computed once per stream (:func:`run.flocon_scores`); the
alerts of any pair of thresholds (spike, negative shift) then follow exactly from the episode
logic (:func:`run.opened_times`), so a grid of pairs costs nothing more. For each false-alert
budget (per watch per week, on the streams without injection) it prints the pair with the
smallest median delay on the injected streams (ties: the fewest false alerts).

``--spike`` restricts the spike thresholds to the given values. ``--per-level`` keeps each
sensitivity's current spike threshold and tunes its shift-to-negative threshold alone, the
budgets being those of ``low``, ``medium`` and ``high`` in that order (how the shipped thresholds
were set: ``--cadence 60 --min-volume 5 --watches 6 --per-level``).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from typing import Any

import numpy as np
from benchmarks.detection.run import (
    TUNING_SEED,
    Score,
    _score,
    flocon_scores,
    opened_times,
)
from benchmarks.detection.streams import SOURCES, make_stream

from flocon.signals.detectors import DetectorConfig

SPIKE_GRID = tuple(float(x) for x in np.arange(8.0, 24.01, 1.0))
#: thresholds on -ln P(negatives | the other mentions) of the best window
NEG_GRID = tuple(float(round(x, 2)) for x in np.arange(5.0, 12.01, 0.1))


def collect(
    config: DetectorConfig,
    cadence: float,
    on_arrival: bool,
    seed: int = TUNING_SEED,
    weeks: int = 2,
    watches: int = 3,
) -> list[tuple[Any, Any, Any, Any]]:
    """(stream, check times, spike scores, negative scores) of every tuning stream."""
    out = []
    for source in SOURCES:
        for inject in (False, True):
            for w in range(watches):
                stream = make_stream(source, w, seed=seed, weeks=weeks, inject=inject)
                times, spike, neg = flocon_scores(stream, config, cadence, on_arrival)
                out.append((stream, times, spike, neg))
    return out


def evaluate_pair(
    data: list[tuple[Any, Any, Any, Any]], spike_llr: float, neg_llr: float, weeks: int = 2
) -> tuple[float, float | None, float]:
    """(false alerts / watch / week without injection, median delay, detection rate)."""
    score = Score("flocon", "tuning")
    for stream, times, spike, neg in data:
        alerts = np.union1d(
            opened_times(times, spike >= spike_llr), opened_times(times, neg >= neg_llr)
        )
        _score(score, stream, [float(a) for a in alerts], weeks)
    med = statistics.median(score.delays) if score.delays else None
    return score.false_clean / score.weeks_clean, med, len(score.delays) / max(score.bursts, 1)


def tune(
    data: list[tuple[Any, Any, Any, Any]],
    budgets: tuple[float, ...],
    weeks: int = 2,
    spike_grid: tuple[float, ...] = SPIKE_GRID,
) -> dict[float, tuple[float, float, float, float | None, float]]:
    grid = [(a, b, *evaluate_pair(data, a, b, weeks)) for a in spike_grid for b in NEG_GRID]
    best: dict[float, tuple[float, float, float, float | None, float]] = {}
    for budget in budgets:
        ok = [g for g in grid if g[2] <= budget and g[3] is not None and g[4] >= 0.97]
        if ok:
            best[budget] = min(ok, key=lambda g: (g[3], g[2], -g[0], -g[1]))  # type: ignore[arg-type, return-value]
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cadence", type=float, default=60.0)
    parser.add_argument("--on-arrival", action="store_true")
    parser.add_argument("--min-volume", type=int, default=10)
    parser.add_argument("--volume-window", type=int, default=60)
    parser.add_argument("--min-elapsed", type=float, default=2.0)
    parser.add_argument("--budgets", default="0.3,0.8,1.6")
    parser.add_argument("--watches", type=int, default=3, help="streams per source and kind")
    parser.add_argument("--weeks", type=int, default=2)
    parser.add_argument("--spike", default="", help="spike thresholds to try (default: a grid)")
    parser.add_argument(
        "--per-level", action="store_true", help="keep each level's spike threshold"
    )
    args = parser.parse_args()
    config = replace(
        DetectorConfig(),
        min_volume=args.min_volume,
        volume_window_minutes=args.volume_window,
        min_elapsed_minutes=args.min_elapsed,
    )
    data = collect(config, args.cadence, args.on_arrival, weeks=args.weeks, watches=args.watches)
    budgets = tuple(float(b) for b in args.budgets.split(","))
    spike_grid = tuple(float(x) for x in args.spike.split(",")) if args.spike else SPIKE_GRID
    th = DetectorConfig().thresholds
    if args.per_level:
        runs = [
            (f"{s}, budget {budget}", (budget,), (th[s].spike_llr,))  # type: ignore[index]
            for s, budget in zip(("low", "medium", "high"), budgets, strict=True)
        ]
    else:
        runs = [(f"budget {budget}", (budget,), spike_grid) for budget in budgets]
    for label, one, grid in runs:
        for a, b, false, med, det in tune(data, one, args.weeks, grid).values():
            print(
                f"{label}: spike_llr {a:g} negative_score {b:g} -> false "
                f"{false:.2f}/watch/week, median delay {med:.1f} min, detection {det:.2f}"
            )
    for a in spike_grid:
        print(f"spike_llr {a:g}: spike-only false {evaluate_pair(data, a, 1e9, args.weeks)[0]:.2f}")
    for s in ("low", "medium", "high"):
        false, med, det = evaluate_pair(data, th[s].spike_llr, th[s].negative_score, args.weeks)  # type: ignore[index]
        print(f"current {s}: false {false:.2f}, delay {med}, detection {det:.2f}")


if __name__ == "__main__":
    main()
