"""Browser tests: Debian's Chromium, driven headless by Playwright, against a live flocon.

A database is seeded once per session through the real services (two watches of the group
"Brands", ordinary mentions over the last days, the stored-XSS payloads of
``tests/fixtures/xss/``, the alerts the detectors open on them, influence scores). Each server
is uvicorn in a background thread on a free loopback port, over its own copy of that database:
``live_server`` (an owner already exists; the page and XSS tests share it) and
``first_run_server`` (no account yet: the first-run flow).

No browser is ever downloaded: Chromium is ``/usr/bin/chromium`` (Debian's ``chromium``).
Without it the tests are skipped, unless ``FLOCON_REQUIRE_BROWSER=1`` (CI) makes that a
failure. Screenshots go to ``artifacts/screenshots/`` at the repository root.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, select
from tests.support.browser import browser_settings, signed_in_state

from flocon.services import accounts, importing, influence, signals
from flocon.services import watches as watches_svc
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine, read
from flocon.storage.tables import alerts, authors, mentions
from flocon.web import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("FLOCON_REQUIRE_BROWSER") == "1"
ROOT = Path(__file__).resolve().parents[2]
XSS_FIXTURES = ROOT / "tests" / "fixtures" / "xss"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
#: The handle of the payload author with the most mentions (tests/fixtures/xss/mentions.jsonl).
XSS_AUTHOR = "xss</script><script>window.__xss=1</script>"

WORKSPACE = "default"
OWNER_EMAIL = "owner@flocon.example"
OWNER_PASSWORD = "a long test password"
#: Playwright's wait for one expectation or action (ms): pages are local and small.
TIMEOUT_MS = 10_000


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, skip this folder before its database and servers are built (in CI,
    ``FLOCON_REQUIRE_BROWSER=1``, the ``browser`` fixture fails instead)."""
    reason = _missing()
    if reason is None or REQUIRE_BROWSER:
        return
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=reason))


# --- the seeded database -------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """The seeded database file and the ids the tests open."""

    path: Path
    #: external id (in the fixture files) -> mention id
    mention_ids: dict[str, int]
    #: the payload author with the most mentions
    xss_author_id: int
    #: an alert whose evidence and explanation carry payloads
    xss_alert_id: int


POSITIVE = [
    "{brand} delivered in two days, great service",
    "Love my new {brand} kettle, works perfectly",
    "J'adore {brand}, livraison rapide et soignée",
    "{brand} support solved my problem in minutes, thanks",
]
NEGATIVE = [
    "{brand} support is terrible, still no refund after three weeks",
    "{brand} arnaque totale, colis jamais arrivé",
    "Worst purchase ever, {brand} charged my card twice",
    "{brand} service client horrible, je ne recommande pas",
]
NEUTRAL = [
    "{brand} opens a new store in Lyon next month",
    "{brand} annonce ses résultats trimestriels jeudi",
    "Has anyone compared {brand} prices this week?",
]


