"""The watches pages: the list, the editor with live query validation (the error at its
position) and the preview of stored mentions, create, edit, delete, backfill, roles, CSRF,
workspaces kept apart, and collected content rendered inert; and the preview service."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from flocon.domain.models import Draft, WatchKind
from flocon.domain.query import parse
from flocon.errors import NotFound, QuerySyntaxError
from flocon.services import accounts
from flocon.services import watches as svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions
from flocon.web.i18n import translations
from flocon.web.ui import watches as ui_watches

NOW = datetime.now(UTC).replace(microsecond=0)


def ingest(engine: Engine, drafts: list[Draft], workspace: str = "default") -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
    ingestor = Ingestor(ws.id, load_matcher(engine, ws.id))
    with write(engine) as conn:
        ingestor.ingest_batch(conn, drafts)


def draft(ext_id: str, text: str, at: datetime, **fields: Any) -> Draft:
    values: dict[str, Any] = {
        "source_kind": "forum",
        "source_name": "forum.example",
        "url": f"https://forum.example/t/{ext_id}",
    }
    values.update(fields)
    return Draft(external_id=ext_id, text=text, published_at=at, **values)


def signed_in(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    role: str,
    workspace: str = "default",
) -> str:
    return sign_in(client, make_member(role, workspace))


# --------------------------------------------------------------------------- list


def test_the_list_shows_name_group_query_languages_and_mentions(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, _csrf = owner_client
    svc.add_watch(
        engine, "default", name="Acme", query="acme -spam", group="Brands", langs=("fr", "en")
    )
    ingest(engine, [draft("1", "acme is great", NOW), draft("2", "acme again", NOW)])
    html = client.get("/w/default/watches").text
    row = re.search(
        r"<tr>\s*<td><a href=\"/w/default/watches/Acme/edit\">Acme</a>.*?</tr>", html, re.S
    )
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert "Brands" in cells[2]
    assert "acme -spam" in cells[3]
    assert "fr, en" in cells[4]
    assert ">2</a>" in cells[5]


def test_a_viewer_reads_the_list_without_write_buttons(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], engine: Engine
) -> None:
    svc.add_watch(engine, "default", name="Acme", query="acme")
    signed_in(client, make_member, sign_in, "viewer")
    html = client.get("/w/default/watches").text
    assert "Acme" in html
    assert 'id="new-watch"' not in html
    assert "/watches/Acme/delete" not in html


# --------------------------------------------------------------------------- roles and CSRF


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_below_manager_cannot_write(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    engine: Engine,
    role: str,
) -> None:
    svc.add_watch(engine, "default", name="Acme", query="acme")
    csrf = signed_in(client, make_member, sign_in, role)
    assert client.get("/w/default/watches/new").status_code == 403
    assert client.get("/w/default/watches/Acme/delete").status_code == 403
    created = client.post(
        "/w/default/watches/new", data={"name": "X", "query": "x", "csrf_token": csrf}
    )
    edited = client.post(
        "/w/default/watches/Acme/edit", data={"name": "Acme", "query": "y", "csrf_token": csrf}
    )
    deleted = client.post("/w/default/watches/Acme/delete", data={"csrf_token": csrf})
    backfilled = client.post("/w/default/watches/Acme/backfill", data={"csrf_token": csrf})
    assert [created.status_code, edited.status_code, deleted.status_code] == [403, 403, 403]
    assert backfilled.status_code == 403
    assert [w.name for w, _n in svc.list_watches(engine, "default")] == ["Acme"]
    assert svc.get_watch(engine, "default", "Acme")[0].query == "acme"


def test_a_viewer_sees_the_editor_read_only(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], engine: Engine
) -> None:
    svc.add_watch(engine, "default", name="Acme", query="acme")
    signed_in(client, make_member, sign_in, "viewer")
    html = client.get("/w/default/watches/Acme/edit").text
    assert '<fieldset class="plain stack" disabled>' in html
    assert 'id="save-watch"' not in html


def test_a_form_without_its_csrf_token_is_refused(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, _csrf = owner_client
    response = client.post("/w/default/watches/new", data={"name": "Acme", "query": "acme"})
    assert response.status_code == 403
    assert svc.list_watches(engine, "default") == []
    svc.add_watch(engine, "default", name="Kept", query="kept")
    assert client.post("/w/default/watches/Kept/delete", data={}).status_code == 403
    assert (
        client.post(
            "/w/default/watches/Kept/edit", data={"name": "Kept", "query": "other"}
        ).status_code
        == 403
    )
    assert svc.get_watch(engine, "default", "Kept")[0].query == "kept"


# --------------------------------------------------------------------------- workspaces


def test_another_workspaces_watch_is_not_found(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], engine: Engine
) -> None:
    make_member("owner", "other")
    svc.add_watch(engine, "other", name="Secret", query="secret")
    csrf = signed_in(client, make_member, sign_in, "owner")
    base = "/w/default/watches/Secret"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.get(f"{base}/delete").status_code == 404
    assert (
        client.post(
            f"{base}/edit", data={"name": "S", "query": "x", "csrf_token": csrf}
        ).status_code
        == 404
    )
    assert client.post(f"{base}/delete", data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"{base}/backfill", data={"csrf_token": csrf}).status_code == 404
    # Nor through the other workspace's address, which this member does not belong to.
    assert client.get("/w/other/watches").status_code == 404
    assert client.get("/w/other/watches/new").status_code == 404
    assert client.get("/w/other/watches/Secret/edit").status_code == 404
    for part in ("validate", "preview"):
        response = client.post(
            f"/w/other/watches/{part}", data={"query": "secret"}, headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 404, part
    assert svc.get_watch(engine, "other", "Secret")[0].query == "secret"


# --------------------------------------------------------------------------- create, edit


def test_a_manager_creates_a_watch_and_it_is_audited(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str], engine: Engine
) -> None:
    csrf = signed_in(client, make_member, sign_in, "manager")
    assert client.get("/w/default/watches/new").status_code == 200
    response = client.post(
        "/w/default/watches/new",
        data={
            "name": "Acme",
            "query": "acme OR globex",
            "kind": "competitor",
            "group": "Brands",
            "langs": "fr, en",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/w/default/watches?done=created&name=Acme"
    watch, _count = svc.get_watch(engine, "default", "Acme")
    assert (watch.query, watch.kind, watch.group, watch.langs) == (
        "acme OR globex",
        WatchKind.COMPETITOR,
        "Brands",
        ("fr", "en"),
    )
    entry = accounts.audit_events(engine, "default", limit=1)[0]
    assert (entry.action, entry.object_id) == ("watch.create", "Acme")
    assert "Watch Acme created." in client.get(response.headers["location"]).text


def test_create_with_backfill_links_the_stored_mentions(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    ingest(engine, [draft("1", "acme rocks", NOW), draft("2", "nothing here", NOW)])
    response = client.post(
        "/w/default/watches/new",
        data={"name": "Acme", "query": "acme", "backfill": "1", "csrf_token": csrf},
    )
    assert response.status_code == 303
    assert "linked=1" in response.headers["location"]
    assert svc.get_watch(engine, "default", "Acme")[1] == 1


def test_a_query_with_a_syntax_error_is_refused_with_its_position(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    response = client.post(
        "/w/default/watches/new",
        data={"name": "Acme", "query": "acme AND (globex", "csrf_token": csrf},
    )
    assert response.status_code == 400
    assert svc.list_watches(engine, "default") == []
    html = response.text
    assert "Error at position 9 (line 1, column 10)" in html
    assert '<pre class="query-error" aria-hidden="true">acme AND (globex\n         ^</pre>' in html
    # The form keeps what was typed.
    assert 'value="Acme"' in html
    assert ">acme AND (globex</textarea>" in html


def test_the_validation_fragment_puts_a_caret_under_the_error(
    owner_client: tuple[TestClient, Any, str],
) -> None:
    client, _member, csrf = owner_client
    query = "acme OR\n  globex NEAR/x delivery"
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    position = caught.value.position
    line_start = query.rfind("\n", 0, position) + 1
    response = client.post(
        "/w/default/watches/validate", data={"query": query}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment, not a page
    pre = re.search(r'<pre class="query-error" aria-hidden="true">(.*?)</pre>', response.text, re.S)
    assert pre is not None
    line, pointer = pre.group(1).split("\n")
    assert line == "  globex NEAR/x delivery"
    assert pointer == " " * (position - line_start) + "^"
    assert f"position {position} (line 2, column {position - line_start + 1})" in response.text


def test_the_validation_fragment_shows_a_valid_query_normalised(
    owner_client: tuple[TestClient, Any, str],
) -> None:
    client, _member, csrf = owner_client
    response = client.post(
        "/w/default/watches/validate",
        data={"query": "Acme  AND Globex"},
        headers={"X-CSRF-Token": csrf},
    )
    assert "Valid query" in response.text
    assert "<code>acme globex</code>" in response.text


def test_edit_renames_changes_the_query_and_backfills(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    svc.add_watch(engine, "default", name="Acme", query="acme")
    ingest(engine, [draft("1", "acme rocks", NOW), draft("2", "globex rocks", NOW)])
    svc.backfill_watch(engine, "default", "Acme")
    page = client.get("/w/default/watches/Acme/edit")
    assert page.status_code == 200
    assert ">acme</textarea>" in page.text
    response = client.post(
        "/w/default/watches/Acme/edit",
        data={
            "name": "Globex",
            "query": "globex",
            "kind": "brand",
            "backfill": "1",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 303
    assert "linked=1&unlinked=1&total=1" in response.headers["location"]
    with pytest.raises(NotFound):
        svc.get_watch(engine, "default", "Acme")
    watch, count = svc.get_watch(engine, "default", "Globex")
    assert (watch.query, count) == ("globex", 1)
    entry = accounts.audit_events(engine, "default", limit=2)[-1]
    assert entry.action == "watch.edit"
    assert entry.details["fields"] == ["name", "query"]


def test_edit_with_a_syntax_error_keeps_the_watch_and_the_form(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    svc.add_watch(engine, "default", name="Acme", query="acme")
    response = client.post(
        "/w/default/watches/Acme/edit",
        data={"name": "Acme", "query": 'acme "unclosed', "csrf_token": csrf},
    )
    assert response.status_code == 400
    assert "unbalanced quote" in response.text
    assert (
        "&#34;unclosed</textarea>" in response.text or "&quot;unclosed</textarea>" in response.text
    )
    assert svc.get_watch(engine, "default", "Acme")[0].query == "acme"


def test_a_name_already_used_is_refused(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    svc.add_watch(engine, "default", name="Acme", query="acme")
    response = client.post(
        "/w/default/watches/new", data={"name": "Acme", "query": "other", "csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "already exists" in response.text
    assert svc.get_watch(engine, "default", "Acme")[0].query == "acme"


def test_a_name_with_a_slash_and_spaces_has_working_pages(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    svc.add_watch(engine, "default", name="Acme / FR edit", query="acme")
    html = client.get("/w/default/watches").text
    assert 'href="/w/default/watches/Acme%20%2F%20FR%20edit/edit"' in html
    assert client.get("/w/default/watches/Acme%20%2F%20FR%20edit/edit").status_code == 200
    response = client.post(
        "/w/default/watches/Acme%20%2F%20FR%20edit/delete", data={"csrf_token": csrf}
    )
    assert response.status_code == 303
    assert svc.list_watches(engine, "default") == []


# --------------------------------------------------------------------------- delete, backfill


def test_delete_asks_then_deletes(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    svc.add_watch(engine, "default", name="Acme", query="acme")
    confirm = client.get("/w/default/watches/Acme/delete")
    assert confirm.status_code == 200
    assert "Delete the watch Acme?" in confirm.text
    assert svc.list_watches(engine, "default") != []  # asking deletes nothing
    response = client.post("/w/default/watches/Acme/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert svc.list_watches(engine, "default") == []
    assert accounts.audit_events(engine, "default", limit=1)[0].action == "watch.delete"


def test_the_backfill_button_links_stored_mentions(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    ingest(engine, [draft("1", "acme rocks", NOW), draft("2", "acme rolls", NOW)])
    svc.add_watch(engine, "default", name="Acme", query="acme")
    response = client.post("/w/default/watches/Acme/backfill", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert svc.get_watch(engine, "default", "Acme")[1] == 2
    shown = client.get(response.headers["location"]).text
    assert "Backfill of Acme: linked 2, unlinked 0; mentions in all: 2." in shown


# --------------------------------------------------------------------------- preview


def test_the_preview_counts_the_matches_and_the_daily_volume(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    ingest(
        engine,
        [
            draft("1", "acme one", NOW - timedelta(hours=1)),
            draft("2", "acme two", NOW - timedelta(days=2)),
            draft("3", "acme three", NOW - timedelta(days=10)),
            draft("4", "acme four", NOW - timedelta(days=29)),
            draft("5", "acme too old", NOW - timedelta(days=40)),
            draft("6", "globex", NOW - timedelta(days=3)),
        ],
    )
    response = client.post(
        "/w/default/watches/preview", data={"query": "acme"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    # 4 matches over 30 days.
    assert "4 stored mentions match." in response.text
    assert "about 0.1 a day" in response.text
    assert response.text.count('<article class="mention">') == 4
    assert "acme too old" not in response.text
    assert response.text.index("acme one") < response.text.index("acme four")


def test_the_preview_escapes_collected_content(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    ingest(engine, [draft("x", "acme", NOW)])
    # Stored as a hostile source could have it (the ingest strips markup; this test must not
    # depend on that).
    with write(engine) as conn:
        conn.execute(
            update(mentions).values(
                text='acme <script>alert("text")</script><img src=x onerror=alert(1)>',
                title="acme <svg onload=alert(2)>",
                author_name="<b onmouseover=alert(4)>Eve</b>",
                url="javascript:alert(3)",
            )
        )
    response = client.post(
        "/w/default/watches/preview", data={"query": "acme"}, headers={"X-CSRF-Token": csrf}
    )
    html = response.text
    assert '<article class="mention">' in html
    assert "<script>" not in html
    assert "<img" not in html
    assert "<svg" not in html
    assert "<b " not in html
    assert "&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt;" in html
    assert "&lt;svg onload=alert(2)&gt;" in html
    assert "javascript:" not in html


def test_the_preview_of_an_invalid_query_asks_to_correct_it(
    owner_client: tuple[TestClient, Any, str],
) -> None:
    client, _member, csrf = owner_client
    response = client.post(
        "/w/default/watches/preview", data={"query": "acme AND"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert "Correct the query" in response.text


def test_the_preview_needs_the_csrf_header(owner_client: tuple[TestClient, Any, str]) -> None:
    client, _member, _csrf = owner_client
    assert client.post("/w/default/watches/preview", data={"query": "acme"}).status_code == 403


def test_preview_service_counts_originals_in_the_window(engine: Engine) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    ingest(
        engine,
        [
            draft("1", "acme a", now - timedelta(days=1), lang="fr"),
            draft("2", "acme b", now - timedelta(days=5), lang="de"),
            draft("3", "acme c", now - timedelta(days=6), url="https://same.example/a"),
            draft("4", "acme c again", now - timedelta(days=6), url="https://same.example/a"),
            draft("5", "acme d", now - timedelta(days=40)),
        ],
    )
    preview = svc.preview_query(engine, "default", "acme", now=now)
    # The window ends at the newest mention; "4" repeats "3" (same address) and is left out.
    assert preview.until == now - timedelta(days=1)
    assert preview.matched == 3
    assert preview.complete
    assert preview.per_day == pytest.approx(3 / 30)
    assert [m.text for m in preview.mentions] == ["acme a", "acme b", "acme c"]
    french = svc.preview_query(engine, "default", "acme", langs=("fr",), now=now)
    assert french.matched == 2  # "fr", and "c" whose language is unknown
    capped = svc.preview_query(engine, "default", "acme", now=now, max_scan=2)
    assert not capped.complete
    assert (capped.scanned, capped.matched) == (2, 2)
    assert capped.since == now - timedelta(days=5)
    assert capped.per_day == pytest.approx(2 / 4)


def test_preview_service_rejects_an_invalid_query(engine: Engine) -> None:
    with pytest.raises(QuerySyntaxError):
        svc.preview_query(engine, "default", "(acme")


def test_the_editor_is_in_french(owner_client: tuple[TestClient, Any, str], engine: Engine) -> None:
    client, _member, _csrf = owner_client
    svc.add_watch(engine, "default", name="Acme", query="acme")
    html = client.get("/w/default/watches/Acme/edit", headers={"Accept-Language": "fr"}).text
    assert "Aperçu" in html
    assert "Requête" in html


def test_every_message_of_the_watches_pages_is_translated() -> None:
    missing = untranslated([Path(ui_watches.__file__), *sorted(TEMPLATES.glob("watches/*.html"))])
    assert missing == []


TEMPLATES = Path(ui_watches.__file__).parents[1] / "templates"


def untranslated(files: list[Path]) -> list[str]:
    """Messages of ``files`` (Python and Jinja) that the French catalogue lacks."""
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
    return missing
