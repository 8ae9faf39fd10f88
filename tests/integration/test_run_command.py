"""``flocon run``: the web app, scheduler and pipeline in one process, started as users do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[str], deadline_s: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, _ = proc.communicate()
            pytest.fail(f"flocon run exited early ({proc.returncode}):\n{out}")
        try:
            return httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.1)  # polling a starting server, with a deadline
    pytest.fail(f"{url} did not answer within {deadline_s} s")


def test_run_serves_the_app_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "FLOCON_DATABASE_URL": f"sqlite:///{tmp_path / 'flocon.db'}",
        "FLOCON_SENTIMENT_PROFILE": "fast",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "flocon", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = _wait_for(f"http://127.0.0.1:{port}/", proc)
        assert first.status_code == 303
        assert first.headers["location"] == "/setup"
        setup = httpx.get(f"http://127.0.0.1:{port}/setup", timeout=5)
        assert setup.status_code == 200
        assert "Welcome to flocon" in setup.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/js/app.js", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Traceback" not in out
    assert f"http://127.0.0.1:{port}/" in out
    assert "create the owner account" in out
    assert (tmp_path / "flocon.db").exists()


def test_run_says_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "flocon", "run", "--port", str(port)],
            env={**os.environ, "FLOCON_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr + result.stdout
    assert "already in use" in result.stderr + result.stdout