def _background(now: datetime, count: int = 150) -> list[dict[str, Any]]:
    """Ordinary mentions of both brands over the last six days (a stable pseudo-random mix)."""
    rng = random.Random(6)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        brand = "Acme" if rng.random() < 0.65 else "Globex"
        pool = rng.choice([POSITIVE, POSITIVE, NEGATIVE, NEUTRAL])
        at = now - timedelta(minutes=rng.randint(30, 6 * 24 * 60))
        kind = rng.choice(["twitter", "forum", "rss"])
        handle = f"user{rng.randint(1, 12)}"
        rows.append(
            {
                "id": f"bg-{i}",
                "text": rng.choice(pool).format(brand=brand),
                "url": f"https://{kind}.example/{handle}/{i}",
                "author": {"handle": handle, "name": handle.title(), "followers": 50 * i},
                "published_at": at.isoformat(),
                "source": f"{kind}:{kind}.example",
            }
        )
    # A bad day for Globex two days ago: its net sentiment that day is negative, so every chart
    # export meets negative numbers (which must stay numbers, not guarded text).
    for i in range(20):
        at = now - timedelta(days=2, minutes=i)
        rows.append(
            {
                "id": f"bad-day-{i}",
                "text": NEGATIVE[i % len(NEGATIVE)].format(brand="Globex"),
                "url": f"https://forum.example/angry{i}/{i}",
                "author": {"handle": f"angry{i}", "name": f"Angry {i}", "followers": 10},
                "published_at": at.isoformat(),
                "source": "forum:forum.example",
            }
        )
    return rows


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    """The database every server copies, filled through the import service and the detectors."""
    folder = tmp_path_factory.mktemp("browser-seed")
    path = folder / "seed.db"
    settings = browser_settings(path)
    engine = build_engine(settings)
    try:
        migrate.upgrade(engine)
        watches_svc.add_watch(engine, WORKSPACE, name="Acme", query="acme", group="Brands")
        watches_svc.add_watch(engine, WORKSPACE, name="Globex", query="globex", group="Brands")
        now = datetime.now(UTC)
        background = folder / "background.jsonl"
        background.write_text(
            "".join(json.dumps(row) + "\n" for row in _background(now)), encoding="utf-8"
        )
        for source in [background, *sorted(XSS_FIXTURES.glob("*.jsonl"))]:
            report = importing.import_file(
                engine, WORKSPACE, source, fmt="jsonl", settings=settings
            )
            assert report.rejected == [], (source.name, report.rejected)
        # The payload mentions are minutes old: the detectors open influencer alerts on them.
        signals.evaluate(engine, settings, WORKSPACE, now=datetime.now(UTC))
        influence.compute_influence(engine, WORKSPACE)
        with read(engine) as conn:
            ids = {
                row.external_id: row.id
                for row in conn.execute(select(mentions.c.external_id, mentions.c.id))
            }
            author_id = conn.execute(
                select(authors.c.id).where(
                    authors.c.handle == XSS_AUTHOR, authors.c.platform == "forum"
                )
            ).scalar_one()
            alert_id = conn.execute(
                select(alerts.c.id)
                .where(alerts.c.kind == "influencer", alerts.c.explanation.contains("window.__xss"))
                .order_by(alerts.c.id)
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return Seed(path=path, mention_ids=ids, xss_author_id=author_id, xss_alert_id=alert_id)


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (the backup API, WAL included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


# --- live servers ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    """flocon served by uvicorn in a background thread on 127.0.0.1."""

    url: str
    settings: Settings
    engine: Engine = field(repr=False)
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()
        self.engine.dispose()
        assert not self._thread.is_alive(), "the live server did not stop"


def _wait_until_answering(host: str, port: int, thread: threading.Thread, deadline: float) -> None:
    """One request that waits in the listening socket's backlog until uvicorn answers it."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped while starting")
        conn = http.client.HTTPConnection(host, port, timeout=max(0.1, deadline - time.monotonic()))
        try:
            conn.request("GET", "/login")
            status = conn.getresponse().status
        except OSError as exc:  # reset while uvicorn starts: ask again
            last = exc
            continue
        finally:
            conn.close()
        if status < 500:
            return
        raise RuntimeError(f"the live server answers {status}")
    raise TimeoutError(f"the live server did not answer within its deadline ({last})")


def start_server(database: Path) -> LiveServer:
    import uvicorn

    settings = browser_settings(database)
    engine = build_engine(settings)
    app = create_app(settings, engine=engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait here until uvicorn accepts them: no polling loop
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="flocon-live-server", daemon=True
    )
    thread.start()
    try:
        _wait_until_answering(host, port, thread, time.monotonic() + 30)
    except BaseException:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()
        raise
    return LiveServer(
        url=f"http://{host}:{port}",
        settings=settings,
        engine=engine,
        _server=server,
        _thread=thread,
        _socket=sock,
    )


@pytest.fixture(scope="session")
def live_server(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The seeded app with its owner (``OWNER_EMAIL``), shared by the page and XSS tests."""
    database = tmp_path_factory.mktemp("browser-live") / "flocon.db"
    _copy(seed.path, database)
    engine = build_engine(browser_settings(database))
    try:
        accounts.setup_owner(
            engine, email=OWNER_EMAIL, password=OWNER_PASSWORD, name="Owner", workspace=WORKSPACE
        )
    finally:
        engine.dispose()
    server = start_server(database)
    yield server
    server.stop()


@pytest.fixture
def first_run_server(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The seeded app before anyone has an account: it opens on the first-run page."""
    database = tmp_path_factory.mktemp("browser-first-run") / "flocon.db"
    _copy(seed.path, database)
    server = start_server(database)
    yield server
    server.stop()


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, launched once per test module.

    Not once per session: while Playwright's sync API is alive, the main thread looks like it
    runs an event loop, and the ``asyncio.run()`` of the tests collected after this folder
    would refuse to start."""
    reason = _missing()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"FLOCON_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def owner_state(browser: Browser, live_server: LiveServer) -> dict[str, Any]:
    """The owner's cookies after signing in once through the login form."""
    return signed_in_state(browser, live_server.url, OWNER_EMAIL, OWNER_PASSWORD, WORKSPACE)


# --- what a page did ------------------------------------------------------------------------

#: Installed before any script of every page: CSP violations, as the browser reports them.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " +
    (e.sourceFile || "?") + ":" + e.lineNumber + " " + (e.sample || "")
  );
});
"""


@dataclass
class Probe:
    """Everything a page did that a test may have to refuse: dialogs, console errors,
    uncaught exceptions, Content Security Policy violations."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self, page: Page) -> list[str]:
        reported = page.evaluate("window.__cspViolations || []")
        console = [
            m for m in self.console_errors if "Content Security Policy" in m or "Refused to" in m
        ]
        return [*reported, *console]


def new_context(browser: Browser, server: LiveServer, **options: Any) -> BrowserContext:
    context = browser.new_context(base_url=server.url, locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH_CSP)
    return context


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def owner_page(
    browser: Browser, live_server: LiveServer, owner_state: dict[str, Any], probe: Probe
) -> Iterator[Page]:
    """A tab signed in as the owner, under the site's Content Security Policy."""
    context = new_context(browser, live_server, storage_state=owner_state)
    page = context.new_page()
    probe.attach(page)
    yield page
    context.close()


@pytest.fixture
def owner_page_without_csp(
    browser: Browser, live_server: LiveServer, owner_state: dict[str, Any], probe: Probe
) -> Iterator[Page]:
    """A tab signed in as the owner that ignores the Content Security Policy: a payload that
    escaped the templates' escaping would run here, so escaping is checked on its own."""
    context = new_context(browser, live_server, storage_state=owner_state, bypass_csp=True)
    page = context.new_page()
    probe.attach(page)
    yield page
    context.close()


@pytest.fixture
def open_tab(browser: Browser, probe: Probe) -> Iterator[Callable[..., Page]]:
    """``open_tab(server, **context_options)``: a new browser (no cookies) on ``server``, its tab
    watched by ``probe``; closed after the test."""
    contexts: list[BrowserContext] = []

    def open_(server: LiveServer, **options: Any) -> Page:
        context = new_context(browser, server, **options)
        contexts.append(context)
        page = context.new_page()
        probe.attach(page)
        return page

    yield open_
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Write the whole page to ``artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shoot() -> Any:
    """``shoot(page, name)``: a full-page screenshot under ``artifacts/screenshots/``."""
    return screenshot
