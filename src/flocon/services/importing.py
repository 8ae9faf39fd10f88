"""Import of JSONL and CSV files through the ingest service, one transaction per batch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from flocon.connectors.fileimport import ParsedLine, RejectedLine, read_records
from flocon.domain.models import Draft
from flocon.services.analysis import ingest_analyzer
from flocon.services.ingest import IngestCounts, Ingestor
from flocon.services.matching import WatchMatcher
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import mentions as mq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq


@dataclass
class ImportReport:
    """Counts of an import; ``rejected`` lists (line number, reason)."""

    lines: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)

    @property
    def rejected(self) -> list[tuple[int, str]]:
        return self.counts.rejected


def load_matcher(engine: Engine, workspace_id: int) -> WatchMatcher:
    with read(engine) as conn:
        return WatchMatcher(wq.list_all(conn, workspace_id))


def import_stream(
    engine: Engine,
    workspace: str,
    stream: BinaryIO,
    *,
    fmt: Literal["jsonl", "csv"],
    mapping: Mapping[str, str] | None = None,
    default_source: tuple[str, str] = ("import", "import"),
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Read records from ``stream`` and ingest them; ``progress`` gets the bytes read so far.

    With ``settings``, matched items are analysed as they are stored (see
    ``settings.analyze_on_ingest``).
    """
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
    analyzer = ingest_analyzer(settings, ws) if settings is not None else None
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id), analyzer=analyzer)
    report = ImportReport()
    batch: list[tuple[int, Draft]] = []
    batches = 0
    for record in read_records(stream, fmt=fmt, mapping=mapping, default_source=default_source):
        report.lines += 1
        if isinstance(record, RejectedLine):
            report.counts.rejected.append((record.line, record.reason))
            continue
        assert isinstance(record, ParsedLine)
        batch.append((record.line, record.draft))
        if len(batch) >= batch_size:
            _flush(engine, ingestor, batch, report)
            batch = []
            batches += 1
            if batches & (batches - 1) == 0:  # after batch 1, 2, 4, 8...: the table grew x2
                with write(engine) as conn:
                    mq.refresh_statistics(conn)
            if progress is not None:
                progress(_position(stream))
    if batch:
        _flush(engine, ingestor, batch, report)
    if progress is not None:
        progress(_position(stream))
    report.counts.rejected.sort()
    return report


def import_file(
    engine: Engine,
    workspace: str,
    path: Path,
    *,
    fmt: Literal["jsonl", "csv"],
    mapping: Mapping[str, str] | None = None,
    source: tuple[str, str] | None = None,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Import a file; items without a source get ``("import", file name)``."""
    with path.open("rb") as stream:
        return import_stream(
            engine,
            workspace,
            stream,
            fmt=fmt,
            mapping=mapping,
            default_source=source or ("import", path.name),
            batch_size=batch_size,
            progress=progress,
            settings=settings,
        )


def _position(stream: BinaryIO) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def _flush(
    engine: Engine, ingestor: Ingestor, batch: list[tuple[int, Draft]], report: ImportReport
) -> None:
    drafts = [d for _, d in batch]
    prepared = ingestor.prepare(drafts)  # outside the transaction: it can take seconds
    for attempt in (1, 2):
        try:
            with write(engine) as conn:
                counts = ingestor.ingest_batch(conn, drafts, prepared)
            break
        except IntegrityError:
            # Another writer stored some of these items meanwhile: the retry skips them.
            if attempt == 2:
                raise
    counts.rejected = [(batch[i][0], reason) for i, reason in counts.rejected]
    report.counts.add(counts)
