"""The fetch runner: fetch due sources concurrently, store what they found, keep health.

For each source, the drafts and the new cursor are stored in ONE transaction, so a
killed process resumes from the last committed cursor without loss or duplicate
(dedup catches anything fetched twice). A failing source records its error in plain
words and a retry time; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine

from flocon.connectors.base import FetchResult, SourceSpec, StreamingConnector, supports_streaming
from flocon.connectors.http import HttpClient
from flocon.connectors.registry import get_connector
from flocon.credentials import CredentialBox
from flocon.domain.models import Draft, Source
from flocon.errors import ConnectorError, FloconError, RateLimited
from flocon.services.analysis import ingest_analyzer
from flocon.services.ingest import IngestCounts, Ingestor, Prepared
from flocon.services.matching import WatchMatcher
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import sources as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 6 * 3600
#: A streamed source is not due for polling for this long after each stored batch (its
#: stream stores at least one a minute while it runs).
STREAM_GRACE_S = 300
#: The longest pause before reopening a failing stream (one a person must fix: this too).
STREAM_MAX_BACKOFF_S = 900


@dataclass
class SourceOutcome:
    source_id: int
    name: str
    kind: str
    ok: bool
    counts: IngestCounts = field(default_factory=IngestCounts)
    fetched: int = 0
    not_modified: bool = False
    error: str | None = None
    retry_in_s: float | None = None


@dataclass
class CycleReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    seconds: float = 0.0


def _backoff_s(source: Source, error: ConnectorError) -> float:
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return max(error.retry_after, 1.0)
    every = source.every_s or 900
    if not error.retryable:
        return MAX_BACKOFF_S  # a person has to fix it; keep trying, slowly
    base = float(min(every * 2 ** min(source.consecutive_failures, 10), MAX_BACKOFF_S))
    return base * random.uniform(0.8, 1.2)


def _spec(source: Source, box: CredentialBox, token: str | None, queries: list[str]) -> SourceSpec:
    return SourceSpec(
        id=source.id,
        kind=source.kind,
        name=source.name,
        target=source.target,
        options=source.options,
        credentials=box.open(token),
        cursor=source.cursor,
        queries=queries,
    )


def _load(
    engine: Engine, box: CredentialBox, pairs: list[tuple[int, Source]]
) -> list[tuple[int, Source, SourceSpec]]:
    specs = []
    with read(engine) as conn:
        queries: dict[int, list[str]] = {}
        for ws_id, source in pairs:
            if ws_id not in queries:
                queries[ws_id] = [w.query for w in wq.list_all(conn, ws_id)]
            token = q.credentials_token(conn, source.id)
            specs.append((ws_id, source, _spec(source, box, token, queries[ws_id])))
    return specs


def _ingestor(conn: Connection, ws_id: int, settings: Settings | None) -> Ingestor:
    """The workspace's ingestor; with ``settings``, it analyses what it stores."""
    matcher = WatchMatcher(wq.list_all(conn, ws_id))
    if settings is None:
        return Ingestor(ws_id, matcher)
    return Ingestor(ws_id, matcher, analyzer=ingest_analyzer(settings, wsq.get_by_id(conn, ws_id)))


def _store_success(
    engine: Engine,
    ingestor: Ingestor,
    source: Source,
    result: FetchResult,
    now: datetime,
    prepared: Prepared | None = None,
    *,
    next_in_s: float | None = None,
) -> IngestCounts:
    """Drafts and the new cursor in one transaction, the source marked healthy and
    rescheduled ``next_in_s`` from now (default: its interval), or later when the
    result asks for it (``result.retry_after_s``)."""
    drafts = [_as_source(d, source) for d in result.drafts]
    delay = next_in_s or source.every_s or 900
    if result.retry_after_s is not None:
        delay = max(delay, result.retry_after_s)
    with write(engine) as conn:
        counts = ingestor.ingest_batch(conn, drafts, prepared) if drafts else IngestCounts()
        q.update_fields(
            conn,
            source.id,
            cursor=result.cursor,
            last_run_at=now,
            last_success_at=now,
            last_error=None,
            failing_since=None,
            consecutive_failures=0,
            last_items=len(drafts),
            next_run_at=now + timedelta(seconds=delay),
        )
    return counts


def _as_source(draft: Draft, source: Source) -> Draft:
    """Drafts are stored under the source that fetched them."""
    if draft.source_kind == source.kind and draft.source_name == source.name:
        return draft
    return replace(draft, source_kind=source.kind, source_name=source.name)


def _store_failure(
    engine: Engine, source: Source, error: ConnectorError | Exception, now: datetime
) -> float:
    if isinstance(error, ConnectorError):
        message = str(error)
        delay = _backoff_s(source, error)
    else:
        message = f"internal error in the {source.kind} connector: {type(error).__name__}: {error}"
        delay = MAX_BACKOFF_S / 6
    _record_failure(engine, source, message, delay, now)
    return delay


