"""Author influence: a network score from who replies to, mentions and shares whom,
combined with reach and engagement into one explainable 0–100 score, and each
author's stance (advocate or detractor) from their sentiment history.

Pure: interactions and per-author aggregates in, scores out; no database, no I/O.

The model (docs/influence.md explains it for users):

* An *interaction* ``source → target`` means "``source`` paid attention to
  ``target``": replied to one of their posts, named them with ``@handle``, or
  shared (retweeted, boosted) their post. Its weight is :data:`EDGE_WEIGHTS`
  of its kind times how many times it happened.
* Each author has one vote. An author whose interactions weigh less than 1 in
  total gives that much of it to the authors concerned and the rest to everyone
  alike; above 1 the vote is split in proportion to the weights. So one mention
  passes half a vote, one share a whole one, and nobody gains by interacting more.
* Weighted PageRank (damping :data:`DAMPING`) of that walk. An author nobody
  interacts with gets the *floor* rank; ``lift = pagerank / floor − 1`` is how
  much more attention an author draws, in votes of ordinary authors (one vote
  from an author at the floor gives a lift of ``DAMPING``). It does not depend
  on the number of authors, so scores stay comparable from one computation to
  the next.
* ``score = 100 × (0.5 × network + 0.25 × reach + 0.25 × engagement)`` where
  ``network = min(1, log10(1 + lift) / 3)``,
  ``reach = min(1, log10(1 + followers) / 7)`` and
  ``engagement = min(1, log10(1 + likes + shares + replies) / 5)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COMPONENT_WEIGHTS",
    "DAMPING",
    "EDGE_WEIGHTS",
    "FORMULA",
    "MODEL",
    "SATURATION",
    "STANCE_MIN_MENTIONS",
    "STANCE_PRIOR",
    "STANCE_THRESHOLD",
    "AuthorActivity",
    "EdgeKind",
    "Influence",
    "Interaction",
    "InteractionGraph",
    "Stance",
    "StanceEstimate",
    "build_graph",
    "component",
    "describe",
    "pagerank",
    "pagerank_reference",
    "score_authors",
    "stance_of",
]


class EdgeKind(StrEnum):
    """What an interaction is; a new kind needs a weight in :data:`EDGE_WEIGHTS`."""

    REPLY = "reply"
    MENTION = "mention"
    SHARE = "share"


#: Weight of one interaction of each kind, as a fraction of an author's vote. A share
#: puts the author's post in front of the sharer's audience: the strongest sign of
#: influence. A reply engages with what they said. A mention names them, often in
#: passing or to complain to them.
EDGE_WEIGHTS: Mapping[EdgeKind, float] = {
    EdgeKind.SHARE: 1.0,
    EdgeKind.REPLY: 0.8,
    EdgeKind.MENTION: 0.5,
}

#: PageRank damping: the probability that attention follows an interaction rather
#: than jumping to any author.
DAMPING = 0.85

#: Weights of the three components in the score (they sum to 1).
COMPONENT_WEIGHTS: Mapping[str, float] = {"network": 0.5, "reach": 0.25, "engagement": 0.25}

#: The decimal logarithm at which a component reaches 1: a lift of 999, 10 million
#: followers, 100,000 likes + shares + replies.
SATURATION: Mapping[str, float] = {"network": 3.0, "reach": 7.0, "engagement": 5.0}

#: Stance: at least this many analysed mentions, else "unknown".
STANCE_MIN_MENTIONS = 2
#: Stance: neutral pseudo-mentions added to the mean (shrinks thin histories to 0).
STANCE_PRIOR = 3.0
#: Stance: a shrunk mean at or beyond ± this is an advocate or a detractor.
STANCE_THRESHOLD = 0.3


class Interaction(NamedTuple):
    """``source`` paid attention to ``target`` (author ids), ``times`` times."""

    source: int
    target: int
    kind: EdgeKind
    times: int = 1


@dataclass(frozen=True, slots=True)
class AuthorActivity:
    """What an author did in the scope: their mentions and what those received.

    ``engagement`` is the platforms' own likes + shares + replies of those mentions;
    ``sentiments`` the ``sentiment_score`` (in [−1, 1]) of those that were analysed;
    ``followers`` is None when the platform does not tell.
    """

    author_id: int
    followers: int | None = None
    mentions: int = 0
    likes: int = 0
    shares: int = 0
    replies: int = 0
    sentiments: tuple[float, ...] = ()

    @property
    def engagement(self) -> int:
        return self.likes + self.shares + self.replies


@dataclass(frozen=True, slots=True)
class InteractionGraph:
    """Authors as nodes ``0..n-1`` and weighted edges, repeated interactions merged.

    ``weights`` are the transition probabilities of each edge (already divided by
    the source's vote); ``received`` counts, per kind, the distinct authors who
    interacted with each node and ``received_count`` the interactions;
    ``out_weight`` is each node's raw total weight.
    """

    authors: tuple[int, ...]
    sources: NDArray[np.int64]
    targets: NDArray[np.int64]
    weights: NDArray[np.float64]
    out_weight: NDArray[np.float64]
    received: Mapping[EdgeKind, NDArray[np.int64]]
    received_count: Mapping[EdgeKind, NDArray[np.int64]]
    interactions: Mapping[EdgeKind, int]

    @property
    def size(self) -> int:
        return len(self.authors)

    @property
    def edge_count(self) -> int:
        return int(self.sources.shape[0])


def build_graph(
    interactions: Iterable[Interaction], authors: Iterable[int] = ()
) -> InteractionGraph:
    """The graph of ``interactions`` over ``authors`` plus everyone they involve.

    Self-interactions (replying in one's own thread) are dropped.
    """
    rows = [i for i in interactions if i.source != i.target]
    src = np.fromiter((i.source for i in rows), dtype=np.int64, count=len(rows))
    tgt = np.fromiter((i.target for i in rows), dtype=np.int64, count=len(rows))
    kinds = list(EdgeKind)
    kind_code = {k: n for n, k in enumerate(kinds)}
    code = np.fromiter((kind_code[i.kind] for i in rows), dtype=np.int64, count=len(rows))
    count = np.fromiter((i.times for i in rows), dtype=np.float64, count=len(rows))
    if np.any(count <= 0):
        raise ValueError("an interaction's count must be positive")
    given = np.fromiter(authors, dtype=np.int64)
    ids, inverse = np.unique(np.concatenate([given, src, tgt]), return_inverse=True)
    n = len(ids)
    s = inverse[len(given) : len(given) + len(rows)]
    t = inverse[len(given) + len(rows) :]
    kind_weight = np.array([EDGE_WEIGHTS[k] for k in kinds], dtype=np.float64)
    raw = kind_weight[code] * count
    # Merge repeated pairs (any kind) into one edge.
    pair = s * n + t
    pairs, where = np.unique(pair, return_inverse=True)
    merged = np.bincount(where, weights=raw, minlength=len(pairs))
    ms, mt = pairs // n, pairs % n
    out_weight = np.bincount(ms, weights=merged, minlength=n).astype(np.float64)
    vote = np.maximum(out_weight, 1.0)
    received: dict[EdgeKind, NDArray[np.int64]] = {}
    received_count: dict[EdgeKind, NDArray[np.int64]] = {}
    totals: dict[EdgeKind, int] = {}
    for k in kinds:
        mask = code == kind_code[k]
        distinct = np.unique(pair[mask])
        received[k] = np.bincount(distinct % n, minlength=n).astype(np.int64)
        counted = np.bincount(t[mask], weights=count[mask], minlength=n)
        received_count[k] = counted.round().astype(np.int64)
        totals[k] = int(count[mask].sum())
    return InteractionGraph(
        authors=tuple(int(a) for a in ids),
        sources=ms.astype(np.int64),
        targets=mt.astype(np.int64),
        weights=merged / vote[ms],
        out_weight=out_weight,
        received=received,
        received_count=received_count,
        interactions=totals,
    )


@dataclass(frozen=True, slots=True)
class Ranks:
    """PageRank of each node (summing to 1) and the floor rank of an unnoticed author."""

    pagerank: NDArray[np.float64]
    floor: float

    @property
    def lift(self) -> NDArray[np.float64]:
        lift: NDArray[np.float64] = np.maximum(self.pagerank / self.floor - 1.0, 0.0)
        return lift


def pagerank(graph: InteractionGraph, *, damping: float = DAMPING) -> Ranks:
    """Weighted PageRank with igraph (PRPACK); the unused part of a vote goes to everyone.

    An extra node receives each author's unused vote (``1 − weight`` when the
    author's interactions weigh less than 1); like every node without edges, it
    passes its rank to all nodes alike. It is dropped from the result.
    """
    import igraph

    n = graph.size
    if n == 0:
        return Ranks(pagerank=np.zeros(0), floor=0.0)
    spare = np.clip(1.0 - graph.out_weight, 0.0, None)
    spare[graph.out_weight == 0] = 0.0  # no interaction at all: a dangling node already
    leaking = np.flatnonzero(spare > 0)
    sink = n
    sources = np.concatenate([graph.sources, leaking])
    targets = np.concatenate([graph.targets, np.full(len(leaking), sink, dtype=np.int64)])
    weights = np.concatenate([graph.weights, spare[leaking]])
    edges = list(zip(sources.tolist(), targets.tolist(), strict=True))
    g = igraph.Graph(n=n + 1, edges=edges, directed=True)
    ranks = np.asarray(g.pagerank(weights=weights.tolist(), damping=damping), dtype=np.float64)
    return _ranks(ranks, graph, damping)


def pagerank_reference(
    graph: InteractionGraph, *, damping: float = DAMPING, tol: float = 1e-12
) -> Ranks:
    """The same model as :func:`pagerank` by plain power iteration (scipy sparse).

    The reference that tests and the benchmark compare igraph's result with.
    """
    from scipy import sparse

    n = graph.size
    if n == 0:
        return Ranks(pagerank=np.zeros(0), floor=0.0)
    # Transition matrix over the n authors, plus the extra node of :func:`pagerank`,
    # which receives the unused votes and, like authors without interactions, spreads
    # its rank over all n + 1 nodes.
    matrix = sparse.csr_matrix(
        (graph.weights, (graph.targets, graph.sources)), shape=(n, n), dtype=np.float64
    )
    dangling = graph.out_weight == 0
    spare = np.where(dangling, 0.0, np.clip(1.0 - graph.out_weight, 0.0, None))
    ranks = np.full(n + 1, 1.0 / (n + 1))
    for _ in range(1000):
        spread = ((1.0 - damping) + damping * (ranks[:n][dangling].sum() + ranks[n])) / (n + 1)
        new = np.empty(n + 1)
        new[:n] = damping * (matrix @ ranks[:n]) + spread
        new[n] = damping * float(spare @ ranks[:n]) + spread
        done = np.abs(new - ranks).sum() < tol
        ranks = new
        if done:
            break
    return _ranks(ranks, graph, damping)


def _ranks(ranks: NDArray[np.float64], graph: InteractionGraph, damping: float) -> Ranks:
    """Drop the extra node; the floor is what every node gets without any in-edge."""
    n = graph.size
    dangling = ranks[:n][graph.out_weight == 0].sum() + ranks[n]
    floor = ((1.0 - damping) + damping * dangling) / (n + 1)
    total = ranks[:n].sum()
    return Ranks(pagerank=ranks[:n] / total, floor=float(floor / total))


def component(name: str, raw: float) -> float:
    """A component in [0, 1]: ``min(1, log10(1 + raw) / SATURATION[name])``."""
    return min(1.0, math.log10(1.0 + max(raw, 0.0)) / SATURATION[name])


class Stance(StrEnum):
    ADVOCATE = "advocate"
    DETRACTOR = "detractor"
    NEUTRAL = "neutral"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StanceEstimate:
    stance: Stance
    analysed: int
    mean: float | None
    shrunk_mean: float | None


def stance_of(sentiments: Sequence[float]) -> StanceEstimate:
    """Advocate, detractor, neutral, or unknown below :data:`STANCE_MIN_MENTIONS`.

    ``shrunk_mean = sum / (n + STANCE_PRIOR)``: the mean of the author's sentiment
    scores pulled towards 0 as if they had also written ``STANCE_PRIOR`` neutral
    mentions, so that two mildly negative posts do not make a detractor.
    """
    n = len(sentiments)
    if n == 0:
        return StanceEstimate(Stance.UNKNOWN, 0, None, None)
    total = float(sum(sentiments))
    mean, shrunk = total / n, total / (n + STANCE_PRIOR)
    if n < STANCE_MIN_MENTIONS:
        stance = Stance.UNKNOWN
    elif shrunk >= STANCE_THRESHOLD:
        stance = Stance.ADVOCATE
    elif shrunk <= -STANCE_THRESHOLD:
        stance = Stance.DETRACTOR
    else:
        stance = Stance.NEUTRAL
    return StanceEstimate(stance, n, mean, shrunk)


@dataclass(frozen=True, slots=True)
class Influence:
    """One author's score, every input it came from, and their stance.

    ``replies_received`` counts reply interactions, ``mentioned_by`` and
    ``shared_by`` distinct authors; ``sentiment_mean`` is the shrunk mean of
    :func:`stance_of`. ``inputs`` is plain JSON-ready data: the components, the formula and the
    parameters, enough to recompute ``score`` by hand.
    """

    author_id: int
    score: float
    pagerank: float
    lift: float
    followers: int | None
    mentions: int
    engagement: int
    replies_received: int
    mentioned_by: int
    shared_by: int
    stance: Stance
    sentiment_mean: float | None
    inputs: Mapping[str, Any] = field(repr=False)


#: Names the formula and parameters below; bumped whenever one of them changes, so a
#: stored score is always explained by the model that computed it.
MODEL = "influence-1"

FORMULA = (
    "score = 100 × (0.5 × network + 0.25 × reach + 0.25 × engagement); "
    "network = min(1, log10(1 + lift) / 3), lift = pagerank / floor − 1; "
    "reach = min(1, log10(1 + followers) / 7); "
    "engagement = min(1, log10(1 + likes + shares + replies) / 5)"
)

STANCE_RULE = (
    f"shrunk_mean = sum / (n + {STANCE_PRIOR:g}); unknown if n < {STANCE_MIN_MENTIONS}; "
    f"advocate if ≥ {STANCE_THRESHOLD:g}, detractor if ≤ −{STANCE_THRESHOLD:g}, else neutral"
)


def describe() -> dict[str, Any]:
    """The formula and parameters of :data:`MODEL`, shared by every score (JSON-ready)."""
    return {
        "model": MODEL,
        "formula": FORMULA,
        "weights": dict(COMPONENT_WEIGHTS),
        "saturation_log10": dict(SATURATION),
        "edge_weights": {k.value: w for k, w in EDGE_WEIGHTS.items()},
        "damping": DAMPING,
        "stance_rule": STANCE_RULE,
    }


def _components(name: str, raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`component` over an array."""
    values: NDArray[np.float64] = np.minimum(
        1.0, np.log10(1.0 + np.maximum(raw, 0.0)) / SATURATION[name]
    )
    return values


def score_authors(
    activities: Iterable[AuthorActivity],
    interactions: Iterable[Interaction],
    *,
    damping: float = DAMPING,
) -> list[Influence]:
    """Score every author who is active or takes part in an interaction, best first."""
    by_id = {a.author_id: a for a in activities}
    graph = build_graph(interactions, by_id)
    ranks = pagerank(graph, damping=damping)
    lifts = ranks.lift
    people = [by_id.get(a) or AuthorActivity(a) for a in graph.authors]
    reach = np.array([float(a.followers or 0) for a in people], dtype=np.float64)
    engagement = np.array([float(a.engagement) for a in people], dtype=np.float64)
    names = ("network", "reach", "engagement")
    values = [_components(n, raw) for n, raw in zip(names, (lifts, reach, engagement), strict=True)]
    points = [100.0 * COMPONENT_WEIGHTS[n] * v for n, v in zip(names, values, strict=True)]
    columns = zip(
        people,
        ranks.pagerank.tolist(),
        lifts.tolist(),
        *(v.tolist() for v in values),
        *(p.tolist() for p in points),
        graph.received[EdgeKind.REPLY].tolist(),
        graph.received[EdgeKind.MENTION].tolist(),
        graph.received[EdgeKind.SHARE].tolist(),
        graph.received_count[EdgeKind.REPLY].tolist(),
        strict=True,
    )
    results = [
        _influence(
            activity,
            pagerank=pr,
            floor=ranks.floor,
            lift=lift,
            values={"network": v_net, "reach": v_reach, "engagement": v_eng},
            contributions={"network": p_net, "reach": p_reach, "engagement": p_eng},
            received=(replied_by, mentioned_by, shared_by, replies),
            damping=damping,
        )
        for (
            activity,
            pr,
            lift,
            v_net,
            v_reach,
            v_eng,
            p_net,
            p_reach,
            p_eng,
            replied_by,
            mentioned_by,
            shared_by,
            replies,
        ) in columns
    ]
    results.sort(key=lambda r: (-r.score, -r.pagerank, r.author_id))
    return results


def _influence(
    activity: AuthorActivity,
    *,
    pagerank: float,
    floor: float,
    lift: float,
    values: dict[str, float],
    contributions: dict[str, float],
    received: tuple[int, int, int, int],
    damping: float,
) -> Influence:
    replied_by, mentioned_by, shared_by, replies = received
    score = contributions["network"] + contributions["reach"] + contributions["engagement"]
    stance = stance_of(activity.sentiments)
    inputs: dict[str, Any] = {
        "model": MODEL,
        "components": {
            "network": {
                "pagerank": pagerank,
                "floor": floor,
                "lift": lift,
                "damping": damping,
                "replies_received": replies,
                "replied_by": replied_by,
                "mentioned_by": mentioned_by,
                "shared_by": shared_by,
            },
            "reach": {"followers": activity.followers},
            "engagement": {
                "likes": activity.likes,
                "shares": activity.shares,
                "replies": activity.replies,
                "total": activity.engagement,
            },
        },
        "values": values,
        "contributions": contributions,
        "stance": {
            "analysed_mentions": stance.analysed,
            "mean": stance.mean,
            "shrunk_mean": stance.shrunk_mean,
        },
        "mentions": activity.mentions,
    }
    return Influence(
        author_id=activity.author_id,
        score=score,
        pagerank=pagerank,
        lift=lift,
        followers=activity.followers,
        mentions=activity.mentions,
        engagement=activity.engagement,
        replies_received=replies,
        mentioned_by=mentioned_by,
        shared_by=shared_by,
        stance=stance.stance,
        sentiment_mean=stance.shrunk_mean,
        inputs=inputs,
    )
