"""The sources pages: health at a glance with the hourly strip, add and edit per kind with
write-only credentials, pause and resume, delete, "test now" (behind the SSRF guard), roles,
CSRF and workspaces kept apart; and the activity service behind the strip."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from flocon.credentials import CredentialBox
from flocon.domain.models import Draft
from flocon.errors import NotFound
from flocon.services import accounts
from flocon.services import sources as svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import sources as sq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions
from flocon.web import create_app
from flocon.web.api import schemas_sources
from flocon.web.i18n import translations
from flocon.web.ui import sources as ui_sources

SECRET = "s3cr3t-VALUE-never-shown"
FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Local</title><link>https://local.example/</link>
<item><title>Acme &lt;script&gt;alert(1)&lt;/script&gt; launches</title>
<link>javascript:alert(2)</link><guid>a1</guid>
<description>Acme launches a rocket</description>
<pubDate>Tue, 19 Nov 2024 07:58:00 +0100</pubDate></item>
<item><title>Second item</title><link>https://local.example/2</link><guid>a2</guid>
<description>More news</description></item>
</channel></rss>"""


def ingest(engine: Engine, drafts: list[Draft], workspace: str = "default") -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id))
    with write(engine) as conn:
        ingestor.ingest_batch(conn, drafts)


def add_feed(engine: Engine, settings: Settings, workspace: str = "default", **fields: Any) -> int:
    values: dict[str, Any] = {"kind": "feed", "target": "https://news.example/rss.xml"}
    values.update(fields)
    return svc.add_source(engine, CredentialBox(settings), workspace, **values).id


def add_reddit(engine: Engine, settings: Settings, workspace: str = "default") -> int:
    return svc.add_source(
        engine,
        CredentialBox(settings),
        workspace,
        kind="reddit",
        target="r/france",
        options={"limit": "50"},
        credentials={"client_id": "the-id", "client_secret": SECRET},
    ).id


def keys(engine: Engine, settings: Settings, source_id: int) -> dict[str, str]:
    with read(engine) as conn:
        return CredentialBox(settings).open(sq.credentials_token(conn, source_id))


def set_health(engine: Engine, source_id: int, **values: Any) -> None:
    with write(engine) as conn:
        sq.update_fields(conn, source_id, **values)


# --------------------------------------------------------------------------- list


