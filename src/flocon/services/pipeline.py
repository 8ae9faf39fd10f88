"""The long-running loop of one process: read the sources that are due, follow the streamed
ones, run the detectors and alert deliveries, and the inbox check (rules, suggested cases,
escalation), until told to stop.

``flocon fetch`` runs it in the foreground; ``flocon run`` runs it beside the web app in the
same event loop. It returns once ``stop`` is set, after the batch in flight is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import Engine

from flocon.connectors.http import build_http_client
from flocon.credentials import CredentialBox
from flocon.services import alerting, fetching
from flocon.services.cases import automation
from flocon.settings import Settings

__all__ = ["run_pipeline"]


async def _until_stopped(
    work: Coroutine[Any, Any, fetching.CycleReport], stop: asyncio.Event
) -> fetching.CycleReport | None:
    """``work``'s result, or None when ``stop`` is set first (``work`` is then cancelled)."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopping):
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    return task.result() if not task.cancelled() else None


async def run_pipeline(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    *,
    alerts: bool = True,
    on_outcome: Callable[[fetching.SourceOutcome], None] | None = None,
    on_batch: Callable[[fetching.SourceOutcome], None] | None = None,
    on_cycle: Callable[[fetching.CycleReport], None] | None = None,
    on_alerts: Callable[[alerting.CheckReport], None] | None = None,
) -> None:
    """Fetch, follow streams and alert until ``stop`` is set.

    ``on_outcome`` sees each polled source's outcome, ``on_batch`` each streamed batch,
    ``on_cycle`` each finished scheduling cycle, ``on_alerts`` each detector run's report.
    New mentions wake the detectors at once instead of at their next minute, and the inbox
    check (:func:`flocon.services.cases.automation.inbox_loop`, which runs with the alerts).
    """
    box = CredentialBox(settings)
    wake = asyncio.Event()
    inbox_wake = asyncio.Event()

    def outcome(o: fetching.SourceOutcome) -> None:
        if o.ok and o.counts.new:
            wake.set()
            inbox_wake.set()
        if on_outcome is not None:
            on_outcome(o)

    def batch(o: fetching.SourceOutcome) -> None:
        if o.ok and o.counts.new:
            wake.set()
            inbox_wake.set()
        if on_batch is not None:
            on_batch(o)

    tasks: dict[int, asyncio.Task[None]] = {}
    if alerts:
        tasks[-1] = asyncio.create_task(
            alerting.watch_loop(engine, settings, stop, wake, on_report=on_alerts)
        )
        tasks[-2] = asyncio.create_task(automation.inbox_loop(engine, settings, stop, inbox_wake))
    try:
        async with build_http_client(settings) as http:
            while not stop.is_set():
                for sid in fetching.streamed_source_ids(engine):
                    if sid not in tasks or tasks[sid].done():
                        tasks[sid] = asyncio.create_task(
                            fetching.run_stream(
                                engine,
                                box,
                                http,
                                sid,
                                stop=stop,
                                on_batch=batch,
                                settings=settings,
                            )
                        )
                running = {sid for sid, task in tasks.items() if not task.done()}
                report = await _until_stopped(
                    fetching.run_cycle(
                        engine,
                        box,
                        http,
                        concurrency=settings.fetch_concurrency,
                        on_done=outcome,
                        skip_ids=running,
                        settings=settings,
                    ),
                    stop,
                )
                if report is None:
                    break
                if on_cycle is not None:
                    on_cycle(report)
                pause = max(1.0, min(fetching.seconds_until_next(engine), 60.0))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
