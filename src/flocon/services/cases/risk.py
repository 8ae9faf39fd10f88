"""The inbox's order: a case's risk, from 0 to 100, and the inputs behind it.

Four visible factors, each in [0, 1], weighted:

- ``snowball`` (0.35): the highest probability the snowball detector gave the mention
  (flocon.signals.snowball); 0 when it never raised one;
- ``influence`` (0.25): the author's network score (flocon.services.influence, 0-100) when
  computed, else a reach estimate from followers (log scale, 1 at a million);
- ``negativity`` (0.25): how negative the mention is (−sentiment score, 0 when not negative);
- ``waiting`` (0.15): how long the case has waited for a first answer (1 after 48 hours;
  0 once answered or closed).

The first three are stored with the case (``risk_factors``); waiting is added at read time,
so the order changes as cases wait.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

from flocon.storage.queries.cases import MentionFacts

WEIGHTS: Final = {"snowball": 0.35, "influence": 0.25, "negativity": 0.25, "waiting": 0.15}
WAITING_FULL_HOURS: Final = 48.0


def _reach(followers: int | None) -> float:
    if not followers or followers <= 0:
        return 0.0
    return min(1.0, math.log10(1 + followers) / 6.0)


def static_factors(
    facts: MentionFacts, *, snowball: float | None, influence: float | None
) -> dict[str, Any]:
    """The stored factors of a case's mention, with their inputs."""
    negativity = 0.0
    if facts.sentiment == "negative":
        negativity = max(0.0, min(1.0, -(facts.sentiment_score or -0.5)))
    influence_value = (
        max(0.0, min(1.0, influence / 100.0)) if influence is not None else _reach(facts.followers)
    )
    return {
        "snowball": round(max(0.0, min(1.0, snowball or 0.0)), 4),
        "influence": round(influence_value, 4),
        "negativity": round(negativity, 4),
        "inputs": {
            "snowball_probability": snowball,
            "author_score": influence,
            "followers": facts.followers,
            "sentiment": facts.sentiment,
            "sentiment_score": facts.sentiment_score,
        },
    }


def waiting_factor(created_at: datetime, *, answered: bool, active: bool, now: datetime) -> float:
    if answered or not active:
        return 0.0
    hours = max(0.0, (now - created_at).total_seconds() / 3600.0)
    return round(min(1.0, hours / WAITING_FULL_HOURS), 4)


def score(factors: dict[str, Any], waiting: float) -> tuple[float, dict[str, Any]]:
    """The risk (0-100) and every factor with its value, weight and contribution."""
    values = {
        "snowball": float(factors.get("snowball", 0.0)),
        "influence": float(factors.get("influence", 0.0)),
        "negativity": float(factors.get("negativity", 0.0)),
        "waiting": waiting,
    }
    shown: dict[str, Any] = {}
    total = 0.0
    for name, value in values.items():
        contribution = 100.0 * WEIGHTS[name] * value
        total += contribution
        shown[name] = {
            "value": round(value, 4),
            "weight": WEIGHTS[name],
            "contribution": round(contribution, 2),
        }
    shown["inputs"] = factors.get("inputs", {})
    return round(total, 2), shown
