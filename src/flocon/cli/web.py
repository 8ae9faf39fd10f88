"""``flocon run`` (web app, scheduler and pipeline in one process), ``flocon web`` (the web
app alone, several processes) and ``flocon demo`` (the same as run, on a demo database filled
with real public data)."""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from flocon.cli.common import DatabaseOpt, err, fail, load_settings, opened, out
from flocon.settings import Settings, redact_url

HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="Address to listen on (default 127.0.0.1; FLOCON_WEB_HOST)."),
]
PortOpt = Annotated[
    int | None, typer.Option("--port", help="Port (default 8000; FLOCON_WEB_PORT).")
]


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use: choose another with --port")
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")


def _serve(settings: Settings, host: str, port: int, *, pipeline: bool, banner: str) -> None:
    import uvicorn

    from flocon.services import accounts
    from flocon.web import create_app

    _check_port(host, port)
    with opened(settings.database_url) as engine:
        app = create_app(settings, engine=engine, pipeline=pipeline)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        address = f"http://{shown}:{port}/"
        out.print(banner)
        out.print(f"open [bold]{address}[/] in your browser (Ctrl-C stops)")
        if not accounts.has_users(engine):
            out.print("first visit: create the owner account there (or `flocon user add`)")
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            access_log=False,
            proxy_headers=False,
            server_header=False,
        )
        uvicorn.Server(config).run()


def run(
    host: HostOpt = None,
    port: PortOpt = None,
    no_fetch: Annotated[
        bool,
        typer.Option("--no-fetch", help="Serve only: do not read sources nor send alerts."),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Start flocon: the web app, the scheduler and the pipeline in one process.

    The embedded default (SQLite). The database is created on first use. At scale, run
    `flocon web`, workers and a beat instead (docs/web.md).
    """
    settings = load_settings(database_url)
    _serve(
        settings,
        host or settings.web_host,
        port or settings.web_port,
        pipeline=not no_fetch,
        banner=f"flocon on {redact_url(settings.database_url)}",
    )


def web(
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Web processes (default 1).")
    ] = 1,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the web app and API only (no fetching): for deployments where other processes
    fetch and alert. With --workers N, N processes share the port."""
    settings = load_settings(database_url)
    host = host or settings.web_host
    port = port or settings.web_port
    if workers == 1:
        _serve(settings, host, port, pipeline=False, banner="flocon web app")
        return
    import os

    import uvicorn

    if database_url:
        os.environ["FLOCON_DATABASE_URL"] = database_url
    with opened(database_url):
        pass
    _check_port(host, port)
    out.print(f"flocon web app, {workers} processes: http://{host}:{port}/")
    uvicorn.run(
        "flocon.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
    )


def demo(
    host: HostOpt = None,
    port: PortOpt = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo database and build it again.")
    ] = False,
    prepare_only: Annotated[
        bool, typer.Option("--prepare-only", help="Build the demo database, do not serve.")
    ] = False,
) -> None:
    """flocon on a separate demo database, filled by replaying real public tweets about
    Apple, Google, Microsoft and Twitter (October 2011) through the real pipeline.

    Your own database is never touched. The first run takes about a minute.
    """
    from rich.progress import Progress

    from flocon.services import demo as demo_svc

    base = load_settings(None)
    with Progress(transient=True) as progress:
        tasks: dict[str, object] = {}

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)  # type: ignore[arg-type]

        summary = demo_svc.prepare_demo(base, reset=reset, progress=show)
    out.print(
        f"demo workspace '{summary.workspace}': {summary.mentions} mentions, "
        f"watches {', '.join(summary.watches)}, {summary.alerts} alerts, "
        f"{summary.authors_scored} authors scored, {summary.cases} cases in the inbox"
    )
    if prepare_only:
        return
    settings = demo_svc.demo_settings(base).model_copy(
        update={"default_workspace": summary.workspace}
    )
    err.print("the demo database is separate from yours: nothing you do here touches it")
    _serve(
        settings,
        host or settings.web_host,
        port or settings.web_port,
        pipeline=False,
        banner=f"flocon demo on {redact_url(summary.database_url)}",
    )
