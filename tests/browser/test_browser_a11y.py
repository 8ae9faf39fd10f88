"""Accessibility: axe-core audits every main page, and the keyboard reaches every control.

axe-core (shipped inside the ``axe-playwright-python`` wheel: nothing is downloaded) runs the
WCAG 2.1 A and AA rules, and its best practices, on each page (signed in as the owner, or
before sign-in for login, forgotten password and first run), in English and in French, on a
desktop and on a phone-sized viewport. Any violation fails, whatever its impact, and is
printed with its rule, its help text and the offending elements. Rules left out:
``EXCLUDED_RULES`` (none today). The keyboard tests Tab through the dashboard and the inbox:
every visible control receives the focus, and shows it with an outline.

The server is this module's own copy of the session's seeded database, with what the seed
lacks for every page to show content: a scheduled source, a thread of replies, a case with a
note, a saved reply and an inbox rule.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from tests.support.browser import browser_settings, signed_in_state

from flocon.credentials import CredentialBox
from flocon.services import accounts, importing
from flocon.services import cases as cases_svc
from flocon.services import sources as sources_svc
from flocon.services.cases import rules as rules_svc
from flocon.services.cases import rulespec
from flocon.storage.engine import build_engine, read
from flocon.storage.tables import mentions
from flocon.web import create_app

pytestmark = pytest.mark.browser

WORKSPACE = "default"
EMAIL = "owner@flocon.example"
PASSWORD = "a long a11y test password"
TIMEOUT_MS = 10_000

#: The WCAG 2.1 levels A and AA, as axe-core tags its rules, and axe's best practices (unique
#: landmarks, one h1, heading order...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: Rules not enforced, each with the reason (docs/web.md, "Accessibility"). None today.
EXCLUDED_RULES: dict[str, str] = {}
#: Viewports: a desktop screen and a phone held upright.
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
#: Browser locales: the app follows Accept-Language while the user has chosen nothing.
LOCALES = {"en": "en-GB", "fr": "fr-FR"}

#: A thread whose middle post the mention page opens: a parent above it, replies below.
THREAD = [
    {"id": "a11y-root", "text": "Acme: who else waits for a refund?", "parent_id": None},
    {"id": "a11y-mid", "text": "Acme refunded me after a week", "parent_id": "a11y-root"},
    {"id": "a11y-reply", "text": "Acme did the same for me", "parent_id": "a11y-mid"},
]


@dataclass
class Site:
    """The live flocon of this module and the ids its pages need."""

    url: str
    mention_id: int
    case_id: int
    source_id: int
    author_id: int
    alert_id: int


def _complete(database: Path, seed: Any) -> dict[str, int]:
    """Give every page something to show; return the ids the pages open."""
    settings = browser_settings(database)
    engine = build_engine(settings)
    try:
        accounts.setup_owner(
            engine, email=EMAIL, password=PASSWORD, name="Owner", workspace=WORKSPACE
        )
        source = sources_svc.add_source(
            engine,
            CredentialBox(settings),
            WORKSPACE,
            kind="feed",
            target="https://news.example/feed.xml",
            name="Acme news",
        )
        lines = [
            {
                "id": row["id"],
                "text": row["text"],
                "url": f"https://forum.example/t/{row['id']}",
                "author": {"handle": f"a11y-{n}", "name": f"Reader {n}", "followers": 40},
                "source": "forum:forum.example",
                "lang": "en",
                **({"parent_id": row["parent_id"]} if row["parent_id"] else {}),
            }
            for n, row in enumerate(THREAD)
        ]
        body = "".join(json.dumps(line) + "\n" for line in lines).encode()
        report = importing.import_stream(
            engine, WORKSPACE, io.BytesIO(body), fmt="jsonl", settings=settings
        )
        assert report.rejected == []
        with read(engine) as conn:
            mid = conn.execute(
                select(mentions.c.id).where(mentions.c.external_id == "a11y-mid")
            ).scalar_one()
        case = cases_svc.create_case(
            engine, WORKSPACE, mention_id=mid, actor="cli", priority="high"
        )
        cases_svc.add_note(engine, WORKSPACE, case.id, actor="cli", text="Check the refund first.")
        cases_svc.save_saved(
            engine,
            WORKSPACE,
            name="Refund",
            lang="en",
            text="Hello {author}, we are looking into it.",
            actor="cli",
        )
        spec = rulespec.parse_spec(
            "Angry customers", {"sentiment": ["negative"]}, {"create_case": True}
        )
        rules_svc.add_rule(engine, WORKSPACE, spec, actor="cli", enabled=True)
    finally:
        engine.dispose()
    return {
        "mention_id": mid,
        "case_id": case.id,
        "source_id": source.id,
        "author_id": seed.xss_author_id,
        "alert_id": seed.xss_alert_id,
    }


def _wait_until_answering(port: int, thread: threading.Thread, deadline: float) -> None:
    """One request that waits in the listening socket's backlog until uvicorn answers it."""
    while thread.is_alive() and time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/login")
            if conn.getresponse().status < 500:
                return
        except OSError:  # reset while uvicorn starts: ask again
            continue
        finally:
            conn.close()
    raise RuntimeError("the a11y server did not start")


