"""All the web benchmarks in one go: generate a database, measure latency, then load.

Usage (what ``scripts/bench.sh`` runs; ``--mentions 1000000`` for the figures of
BENCHMARKS.md, about 5 minutes of generation on SQLite and 3 on PostgreSQL with 2 cores)::

    bash scripts/with-postgres.sh .venv/bin/python -m benchmarks.web [--mentions 100000]

SQLite: a new database file in a temporary folder (removed at the end unless ``--keep``).
PostgreSQL: the database of ``FLOCON_TEST_POSTGRES_URL`` (``scripts/with-postgres.sh`` makes
a throw-away server), which must hold no mention yet; skipped when the variable is unset or
with ``--skip-postgres``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _run(module: str, *args: str) -> None:
    command = [sys.executable, "-m", module, *args]
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database")
    args = parser.parse_args()
    urls: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="flocon-web-bench-"))
    if not args.skip_sqlite:
        urls.append(f"sqlite:///{folder / 'web.db'}")
    postgres = os.environ.get("FLOCON_TEST_POSTGRES_URL")
    if postgres and not args.skip_postgres:
        urls.append(postgres)
    elif not args.skip_postgres:
        print("FLOCON_TEST_POSTGRES_URL is not set: PostgreSQL skipped", flush=True)
    try:
        for url in urls:
            _run("benchmarks.web.generate", "--mentions", str(args.mentions), "--database-url", url)
            _run(
                "benchmarks.web.run",
                "--database-url",
                url,
                "--repeat",
                str(args.repeat),
                "--breakdown",
            )
            _run(
                "benchmarks.web.load",
                "--database-url", url,
                "--users", str(args.users),
                "--duration", str(args.duration),
            )  # fmt: skip
    finally:
        if args.keep:
            print(f"SQLite database kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
