"""Influence scores on hand-built graphs: rankings, explainability, stance thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flocon.analysis.influence import (
    COMPONENT_WEIGHTS,
    DAMPING,
    EDGE_WEIGHTS,
    MODEL,
    SATURATION,
    STANCE_PRIOR,
    AuthorActivity,
    EdgeKind,
    Interaction,
    Stance,
    build_graph,
    component,
    describe,
    pagerank,
    pagerank_reference,
    score_authors,
    stance_of,
)

R, M, S = EdgeKind.REPLY, EdgeKind.MENTION, EdgeKind.SHARE


def ranking(
    interactions: list[Interaction], activities: list[AuthorActivity] | None = None
) -> list[int]:
    return [r.author_id for r in score_authors(activities or [], interactions)]


def test_the_hub_everyone_replies_to_ranks_first() -> None:
    star = [Interaction(n, 1, R) for n in range(2, 12)]
    order = ranking([*star, Interaction(1, 2, R)])
    assert order[0] == 1
    assert order[1] == 2  # the one the hub answers gets the hub's whole vote


def test_attention_from_an_influential_author_is_worth_more() -> None:
    # 10 and 20 get one reply each; 10's comes from an author many reply to.
    edges = [Interaction(n, 1, R) for n in range(100, 110)]
    edges += [Interaction(1, 10, R), Interaction(2, 20, R)]
    results = {r.author_id: r for r in score_authors([], edges)}
    assert results[10].pagerank > results[20].pagerank
    assert results[10].score > results[20].score


def test_edge_kinds_weigh_a_share_above_a_reply_above_a_mention() -> None:
    edges = [Interaction(1, 10, S), Interaction(2, 20, R), Interaction(3, 30, M)]
    assert ranking(edges)[:3] == [10, 20, 30]
    lifts = {r.author_id: r.lift for r in score_authors([], edges)}
    # A vote from an author nobody points to lifts by DAMPING × the edge's weight.
    assert lifts[10] == pytest.approx(DAMPING * EDGE_WEIGHTS[S])
    assert lifts[20] == pytest.approx(DAMPING * EDGE_WEIGHTS[R])
    assert lifts[30] == pytest.approx(DAMPING * EDGE_WEIGHTS[M])


def test_interacting_more_splits_a_vote_rather_than_adding_to_it() -> None:
    spammer = [Interaction(1, t, S) for t in range(10, 20)]
    results = {r.author_id: r for r in score_authors([], [*spammer, Interaction(2, 50, S)])}
    assert results[50].lift == pytest.approx(DAMPING)
    assert results[10].lift == pytest.approx(DAMPING / 10)


def test_repeated_interactions_add_up_to_one_vote() -> None:
    once = {r.author_id: r.lift for r in score_authors([], [Interaction(1, 2, M)])}
    twice = {r.author_id: r.lift for r in score_authors([], [Interaction(1, 2, M, times=2)])}
    thrice = {r.author_id: r.lift for r in score_authors([], [Interaction(1, 2, M, times=3)])}
    assert once[2] < twice[2] == pytest.approx(thrice[2]) == pytest.approx(DAMPING)


def test_self_interactions_and_lone_authors_have_no_network_weight() -> None:
    results = score_authors([AuthorActivity(5, mentions=3)], [Interaction(1, 1, R)])
    assert [r.author_id for r in results] == [5]  # the self-reply adds no author
    assert results[0].lift == 0.0 and results[0].score == 0.0


def test_reach_and_engagement_rank_authors_without_a_network() -> None:
    activities = [
        AuthorActivity(1, followers=100),
        AuthorActivity(2, followers=1_000_000),
        AuthorActivity(3, followers=100, likes=50),
    ]
    assert ranking([], activities) == [2, 3, 1]


def test_igraph_agrees_with_the_reference_power_iteration() -> None:
    rng = np.random.default_rng(7)
    edges = [
        Interaction(int(a), int(b), list(EdgeKind)[int(k)], int(c))
        for a, b, k, c in zip(
            rng.integers(0, 300, 2000),
            rng.integers(0, 300, 2000),
            rng.integers(0, 3, 2000),
            rng.integers(1, 4, 2000),
            strict=True,
        )
    ]
    graph = build_graph(edges, range(300, 320))
    fast, reference = pagerank(graph), pagerank_reference(graph)
    assert fast.pagerank.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(fast.pagerank, reference.pagerank, rtol=1e-6, atol=1e-12)
    assert fast.floor == pytest.approx(reference.floor, rel=1e-6)
    # The 20 authors nobody interacts with sit exactly at the floor.
    assert np.allclose(fast.lift[-20:], 0.0, atol=1e-9)


def test_the_inputs_reproduce_the_score() -> None:
    activities = [
        AuthorActivity(1, followers=12_345, mentions=4, likes=30, shares=5, replies=7),
        AuthorActivity(2, followers=None, mentions=1, likes=2),
    ]
    edges = [Interaction(2, 1, R), Interaction(3, 1, M), Interaction(4, 1, S), Interaction(1, 2, R)]
    for result in score_authors(activities, edges):
        inputs = result.inputs
        parts = inputs["components"]
        network = parts["network"]
        lift = network["pagerank"] / network["floor"] - 1
        assert lift == pytest.approx(network["lift"], abs=1e-12)
        followers = parts["reach"]["followers"] or 0
        engagement = parts["engagement"]["likes"] + parts["engagement"]["shares"]
        engagement += parts["engagement"]["replies"]
        assert engagement == parts["engagement"]["total"] == result.engagement
        values = {
            "network": min(1, math.log10(1 + max(lift, 0)) / SATURATION["network"]),
            "reach": min(1, math.log10(1 + followers) / SATURATION["reach"]),
            "engagement": min(1, math.log10(1 + engagement) / SATURATION["engagement"]),
        }
        by_hand = 100 * sum(COMPONENT_WEIGHTS[k] * v for k, v in values.items())
        assert by_hand == pytest.approx(result.score, abs=1e-9)
        assert sum(inputs["contributions"].values()) == pytest.approx(result.score)
        assert inputs["model"] == MODEL
    first = {r.author_id: r for r in score_authors(activities, edges)}[1]
    assert (first.replies_received, first.mentioned_by, first.shared_by) == (1, 1, 1)


def test_the_model_description_holds_the_formula_and_parameters() -> None:
    described = describe()
    assert described["model"] == MODEL
    assert described["weights"] == dict(COMPONENT_WEIGHTS)
    assert described["edge_weights"] == {k.value: w for k, w in EDGE_WEIGHTS.items()}
    assert "log10" in described["formula"] and "shrunk_mean" in described["stance_rule"]


def test_components_saturate_at_one() -> None:
    assert component("reach", 0) == 0.0
    assert component("reach", 10**7 - 1) == pytest.approx(1.0)
    assert component("reach", 10**9) == 1.0
    assert component("network", 999) == pytest.approx(1.0)
    assert sum(COMPONENT_WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("sentiments", "expected"),
    [
        ((), Stance.UNKNOWN),
        ((-1.0,), Stance.UNKNOWN),  # one post is not a history
        ((0.9, 0.8), Stance.ADVOCATE),  # 1.7 / 5 = 0.34
        ((0.6, 0.6), Stance.NEUTRAL),  # 1.2 / 5 = 0.24: shrunk below the threshold
        ((-0.8, -0.8), Stance.DETRACTOR),
        ((-0.9, 0.9, -0.9, 0.9), Stance.NEUTRAL),
        ((0.5,) * 20, Stance.ADVOCATE),  # a long, mildly positive history
        ((0.2,) * 50, Stance.NEUTRAL),
    ],
)
def test_stance_thresholds(sentiments: tuple[float, ...], expected: Stance) -> None:
    assert stance_of(sentiments).stance is expected


def test_stance_shrinks_towards_neutral() -> None:
    estimate = stance_of((-0.5, -0.5, -0.5))
    assert estimate.mean == pytest.approx(-0.5)
    assert estimate.shrunk_mean == pytest.approx(-1.5 / (3 + STANCE_PRIOR))
    assert estimate.stance is Stance.NEUTRAL  # −0.25: not beyond −0.3
    assert stance_of((-0.6,) * 4).stance is Stance.DETRACTOR  # −2.4 / 7 ≈ −0.34


def test_an_author_s_stance_comes_with_the_score() -> None:
    [result] = score_authors([AuthorActivity(1, mentions=3, sentiments=(-0.9, -0.7, -0.8))], [])
    assert result.stance is Stance.DETRACTOR
    assert result.inputs["stance"]["analysed_mentions"] == 3
    assert result.sentiment_mean == pytest.approx(-2.4 / 6)


def test_an_empty_scope_scores_nobody() -> None:
    assert score_authors([], []) == []
