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


def flocon(*args: str, db: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOCON_DATABASE_URL": db}
    return subprocess.Popen(
        [sys.executable, "-m", "flocon", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
    assert flocon("init", db=db).wait(60) == 0
    assert flocon("watch", "add", "Acme", "-q", "acme", db=db).wait(60) == 0
    proc = flocon("import", str(data), db=db)
    wait_for(lambda: stored(db_path)[0] >= 5_000 or proc.poll() is not None, 300)
    assert proc.poll() is None, "the import ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = stored(db_path)[0]
    assert 0 < partial < n
    again = flocon("import", str(data), "--json", db=db)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["already_stored"] == partial
    assert report["rejected"] == 0
    assert stored(db_path) == (n, n)


def test_reader_works_while_an_import_writes(tmp_path: Path) -> None:
    data = make_items(tmp_path / "mid.jsonl", 30_000)
    db_path = tmp_path / "flocon.db"
    db = f"sqlite:///{db_path}"
    assert flocon("init", db=db).wait(60) == 0
    assert flocon("watch", "add", "Acme", "-q", "acme", db=db).wait(60) == 0
    writer = flocon("import", str(data), db=db)
    reads = 0
    while writer.poll() is None:
        reader = flocon("mentions", "--json", "--limit", "5", "--search", "acme", db=db)
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err.decode()
        json.loads(out)
        reads += 1
    assert writer.returncode == 0, writer.stderr.read().decode() if writer.stderr else ""
    assert reads >= 2
    assert stored(db_path) == (30_000, 30_000)
