"""Import benchmark: 100,000 real items into SQLite and PostgreSQL, dedup and matching included.

Baseline in the same run, on the same backend: a bare ``executemany`` INSERT of the
same texts into a table with one index, in the same batches (what storing alone
costs). The ratio shows what normalisation, dedup, matching and the full-text index
add on top of storing.

Run: ``.venv/bin/python benchmarks/bench_import.py [--items N] [--watches N]``;
PostgreSQL is measured when ``FLOCON_TEST_POSTGRES_URL`` is set (``make bench`` sets it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_matching import make_watches
from corpus import DEFAULT_DATASETS, load_items
from flocon.services import importing, watches
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine

BATCH = int(os.environ.get("FLOCON_BENCH_BATCH", "1000"))


def baseline(engine: Engine, items: list[dict[str, object]]) -> float:
    """Rows/s of a bare batched INSERT of the same items."""
    meta = MetaData()
    table = Table(
        "bench_baseline",
        meta,
        Column("id", Integer, primary_key=True),
        Column("external_id", String(100), nullable=False, unique=True),
        Column("text", Text, nullable=False),
    )
    meta.create_all(engine)
    start = time.perf_counter()
    for i in range(0, len(items), BATCH):
        rows = [{"external_id": it["id"], "text": it["text"]} for it in items[i : i + BATCH]]
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
    elapsed = time.perf_counter() - start
    meta.drop_all(engine)
    return len(items) / elapsed


def run(
    label: str,
    url: str,
    data: Path,
    items: list[dict[str, object]],
    n_watches: int,
    *,
    analyze: str | None = None,
) -> None:
    """Import into a fresh database; with ``analyze`` (a profile), matched items are analysed."""
    settings = Settings(database_url=url, sentiment_profile=analyze) if analyze else None
    engine = build_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    for name, query in make_watches(n_watches):
        watches.add_watch(engine, "default", name=name, query=str(query))
    base = baseline(engine, items)
    start = time.perf_counter()
    report = importing.import_file(
        engine, "default", data, fmt="jsonl", batch_size=BATCH, settings=settings
    )
    elapsed = time.perf_counter() - start
    c = report.counts
    rate = len(items) / elapsed
    print(
        f"{label:<10} import {rate:,.0f} items/s ({elapsed:.1f} s; new {c.new}, duplicate "
        f"{c.duplicate}, unmatched {c.unmatched}, rejected {len(c.rejected)})"
    )
    print(f"{label:<10} baseline bare INSERT {base:,.0f} rows/s; import/baseline {rate / base:.2f}")
    start = time.perf_counter()
    again = importing.import_file(engine, "default", data, fmt="jsonl", batch_size=BATCH)
    elapsed = time.perf_counter() - start
    print(
        f"{label:<10} re-import {len(items) / elapsed:,.0f} items/s "
        f"(already stored {again.counts.already_stored})"
    )
    watches.add_watch(
        engine,
        "default",
        name="backfill-probe",
        query='(help OR aide) NEAR/3 (fire* OR "service client")',
    )
    start = time.perf_counter()
    result = watches.backfill_watch(engine, "default", "backfill-probe")
    elapsed = time.perf_counter() - start
    print(
        f"{label:<10} backfill of a new watch over {result.scanned} stored items: "
        f"{result.scanned / elapsed:,.0f} items/s ({result.linked} linked)"
    )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=100)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--analyze",
        choices=["fast", "accurate"],
        help="also import into SQLite with analysis on ingest (this profile), same items",
    )
    args = parser.parse_args()
    print(f"date       {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine    {platform.platform()} / {os.cpu_count()} cpus")
    items = load_items(args.items, args.datasets)
    print(f"items      {len(items)} real texts; watches {args.watches}; batch {BATCH}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "items.jsonl"
        with data.open("w", encoding="utf-8") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        run("sqlite", f"sqlite:///{tmp}/bench.db", data, items, args.watches)
        if args.analyze:
            url = f"sqlite:///{tmp}/bench-analyze.db"
            run(f"+{args.analyze}", url, data, items, args.watches, analyze=args.analyze)
        pg = os.environ.get("FLOCON_TEST_POSTGRES_URL")
        if pg and not args.skip_postgres:
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            name = f"flocon_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(pg).set(database=name).render_as_string(hide_password=False)
                run("postgres", url, data, items, args.watches)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            print("postgres   skipped (FLOCON_TEST_POSTGRES_URL not set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