@contextlib.contextmanager
def _serving(database: Path) -> Iterator[str]:
    """flocon on ``database``, served by uvicorn on a free loopback port: its base URL."""
    import uvicorn

    settings = browser_settings(database)
    engine = build_engine(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings, engine=engine),
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="flocon-a11y", daemon=True
    )
    thread.start()
    try:
        _wait_until_answering(port, thread, time.monotonic() + 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()
    assert not thread.is_alive(), "the a11y server did not stop"


@pytest.fixture(scope="module")
def site(seed: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = tmp_path_factory.mktemp("browser-a11y") / "flocon.db"
    with (
        contextlib.closing(sqlite3.connect(seed.path)) as src,
        contextlib.closing(sqlite3.connect(database)) as dst,
    ):
        src.backup(dst)
    ids = _complete(database, seed)
    with _serving(database) as url:
        yield Site(url=url, **ids)


@pytest.fixture(scope="module")
def signed_in(browser: Browser, site: Site) -> dict[str, Any]:
    """The owner's cookies, after signing in through the login form."""
    return signed_in_state(browser, site.url, EMAIL, PASSWORD, WORKSPACE)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


#: name -> path of the page under /w/default; ``{field}`` is a field of ``Site``.
PAGES = {
    "dashboard": "/dashboard",
    "emerging": "/dashboard/emerging",
    "mentions": "/mentions",
    "mention-thread": "/mentions/{mention_id}",
    "mutes": "/mentions/mutes",
    "moderation": "/mentions/{mention_id}/moderation",
    "watches": "/watches",
    "watch-new": "/watches/new",
    "watch-editor": "/watches/Acme/edit",
    "sources": "/sources",
    "source": "/sources/{source_id}",
    "source-new": "/sources/new",
    "alerts": "/alerts",
    "alert": "/alerts/{alert_id}",
    "alert-rules": "/alerts/rules",
    "alert-deliveries": "/alerts/deliveries",
    "authors": "/authors",
    "author": "/authors/{author_id}",
    "settings": "/settings",
    "members": "/settings/members",
    "tokens": "/settings/tokens",
    "channels": "/settings/channels",
    "audit": "/settings/audit",
    "inbox": "/inbox",
    "case": "/inbox/{case_id}",
    "inbox-settings": "/inbox/settings",
    "inbox-rules": "/inbox/rules",
    "team-report": "/inbox/report",
}
#: Pages seen before signing in.
PUBLIC_PAGES = {"login": "/login", "forgot-password": "/password/forgot"}


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{v['helpUrl']}]")
        for node in v["nodes"]:
            lines.append("    " + " ".join(str(part) for part in node["target"]))
            lines.append("      " + node["html"][:160])
            summary = str(node.get("failureSummary") or "")
            lines.extend("      " + line.strip() for line in summary.splitlines())
    return "\n".join(lines)


def audit(axe: Axe, page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands, less the excluded rules."""
    page.wait_for_load_state("networkidle")
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = axe.run(page, options=options)
    return [v for v in results.response["violations"] if v["id"] not in EXCLUDED_RULES]


def _open(browser: Browser, url: str, lang: str, viewport: str, **options: Any) -> Page:
    context = browser.new_context(
        base_url=url, locale=LOCALES[lang], viewport=VIEWPORTS[viewport], **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _check(axe: Axe, page: Page, path: str, lang: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: HTTP {response}"
    assert page.locator("html").get_attribute("lang") == lang
    violations = audit(axe, page)
    assert violations == [], f"{path} ({lang}):\n{_describe(violations)}"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_axe_violation(
    name: str,
    lang: str,
    viewport: str,
    browser: Browser,
    site: Site,
    signed_in: dict[str, Any],
    axe: Axe,
) -> None:
    page = _open(browser, site.url, lang, viewport, storage_state=signed_in)
    try:
        path = f"/w/{WORKSPACE}" + PAGES[name].format(**vars(site))
        _check(axe, page, path, lang)
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_public_page_has_no_axe_violation(
    name: str, lang: str, viewport: str, browser: Browser, site: Site, axe: Axe
) -> None:
    page = _open(browser, site.url, lang, viewport)
    try:
        _check(axe, page, PUBLIC_PAGES[name], lang)
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
def test_first_run_page_has_no_axe_violation(
    lang: str, viewport: str, browser: Browser, first_run_server: Any, axe: Axe
) -> None:
    page = _open(browser, first_run_server.url, lang, viewport)
    try:
        _check(axe, page, "/setup", lang)
    finally:
        page.context.close()


# --- the keyboard ---------------------------------------------------------------------------

#: Every control a keyboard user must be able to reach, visible on the page.
REACHABLE = """() => {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),'
    + ' select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const key = (el) => el.type === 'radio' && el.name ? 'radio:' + el.name : null;
  const out = [];
  const groups = new Set();
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (!shown(el) || el.closest('[inert]')) continue;
    el.dataset.a11yKey = key(el) || 'el-' + (n++);
    if (key(el)) { if (groups.has(key(el))) continue; groups.add(key(el)); }
    out.push({key: el.dataset.a11yKey, html: el.outerHTML.slice(0, 120)});
  }
  return out;
}"""

#: What has the focus now, and whether it shows it with an outline of 2px or more.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  return {key: el.dataset.a11yKey || null, html: el.outerHTML.slice(0, 120), visible: outline};
}"""