def _record_failure(
    engine: Engine, source: Source, message: str, delay: float, now: datetime
) -> None:
    """A failed fetch or stream in the source's health fields (failing, backing off)."""
    with write(engine) as conn:
        q.update_fields(
            conn,
            source.id,
            last_run_at=now,
            last_error=message[:2000],
            last_error_at=now,
            failing_since=source.failing_since or now,
            consecutive_failures=source.consecutive_failures + 1,
            next_run_at=now + timedelta(seconds=delay),
        )


async def run_cycle(
    engine: Engine,
    box: CredentialBox,
    http: HttpClient,
    *,
    source_ids: list[int] | None = None,
    concurrency: int = 16,
    on_done: Callable[[SourceOutcome], None] | None = None,
    skip_ids: Collection[int] = frozenset(),
    settings: Settings | None = None,
) -> CycleReport:
    """Fetch the due sources (or the given ones, due or not) once, except ``skip_ids``
    (the sources that :func:`run_stream` follows meanwhile)."""
    started = datetime.now(UTC)
    loop_start = asyncio.get_running_loop().time()
    with read(engine) as conn:
        if source_ids is None:
            pairs = q.due(conn, started)
        else:
            pairs = []
            for sid in source_ids:
                ws_id = q.workspace_of(conn, sid)
                pairs.append((ws_id, q.get(conn, ws_id, str(sid))))
    pairs = [(ws_id, source) for ws_id, source in pairs if source.id not in skip_ids]
    specs = _load(engine, box, pairs)
    ingestors: dict[int, Ingestor] = {}
    with read(engine) as conn:
        for ws_id, _, _ in specs:
            if ws_id not in ingestors:
                ingestors[ws_id] = _ingestor(conn, ws_id, settings)
    semaphore = asyncio.Semaphore(concurrency)
    report = CycleReport()

    async def one(ws_id: int, source: Source, spec: SourceSpec) -> None:
        outcome = SourceOutcome(source_id=source.id, name=source.name, kind=source.kind, ok=False)
        async with semaphore:
            try:
                result = await get_connector(source.kind).fetch(spec, http)
            except ConnectorError as exc:
                outcome.error = str(exc)
                outcome.retry_in_s = _store_failure(engine, source, exc, datetime.now(UTC))
            except Exception as exc:  # a bug in one connector must not stop the others
                logger.exception("connector %s failed on source %s", source.kind, source.id)
                outcome.error = f"internal error: {type(exc).__name__}"
                outcome.retry_in_s = _store_failure(engine, source, exc, datetime.now(UTC))
            else:
                outcome.ok = True
                outcome.fetched = len(result.drafts)
                outcome.not_modified = result.not_modified
                # Analysis (CPU-bound, seconds with the accurate profile) runs in a thread,
                # before the write transaction.
                prepared = await asyncio.to_thread(
                    ingestors[ws_id].prepare, [_as_source(d, source) for d in result.drafts]
                )
                outcome.counts = _store_success(
                    engine, ingestors[ws_id], source, result, datetime.now(UTC), prepared
                )
        report.outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    await asyncio.gather(*(one(ws_id, s, spec) for ws_id, s, spec in specs))
    report.seconds = asyncio.get_running_loop().time() - loop_start
    return report


async def preview_source(
    engine: Engine, box: CredentialBox, http: HttpClient, source: Source, workspace_id: int
) -> FetchResult:
    """One fetch, nothing stored and the cursor left as it is."""
    [(_, _, spec)] = _load(engine, box, [(workspace_id, source)])
    return await get_connector(source.kind).fetch(spec, http)


def seconds_until_next(engine: Engine) -> float:
    with read(engine) as conn:
        if q.due(conn, datetime.now(UTC)):
            return 0.0
        nxt = q.next_due_at(conn)
    if nxt is None:
        return 60.0
    return max(0.0, (nxt - datetime.now(UTC)).total_seconds())


# --------------------------------------------------------------------------- streams


def streamed_source_ids(engine: Engine) -> list[int]:
    """The scheduled, unpaused sources, of every workspace, that their connector streams."""
    ids: list[int] = []
    with read(engine) as conn:
        sources = [s for ws in wsq.list_all(conn) for s in q.list_all(conn, ws.id)]
    for source in sources:
        if source.paused or source.every_s is None:
            continue
        try:
            connector = get_connector(source.kind)
        except FloconError:
            continue  # a plugin that is not installed: run_cycle reports it
        spec = SourceSpec(source.id, source.kind, source.name, source.target, source.options)
        if supports_streaming(connector) and _streaming(connector).is_streamed(spec):
            ids.append(source.id)
    return ids


def _streaming(connector: object) -> StreamingConnector:
    assert isinstance(connector, StreamingConnector)
    return connector


