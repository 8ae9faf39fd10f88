"""The fetch runner with real connectors against a local server: storage, health, resume."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import LocalHTTPServer, RecordedRequest, Reply
from sqlalchemy import Engine
from typer.testing import CliRunner

from flocon.cli import app
from flocon.connectors.base import FetchResult
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.credentials import CredentialBox
from flocon.services import fetching
from flocon.services import mentions as mentions_svc
from flocon.services import sources as svc
from flocon.services import watches as watches_svc
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine


def rss(feed: str, n: int, *, start: int = 0) -> bytes:
    items = "".join(
        f"<item><title>{feed} article {i}</title><link>https://{feed}.example/a/{i}</link>"
        f"<guid>{feed}-{i}</guid><description>Acme et la livraison numéro {i} du flux "
        f"{feed}, un texte assez long pour être unique {i} {feed}</description>"
        f"<pubDate>Mon, 23 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000</pubDate></item>"
        for i in range(start, start + n)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{feed}</title><link>https://{feed}.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def box(tmp_path: Path) -> CredentialBox:
    return CredentialBox(Settings(), key_file=tmp_path / "secret.key")


LOCAL = dataclasses.replace(
    HttpConfig.from_settings(Settings()),
    allowed_hosts=frozenset({"127.0.0.1"}),
    retries=0,
    timeout_s=5.0,
)


def cycle(engine: Engine, box: CredentialBox, **kwargs: Any) -> fetching.CycleReport:
    async def go() -> fetching.CycleReport:
        async with HttpClient(LOCAL) as client:
            return await fetching.run_cycle(engine, box, client, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = build_engine(Settings(database_url=sqlite_url))
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def conditional(body: bytes, etag: str) -> object:
    def handler(request: RecordedRequest) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304)
        return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": etag})

    return handler


def test_a_cycle_stores_items_and_keeps_health(
    engine: Engine, box: CredentialBox, http_server: LocalHTTPServer
) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    http_server.route_handler("/good.xml", conditional(rss("good", 5), '"v1"'))  # type: ignore[arg-type]
    http_server.route("/broken.xml", 500, b"oops")
    good = svc.add_source(engine, box, "default", kind="feed", target=http_server.url("/good.xml"))
    bad = svc.add_source(engine, box, "default", kind="feed", target=http_server.url("/broken.xml"))

    report = cycle(engine, box)
    outcomes = {o.source_id: o for o in report.outcomes}
    assert outcomes[good.id].ok and outcomes[good.id].counts.new == 5
    assert not outcomes[bad.id].ok
    health = {h.source.id: h for h in svc.list_sources(engine, "default")}
    assert health[good.id].state == "ok"
    assert health[good.id].items_24h == 5
    assert health[bad.id].state == "backing off"
    assert "500" in (health[bad.id].source.last_error or "")
    assert health[bad.id].source.consecutive_failures == 1

    # Nothing is due any more; asked explicitly, the feed answers 304.
    assert cycle(engine, box).outcomes == []
    again = cycle(engine, box, source_ids=[good.id])
    assert again.outcomes[0].not_modified
    assert http_server.requests_to("/good.xml")[-1].headers["if-none-match"] == '"v1"'
    assert len(mentions_svc.list_mentions(engine, "default", limit=100)) == 5


def test_new_entries_only_and_parse_errors_are_reported(
    engine: Engine, box: CredentialBox, http_server: LocalHTTPServer
) -> None:
    http_server.route_sequence(
        "/feed.xml",
        [
            Reply(200, rss("f", 3)),
            Reply(200, rss("f", 5)),
            Reply(200, b"<html><body>maintenance</body></html>", {"Content-Type": "text/html"}),
        ],
    )
    s = svc.add_source(engine, box, "default", kind="feed", target=http_server.url("/feed.xml"))
    first = cycle(engine, box, source_ids=[s.id])
    second = cycle(engine, box, source_ids=[s.id])
    third = cycle(engine, box, source_ids=[s.id])
    assert (first.outcomes[0].fetched, second.outcomes[0].fetched) == (3, 2)
    assert third.outcomes[0].ok is False
    assert "feed" in (third.outcomes[0].error or "")
    stored = mentions_svc.list_mentions(engine, "default", include_unmatched=True, limit=100)
    assert len(stored) == 5


def test_preview_stores_nothing(
    engine: Engine, box: CredentialBox, http_server: LocalHTTPServer
) -> None:
    http_server.route("/feed.xml", 200, rss("p", 4))
    s = svc.add_source(engine, box, "default", kind="feed", target=http_server.url("/feed.xml"))

    async def go() -> FetchResult:
        async with HttpClient(LOCAL) as client:
            return await fetching.preview_source(engine, box, client, s, 1)

    result = asyncio.run(go())
    assert len(result.drafts) == 4
    assert mentions_svc.list_mentions(engine, "default", include_unmatched=True) == []
    assert svc.get_source(engine, "default", str(s.id)).cursor == {}


def test_private_addresses_are_refused_by_default(
    engine: Engine, box: CredentialBox, http_server: LocalHTTPServer
) -> None:
    http_server.route("/feed.xml", 200, rss("p", 1))
    s = svc.add_source(engine, box, "default", kind="feed", target=http_server.url("/feed.xml"))

    async def go() -> fetching.CycleReport:
        async with HttpClient(HttpConfig.from_settings(Settings())) as client:
            return await fetching.run_cycle(engine, box, client)

    [outcome] = asyncio.run(go()).outcomes
    assert not outcome.ok
    assert "FLOCON_ALLOW_PRIVATE_ADDRESSES" in (outcome.error or "")
    assert http_server.requests == []
    assert svc.get_source(engine, "default", str(s.id)).consecutive_failures == 1


def test_source_commands(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    monkeypatch.setenv("FLOCON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FLOCON_ALLOW_PRIVATE_ADDRESSES", "true")
    http_server.route("/feed.xml", 200, rss("cli", 3))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout + result.stderr

    code, out = run(
        "source", "add", "feed", http_server.url("/feed.xml"), "--every", "10m",
        "--credential", "token=s3cr3t-value", "--json",
    )  # fmt: skip
    assert code == 0, out
    source_id = json.loads(out)["id"]
    code, out = run("source", "test", str(source_id))
    assert code == 0 and "3 new items would be stored" in out
    code, out = run("fetch", "--once", "--json")
    assert json.loads(out)[0]["fetched"] == 3
    code, out = run("source", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["state"], listed["items_24h"], listed["every_s"]) == ("ok", 3, 600)
    code, out = run("source", "show", str(source_id), "--json")
    assert json.loads(out)["credentials"] == {"token": "(set)"}
    for args in (("source", "list"), ("source", "show", str(source_id))):
        assert "s3cr3t-value" not in run(*args)[1]
    assert run("source", "pause", str(source_id))[0] == 0
    assert json.loads(run("source", "list", "--json")[1])[0]["state"] == "paused"
    assert run("source", "resume", str(source_id))[0] == 0
    assert run("source", "add", "feed", "ftp://x")[0] == 1
    assert run("source", "remove", str(source_id), "--yes")[0] == 0


@pytest.mark.slow
def test_kill_9_during_a_fetch_cycle_then_restart(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    feeds, entries = 30, 40
    for f in range(feeds):
        http_server.route(f"/f{f}.xml", 200, rss(f"feed{f}", entries), delay=0.3)
    db_path = tmp_path / "flocon.db"
    env = {
        **os.environ,
        "FLOCON_DATABASE_URL": f"sqlite:///{db_path}",
        "FLOCON_ALLOW_PRIVATE_ADDRESSES": "true",
        "FLOCON_FETCH_CONCURRENCY": "2",
        "FLOCON_SECRET_KEY": "",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }

    def flocon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flocon", *args],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    assert flocon("init").returncode == 0
    eng = build_engine(Settings(database_url=env["FLOCON_DATABASE_URL"]))
    box = CredentialBox(Settings(), key_file=tmp_path / "secret.key")
    for f in range(feeds):
        svc.add_source(eng, box, "default", kind="feed", target=http_server.url(f"/f{f}.xml"))
    eng.dispose()

    def done() -> int:
        conn = sqlite3.connect(db_path, timeout=30)
        try:
            return int(
                conn.execute(
                    "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL"
                ).fetchone()[0]
            )
        finally:
            conn.close()

    with (tmp_path / "fetch.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flocon", "fetch", "--once"], env=env, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 120
    while done() < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the cycle ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = done()
    assert 0 < partial < feeds
    rerun = flocon("fetch", "--once", "--json")
    assert rerun.returncode == 0, rerun.stderr
    fetched = {o["source"]: o["fetched"] for o in json.loads(rerun.stdout)}
    assert len(fetched) == feeds - partial  # sources stored before the kill are not due again
    conn = sqlite3.connect(db_path)
    total, distinct = conn.execute(
        "SELECT count(*), count(DISTINCT external_id) FROM mentions"
    ).fetchone()
    conn.close()
    assert total == distinct == feeds * entries
