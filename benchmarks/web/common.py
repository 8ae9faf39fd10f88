"""What the web benchmarks share: the members and API tokens they act as, the app served by
uvicorn in its own process, percentiles, and the database's time span."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

PASSWORD = "benchmark password 0123"
OWNER = "bench-owner@flocon.example"
#: A workspace without any watch or mention: the baseline of each request.
EMPTY = "empty"


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def cheap_hashing() -> None:
    """Cheap argon2 parameters for the benchmark's own users (hashing is not what is
    measured; the server verifies with the parameters stored in each hash)."""
    from argon2 import PasswordHasher

    from flocon.services import accounts

    accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class Member:
    email: str
    user_id: int


def ensure_member(engine: Engine, email: str, role: str, workspaces: tuple[str, ...]) -> Member:
    """A user with ``role`` in each of ``workspaces`` (created when missing)."""
    from flocon.errors import AlreadyExists
    from flocon.services import accounts
    from flocon.services import workspaces as workspaces_svc

    for name in workspaces:
        with contextlib.suppress(AlreadyExists):
            workspaces_svc.add_workspace(engine, name)
    user = accounts.find_user(engine, email)
    if user is None:
        if not accounts.has_users(engine) and role == "owner":
            user = accounts.setup_owner(engine, email=email, password=PASSWORD)
        else:
            user = accounts.create_user(engine, email=email, password=PASSWORD)
    for name in workspaces:
        if accounts.role_in(engine, user.id, name) is None:
            accounts.add_member(engine, name, email=email, role=role, actor="cli")
    return Member(email, user.id)


def make_token(engine: Engine, workspace: str, member: Member, name: str) -> str:
    """A fresh read-only API token of ``member`` in ``workspace``."""
    from flocon.services import accounts

    _token, secret = accounts.create_token(
        engine, workspace, user_id=member.user_id, name=name, scopes=("read",), actor="cli"
    )
    return secret


def data_span(engine: Engine, workspace: str = "default") -> tuple[datetime, datetime]:
    """The first and last ``occurred_at`` of the workspace's mentions."""
    from flocon.storage.engine import read
    from flocon.storage.queries import workspaces as wsq
    from flocon.storage.tables import mentions

    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        first, last = conn.execute(
            select(func.min(mentions.c.occurred_at), func.max(mentions.c.occurred_at)).where(
                mentions.c.workspace_id == ws.id
            )
        ).one()
    if first is None or last is None:
        raise SystemExit("no mention in this database: run benchmarks.web.generate first")
    return first.astimezone(UTC), last.astimezone(UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(database_url: str, *, workers: int = 1) -> Iterator[str]:
    """The real app (``flocon.web.app:app_from_environment``, no pipeline) under uvicorn in
    its own process on 127.0.0.1; yields its base URL."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="flocon-web-bench-"))
    env = {
        **os.environ,
        "FLOCON_DATABASE_URL": database_url,
        "XDG_DATA_HOME": str(data),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "flocon.web.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        # Longer than any pause of the simulated users: otherwise a user may send on a
        # connection the server is closing, an artefact of keep-alive that browsers retry.
        "--timeout-keep-alive",
        "75",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server stopped: see {data / 'server.log'}")
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not answer within 60 s: see {data / 'server.log'}"
                )
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        tail = (data / "server.log").read_text(errors="replace")[-3000:]
        if "Traceback" in tail or "ERROR" in tail:
            print(f"server log ({data / 'server.log'}), last lines:\n{tail}", file=sys.stderr)


def sign_in(client: httpx.Client, email: str) -> None:
    """Sign in through the real login form (the session cookie stays in ``client``)."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 303:
        raise SystemExit(
            f"sign-in failed for {email}: {response.status_code} {response.text[:300]}"
        )


def csrf_of(html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