def test_the_list_shows_health_at_a_glance(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, _csrf = owner_client
    ok = add_feed(engine, settings, name="Good feed")
    failing = add_feed(engine, settings, name="Bad feed", target="https://bad.example/rss")
    now = datetime.now(UTC)
    set_health(engine, ok, last_success_at=now - timedelta(minutes=5), last_run_at=now)
    set_health(
        engine,
        failing,
        created_at=now - timedelta(days=8),
        last_success_at=now - timedelta(days=2),
        last_error="server answered 503",
        last_error_at=now - timedelta(minutes=3),
        failing_since=now - timedelta(hours=5),
        consecutive_failures=7,
    )
    ingest(
        engine,
        [
            Draft(source_kind="feed", source_name="Good feed", text=f"item {i}", external_id=str(i))
            for i in range(3)
        ],
    )
    html = client.get("/w/default/sources").text
    good = re.search(rf'<tr id="source-{ok}">.*?</tr>', html, re.S)
    bad = re.search(rf'<tr id="source-{failing}">.*?</tr>', html, re.S)
    assert good is not None
    assert bad is not None
    assert '<span class="badge state-ok">ok</span>' in good.group(0)
    assert "5 minutes ago" in good.group(0)
    assert '<td class="num">3</td>' in good.group(0)
    assert '<span class="badge state-down">down</span>' in bad.group(0)
    assert "server answered 503" in bad.group(0)
    # The strip: 168 hours, the last 5 or 6 failing (hatched), the others empty.
    strip = re.search(r'<div class="hours"[^>]*>(.*?)</div>', bad.group(0), re.S)
    assert strip is not None
    cells = re.findall(r'<i class="c(\w)"></i>', strip.group(1))
    assert len(cells) == 168
    assert cells[-5:] == ["d"] * 5
    assert "d" not in cells[:-6]


def test_file_imports_are_listed_on_demand(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, _csrf = owner_client
    ingest(
        engine, [Draft(source_kind="import", source_name="upload.csv", text="x", external_id="1")]
    )
    assert "upload.csv" not in client.get("/w/default/sources").text
    assert "upload.csv" in client.get("/w/default/sources?all=1").text


def test_a_viewer_reads_without_write_buttons(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    engine: Engine,
    settings: Settings,
) -> None:
    source_id = add_feed(engine, settings, name="Feed")
    sign_in(client, make_member("viewer"))
    html = client.get("/w/default/sources").text
    assert "Feed" in html
    assert 'id="add-source"' not in html
    assert "/pause" not in html
    detail = client.get(f"/w/default/sources/{source_id}").text
    assert 'id="test-now"' not in detail
    assert 'id="save-source"' not in detail


# --------------------------------------------------------------------------- roles, CSRF, workspaces


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_below_manager_cannot_change_or_test(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    engine: Engine,
    settings: Settings,
    role: str,
) -> None:
    source_id = add_feed(engine, settings, name="Feed")
    csrf = sign_in(client, make_member(role))
    base = f"/w/default/sources/{source_id}"
    assert client.get("/w/default/sources/new").status_code == 403
    assert client.get(f"{base}/delete").status_code == 403
    posts = [
        client.post(
            "/w/default/sources/new",
            data={"kind": "feed", "target": "https://x.example/f", "csrf_token": csrf},
        ),
        client.post(base, data={"name": "Renamed", "target": "", "csrf_token": csrf}),
        client.post(f"{base}/pause", data={"csrf_token": csrf}),
        client.post(f"{base}/delete", data={"csrf_token": csrf}),
        client.post(f"{base}/test", data={"csrf_token": csrf}),
    ]
    assert [p.status_code for p in posts] == [403] * 5
    source = svc.get_source(engine, "default", str(source_id))
    assert (source.name, source.paused) == ("Feed", False)
    assert len(svc.list_sources(engine, "default")) == 1


def test_a_form_without_its_csrf_token_is_refused(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, _csrf = owner_client
    source_id = add_feed(engine, settings, name="Feed")
    base = f"/w/default/sources/{source_id}"
    assert client.post(base + "/pause", data={}).status_code == 403
    assert client.post(base + "/delete", data={}).status_code == 403
    assert (
        client.post(
            "/w/default/sources/new", data={"kind": "feed", "target": "https://x.example/f"}
        ).status_code
        == 403
    )
    assert client.post(base, data={"name": "Renamed", "csrf_token": "forged"}).status_code == 403
    source = svc.get_source(engine, "default", str(source_id))
    assert (source.name, source.paused) == ("Feed", False)
    assert len(svc.list_sources(engine, "default")) == 1


def test_another_workspaces_source_is_not_found(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    engine: Engine,
    settings: Settings,
) -> None:
    make_member("owner", "other")
    theirs = add_reddit(engine, settings, "other")
    csrf = sign_in(client, make_member("owner"))
    base = f"/w/default/sources/{theirs}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/delete").status_code == 404
    for path in ("", "/pause", "/resume", "/delete", "/test"):
        response = client.post(base + path, data={"name": "mine", "csrf_token": csrf})
        assert response.status_code == 404, path
    assert client.get(f"/w/other/sources/{theirs}").status_code == 404
    assert client.get("/w/other/sources").status_code == 404
    assert client.get("/w/other/sources/new?kind=feed").status_code == 404
    source = svc.get_source(engine, "other", str(theirs))
    assert (source.name, source.paused) == ("r/france", False)


# --------------------------------------------------------------------------- add and edit


def test_the_add_page_offers_every_kind_then_its_fields(
    owner_client: tuple[TestClient, Any, str],
) -> None:
    client, _member, _csrf = owner_client
    kinds = client.get("/w/default/sources/new").text
    for kind in ("feed", "web", "site", "hackernews", "reddit", "mastodon", "bluesky", "youtube"):
        assert f"/sources/new?kind={kind}" in kinds
    youtube = client.get("/w/default/sources/new?kind=youtube").text
    assert 'name="opt_daily_quota" type="number" min="1" max="10000000"' in youtube
    assert 'name="cred_api_key" type="password" value=""' in youtube


def test_add_stores_options_and_credentials_and_never_shows_the_secret(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    response = client.post(
        "/w/default/sources/new",
        data={
            "kind": "reddit",
            "target": "r/france",
            "every": "10m",
            "opt_limit": "50",
            "opt_max_pages": "",
            "cred_client_id": "the-id",
            "cred_client_secret": SECRET,
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 303
    [health] = svc.list_sources(engine, "default")
    source = health.source
    assert response.headers["location"] == f"/w/default/sources/{source.id}?done=created"
    assert (source.kind, source.target, source.every_s) == ("reddit", "r/france", 600)
    assert source.options == {"limit": "50"}
    assert keys(engine, settings, source.id) == {"client_id": "the-id", "client_secret": SECRET}
    detail = client.get(response.headers["location"]).text
    assert SECRET not in detail
    assert "the-id" not in detail
    assert detail.count('<span class="badge state-ok">set</span>') == 2
    assert SECRET not in client.get("/w/default/sources").text
    entry = accounts.audit_events(engine, "default", limit=1)[0]
    assert entry.action == "source.create"
    assert SECRET not in str(entry.details)


def test_a_refused_add_keeps_the_fields_but_not_the_secret(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    response = client.post(
        "/w/default/sources/new",
        data={
            "kind": "reddit",
            "target": "not a reddit target!",
            "opt_limit": "50",
            "cred_client_secret": SECRET,
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 400
    assert "invalid reddit target" in response.text
    assert 'value="not a reddit target!"' in response.text
    assert SECRET not in response.text
    assert svc.list_sources(engine, "default") == []


def test_edit_keeps_a_blank_credential_replaces_a_new_one_and_removes_a_ticked_one(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    source_id = add_reddit(engine, settings)
    set_health(engine, source_id, cursor={"after": "t3_x"})
    page = client.get(f"/w/default/sources/{source_id}").text
    assert SECRET not in page
    assert 'name="cred_client_secret" type="password" value=""' in page
    assert 'value="50"' in page  # options are shown back
    response = client.post(
        f"/w/default/sources/{source_id}",
        data={
            "name": "Reddit FR",
            "target": "r/france",
            "every": "15m",
            "opt_limit": "",
            "opt_max_pages": "2",
            "cred_client_id": "",
            "cred_client_secret": "",
            "cred_username": "bot",
            "cred_remove": ["client_id"],
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 303
    source = svc.get_source(engine, "default", str(source_id))
    assert source.name == "Reddit FR"
    assert source.options == {"max_pages": "2"}
    assert source.cursor == {"after": "t3_x"}  # same target: the cursor stays
    assert keys(engine, settings, source_id) == {"client_secret": SECRET, "username": "bot"}
    shown = client.get(response.headers["location"]).text
    assert SECRET not in shown
    assert "Source saved." in shown


def test_edit_with_an_invalid_option_is_refused_and_changes_nothing(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    source_id = add_reddit(engine, settings)
    response = client.post(
        f"/w/default/sources/{source_id}",
        data={
            "name": "r/france",
            "target": "r/france",
            "every": "15m",
            "opt_limit": "5000",
            "cred_client_secret": "another-secret-value",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 400
    assert "limit" in response.text
    assert 'value="5000"' in response.text
    assert "another-secret-value" not in response.text
    assert SECRET not in response.text
    assert svc.get_source(engine, "default", str(source_id)).options == {"limit": "50"}
    assert keys(engine, settings, source_id)["client_secret"] == SECRET


def test_other_options_lines_are_kept_edited_and_removed(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    source_id = add_feed(
        engine,
        settings,
        kind="hackernews",
        target="acme",
        options={"base_url": "https://hn.example"},
    )
    page = client.get(f"/w/default/sources/{source_id}").text
    assert "base_url=https://hn.example</textarea>" in page
    client.post(
        f"/w/default/sources/{source_id}",
        data={
            "name": "acme",
            "target": "acme",
            "every": "15m",
            "other_options": "",
            "opt_max_pages": "4",
            "csrf_token": csrf,
        },
    )
    assert svc.get_source(engine, "default", str(source_id)).options == {"max_pages": "4"}


# --------------------------------------------------------------------------- pause, delete


def test_pause_and_resume(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    source_id = add_feed(engine, settings, name="Feed")
    paused = client.post(
        f"/w/default/sources/{source_id}/pause", data={"csrf_token": csrf, "back": "list"}
    )
    assert paused.status_code == 303
    assert paused.headers["location"] == f"/w/default/sources?done=paused&id={source_id}"
    assert svc.get_source(engine, "default", str(source_id)).paused
    row = re.search(
        rf'<tr id="source-{source_id}">.*?</tr>', client.get(paused.headers["location"]).text, re.S
    )
    assert row is not None
    assert '<span class="badge state-paused">paused</span>' in row.group(0)
    resumed = client.post(f"/w/default/sources/{source_id}/resume", data={"csrf_token": csrf})
    assert resumed.headers["location"] == f"/w/default/sources/{source_id}?done=resumed"
    assert not svc.get_source(engine, "default", str(source_id)).paused
    actions = [e.action for e in accounts.audit_events(engine, "default", limit=2)]
    assert actions == ["source.resume", "source.pause"]


def test_delete_asks_then_deletes_the_source_and_its_mentions(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, csrf = owner_client
    source_id = add_feed(engine, settings, name="Feed")
    ingest(engine, [Draft(source_kind="feed", source_name="Feed", text="x", external_id="1")])
    confirm = client.get(f"/w/default/sources/{source_id}/delete")
    assert confirm.status_code == 200
    assert "Delete the source Feed?" in confirm.text
    response = client.post(f"/w/default/sources/{source_id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    with pytest.raises(NotFound):
        svc.get_source(engine, "default", str(source_id))
    with read(engine) as conn:
        assert conn.execute(mentions.select()).first() is None


# --------------------------------------------------------------------------- test now


class _FeedHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    _FeedHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_test_now_respects_the_ssrf_guard(
    owner_client: tuple[TestClient, Any, str],
    engine: Engine,
    settings: Settings,
    feed_server: str,
) -> None:
    client, _member, csrf = owner_client
    source_id = add_feed(engine, settings, name="Local", target=feed_server)
    response = client.post(
        f"/w/default/sources/{source_id}/test",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "The test failed" in response.text
    assert "private address" in response.text
    assert _FeedHandler.hits == []


def test_test_now_shows_what_would_be_stored_and_stores_nothing(
    database_url: str,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    feed_server: str,
) -> None:
    allowed = Settings(database_url=database_url, allow_private_addresses=True)
    source_id = add_feed(engine, allowed, name="Local", target=feed_server)
    with TestClient(create_app(allowed, engine=engine), follow_redirects=False) as client:
        csrf = sign_in(client, make_member("manager"))
        response = client.post(f"/w/default/sources/{source_id}/test", data={"csrf_token": csrf})
    assert response.status_code == 200
    html = response.text
    assert "<html" in html  # without htmx: a whole page
    assert "2 new items would be stored." in html
    assert "Second item" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert _FeedHandler.hits == ["/feed.xml"]
    with read(engine) as conn:
        assert conn.execute(mentions.select()).first() is None
    assert svc.get_source(engine, "default", str(source_id)).cursor == {}


# --------------------------------------------------------------------------- the activity strip


def test_activity_counts_items_per_hour_and_marks_failures(
    engine: Engine, settings: Settings
) -> None:
    now = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    source_id = add_feed(engine, settings, name="Feed")
    set_health(engine, source_id, created_at=now - timedelta(days=3, minutes=30))
    ingest(
        engine,
        [
            Draft(source_kind="feed", source_name="Feed", text=f"item {i}", external_id=str(i))
            for i in range(4)
        ],
    )
    with write(engine) as conn:
        ids = [r.id for r in conn.execute(mentions.select().order_by(mentions.c.id))]
        for mention_id, at in zip(
            ids,
            [
                now - timedelta(hours=30, minutes=10),
                now - timedelta(hours=30, minutes=20),
                now - timedelta(hours=2),
                now - timedelta(days=9),
            ],
            strict=True,
        ):
            conn.execute(
                update(mentions).where(mentions.c.id == mention_id).values(collected_at=at)
            )
        # A past failure, told by a "source down" alert, then the current one.
        aq.open_alert(
            conn,
            wsq.get_by_name(conn, "default").id,
            watch_id=None,
            kind="source_down",
            key=f"{source_id}@x",
            severity="medium",
            score=None,
            episode_start=now - timedelta(hours=20),
            detected_at=now - timedelta(hours=19),
            updated_at=now - timedelta(hours=19),
            explanation="down",
            evidence=[],
            details={"source_id": source_id},
        )
    set_health(
        engine,
        source_id,
        failing_since=now - timedelta(minutes=40),
        last_error_at=now - timedelta(minutes=5),
        consecutive_failures=2,
    )
    source = svc.get_source(engine, "default", str(source_id))
    activity = svc.source_activity(engine, "default", [source], now=now)[source_id]
    hours = activity.hours
    assert len(hours) == 7 * 24
    assert hours[-1].start == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    by_start = {b.start: b for b in hours}
    busy = by_start[datetime(2026, 11, 19, 6, 0, tzinfo=UTC)]
    assert (busy.items, busy.state, busy.level) == (2, "items", 4)
    later = by_start[datetime(2026, 11, 20, 10, 0, tzinfo=UTC)]
    assert (later.items, later.state, later.level) == (1, "items", 2)
    # From the alert's start to the hour before items came back: down.
    assert by_start[datetime(2026, 11, 19, 16, 0, tzinfo=UTC)].state == "down"
    assert by_start[datetime(2026, 11, 20, 9, 0, tzinfo=UTC)].state == "down"
    assert by_start[datetime(2026, 11, 19, 15, 0, tzinfo=UTC)].state == "empty"
    # The current failure: the hours since failing_since.
    assert [b.state for b in hours[-2:]] == ["down", "down"]
    assert by_start[datetime(2026, 11, 20, 10, 0, tzinfo=UTC)].state == "items"
    # Before the source existed.
    assert hours[0].state == "before"
    assert by_start[datetime(2026, 11, 17, 12, 0, tzinfo=UTC)].state == "empty"
    assert activity.down_hours == 18 + 2
    assert activity.newest_item_at == now - timedelta(hours=2)


def test_activity_of_another_workspaces_source_counts_nothing(
    engine: Engine, settings: Settings, make_member: Callable[..., Any]
) -> None:
    make_member("owner", "other")
    theirs = add_feed(engine, settings, "other", name="Theirs")
    ingest(
        engine,
        [Draft(source_kind="feed", source_name="Theirs", text="x", external_id="1")],
        "other",
    )
    source = svc.get_source(engine, "other", str(theirs))
    activity = svc.source_activity(engine, "default", [source])[theirs]
    assert sum(b.items for b in activity.hours) == 0
    assert activity.newest_item_at is None


def test_every_message_of_the_sources_pages_is_translated() -> None:
    files = [
        Path(ui_sources.__file__),
        Path(schemas_sources.__file__),
        *sorted((Path(ui_sources.__file__).parents[1] / "templates").glob("sources/*.html")),
    ]
    french = getattr(translations("fr"), "_catalog", {})
    missing: list[str] = []
    for file in files:
        method = "python" if file.suffix == ".py" else "jinja2"
        options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
        for _line, message, _comments, _context in extract_from_file(
            method, str(file), keywords=DEFAULT_KEYWORDS, options=options
        ):
            key = (message[0], 0) if isinstance(message, tuple) else message
            if key not in french:
                missing.append(f"{file.name}: {message}")
    assert missing == []


def test_the_sources_page_is_in_french(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, _csrf = owner_client
    add_feed(engine, settings, name="Feed")
    html = client.get("/w/default/sources", headers={"Accept-Language": "fr"}).text
    assert "Ajouter une source" in html
    assert "Éléments en 24 h" in html
    assert '<span class="badge state-new">nouvelle</span>' in html
