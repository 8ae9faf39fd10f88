"""Replay timestamped items through ingest, analysis, rollups and detectors with a simulated
clock taken from ``published_at``: a week of history replays in seconds.

The replay runs in its own SQLite database (a throw-away file): the user's data is never
touched. Items are sorted by time; at each step of the simulated clock the items published
before it are ingested (analysed, matched, rolled up) and the detectors run at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from flocon.connectors.fileimport import ParsedLine, RejectedLine, detect_format, read_records
from flocon.domain.models import Draft
from flocon.errors import ConfigError
from flocon.services import signals
from flocon.services import watches as watches_svc
from flocon.services.analysis import ingest_analyzer
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine, read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions

__all__ = ["ReplayReport", "replay"]


@dataclass
class ReplayReport:
    items: int = 0
    rejected: int = 0
    evaluations: int = 0
    events: int = 0
    span: timedelta = timedelta(0)


def _read(file: Path) -> tuple[list[Draft], int]:
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
    drafts, rejected = _read(file)
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
        with read(engine) as conn:
            ws = wsq.get_by_name(conn, "default")
        ingestor = Ingestor(
            ws.id, load_matcher(engine, ws.id), analyzer=ingest_analyzer(settings, ws)
        )
        start = drafts[0].published_at
        assert start is not None
        step_s = int(step.total_seconds())
        ts = int(start.timestamp())
        now = datetime.fromtimestamp(ts - ts % step_s + step_s, UTC)
        end = drafts[-1].published_at
        assert end is not None
        report.span = end - start
        external: dict[int, str] = {}
        index = 0
        while index < len(drafts) or now <= end + step:
            batch: list[Draft] = []
            while index < len(drafts) and (drafts[index].published_at or now) < now:
                batch.append(drafts[index])
                index += 1
            if batch:
                prepared = ingestor.prepare(batch)
                with write(engine) as conn:
                    ingestor.ingest_batch(conn, batch, prepared)
                    rows = conn.execute(
                        select(mentions.c.id, mentions.c.external_id).where(
                            mentions.c.id > (max(external) if external else 0)
                        )
                    )
                    external.update((int(i), str(e)) for i, e in rows)
            events = signals.evaluate(engine, settings, "default", now=now)
            report.evaluations += 1
            for event in events:
                report.events += 1
                emit(event, external, now)
            if index >= len(drafts) and now > end + step:
                break
            now += step
        return report
    finally:
        engine.dispose()