def _store_batch(
    engine: Engine,
    ingestor: Ingestor,
    source: Source,
    result: FetchResult,
    now: datetime,
    prepared: Prepared | None = None,
) -> IngestCounts:
    """A stream batch: stored like a fetch, the source not due for polling while the
    stream runs."""
    grace = float(max(source.every_s or 900, STREAM_GRACE_S))
    return _store_success(engine, ingestor, source, result, now, prepared, next_in_s=grace)


def _stream_backoff_s(error: Exception, failures: int) -> float:
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return max(error.retry_after, 1.0)
    if isinstance(error, ConnectorError) and not error.retryable:
        return float(STREAM_MAX_BACKOFF_S)
    base = min(5.0 * float(2 ** min(failures, 10)), float(STREAM_MAX_BACKOFF_S))
    return base * random.uniform(0.8, 1.2)


def _store_stream_failure(
    engine: Engine, source_id: int, error: ConnectorError | Exception, now: datetime
) -> float:
    """Record a stream's failure like a fetch's (``source list``: failing, backing off)."""
    with read(engine) as conn:
        source = q.get(conn, q.workspace_of(conn, source_id), str(source_id))
    if isinstance(error, ConnectorError):
        message = str(error)
    else:
        message = f"internal error in the {source.kind} stream: {type(error).__name__}: {error}"
    delay = _stream_backoff_s(error, source.consecutive_failures)
    _record_failure(engine, source, message, delay, now)
    return delay


async def run_stream(
    engine: Engine,
    box: CredentialBox,
    http: HttpClient,
    source_id: int,
    *,
    stop: asyncio.Event,
    batch_seconds: float = 5.0,
    batch_items: int = 200,
    on_batch: Callable[[SourceOutcome], None] | None = None,
    settings: Settings | None = None,
) -> None:
    """Follow a streamed source until ``stop`` is set, storing each batch with its cursor.

    A batch being stored when ``stop`` is set is stored; the stream is then closed, and
    what it had read since is read again next time (the cursor was not moved). An error
    is recorded in the source's health fields, then the stream is reopened after a
    back-off (the source, its cursor and the watches are read again each time).
    ``on_batch`` hears of each stored batch and each failure. Returns at once when the
    source is paused, removed, or no longer streamed.
    """
    while not stop.is_set():
        try:
            with read(engine) as conn:
                ws_id = q.workspace_of(conn, source_id)
                source = q.get(conn, ws_id, str(source_id))
                ingestor = _ingestor(conn, ws_id, settings)
        except FloconError:
            logger.info("source %s is gone: its stream stops", source_id)
            return
        if source.paused:
            return
        [(_, _, spec)] = _load(engine, box, [(ws_id, source)])
        connector = get_connector(source.kind)
        if not supports_streaming(connector) or not _streaming(connector).is_streamed(spec):
            return
        consume = asyncio.create_task(
            _consume(
                engine,
                ingestor,
                source,
                _streaming(connector),
                spec,
                http,
                on_batch,
                batch_seconds=batch_seconds,
                batch_items=batch_items,
            )
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({consume, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            consume.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consume
            return
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        error = consume.exception()
        if error is None:
            continue  # the stream ended by itself: open it again
        if not isinstance(error, Exception):
            raise error
        if not isinstance(error, ConnectorError):
            logger.error(
                "the %s stream of source %s failed", source.kind, source.id, exc_info=error
            )
        delay = _store_stream_failure(engine, source.id, error, datetime.now(UTC))
        logger.warning("stream of source %s failed (%s); again in %.0f s", source.id, error, delay)
        if on_batch is not None:
            on_batch(
                SourceOutcome(
                    source_id=source.id,
                    name=source.name,
                    kind=source.kind,
                    ok=False,
                    error=str(error)
                    if isinstance(error, ConnectorError)
                    else f"internal error: {type(error).__name__}",
                    retry_in_s=delay,
                )
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await stop.wait()


async def _consume(
    engine: Engine,
    ingestor: Ingestor,
    source: Source,
    connector: StreamingConnector,
    spec: SourceSpec,
    http: HttpClient,
    on_batch: Callable[[SourceOutcome], None] | None,
    *,
    batch_seconds: float,
    batch_items: int,
) -> None:
    """Store each batch of one stream connection (storing never awaits: a cancellation
    falls between batches)."""
    stream = connector.stream(spec, http, max_seconds=batch_seconds, max_items=batch_items)
    async with contextlib.aclosing(stream):
        async for result in stream:
            prepared = await asyncio.to_thread(
                ingestor.prepare, [_as_source(d, source) for d in result.drafts]
            )
            counts = _store_batch(engine, ingestor, source, result, datetime.now(UTC), prepared)
            if on_batch is not None:
                on_batch(
                    SourceOutcome(
                        source_id=source.id,
                        name=source.name,
                        kind=source.kind,
                        ok=True,
                        counts=counts,
                        fetched=len(result.drafts),
                    )
                )
