"""The shared inbox in a real browser, replying through a local Mastodon-compatible server:
open the inbox → assign a case → write a reply from a saved reply → send it → the case shows
the reply and its response time. Then a reply the server refuses once (503): it shows as
failed with its error and a Retry button, and the retry sends it.

The flocon server here is this module's own: its settings let the HTTP client reach
127.0.0.1 (``allow_private_addresses``) and do not retry by themselves (``http_retries=0``),
so that a 503 reaches the agent. Its database is a copy of the session's seeded one, plus a
Mastodon mention whose status lives on the local server, the brand's posting account on that
server, a saved reply and a case on each mention.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from tests.support.browser import browser_settings

from connectors.server import LocalHTTPServer, RecordedRequest, Reply
from flocon.services import accounts, importing
from flocon.services import cases as cases_svc
from flocon.services import mentions as mentions_svc
from flocon.settings import Settings
from flocon.storage.engine import build_engine
from flocon.web import create_app

pytestmark = pytest.mark.browser

WORKSPACE = "default"
EMAIL = "agent@flocon.example"
PASSWORD = "an agent test password"
TOKEN = "masto-brand-token-0123456789"
SAVED_TEXT = (
    "Hello {author}, {brand} is sorry about the double charge. "
    "I have sent you a DM to refund you today."
)
#: The status each case answers, on the local server: id -> its author's account.
STATUSES = {"111": "claire", "112": "marc"}
TIMEOUT_MS = 10_000


@dataclass
class Inbox:
    """The live flocon, the local Mastodon, and the ids the tests open."""

    url: str
    mastodon: LocalHTTPServer
    engine: Engine
    cases: dict[str, int]


def _status(request: RecordedRequest) -> Reply:
    """GET /api/v1/statuses/{id}: the status a case answers."""
    status_id = request.route.rsplit("/", 1)[1]
    acct = STATUSES.get(status_id)
    if acct is None:
        return Reply(404, b'{"error": "Record not found"}', {"Content-Type": "application/json"})
    body = {"id": status_id, "visibility": "public", "account": {"acct": acct}}
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _posted(request: RecordedRequest) -> Reply:
    """POST /api/v1/statuses: the new reply."""
    answer = {"id": f"9{len(request.body)}", "url": "https://masto.example/@acme/9"}
    return Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})


def _seed(engine: Engine, settings: Settings, mastodon: LocalHTTPServer) -> dict[str, int]:
    """Mentions on the local Mastodon, the brand's account there, a saved reply, two cases."""
    host = mastodon.host
    now = datetime.now(UTC)
    lines = [
        {
            "id": f"{host}:{status_id}",
            "text": "Acme charged my card twice and nobody answers. Refund?",
            "url": mastodon.url(f"/@{acct}/{status_id}"),
            "author": {"handle": acct, "name": acct.title(), "followers": 1200},
            "published_at": (now - timedelta(minutes=5)).isoformat(),
            "source": f"mastodon:{host}",
            "lang": "en",
        }
        for status_id, acct in STATUSES.items()
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    report = importing.import_stream(
        engine, WORKSPACE, io.BytesIO(body), fmt="jsonl", settings=settings
    )
    assert report.rejected == []
    found = mentions_svc.list_mentions(
        engine, WORKSPACE, include_unmatched=True, include_muted=True, limit=500
    )
    by_external = {m.external_id: m.id for m in found}
    cases_svc.add_account(
        engine,
        WORKSPACE,
        platform="mastodon",
        name="Acme support",
        base_url=mastodon.url("/").rstrip("/"),
        credentials={"access_token": TOKEN},
        settings=settings,
        actor="cli",
    )
    cases_svc.save_saved(
        engine, WORKSPACE, name="Double charge", lang="en", text=SAVED_TEXT, actor="cli"
    )
    return {
        acct: cases_svc.create_case(
            engine, WORKSPACE, mention_id=by_external[f"{host}:{status_id}"], actor="cli"
        ).id
        for status_id, acct in STATUSES.items()
    }


def _wait_until_answering(port: int, thread: threading.Thread, deadline: float) -> None:
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped while starting")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/login")
            if conn.getresponse().status < 500:
                return
        except OSError:
            continue
        finally:
            conn.close()
    raise TimeoutError("the live server did not answer in time")


@pytest.fixture(scope="module")
def inbox(seed: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbox]:
    """The seeded flocon with an inbox to work, served on 127.0.0.1 next to a local Mastodon."""
    import uvicorn

    database = tmp_path_factory.mktemp("browser-inbox") / "flocon.db"
    with (
        contextlib.closing(sqlite3.connect(seed.path)) as src,
        contextlib.closing(sqlite3.connect(database)) as dst,
    ):
        src.backup(dst)
    settings = browser_settings(database, allow_private_addresses=True, http_retries=0)
    with LocalHTTPServer() as mastodon:
        mastodon.route_handler("/api/v1/statuses", _posted)
        for status_id in STATUSES:
            mastodon.route_handler(f"/api/v1/statuses/{status_id}", _status)
        engine = build_engine(settings)
        owner = accounts.setup_owner(
            engine, email="owner@flocon.example", password=PASSWORD, workspace=WORKSPACE
        )
        accounts.create_user(engine, email=EMAIL, password=PASSWORD, name="Sam")
        accounts.add_member(engine, WORKSPACE, email=EMAIL, role="agent", actor=owner)
        ids = _seed(engine, settings, mastodon)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, engine=engine),
                log_level="warning",
                access_log=False,
                lifespan="on",
                ws="none",
                http="h11",
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="flocon-inbox", daemon=True
        )
        thread.start()
        try:
            _wait_until_answering(port, thread, time.monotonic() + 30)
            yield Inbox(f"http://127.0.0.1:{port}", mastodon, engine, ids)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            sock.close()
            engine.dispose()
        assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture
def agent_page(browser: Browser, inbox: Inbox, probe: Any) -> Iterator[Page]:
    """A tab signed in as the agent Sam through the login form, then watched by ``probe``
    (as in conftest's ``owner_page``: the login page's missing favicon is not the inbox's)."""
    context = browser.new_context(base_url=inbox.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"**/w/{WORKSPACE}/dashboard")
    probe.attach(page)
    yield page
    context.close()


def _posts(inbox: Inbox) -> list[RecordedRequest]:
    return inbox.mastodon.requests_to("/api/v1/statuses")


def _open_from_the_inbox(page: Page, case_id: int) -> None:
    page.goto(f"/w/{WORKSPACE}/inbox")
    row = page.locator(f"#case-{case_id}")
    expect(row).to_be_visible()
    row.get_by_role("link", name=f"#{case_id}").click()
    page.wait_for_url(f"**/w/{WORKSPACE}/inbox/{case_id}")


def _write_from_the_saved_reply(page: Page) -> str:
    page.locator("#r-saved").select_option(label="Double charge (en)")
    page.locator("#use-saved").click()
    text = page.locator("#r-text")
    expect(text).to_have_value(re.compile(r"^Hello @"))
    return text.input_value()


def test_assign_reply_from_a_saved_reply_and_send_it_to_mastodon(
    agent_page: Page, inbox: Inbox, probe: Any, shoot: Callable[[Page, str], Any]
) -> None:
    page = agent_page
    case_id = inbox.cases["claire"]
    inbox.mastodon.route_handler("/api/v1/statuses", _posted)
    before = len(_posts(inbox))
    page.goto(f"/w/{WORKSPACE}/inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    shoot(page, "inbox")
    _open_from_the_inbox(page, case_id)

    page.locator("#take-case").click()
    expect(page.locator("#notice")).to_have_text("Case updated.")
    expect(page.locator("#c-assignee")).to_have_value(EMAIL)
    expect(page.locator("#case-status")).to_have_text("open")

    written = _write_from_the_saved_reply(page)
    assert written == (
        "Hello @claire, Acme is sorry about the double charge. "
        "I have sent you a DM to refund you today."
    )
    page.locator("#check-tone").click()
    expect(page.locator("#tone")).to_contain_text("The tone looks right")
    page.locator("#send-reply").click()
    expect(page.locator("#notice")).to_have_text("Reply sent.")

    (post,) = _posts(inbox)[before:]
    assert post.method == "POST"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(post.body) == {"status": written, "in_reply_to_id": "111"}

    reply = page.locator("#replies li").last
    expect(reply).to_contain_text("sent")
    expect(reply).to_contain_text(written)
    expect(reply.get_by_role("link", name="See it")).to_have_attribute(
        "href", "https://masto.example/@acme/9"
    )
    expect(page.locator("#first-response")).to_have_text(re.compile(r"^after \d+"))
    shoot(page, "inbox-case")
    assert probe.csp_violations(page) == []
    assert probe.page_errors == []
    assert probe.console_errors == []
    assert probe.dialogs == []


def test_a_refused_reply_shows_its_error_and_is_sent_on_retry(
    agent_page: Page, inbox: Inbox, probe: Any
) -> None:
    page = agent_page
    case_id = inbox.cases["marc"]
    sent_before = len(_posts(inbox))
    inbox.mastodon.route_sequence(
        "/api/v1/statuses",
        [
            Reply(503, b'{"error": "Service Unavailable"}', {"Content-Type": "application/json"}),
            Reply(
                200,
                b'{"id": "333", "url": "https://masto.example/@acme/333"}',
                {"Content-Type": "application/json"},
            ),
        ],
    )
    _open_from_the_inbox(page, case_id)
    _write_from_the_saved_reply(page)
    page.locator("#send-reply").click()
    expect(page.locator("#notice")).to_contain_text("The platform refused the reply")
    failed = page.locator("#replies li.rp-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("failed")
    expect(failed.locator(".error-text")).to_contain_text("503")
    expect(page.locator("#first-response")).to_contain_text("due ")

    failed.get_by_role("button", name="Retry").click()
    expect(page.locator("#notice")).to_have_text("Reply sent.")
    expect(page.locator("#replies li.rp-failed")).to_have_count(0)
    expect(page.locator("#replies li.rp-sent")).to_have_count(1)
    expect(page.locator("#first-response")).to_have_text(re.compile(r"^after "))
    posts = _posts(inbox)[sent_before:]
    assert len(posts) == 2
    assert json.loads(posts[0].body) == json.loads(posts[1].body)
    assert json.loads(posts[1].body)["in_reply_to_id"] == "112"
    assert probe.page_errors == []
    assert probe.csp_violations(page) == []
