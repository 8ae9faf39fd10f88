"""Benchmark: influence scoring on the Higgs Twitter graph (SNAP), about 511,000 edges.

The three edge lists of ``../shared/datasets/higgs-twitter`` (retweet → share, reply,
mention; "A B w": A acted on B w times) go through :mod:`flocon.analysis.influence`
as they would from stored mentions. Timed, best of ``--repeat``:

* graph build (``build_graph``: ids to nodes, repeated pairs merged, votes);
* PageRank with igraph (PRPACK) on that graph;
* the whole scoring (``score_authors``: build + PageRank + every author's score,
  stance and explainable inputs);
* baselines of the same run on the same graph and model: plain power iteration with
  scipy sparse matrices (``pagerank_reference``), and networkx's weighted PageRank
  when networkx is installed (its own model: weights only split a vote).

Usage: ``.venv/bin/python benchmarks/bench_influence.py [--data DIR] [--repeat N]``
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flocon.analysis.influence import (
    EdgeKind,
    Interaction,
    build_graph,
    pagerank,
    pagerank_reference,
    score_authors,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "higgs-twitter"
FILES = {
    EdgeKind.SHARE: "higgs-retweet_network.edgelist.gz",
    EdgeKind.REPLY: "higgs-reply_network.edgelist.gz",
    EdgeKind.MENTION: "higgs-mention_network.edgelist.gz",
}


def load(folder: Path) -> list[Interaction]:
    interactions: list[Interaction] = []
    for kind, name in FILES.items():
        with gzip.open(folder / name, "rb") as fh:
            table = np.array(fh.read().split(), dtype=np.int64).reshape(-1, 3)
        interactions.extend(Interaction(int(a), int(b), kind, int(w)) for a, b, w in table.tolist())
    return interactions


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    started = time.perf_counter()
    interactions = load(args.data)
    print(f"loaded {len(interactions):,} edges in {time.perf_counter() - started:.2f} s")

    build_s, graph = best(lambda: build_graph(interactions), args.repeat)
    rank_s, ranks = best(lambda: pagerank(graph), args.repeat)
    score_s, results = best(lambda: score_authors([], interactions), args.repeat)
    ref_s, reference = best(lambda: pagerank_reference(graph, tol=1e-10), args.repeat)

    print(
        f"edges: {len(interactions):,} lines, "
        f"{graph.edge_count:,} after merging pairs; nodes: {graph.size:,}"
    )
    print(f"graph build:                 {build_s:7.3f} s")
    print(f"PageRank (igraph, PRPACK):   {rank_s:7.3f} s")
    print(
        f"whole scoring:               {score_s:7.3f} s "
        f"({len(results):,} authors, {len(results) / score_s:,.0f} authors/s)"
    )
    print(f"baseline power iteration:    {ref_s:7.3f} s (scipy sparse, same model)")
    print(f"ratio baseline / igraph:     ×{ref_s / rank_s:.1f}")
    diff = np.abs(ranks.pagerank - reference.pagerank).max() / ranks.pagerank.max()
    top_fast = set(np.argsort(-ranks.pagerank)[:100].tolist())
    top_ref = set(np.argsort(-reference.pagerank)[:100].tolist())
    print(
        f"agreement: max difference {diff:.1e} of the top rank; "
        f"top-100 overlap {len(top_fast & top_ref)}/100"
    )
    try:
        import networkx as nx
    except ImportError:
        print("networkx: not installed (skipped)")
    else:

        def networkx_rank() -> Any:
            g = nx.DiGraph()
            g.add_weighted_edges_from(
                zip(
                    graph.sources.tolist(),
                    graph.targets.tolist(),
                    graph.weights.tolist(),
                    strict=True,
                )
            )
            return nx.pagerank(g, alpha=0.85, weight="weight")

        nx_s, _ = best(networkx_rank, 1)
        print(f"networkx build + PageRank:   {nx_s:7.3f} s (ratio ×{nx_s / rank_s:.1f})")
    print("top 5 authors (Higgs user id: score, lift, shared/replied/mentioned by):")
    for r in results[:5]:
        print(
            f"  {r.author_id}: {r.score:.1f}, lift {r.lift:,.0f}, "
            f"{r.shared_by:,}/{r.inputs['components']['network']['replied_by']:,}/"
            f"{r.mentioned_by:,}"
        )


if __name__ == "__main__":
    main()