def _tab_through(page: Page) -> tuple[set[str], list[str]]:
    """Press Tab until the focus leaves the page or comes back: the keys reached, and the
    controls that had the focus without showing it."""
    reached: set[str] = set()
    unseen: list[str] = []
    first: str | None = None
    for _ in range(1000):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None:
            break
        if now["key"] is not None and now["key"] == first:
            break
        first = first or now["key"]
        if now["key"] is not None:
            reached.add(now["key"])
        if not now["visible"]:
            unseen.append(now["html"])
    return reached, unseen


@pytest.mark.parametrize("name", ["dashboard", "inbox"])
def test_keyboard_reaches_every_control_with_a_visible_focus(
    name: str, browser: Browser, site: Site, signed_in: dict[str, Any]
) -> None:
    page = _open(browser, site.url, "en", "desktop", storage_state=signed_in)
    try:
        page.goto(f"/w/{WORKSPACE}{PAGES[name]}")
        page.wait_for_load_state("networkidle")
        controls = page.evaluate(REACHABLE)
        assert len(controls) > 10, controls
        reached, unseen = _tab_through(page)
        missed = [c["html"] for c in controls if c["key"] not in reached]
        assert missed == [], "never reached with Tab:\n" + "\n".join(missed)
        assert unseen == [], "focused without a visible focus style:\n" + "\n".join(unseen)
    finally:
        page.context.close()
