"""Benchmark: alert latency, from an item's ingest to the webhook received by a local receiver.

Embedded mode: one process, SQLite, the same pieces `flocon fetch` runs — an ingest batch
stored (analysis, matching, rollups) wakes :func:`flocon.services.alerting.watch_loop`, which
runs every detector of the workspace, stores the alert and its delivery, and sends the signed
webhook to a ``http.server`` on 127.0.0.1. The rule listens for ``influencer`` alerts, which
fire on a single mention, so each measured item opens exactly one alert.

Timed for each of ``--items`` items: from just before ``ingest_batch`` (analysis included)
to the moment the receiver has read the request. Baseline in the same run: the bare signed
webhook POST to the same receiver (the channel alone), so the ratio shows what detection and
storage add. A background of ordinary mentions (``--background``) is stored first so the
detectors read real history.

Usage: ``.venv/bin/python benchmarks/bench_alert_latency.py [--items 50] [--background 2000]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET = "benchmark-secret-0123456789"


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.perf_counter()
                self.send_response(204)
                self.end_headers()
                import json

                data = json.loads(body)
                ids = [str(i) for i in data.get("evidence") or []] or [str(data.get("marker"))]
                with receiver.cond:
                    for key in ids:
                        receiver.arrived.setdefault(key, now)
                    receiver.cond.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, key: str, timeout: float = 30.0) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrived[key]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--background", type=int, default=2000)
    parser.add_argument("--profile", default=None, help="sentiment profile (default: auto)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="flocon-latency-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    from flocon.alerting.channels import Message, channel_from_spec
    from flocon.domain.models import AuthorRef, Draft
    from flocon.services import alerting
    from flocon.services import watches as watches_svc
    from flocon.services.analysis import ingest_analyzer
    from flocon.services.importing import load_matcher
    from flocon.services.ingest import Ingestor
    from flocon.settings import Settings
    from flocon.storage import migrate
    from flocon.storage.engine import build_engine, read, write
    from flocon.storage.queries import workspaces as wsq

    receiver = Receiver()
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'flocon.db'}",
        sentiment_profile=args.profile,
        webhook_secret=SECRET,
        allow_private_addresses=True,
    )
    engine = build_engine(settings)
    migrate.upgrade(engine)
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    alerting.add_rule(
        engine,
        settings,
        "default",
        alerting.RuleSpec(
            name="vip",
            channels=[f"webhook:{receiver.url}"],
            signals=["influencer"],
            cooldown_s=0,
        ),
    )
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id), analyzer=ingest_analyzer(settings, ws))
    now = datetime.now(UTC)
    background = [
        Draft(
            external_id=f"bg{i}",
            text=f"Acme order {i} arrived, fine",
            published_at=now - timedelta(days=7) + timedelta(seconds=300 * i),
            source_kind="forum",
            source_name="forum.example",
            author=AuthorRef(handle=f"user{i % 300}", followers=50),
        )
        for i in range(args.background)
    ]
    for start in range(0, len(background), 500):
        batch = background[start : start + 500]
        prepared = ingestor.prepare(batch)
        with write(engine) as conn:
            ingestor.ingest_batch(conn, batch, prepared)

    # The baseline: the channel alone.
    channel = channel_from_spec(f"webhook:{receiver.url}", settings)
    bare: list[float] = []
    for i in range(args.items):
        t0 = time.perf_counter()
        channel.send(Message(subject="x", text="x", payload={"marker": f"bare{i}"}))
        arrived = receiver.wait(f"bare{i}")
        assert arrived is not None
        bare.append(arrived - t0)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    wake = asyncio.Event()
    runner = threading.Thread(
        target=loop.run_until_complete,
        args=(alerting.watch_loop(engine, settings, stop, wake, every_s=60.0),),
        daemon=True,
    )
    runner.start()
    time.sleep(1.0)  # the first (empty) check
    latencies: list[float] = []
    missed = 0
    for i in range(args.items):
        marker = f"vip{i}"
        draft = Draft(
            external_id=marker,
            text=f"Acme just cancelled my order {i} without a word",
            published_at=datetime.now(UTC),
            source_kind="forum",
            source_name="forum.example",
            author=AuthorRef(handle=f"star{i}", followers=250_000),
        )
        t0 = time.perf_counter()
        prepared = ingestor.prepare([draft])
        with write(engine) as conn:
            ingestor.ingest_batch(conn, [draft], prepared)
        with read(engine) as conn:
            from sqlalchemy import select

            from flocon.storage.tables import mentions

            mention_id = conn.execute(
                select(mentions.c.id).where(mentions.c.external_id == marker)
            ).scalar_one()
        loop.call_soon_threadsafe(wake.set)
        arrived = receiver.wait(str(mention_id))
        if arrived is None:
            missed += 1
            continue
        latencies.append(arrived - t0)
    loop.call_soon_threadsafe(stop.set)
    runner.join(timeout=30)
    receiver.server.shutdown()

    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python {platform.python_version()}"
    )
    print(
        f"alert latency, ingest -> webhook received ({args.items} items, "
        f"{args.background} background mentions, profile {settings.sentiment_profile or 'auto'}):"
    )
    print(
        f"  flocon   p50 {statistics.median(latencies) * 1000:8.1f} ms   "
        f"p95 {pct(latencies, 0.95) * 1000:8.1f} ms   max {max(latencies) * 1000:8.1f} ms   "
        f"missed {missed}"
    )
    print(
        f"  bare POST p50 {statistics.median(bare) * 1000:7.1f} ms   "
        f"p95 {pct(bare, 0.95) * 1000:8.1f} ms"
    )
    print(f"  ratio p95 flocon / bare POST: {pct(latencies, 0.95) / pct(bare, 0.95):.0f}x")
    print("  target: p95 < 5 s:", "met" if pct(latencies, 0.95) < 5.0 and not missed else "NOT met")


if __name__ == "__main__":
    main()
