"""The REST API of watches and sources: every route, with tokens and sessions, and its
failures — roles (403), other workspaces (404), CSRF for session calls, query errors with
their position, pagination, and credentials that never come back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.connectors.registry import all_connectors
from flocon.credentials import CredentialBox
from flocon.domain.models import Draft
from flocon.errors import NotFound
from flocon.services import accounts
from flocon.services import sources as sources_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import load_matcher
from flocon.services.ingest import Ingestor
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import sources as sq
from flocon.storage.queries import workspaces as wsq

API = "/api/v1/workspaces"
SECRET = "api-s3cr3t-never-echoed"


@pytest.fixture
def manager(as_role: Callable[..., dict[str, str]]) -> dict[str, str]:
    return as_role("manager")


@pytest.fixture
def viewer(as_role: Callable[..., dict[str, str]]) -> dict[str, str]:
    return as_role("viewer")


def ingest(engine: Engine, drafts: list[Draft]) -> None:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
    with write(engine) as conn:
        Ingestor(ws.id, load_matcher(engine, ws.id)).ingest_batch(conn, drafts)


def credentials_of(engine: Engine, settings: Settings, source_id: int) -> dict[str, str]:
    with read(engine) as conn:
        return CredentialBox(settings).open(sq.credentials_token(conn, source_id))


# --------------------------------------------------------------------------- watches


def test_watch_crud_through_the_api(
    client: TestClient, manager: dict[str, str], engine: Engine
) -> None:
    created = client.post(
        f"{API}/default/watches",
        json={"name": "Acme", "query": "Acme OR globex", "group": "Brands", "langs": ["fr"]},
        headers=manager,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["normalized_query"] == "acme OR globex"
    assert (body["group"], body["langs"], body["mentions"]) == ("Brands", ["fr"], 0)
    assert (
        client.get(f"{API}/default/watches/Acme", headers=manager).json()["query"]
        == "Acme OR globex"
    )
    patched = client.patch(
        f"{API}/default/watches/Acme", json={"query": "acme", "group": ""}, headers=manager
    )
    assert patched.status_code == 200
    assert (patched.json()["query"], patched.json()["group"]) == ("acme", None)
    deleted = client.delete(f"{API}/default/watches/Acme", headers=manager)
    assert deleted.json() == {"deleted": "Acme"}
    assert watches_svc.list_watches(engine, "default") == []
    actions = [e.action for e in accounts.audit_events(engine, "default", limit=3)]
    assert actions == ["watch.delete", "watch.edit", "watch.create"]


def test_create_and_backfill_in_one_call(
    client: TestClient, manager: dict[str, str], engine: Engine
) -> None:
    ingest(
        engine,
        [
            Draft(source_kind="forum", source_name="f", text="acme!", external_id="1"),
            Draft(source_kind="forum", source_name="f", text="other", external_id="2"),
        ],
    )
    created = client.post(
        f"{API}/default/watches",
        json={"name": "Acme", "query": "acme", "backfill": True},
        headers=manager,
    )
    assert created.json()["mentions"] == 1
    assert created.json()["backfill"] == {"scanned": 2, "linked": 1, "unlinked": 0, "total": 1}
    again = client.post(f"{API}/default/watches/Acme/backfill", headers=manager)
    assert again.json() == {"scanned": 2, "linked": 0, "unlinked": 0, "total": 1}


def test_a_query_error_answers_400_with_its_position(
    client: TestClient, manager: dict[str, str], engine: Engine
) -> None:
    response = client.post(
        f"{API}/default/watches", json={"name": "Acme", "query": "acme AND (x"}, headers=manager
    )
    assert response.status_code == 400
    assert response.json()["position"] == 9
    assert "unbalanced" in response.json()["error"]
    patched = client.patch(f"{API}/default/watches/Nope", json={"query": "x"}, headers=manager)
    assert patched.status_code == 404
    assert watches_svc.list_watches(engine, "default") == []


def test_validate_answers_ok_or_the_error_and_its_position(
    client: TestClient, viewer: dict[str, str]
) -> None:
    ok = client.post(
        f"{API}/default/watches/validate", json={"query": "Acme -spam"}, headers=viewer
    )
    assert ok.json() == {
        "ok": True,
        "normalized": "acme -spam",
        "error": None,
        "reason": None,
        "position": None,
    }
    bad = client.post(f"{API}/default/watches/validate", json={"query": 'acme "x'}, headers=viewer)
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    assert bad.json()["position"] == 5
    assert bad.json()["reason"] == "unbalanced quote"
    extra = client.post(
        f"{API}/default/watches/validate", json={"query": "a", "x": 1}, headers=viewer
    )
    assert extra.status_code == 422


def test_preview_counts_the_matches(
    client: TestClient, viewer: dict[str, str], engine: Engine
) -> None:
    now = datetime.now(UTC)
    ingest(
        engine,
        [
            Draft(
                source_kind="forum",
                source_name="f",
                text=f"acme {i}",
                external_id=str(i),
                published_at=now - timedelta(days=i * 3),
                url=f"https://f.example/{i}",
            )
            for i in range(1, 5)
        ],
    )
    response = client.post(
        f"{API}/default/watches/preview", json={"query": "acme", "limit": 2}, headers=viewer
    )
    body = response.json()
    assert (body["matched"], body["complete"]) == (4, True)
    # Stored data spans 9 days (the oldest mention is 12 days old, the newest 3).
    assert body["per_day"] == pytest.approx(4 / 9, abs=0.01)
    assert [m["text"] for m in body["mentions"]] == ["acme 1", "acme 2"]
    invalid = client.post(f"{API}/default/watches/preview", json={"query": "(acme"}, headers=viewer)
    assert invalid.status_code == 400
    assert invalid.json()["position"] == 0


def test_watch_list_pages_with_a_cursor(
    client: TestClient, viewer: dict[str, str], engine: Engine
) -> None:
    for name in ("c", "a", "b"):
        watches_svc.add_watch(engine, "default", name=name, query=name)
    first = client.get(f"{API}/default/watches?limit=2", headers=viewer).json()
    assert [w["name"] for w in first["items"]] == ["a", "b"]
    second = client.get(
        f"{API}/default/watches",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=viewer,
    ).json()
    assert [w["name"] for w in second["items"]] == ["c"]
    assert second["next_cursor"] is None
    assert client.get(f"{API}/default/watches?limit=500", headers=viewer).status_code == 422
    forged = client.get(f"{API}/default/watches", params={"cursor": "!!!"}, headers=viewer)
    assert forged.status_code == 400


def test_a_read_only_token_cannot_write_watches(
    client: TestClient, viewer: dict[str, str], engine: Engine
) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    assert client.get(f"{API}/default/watches", headers=viewer).status_code == 200
    calls = [
        client.post(f"{API}/default/watches", json={"name": "X", "query": "x"}, headers=viewer),
        client.patch(f"{API}/default/watches/Acme", json={"query": "y"}, headers=viewer),
        client.delete(f"{API}/default/watches/Acme", headers=viewer),
        client.post(f"{API}/default/watches/Acme/backfill", headers=viewer),
    ]
    assert [c.status_code for c in calls] == [403] * 4
    assert watches_svc.get_watch(engine, "default", "Acme")[0].query == "acme"


def test_an_agent_with_a_write_token_cannot_write_watches(
    client: TestClient, as_role: Callable[..., dict[str, str]]
) -> None:
    agent = as_role("agent")
    response = client.post(
        f"{API}/default/watches", json={"name": "X", "query": "x"}, headers=agent
    )
    assert response.status_code == 403


def test_another_workspaces_watch_is_not_found(
    client: TestClient, manager: dict[str, str], engine: Engine, make_member: Callable[..., Any]
) -> None:
    make_member("owner", "other")
    watches_svc.add_watch(engine, "other", name="Secret", query="secret")
    base = f"{API}/default/watches/Secret"
    assert client.get(base, headers=manager).status_code == 404
    assert client.patch(base, json={"query": "x"}, headers=manager).status_code == 404
    assert client.delete(base, headers=manager).status_code == 404
    assert client.post(f"{base}/backfill", headers=manager).status_code == 404
    assert client.get(f"{API}/other/watches", headers=manager).status_code == 404
    assert client.get(f"{API}/other/watches/Secret", headers=manager).status_code == 404
    for part in ("validate", "preview"):
        response = client.post(f"{API}/other/watches/{part}", json={"query": "x"}, headers=manager)
        assert response.status_code == 404, part
    assert watches_svc.get_watch(engine, "other", "Secret")[0].query == "secret"


def test_session_calls_need_the_csrf_header(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, csrf = owner_client
    refused = client.post(f"{API}/default/watches", json={"name": "A", "query": "a"})
    assert refused.status_code == 403
    assert watches_svc.list_watches(engine, "default") == []
    accepted = client.post(
        f"{API}/default/watches", json={"name": "A", "query": "a"}, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 201


def test_no_token_no_access(client: TestClient) -> None:
    assert client.get(f"{API}/default/watches").status_code == 401
    assert client.get(f"{API}/default/sources").status_code == 401


# --------------------------------------------------------------------------- sources


def test_source_crud_never_returns_credentials(
    client: TestClient, manager: dict[str, str], engine: Engine, settings: Settings
) -> None:
    created = client.post(
        f"{API}/default/sources",
        json={
            "kind": "reddit",
            "target": "r/france",
            "every": "30m",
            "options": {"limit": "20"},
            "credentials": {"client_id": "my-id", "client_secret": SECRET},
        },
        headers=manager,
    )
    assert created.status_code == 201
    body = created.json()
    source_id = body["id"]
    assert (body["every_s"], body["options"], body["health"]) == (1800, {"limit": "20"}, "new")
    assert body["credential_keys"] == ["client_id", "client_secret"]
    responses = [created]
    responses.append(client.get(f"{API}/default/sources/{source_id}", headers=manager))
    responses.append(client.get(f"{API}/default/sources", headers=manager))
    patched = client.patch(
        f"{API}/default/sources/{source_id}",
        json={"name": "Reddit FR", "options": {"limit": ""}, "credentials": {"client_id": ""}},
        headers=manager,
    )
    responses.append(patched)
    assert patched.json()["name"] == "Reddit FR"
    assert patched.json()["options"] == {}
    assert patched.json()["credential_keys"] == ["client_secret"]
    assert credentials_of(engine, settings, source_id) == {"client_secret": SECRET}
    for response in responses:
        assert SECRET not in response.text
        assert "my-id" not in response.text
    assert client.get(f"{API}/default/sources", headers=manager).json()["items"][0][
        "credentials_set"
    ]
    deleted = client.delete(f"{API}/default/sources/{source_id}", headers=manager)
    assert deleted.json() == {"deleted": source_id}
    with pytest.raises(NotFound):
        sources_svc.get_source(engine, "default", str(source_id))
    for entry in accounts.audit_events(engine, "default", limit=10):
        assert SECRET not in str(entry.details)


def test_invalid_sources_are_refused(
    client: TestClient, manager: dict[str, str], engine: Engine
) -> None:
    unknown = client.post(
        f"{API}/default/sources", json={"kind": "nope", "target": "x"}, headers=manager
    )
    assert unknown.status_code == 400
    assert "unknown source kind" in unknown.json()["error"]
    bad_every = client.post(
        f"{API}/default/sources",
        json={"kind": "feed", "target": "https://a.example/f", "every": "5s"},
        headers=manager,
    )
    assert bad_every.status_code == 400
    digits = client.post(
        f"{API}/default/sources",
        json={"kind": "feed", "target": "https://a.example/f", "name": "42"},
        headers=manager,
    )
    assert digits.status_code == 400
    extra = client.post(
        f"{API}/default/sources",
        json={"kind": "feed", "target": "https://a.example/f", "cursor": {}},
        headers=manager,
    )
    assert extra.status_code == 422
    assert sources_svc.list_sources(engine, "default") == []


def test_pause_resume_and_activity(
    client: TestClient, manager: dict[str, str], engine: Engine, settings: Settings
) -> None:
    source_id = sources_svc.add_source(
        engine, CredentialBox(settings), "default", kind="feed", target="https://a.example/f"
    ).id
    paused = client.post(f"{API}/default/sources/{source_id}/pause", headers=manager)
    assert (paused.json()["paused"], paused.json()["health"]) == (True, "paused")
    resumed = client.post(f"{API}/default/sources/{source_id}/resume", headers=manager)
    assert resumed.json()["paused"] is False
    activity = client.get(f"{API}/default/sources/{source_id}/activity", headers=manager).json()
    assert len(activity["hours"]) == 168
    assert activity["hours"][-1]["state"] == "empty"


def test_test_now_goes_through_the_ssrf_guard(
    client: TestClient, manager: dict[str, str], engine: Engine, settings: Settings
) -> None:
    source_id = sources_svc.add_source(
        engine, CredentialBox(settings), "default", kind="feed", target="http://127.0.0.1:9/feed"
    ).id
    response = client.post(f"{API}/default/sources/{source_id}/test", headers=manager)
    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "private address" in response.json()["error"]


def test_source_kinds_cover_every_connector(client: TestClient, viewer: dict[str, str]) -> None:
    kinds = client.get(f"{API}/default/source-kinds", headers=viewer).json()
    assert [k["kind"] for k in kinds] == sorted(all_connectors())
    youtube = next(k for k in kinds if k["kind"] == "youtube")
    assert [c["key"] for c in youtube["credentials"]] == ["api_key"]


def test_a_read_only_token_cannot_write_sources(
    client: TestClient, viewer: dict[str, str], engine: Engine, settings: Settings
) -> None:
    source_id = sources_svc.add_source(
        engine, CredentialBox(settings), "default", kind="feed", target="https://a.example/f"
    ).id
    base = f"{API}/default/sources/{source_id}"
    assert client.get(base, headers=viewer).status_code == 200
    calls = [
        client.post(
            f"{API}/default/sources",
            json={"kind": "feed", "target": "https://b.example/f"},
            headers=viewer,
        ),
        client.patch(base, json={"name": "x"}, headers=viewer),
        client.delete(base, headers=viewer),
        client.post(f"{base}/pause", headers=viewer),
        client.post(f"{base}/resume", headers=viewer),
        client.post(f"{base}/test", headers=viewer),
    ]
    assert [c.status_code for c in calls] == [403] * 6
    source = sources_svc.get_source(engine, "default", str(source_id))
    assert (source.name, source.paused) == ("https://a.example/f", False)


def test_another_workspaces_source_is_not_found(
    client: TestClient,
    manager: dict[str, str],
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
) -> None:
    make_member("owner", "other")
    theirs = sources_svc.add_source(
        engine,
        CredentialBox(settings),
        "other",
        kind="feed",
        target="https://a.example/f",
        credentials={"token": SECRET},
    ).id
    base = f"{API}/default/sources/{theirs}"
    calls = [
        client.get(base, headers=manager),
        client.patch(base, json={"name": "mine"}, headers=manager),
        client.delete(base, headers=manager),
        client.post(f"{base}/pause", headers=manager),
        client.post(f"{base}/resume", headers=manager),
        client.post(f"{base}/test", headers=manager),
        client.get(f"{base}/activity", headers=manager),
        client.get(f"{API}/other/sources/{theirs}", headers=manager),
        client.get(f"{API}/other/sources", headers=manager),
        client.get(f"{API}/other/source-kinds", headers=manager),
    ]
    assert [c.status_code for c in calls] == [404] * 10
    assert all(SECRET not in c.text for c in calls)
    source = sources_svc.get_source(engine, "other", str(theirs))
    assert (source.name, source.paused) == ("https://a.example/f", False)


def test_a_source_named_like_another_id_is_not_mistaken_for_it(
    client: TestClient, manager: dict[str, str], engine: Engine, settings: Settings
) -> None:
    box = CredentialBox(settings)
    sources_svc.add_source(
        engine, box, "default", kind="feed", target="https://a.example/f", name="999999"
    )
    # No source has the id 999999: the one *named* so is not answered in its place.
    assert client.get(f"{API}/default/sources/999999", headers=manager).status_code == 404
