"""Checking and repairing the rollups (per watch, and the workspace's facet rollups) against
the raw mentions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from flocon.storage.engine import read, write
from flocon.storage.queries import facets as fq
from flocon.storage.queries import rollups as rq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = ["Difference", "FacetDifference", "RollupReport", "check", "rebuild"]


@dataclass(frozen=True, slots=True)
class Difference:
    key: rq.Key
    stored: int
    expected: int


@dataclass(frozen=True, slots=True)
class FacetDifference:
    key: fq.FacetKey
    stored: int
    expected: int


@dataclass
class RollupReport:
    watches: int = 0
    buckets: int = 0
    mentions: int = 0
    differences: list[Difference] = field(default_factory=list)
    #: The workspace's facet rollups (checked when no watch is chosen).
    facet_buckets: int = 0
    facet_differences: list[FacetDifference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences and not self.facet_differences


def _facets(conn: Connection, ws_id: int, report: RollupReport) -> Counter[fq.FacetKey]:
    """Compare the workspace's facet rollups (into ``report``); the expected ones."""
    want = fq.expected(conn, ws_id)
    have = fq.stored(conn, ws_id)
    report.facet_buckets = len(want)
    for key in sorted(set(want) | set(have)):
        if want.get(key, 0) != have.get(key, 0):
            report.facet_differences.append(
                FacetDifference(key, have.get(key, 0), want.get(key, 0))
            )
    return want


def _scope(engine: Engine, workspace: str, watch: str | None) -> tuple[int, list[int]]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        if watch is not None:
            return ws.id, [wq.get_by_name(conn, ws.id, watch).id]
        return ws.id, [w.id for w in wq.list_all(conn, ws.id)]


def check(engine: Engine, workspace: str, *, watch: str | None = None) -> RollupReport:
    """Compare the stored rollups with the ones the mentions give (read-only); the facet
    rollups too when no watch is chosen."""
    ws_id, watch_ids = _scope(engine, workspace, watch)
    report = RollupReport(watches=len(watch_ids))
    with read(engine) as conn:
        for watch_id in watch_ids:
            want = rq.expected(conn, ws_id, watch_id)
            have = rq.stored(conn, ws_id, watch_id)
            report.buckets += len(want)
            report.mentions += sum(n for k, n in want.items() if k.bucket_s == rq.BUCKETS[-1])
            for key in sorted(set(want) | set(have)):
                if want.get(key, 0) != have.get(key, 0):
                    report.differences.append(Difference(key, have.get(key, 0), want.get(key, 0)))
        if watch is None:
            _facets(conn, ws_id, report)
    return report


def rebuild(engine: Engine, workspace: str, *, watch: str | None = None) -> RollupReport:
    """Replace the rollups with the ones the mentions give, one transaction per watch (and
    one for the facet rollups, when no watch is chosen)."""
    ws_id, watch_ids = _scope(engine, workspace, watch)
    report = RollupReport(watches=len(watch_ids))
    for watch_id in watch_ids:
        with write(engine) as conn:
            want = rq.expected(conn, ws_id, watch_id)
            have = rq.stored(conn, ws_id, watch_id)
            for key in sorted(set(want) | set(have)):
                if want.get(key, 0) != have.get(key, 0):
                    report.differences.append(Difference(key, have.get(key, 0), want.get(key, 0)))
            rq.replace(conn, [watch_id], want)
        report.buckets += len(want)
        report.mentions += sum(n for k, n in want.items() if k.bucket_s == rq.BUCKETS[-1])
    if watch is None:
        with write(engine) as conn:
            fq.replace(conn, ws_id, _facets(conn, ws_id, report))
    return report
