"""Replay timestamped items through ingest, analysis, rollups and detectors with a simulated
clock taken from ``published_at``: a week of history replays in seconds.

:func:`run_clock` is the loop itself, on any database and workspace: at each step of the
simulated clock the items published before it are ingested (analysed, matched, rolled up) and
the detectors run at that moment. ``flocon replay`` (:func:`replay`) runs it in its own SQLite
database (a throw-away file), so the user's data is never touched; ``flocon demo``
(flocon.services.demo) runs it to fill the demo database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from flocon.connectors.fileimport import ParsedLine, RejectedLine, detect_format, read_records
from flocon.domain.models import Draft
from flocon.errors import ConfigError
from flocon.services import signals
from flocon.services import watches as watches_svc
from flocon.services.analysis import ingest_analyzer
from flocon.services.importing import load_matcher
from flocon.services.ingest import IngestCounts, Ingestor
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine, read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions

__all__ = ["ReplayReport", "Tick", "read_drafts", "replay", "run_clock", "ticks_after"]


@dataclass
class ReplayReport:
    items: int = 0
    rejected: int = 0
    evaluations: int = 0
    events: int = 0
    span: timedelta = timedelta(0)


@dataclass(frozen=True)
class Tick:
    """One step of the simulated clock: what was ingested before ``now``, what the detectors
    said at ``now``. ``done`` counts the drafts ingested so far, this step's included."""

    now: datetime
    done: int
    counts: IngestCounts = field(default_factory=IngestCounts)
    events: list[signals.AlertEvent] = field(default_factory=list)


def read_drafts(file: Path) -> tuple[list[Draft], int]:
    """The dated drafts of an import file, oldest first, and how many records were rejected
    (unreadable, or without ``published_at``)."""
    fmt = detect_format(file.name) if file.suffix else "jsonl"
    drafts: list[Draft] = []
    rejected = 0
    with file.open("rb") as stream:
        for record in read_records(stream, fmt=fmt, default_source=("replay", "replay")):
            if isinstance(record, RejectedLine):
                rejected += 1
                continue
            assert isinstance(record, ParsedLine)
            if record.draft.published_at is None:
                rejected += 1
                continue
            drafts.append(record.draft)
    drafts.sort(key=lambda d: d.published_at or datetime.min.replace(tzinfo=UTC))
    return drafts, rejected


def ticks_after(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """``flocon replay``'s clock: from the first multiple of ``step`` after ``start`` to
    ``end + step``, so that the last items are seen once more after they arrived."""
    step_s = int(step.total_seconds())
    ts = int(start.timestamp())
    now = datetime.fromtimestamp(ts - ts % step_s + step_s, UTC)
    ticks: list[datetime] = []
    while now <= end + step:
        ticks.append(now)
        now += step
    return ticks


def run_clock(
    engine: Engine,
    settings: Settings,
    workspace: str,
    drafts: Sequence[Draft],
    ticks: Sequence[datetime],
) -> Iterator[Tick]:
    """At each of ``ticks`` (ascending), ingest the ``drafts`` (sorted by ``published_at``)
    published before it into ``workspace``, then run its detectors at that moment.

    Ingest analyses with the workspace's analyzer (``settings.analyze_on_ingest``), matches the
    workspace's watches and updates the rollups, as live ingest does. Drafts published at or
    after the last tick are not ingested.
    """
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id), analyzer=ingest_analyzer(settings, ws))
    index = 0
    for now in ticks:
        batch: list[Draft] = []
        while index < len(drafts) and (drafts[index].published_at or now) < now:
            batch.append(drafts[index])
            index += 1
        counts = IngestCounts()
        if batch:
            prepared = ingestor.prepare(batch)
            with write(engine) as conn:
                counts = ingestor.ingest_batch(conn, batch, prepared)
        events = signals.evaluate(engine, settings, workspace, now=now)
        yield Tick(now=now, done=index, counts=counts, events=events)


def replay(
    file: Path,
    watches: Sequence[tuple[str, str]],
    *,
    database: Path,
    step: timedelta = timedelta(minutes=5),
    profile: str | None = "fast",
    emit: Callable[[signals.AlertEvent, dict[int, str], datetime], None],
) -> ReplayReport:
    """Feed ``file`` through the pipeline; ``emit(event, external_ids, now)`` for each signal."""
    if not watches:
        raise ConfigError("give at least one watch: --watch NAME=QUERY")
    drafts, rejected = read_drafts(file)
    report = ReplayReport(items=len(drafts), rejected=rejected)
    if not drafts:
        return report
    settings = Settings(
        database_url=f"sqlite:///{database}",
        sentiment_profile=profile,  # type: ignore[arg-type]
    )
    engine = build_engine(settings)
    try:
        migrate.upgrade(engine)
        for name, query in watches:
            watches_svc.add_watch(engine, "default", name=name, query=query)
        start, end = drafts[0].published_at, drafts[-1].published_at
        assert start is not None and end is not None
        report.span = end - start
        external: dict[int, str] = {}
        done = 0
        for tick in run_clock(engine, settings, "default", drafts, ticks_after(start, end, step)):
            if tick.done > done:
                done = tick.done
                with read(engine) as conn:
                    rows = conn.execute(
                        select(mentions.c.id, mentions.c.external_id).where(
                            mentions.c.id > (max(external) if external else 0)
                        )
                    )
                    external.update((int(i), str(e)) for i, e in rows)
            report.evaluations += 1
            for event in tick.events:
                report.events += 1
                emit(event, external, tick.now)
        return report
    finally:
        engine.dispose()
