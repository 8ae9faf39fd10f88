"""``POST /api/v1/workspaces/{ws}/push``: mentions pushed in the import format go through the
real import (normalise, deduplicate, match, analyse), bad lines are rejected with their number
and the good ones kept, pushing twice stores once, and the limits, tokens and workspaces are
enforced."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.web.api import mentions as api_mentions

PUSH = "/api/v1/workspaces/default/push"
NDJSON = {"Content-Type": "application/x-ndjson"}


def token_of(
    engine: Engine,
    make_member: Callable[..., Any],
    role: str = "manager",
    workspace: str = "default",
    scopes: tuple[str, ...] = ("read", "write"),
) -> dict[str, str]:
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    member = make_member(role, workspace)
    _token, secret = accounts.create_token(
        engine, workspace, user_id=member.user.id, name="hook", scopes=scopes, actor="cli"
    )
    return {"Authorization": f"Bearer {secret}"}


def jsonl(*items: object) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n" for item in items
    )


@pytest.fixture
def manager(engine: Engine, make_member: Callable[..., Any]) -> dict[str, str]:
    return token_of(engine, make_member)


def test_good_lines_are_stored_and_bad_ones_rejected_with_their_line(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    body = jsonl(
        {"id": "1", "text": "Acme shipped my order", "author": "ann"},
        b'{"id": "2", "text": broken',
        {"id": "3", "text": "nothing to see"},
        {"id": "4"},
        {"id": "5", "text": "Acme again", "published_at": "2024-02-30T10:00:00Z"},
    )
    answer = client.post(PUSH, content=body, headers={**manager, **NDJSON})
    assert answer.status_code == 200
    report = answer.json()
    assert report["received"] == 5
    assert report["new"] == 1
    assert report["unmatched"] == 1
    assert report["duplicate"] == 0
    assert report["already_stored"] == 0
    assert [r["line"] for r in report["rejected"]] == [2, 4, 5]
    assert report["rejected"][0]["error"].startswith("invalid JSON")
    assert report["rejected"][1]["error"] == "missing field text"
    (stored,) = mentions_svc.list_mentions(engine, "default")
    assert stored.text == "Acme shipped my order"
    assert (stored.source_kind, stored.source_name) == ("push", "push")
    assert stored.sentiment is not None  # analysed on the way in


def test_pushing_the_same_items_twice_stores_them_once(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    body = jsonl({"id": "1", "text": "Acme one"}, {"text": "Acme without an id"})
    first = client.post(PUSH, content=body, headers={**manager, **NDJSON}).json()
    second = client.post(PUSH, content=body, headers={**manager, **NDJSON}).json()
    assert (first["new"], first["already_stored"]) == (2, 0)
    assert (second["new"], second["already_stored"]) == (0, 2)
    assert mentions_svc.count_mentions(engine, "default") == 2


def test_a_near_duplicate_is_stored_and_marked(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    text = "Acme announced a new phone with a bigger battery and a better camera today"
    body = jsonl({"id": "1", "text": text}, {"id": "2", "text": "RT " + text})
    report = client.post(PUSH, content=body, headers={**manager, **NDJSON}).json()
    assert (report["new"], report["duplicate"]) == (1, 1)


def test_a_json_array_and_a_single_object(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    array = client.post(
        PUSH,
        json=[{"id": "a", "text": "Acme a"}, 42, {"id": "b", "text": "Acme b"}],
        headers=manager,
    ).json()
    assert (array["received"], array["new"]) == (3, 2)
    assert array["rejected"] == [{"line": 2, "error": "expected a JSON object, got number"}]
    single = client.post(PUSH, json={"id": "c", "text": "Acme c"}, headers=manager).json()
    assert (single["received"], single["new"]) == (1, 1)
    pretty = client.post(
        PUSH,
        content=json.dumps({"id": "d", "text": "Acme d"}, indent=2).encode(),
        headers={**manager, "Content-Type": "application/json"},
    ).json()
    assert pretty["new"] == 1
    assert mentions_svc.count_mentions(engine, "default") == 4


def test_json_lines_sent_as_json_are_read_line_by_line(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    body = jsonl({"id": "1", "text": "Acme one"}, b"{oops", {"id": "3", "text": "Acme three"})
    report = client.post(
        PUSH, content=body, headers={**manager, "Content-Type": "application/json"}
    ).json()
    assert report["new"] == 2
    assert [r["line"] for r in report["rejected"]] == [2]


def test_the_source_name_is_chosen_and_items_naming_a_source_keep_it(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    body = jsonl(
        {"id": "1", "text": "Acme from the hook"},
        {"id": "2", "text": "Acme from rss", "source": "rss:news"},
    )
    client.post(f"{PUSH}?source=zapier", content=body, headers={**manager, **NDJSON})
    sources = {
        (m.source_kind, m.source_name) for m in mentions_svc.list_mentions(engine, "default")
    }
    assert sources == {("push", "zapier"), ("rss", "news")}


def test_a_push_is_audited(client: TestClient, engine: Engine, manager: dict[str, str]) -> None:
    client.post(PUSH, content=jsonl({"text": "Acme"}), headers={**manager, **NDJSON})
    (entry,) = [e for e in accounts.audit_events(engine, "default") if e.action == "mentions.push"]
    assert entry.details["new"] == 1
    assert entry.object_id == "push:push"
    assert "api_token_id" in entry.details


def test_a_body_over_the_size_cap_is_413(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    line = json.dumps({"text": "Acme " + "x" * 1000}).encode() + b"\n"
    body = line * (api_mentions.MAX_PUSH_BYTES // len(line) + 1)
    answer = client.post(PUSH, content=body, headers={**manager, **NDJSON})
    assert answer.status_code == 413
    assert "larger than 5 MiB" in answer.json()["error"]
    assert mentions_svc.count_mentions(engine, "default", None) == 0


def test_a_streamed_body_over_the_size_cap_is_413(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    """Without a Content-Length (chunked), the cap is counted while reading."""
    line = json.dumps({"text": "Acme " + "x" * 1000}).encode() + b"\n"
    chunks = api_mentions.MAX_PUSH_BYTES // len(line) + 2

    def body() -> Any:
        for _ in range(chunks):
            yield line

    answer = client.post(PUSH, content=body(), headers={**manager, **NDJSON})
    assert answer.status_code == 413
    assert mentions_svc.count_mentions(engine, "default") == 0


def test_too_many_items_is_413(
    client: TestClient, engine: Engine, manager: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_mentions, "MAX_PUSH_ITEMS", 3)
    body = jsonl(*({"id": str(i), "text": f"Acme {i}"} for i in range(4)))
    answer = client.post(PUSH, content=body, headers={**manager, **NDJSON})
    assert answer.status_code == 413
    assert re.search(r"at most 3 items per call \(got 4\)", answer.json()["error"])
    assert mentions_svc.count_mentions(engine, "default") == 0


def test_another_content_type_is_415(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    answer = client.post(
        PUSH, content=b"text=Acme", headers={**manager, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 415
    assert "application/x-ndjson" in answer.json()["error"]


def test_a_json_value_that_is_not_an_object_is_400(
    client: TestClient, engine: Engine, manager: dict[str, str]
) -> None:
    answer = client.post(PUSH, json="Acme", headers=manager)
    assert answer.status_code == 400
    assert "JSON" in answer.json()["error"]


def test_a_read_only_token_is_403(
    client: TestClient, engine: Engine, make_member: Callable[..., Any]
) -> None:
    headers = token_of(engine, make_member, "owner", scopes=("read",))
    answer = client.post(PUSH, content=jsonl({"text": "Acme"}), headers={**headers, **NDJSON})
    assert answer.status_code == 403
    assert mentions_svc.count_mentions(engine, "default") == 0


def test_an_agent_cannot_push(
    client: TestClient, engine: Engine, make_member: Callable[..., Any]
) -> None:
    headers = token_of(engine, make_member, "agent")
    answer = client.post(PUSH, content=jsonl({"text": "Acme"}), headers={**headers, **NDJSON})
    assert answer.status_code == 403


def test_no_token_is_401(client: TestClient, engine: Engine) -> None:
    answer = client.post(PUSH, content=jsonl({"text": "Acme"}), headers=NDJSON)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_no_token_is_refused_and_nothing_is_stored(client: TestClient, engine: Engine) -> None:
    answer = client.post(PUSH, content=jsonl({"text": "Acme"}), headers=NDJSON)
    assert answer.status_code == 401
    assert (
        mentions_svc.count_mentions(
            engine, "default", mentions_svc.MentionQuery(include_unmatched=True)
        )
        == 0
    )


def test_a_revoked_token_is_401(
    client: TestClient, engine: Engine, make_member: Callable[..., Any]
) -> None:
    answer = client.post(
        PUSH,
        content=jsonl({"text": "Acme"}),
        headers={"Authorization": "Bearer flc_not-a-real-token", **NDJSON},
    )
    assert answer.status_code == 401


def test_another_workspace_is_404(
    client: TestClient, engine: Engine, make_member: Callable[..., Any]
) -> None:
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, "other")
    headers = token_of(engine, make_member, "owner", workspace="other")
    answer = client.post(PUSH, content=jsonl({"text": "Acme"}), headers={**headers, **NDJSON})
    assert answer.status_code == 404
    assert mentions_svc.count_mentions(engine, "default") == 0


def test_a_session_push_needs_the_csrf_header(
    client: TestClient,
    engine: Engine,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    token = sign_in(client, make_member("manager"))
    body = jsonl({"text": "Acme from a session"})
    assert client.post(PUSH, content=body, headers=NDJSON).status_code == 403
    done = client.post(PUSH, content=body, headers={**NDJSON, "X-CSRF-Token": token})
    assert done.status_code == 200
    assert done.json()["new"] == 1


def test_pushed_mentions_appear_in_the_list(
    client: TestClient,
    engine: Engine,
    manager: dict[str, str],
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    body = jsonl({"id": "p1", "text": "Acme pushed by a webhook", "author": "hooky"})
    assert client.post(PUSH, content=body, headers={**manager, **NDJSON}).status_code == 200
    sign_in(client, make_member("viewer"))
    page = client.get("/w/default/mentions?source_kind=push").text
    assert "Acme pushed by a webhook" in page
    assert "1 mention</p>" in page
