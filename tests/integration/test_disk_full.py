"""A full disk stops an import with a clear error; running it again completes it without loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from flocon.services import importing
from flocon.services import mentions as mentions_svc
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine


def test_full_disk_then_retry_stores_everything_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"Avis {i}: " + "blabla " * 40 + str(i)}) + "\n"
            for i in range(3000)
        ),
        "utf-8",
    )
    engine = build_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        cap = conn.exec_driver_sql("PRAGMA page_count").scalar_one() + 200
    engine.dispose()

    # SQLite reports SQLITE_FULL ("database or disk is full") once the file reaches this size.
    full = build_engine(Settings(database_url=url))

    @event.listens_for(full, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={cap}")

    with pytest.raises(OperationalError, match="full"):
        importing.import_file(full, "default", data, fmt="jsonl", batch_size=200)
    full.dispose()

    roomy = build_engine(Settings(database_url=url))
    partial = len(mentions_svc.list_mentions(roomy, "default", include_unmatched=True, limit=5000))
    assert 0 < partial < 3000
    report = importing.import_file(roomy, "default", data, fmt="jsonl", batch_size=200)
    assert report.counts.already_stored == partial
    stored = mentions_svc.list_mentions(roomy, "default", include_unmatched=True, limit=5000)
    assert sorted(int(m.external_id) for m in stored) == list(range(3000))
    roomy.dispose()
