"""Snowball score: the probability that a negative mention escalates, with its reasons.

Pure: one mention and the replies and shares seen so far in, a probability and its
factors out; no database, no I/O. Call :func:`snowball` again whenever new replies or
shares arrive (or simply later: time passing without activity lowers the score).

The model is a logistic regression over named features::

    logit = bias + Σ weight_i × value_i        probability = sigmoid(logit)

so each factor's contribution ``weight × value`` is exact and shown to the user
(:class:`Factor`, :meth:`SnowballScore.explanation`).

**Learnt features** (cascade shape, from the replies/shares seen in the first ``T``
minutes; all rate-based or normalised by ``T`` so that one model serves at 5, 15, 30 or
60 minutes). Their weights are fitted by ``benchmarks/eval_snowball.py --write-weights``
on the Twitter16 propagation trees (train split only; label: the tree ends in the top
quarter by final size), with the observation windows of :data:`TRAIN_WINDOWS` stacked:

* ``early_count``: ``log1p(n)``, ``n`` the replies, shares, quotes and mentions so far;
* ``acceleration``: ``log1p(recent rate) − log1p(earlier rate)``, the rate per minute
  over the last ``min(10, T/2)`` minutes against the rate before (> 0: speeding up);
* ``elapsed``: ``log1p(T)``, minutes since publication (the same count is less
  alarming when it took longer: its learnt weight is negative);
* ``depth``: share of the activity that is not directly on the mention but on one of
  its replies or shares (a cascade that spreads beyond the author's audience);
* ``conversation``: share of replies (against shares, quotes and mentions).

The rate per minute ``n / T`` is shown in the ``early_count`` label but is not a feature
of its own: ``log(n / T) ≈ log n − log T`` is collinear with ``early_count`` and
``elapsed``, and fitting all three made the signs unreadable without a better AUC. The
share of the window elapsed since the last activity (``quiet``, computed by
:func:`cascade_features`) was left out for the same reason: on Twitter16 it overlaps the
acceleration and took a counter-intuitive positive weight. Depth and conversation are
kept although Twitter16 gives them weights near zero (cascade size there is driven by
volume and pace, not by structure).

**Prior features**, which Twitter16 cannot teach (it has no texts, follower counts nor
other platforms). Their weights are set by hand (:data:`PRIOR_WEIGHTS`), are *not*
learnt, and each is centred so that ``value = 0`` is the reference Twitter16 case
("typical or unknown"): a mention with unknown author, neutral or unknown sentiment,
no severity term, a top-level post on a Twitter-like platform gets exactly the
learnt probability.

* ``reach``: ``log10(1 + followers) − 2.5`` (decades above ~300 followers), weight
  0.35: an author with 100,000 followers adds about +0.9 to the logit, one with 10
  about −0.5;
* ``network``: the author's network influence score in ``[0, 1]``
  (:mod:`flocon.analysis.influence`), weight 1.5;
* ``negativity``: ``max(0, −sentiment_score)``, weight 1.0;
* ``severity``: :func:`flocon.signals.severity.severity` of the text, weight 2.0 (one
  legal/safety term: +1.2; a fraud term: +0.8);
* ``platform``: a fixed offset per source kind (:data:`PLATFORM_PRIORS`): 0 for
  Twitter-like platforms with one-click resharing (the reference), lower where posts
  rarely leave their community (forums, reviews, Mastodon), higher for press;
* ``thread``: −0.7 for a reply inside a thread (seen by the thread's readers only);
* ``repeat``: share of the activity coming from authors already counted
  (``1 − unique authors / n``), weight −1.0: two people arguing is not a crowd
  (every Twitter16 tree has distinct users, so this cannot be learnt there).

Caveats. The probability is calibrated on Twitter16 (rumour cascades of 74 to 3,000
nodes; "top quarter" means at least ~490 retweets and replies), not on brand mentions:
read it as a ranking and a relative risk, not a frequency. Counts on small platforms
are far lower than on Twitter, which this model does not correct.

When the platform only gives counters (``likes``, ``shares``, ``replies``) and no
timed activity, ``n = replies + shares + 0.2 × likes`` (:data:`LIKE_WEIGHT`), taken as
seen at ``now``; acceleration and depth are then 0 (unknown, neutral) and the
reply share comes from the counters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from flocon.signals.severity import severity, severity_hits

__all__ = [
    "CASCADE_FEATURES",
    "FEATURES",
    "LIKE_WEIGHT",
    "PLATFORM_PRIORS",
    "PRIOR_FEATURES",
    "PRIOR_WEIGHTS",
    "TRAIN_WINDOWS",
    "Activity",
    "Factor",
    "SnowballInput",
    "SnowballModel",
    "SnowballScore",
    "cascade_features",
    "features",
    "snowball",
]

#: Features whose weights are learnt on Twitter16 (in this order in the weights file).
CASCADE_FEATURES: tuple[str, ...] = (
    "early_count",
    "acceleration",
    "elapsed",
    "depth",
    "conversation",
)
#: Features whose weights are documented priors (see the module docstring).
PRIOR_FEATURES: tuple[str, ...] = (
    "reach",
    "network",
    "negativity",
    "severity",
    "platform",
    "thread",
    "repeat",
)
FEATURES: tuple[str, ...] = CASCADE_FEATURES + PRIOR_FEATURES

#: Hand-set weights of the prior features (logit per unit of value). The ``platform``
#: value is 1 for every item and its weight is ``PRIOR_WEIGHTS["platform"]`` (1) times the
#: platform's offset in :data:`PLATFORM_PRIORS`.
PRIOR_WEIGHTS: dict[str, float] = {
    "reach": 0.35,
    "network": 1.5,
    "negativity": 1.0,
    "severity": 2.0,
    "platform": 1.0,
    "thread": -0.7,
    "repeat": -1.0,
}

#: Logit offset by source kind (prior). Twitter-like platforms, where one click
#: reshares a post to a new audience, are the reference (Twitter16 is Twitter).
PLATFORM_PRIORS: dict[str, float] = {
    "twitter": 0.0,
    "x": 0.0,
    "bluesky": 0.0,
    "threads": 0.0,
    "facebook": 0.0,
    "tiktok": 0.25,
    "rss": 0.25,  # a press article: already reaching an audience
    "feed": 0.25,
    "news": 0.25,
    "web": 0.0,
    "site": 0.0,
    "instagram": -0.25,
    "linkedin": -0.25,
    "reddit": -0.25,
    "hackernews": -0.25,
    "youtube": -0.25,
    "mastodon": -0.5,  # no quote posts, no algorithmic timeline
    "forum": -0.75,  # threads rarely leave the forum
    "review": -0.75,
}

#: Where a like counts as this much of a reply or share (counters only).
LIKE_WEIGHT = 0.2
#: Observation windows (minutes) stacked to fit the learnt weights.
TRAIN_WINDOWS: tuple[int, ...] = (10, 20, 30, 60)
#: The acceleration compares the last ``min(RECENT_MINUTES, T/2)`` minutes to the rest.
RECENT_MINUTES = 10.0
#: Reference author reach of the ``reach`` feature: log10(1 + followers) of ~300.
REACH_REFERENCE = 2.5

ActivityKind = Literal["reply", "share", "quote", "mention"]


@dataclass(frozen=True)
class Activity:
    """One reply or share of the mention (or of a reply in its thread).

    ``parent_key`` is ``None`` for activity on the mention itself, else the ``key`` of
    the activity it answers or reshares (an unknown key still counts as "deeper").
    """

    at: datetime
    author_key: str | None
    kind: ActivityKind
    parent_key: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class SnowballInput:
    """A mention as seen at ``now`` (only activity at ``<= now`` counts)."""

    published_at: datetime
    now: datetime
    text: str
    sentiment_score: float | None  # P(pos) − P(neg) in [−1, 1]
    platform: str
    author_followers: int | None
    author_network_score: float | None  # influence network score in [0, 1]
    is_reply: bool
    activity: Sequence[Activity]
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None


@dataclass(frozen=True)
class Factor:
    """One term of the logit: ``contribution = weight × value``."""

    name: str
    value: float
    weight: float
    contribution: float
    label: str


@dataclass(frozen=True)
class SnowballScore:
    """The probability, its factors (by ``|contribution|`` descending) and the bias."""

    probability: float
    factors: tuple[Factor, ...]
    bias: float = 0.0

    @property
    def logit(self) -> float:
        return self.bias + sum(f.contribution for f in self.factors)

    def explanation(self, top: int = 3) -> str:
        """E.g. ``Snowball risk 72%: 14 replies and shares in 9 min (+2.10 = 1.05 × 2.00); ...``."""
        parts = [
            f"{f.label} ({f.contribution:+.2f} = {f.weight:.2f} × {f.value:.2f})"
            for f in self.factors[:top]
            if f.contribution != 0.0
        ]
        head = f"Snowball risk {100 * self.probability:.0f}%"
        return f"{head}: {'; '.join(parts)}" if parts else head


@dataclass(frozen=True)
class SnowballModel:
    """Weights of every feature (logit per unit of value), the bias and metadata."""

    bias: float
    weights: Mapping[str, float]
    platform_priors: Mapping[str, float]
    metadata: Mapping[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None) -> SnowballModel:
        """The model in ``path`` (JSON), by default the weights shipped with flocon."""
        if path is None:
            text = (
                resources.files("flocon.signals")
                .joinpath("weights/snowball.json")
                .read_text(encoding="utf-8")
            )
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnowballModel:
        if data.get("format") != "flocon-snowball/1":
            raise ValueError(f"not a snowball weights file (format {data.get('format')!r})")
        weights = {str(f["name"]): float(f["weight"]) for f in data["features"]}
        missing = set(FEATURES) - set(weights)
        if missing:
            raise ValueError(f"snowball weights lack {sorted(missing)}")
        priors = {str(k): float(v) for k, v in data.get("platform_priors", {}).items()}
        return cls(float(data["bias"]), weights, priors, dict(data.get("metadata", {})))

    @classmethod
    def from_fit(
        cls,
        bias: float,
        cascade_weights: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> SnowballModel:
        """Learnt cascade weights completed with :data:`PRIOR_WEIGHTS` and platform priors."""
        weights = {name: float(cascade_weights[name]) for name in CASCADE_FEATURES}
        weights.update(PRIOR_WEIGHTS)
        return cls(float(bias), weights, dict(PLATFORM_PRIORS), dict(metadata or {}))

    def score(self, item: SnowballInput) -> SnowballScore:
        return snowball(item, self)


@cache
def _default_model() -> SnowballModel:
    return SnowballModel.load()


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


def cascade_features(
    published_at: datetime,
    now: datetime,
    activity: Sequence[Activity],
    *,
    likes: int | None = None,
    shares: int | None = None,
    replies: int | None = None,
) -> dict[str, float]:
    """The learnt features (:data:`CASCADE_FEATURES`) and ``repeat``, with helper values.

    Helpers: ``n`` (count), ``T`` (minutes observed, at least 1), ``timed`` (activity
    with a time), ``recent`` (count in the last ``recent_minutes``), ``last`` (minute of
    the last activity).
    """
    elapsed = max(1.0, _minutes(now, published_at))
    times: list[float] = []
    deep = conv = 0
    authors: set[str] = set()
    with_author = 0
    for act in activity:
        if act.at > now:
            continue
        times.append(min(elapsed, max(0.0, _minutes(act.at, published_at))))
        deep += act.parent_key is not None
        conv += act.kind == "reply"
        if act.author_key is not None:
            with_author += 1
            authors.add(act.author_key)
    timed = len(times)
    counters = float(replies or 0) + float(shares or 0) + LIKE_WEIGHT * float(likes or 0)
    n = max(float(timed), counters)
    out = {
        "n": n,
        "T": elapsed,
        "early_count": math.log1p(n),
        "pace": math.log1p(n / elapsed),
        "elapsed": math.log1p(elapsed),
        "acceleration": 0.0,
        "quiet": 0.0,
        "depth": 0.0,
        "conversation": 0.0,
        "repeat": 0.0,
        "recent": 0.0,
        "recent_minutes": min(RECENT_MINUTES, elapsed / 2.0),
        "last": 0.0,
        "timed": float(timed),
    }
    if timed:
        window = out["recent_minutes"]
        recent = sum(1 for t in times if t > elapsed - window)
        out["recent"] = float(recent)
        out["acceleration"] = math.log1p(recent / window) - math.log1p(
            (timed - recent) / (elapsed - window)
        )
        out["last"] = max(times)
        out["quiet"] = (elapsed - max(times)) / elapsed
        out["depth"] = deep / timed
        out["conversation"] = conv / timed
        if with_author:
            out["repeat"] = 1.0 - len(authors) / with_author
    elif n > 0:
        talk = float(replies or 0)
        spread = float(shares or 0)
        out["conversation"] = talk / (talk + spread) if talk + spread else 0.0
    else:
        out["quiet"] = 1.0
    return out


def features(item: SnowballInput) -> dict[str, float]:
    """Every feature value of :data:`FEATURES` for ``item`` (plus ``n`` and ``T``)."""
    out = cascade_features(
        item.published_at,
        item.now,
        item.activity,
        likes=item.likes,
        shares=item.shares,
        replies=item.replies,
    )
    followers = item.author_followers
    out["reach"] = (
        math.log10(1 + max(0, followers)) - REACH_REFERENCE if followers is not None else 0.0
    )
    net = item.author_network_score
    out["network"] = min(1.0, max(0.0, net)) if net is not None else 0.0
    senti = item.sentiment_score
    out["negativity"] = min(1.0, max(0.0, -senti)) if senti is not None else 0.0
    out["severity"] = severity(item.text) if item.text else 0.0
    out["platform"] = 1.0
    out["thread"] = 1.0 if item.is_reply else 0.0
    return out


def _fmt_minutes(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _label(name: str, item: SnowballInput, values: Mapping[str, float]) -> str:
    n, elapsed = values["n"], values["T"]
    count = f"{n:.0f}" if n == int(n) else f"{n:.1f}"
    if name == "early_count":
        return (
            f"{count} replies and shares in the first {_fmt_minutes(elapsed)} "
            f"({n / elapsed:.2g}/min)"
        )
    if name == "acceleration":
        window = values["recent_minutes"]
        return (
            f"{values['recent']:.0f} in the last {_fmt_minutes(window)} "
            f"({'speeding up' if values['acceleration'] > 0 else 'slowing down'})"
            if values["acceleration"]
            else "steady pace"
        )
    if name == "quiet":
        if n == 0:
            return "no reply or share yet"
        if not values["timed"]:
            return "timing of the activity unknown (counters only)"
        return f"quiet for the last {_fmt_minutes(values['quiet'] * elapsed)}"
    if name == "depth":
        return f"{100 * values['depth']:.0f}% of the activity is on replies and reshares"
    if name == "conversation":
        return f"{100 * values['conversation']:.0f}% replies, the rest shares"
    if name == "elapsed":
        return f"published {_fmt_minutes(elapsed)} ago"
    if name == "reach":
        if item.author_followers is None:
            return "author reach unknown"
        return f"author has {item.author_followers:,} followers"
    if name == "network":
        if item.author_network_score is None:
            return "author network influence unknown"
        return f"author network influence {item.author_network_score:.2f}"
    if name == "negativity":
        return f"negativity {values['negativity']:.2f}"
    if name == "severity":
        hits = severity_hits(item.text) if item.text else []
        return f"severity terms: {', '.join(hits)}" if hits else "no severity term"
    if name == "platform":
        return f"on {item.platform or 'an unknown platform'}"
    if name == "thread":
        return "a reply inside a thread" if item.is_reply else "a top-level post"
    if name == "repeat":
        return f"{100 * values['repeat']:.0f}% of the activity from repeat participants"
    return name


def snowball(item: SnowballInput, model: SnowballModel | None = None) -> SnowballScore:
    """The snowball score of ``item`` (default model: the shipped weights)."""
    model = model or _default_model()
    values = features(item)
    factors = []
    for name in FEATURES:
        value = values[name]
        if name == "platform":
            offset = model.platform_priors.get(item.platform.lower(), 0.0)
            weight = model.weights["platform"] * offset
        else:
            weight = model.weights[name]
        factors.append(
            Factor(name, value, weight, weight * value + 0.0, _label(name, item, values))
        )
    factors.sort(key=lambda f: -abs(f.contribution))
    logit = model.bias + sum(f.contribution for f in factors)
    if logit >= 0:
        probability = 1.0 / (1.0 + math.exp(-logit))
    else:
        z = math.exp(logit)
        probability = z / (1.0 + z)
    return SnowballScore(probability, tuple(factors), model.bias)
