"""Checking and repairing the rollups against the raw mentions."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from flocon.storage.engine import read, write
from flocon.storage.queries import rollups as rq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = ["Difference", "RollupReport", "check", "rebuild"]


@dataclass(frozen=True, slots=True)
class Difference:
    key: rq.Key
    stored: int
    expected: int


@dataclass
class RollupReport:
    watches: int = 0
    buckets: int = 0
    mentions: int = 0
    differences: list[Difference] = field(default_factory=list)


def _scope(engine: Engine, workspace: str, watch: str | None) -> tuple[int, list[int]]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        if watch is not None:
            return ws.id, [wq.get_by_name(conn, ws.id, watch).id]
        return ws.id, [w.id for w in wq.list_all(conn, ws.id)]


def check(engine: Engine, workspace: str, *, watch: str | None = None) -> RollupReport:
    """Compare the stored rollups with the ones the mentions give (read-only)."""
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
    return report


def rebuild(engine: Engine, workspace: str, *, watch: str | None = None) -> RollupReport:
    """Replace the rollups with the ones the mentions give, one transaction per watch."""
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
    return report
