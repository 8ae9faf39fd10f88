"""A killed import loses and duplicates nothing; readers work while an import writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORDS = (
    "livraison retard colis service client remboursement commande appli panne réseau "
    "delivery late parcel support refund order app outage network great merci bravo nul "
    "super rapide lent cher prix offre forfait box fibre train gare billet"
).split()


def make_items(path: Path, n: int) -> Path:
    """n distinct, realistic-looking items (every 7th mentions Acme)."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            words = [WORDS[(i * 7 + k * 13 + i // (k + 1)) % len(WORDS)] for k in range(12)]
            brand = "Acme" if i % 7 == 0 else "Zorg"
            text = f"{brand} {' '.join(words)} #{i}"
            f.write(
                json.dumps(
                    {
                        "id": f"it-{i}",
                        "text": text,
                        "published_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                        "author": f"user{i % 5000}",
                    }
                )
                + "\n"
            )
    return path


def _env(db: str) -> dict[str, str]:
    return {**os.environ, "FLOCON_DATABASE_URL": db}


def flocon(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    """Run a flocon command to its end."""
    return subprocess.run(
        [sys.executable, "-m", "flocon", *args],
        env=_env(db),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def flocon_background(*args: str, db: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a flocon command; its output goes to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flocon", *args], env=_env(db), stdout=out, stderr=out
        )


def stored(db_path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM mentions"
        ).fetchone()
    except sqlite3.OperationalError:
        return 0, 0
    finally:
        conn.close()
    return int(total), int(distinct)


def wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_kill_9_mid_import_then_reimport_stores_each_item_once(tmp_path: Path) -> None:
    n = 100_000
    data = make_items(tmp_path / "big.jsonl", n)
    db_path = tmp_path / "flocon.db"
    db = f"sqlite:///{db_path}"
    assert flocon("init", db=db).returncode == 0
    assert flocon("watch", "add", "Acme", "-q", "acme", db=db).returncode == 0
    proc = flocon_background("import", str(data), db=db, log=tmp_path / "import.log")
    wait_for(lambda: stored(db_path)[0] >= 5_000 or proc.poll() is not None, 300)
    assert proc.poll() is None, "the import ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = stored(db_path)[0]
    assert 0 < partial < n
    again = flocon("import", str(data), "--json", db=db)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["already_stored"] == partial
    assert report["rejected"] == 0
    assert stored(db_path) == (n, n)


def test_reader_works_while_an_import_writes(tmp_path: Path) -> None:
    data = make_items(tmp_path / "mid.jsonl", 30_000)
    db_path = tmp_path / "flocon.db"
    db = f"sqlite:///{db_path}"
    assert flocon("init", db=db).returncode == 0
    assert flocon("watch", "add", "Acme", "-q", "acme", db=db).returncode == 0
    log = tmp_path / "import.log"
    writer = flocon_background("import", str(data), db=db, log=log)
    reads = 0
    while writer.poll() is None:
        reader = flocon("mentions", "--json", "--limit", "5", "--search", "acme", db=db)
        assert reader.returncode == 0, reader.stderr
        json.loads(reader.stdout)
        reads += 1
    assert writer.returncode == 0, log.read_text()
    assert reads >= 2
    assert stored(db_path) == (30_000, 30_000)
