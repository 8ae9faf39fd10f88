"""The REST API of mentions: filtered cursor pages, one mention, its thread, bulk actions with
their roles, tags and mutes; other workspaces answer 404, session calls need their CSRF
header. Mentions come through the real import service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import accounts, analysis, tags
from flocon.services import mentions as mentions_svc
from flocon.settings import Settings
from support.seeding import NOW, import_lines

API = "/api/v1/workspaces"


# --------------------------------------------------------------------------- reading


def test_the_list_filters_like_the_page(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(
        engine,
        settings,
        [
            {"text": "Acme delivery late", "author": "ann", "url": "https://a.example/1"},
            {"text": "Acme price fine", "author": "bob"},
        ],
    )
    headers = as_role("viewer", scopes=("read",))
    everything = client.get(f"{API}/default/mentions", headers=headers)
    assert everything.status_code == 200
    assert [m["id"] for m in everything.json()["items"]] == [ids[1], ids[0]]
    assert everything.json()["next_cursor"] is None
    found = client.get(
        f"{API}/default/mentions", params={"search": "delivery", "watch": "Acme"}, headers=headers
    ).json()
    (item,) = found["items"]
    assert item["id"] == ids[0]
    assert item["author_handle"] == "ann"
    assert item["url"] == "https://a.example/1"
    assert item["watches"] == ["Acme"]
    by_author = client.get(f"{API}/default/mentions?author=@BOB", headers=headers).json()
    assert [m["id"] for m in by_author["items"]] == [ids[1]]
    count = client.get(f"{API}/default/mentions/count?author=bob", headers=headers)
    assert count.json() == {"count": 1}


def test_cursor_pages_return_every_mention_exactly_once(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    tie = (NOW - timedelta(hours=2)).isoformat()
    ids = import_lines(
        engine,
        settings,
        [{"text": f"Acme {i}"} for i in range(25)]
        + [{"text": f"Acme tie {i}", "published_at": tie} for i in range(12)],
    )
    headers = as_role("viewer")
    seen: list[int] = []
    cursor: str | None = None
    calls = 0
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/default/mentions", params=params, headers=headers).json()
        seen += [m["id"] for m in page["items"]]
        calls += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert calls == 4
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"sentiment": "furious"}, "sentiment must be one of"),
        ({"since": "yesterday"}, "since must be an ISO 8601"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "page link is damaged"),
        ({"needs_answer": "maybe"}, "needs_answer must be true or false"),
    ],
)
def test_bad_filters_answer_400_with_the_reason(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
    params: dict[str, str],
    needle: str,
) -> None:
    import_lines(engine, settings, [{"text": "Acme"}])
    answer = client.get(f"{API}/default/mentions", params=params, headers=as_role("viewer"))
    assert answer.status_code == 400
    assert needle in answer.json()["error"]


def test_a_limit_over_200_is_refused(
    client: TestClient, engine: Engine, as_role: Callable[..., dict[str, str]]
) -> None:
    answer = client.get(f"{API}/default/mentions?limit=201", headers=as_role("viewer"))
    assert answer.status_code == 422


def test_one_mention_with_its_correction(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(engine, settings, [{"text": "Acme is fine"}])
    headers = as_role("viewer")
    plain = client.get(f"{API}/default/mentions/{ids[0]}", headers=headers).json()
    assert plain["text"] == "Acme is fine"
    assert plain["correction"] is None
    analysis.correct_many(engine, "default", ids, "negative", by="agent@example.com")
    corrected = client.get(f"{API}/default/mentions/{ids[0]}", headers=headers).json()
    assert corrected["sentiment"] == "negative"
    assert corrected["correction"]["label"] == "negative"
    assert corrected["correction"]["corrected_by"] == "agent@example.com"


def test_the_thread_of_a_mention(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(
        engine,
        settings,
        [
            {"id": "top", "text": "Acme top"},
            {"id": "a", "text": "Acme a", "parent_id": "top"},
            {"id": "b", "text": "Acme b", "parent_id": "a"},
        ],
    )
    answer = client.get(f"{API}/default/mentions/{ids[1]}/thread", headers=as_role("viewer"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["mention"]["id"] == ids[1]
    assert [m["id"] for m in body["ancestors"]] == [ids[0]]
    assert [(r["depth"], r["mention"]["id"]) for r in body["replies"]] == [(1, ids[2])]
    assert body["truncated"] is False


@pytest.mark.parametrize("suffix", ["", "/thread"])
def test_another_workspaces_mention_is_404(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
    suffix: str,
) -> None:
    theirs = import_lines(engine, settings, [{"text": "Acme theirs"}], workspace="other")
    import_lines(engine, settings, [{"text": "Acme mine"}])
    headers = as_role("owner")
    assert (
        client.get(f"{API}/default/mentions/{theirs[0]}{suffix}", headers=headers).status_code
        == 404
    )
    assert (
        client.get(f"{API}/other/mentions/{theirs[0]}{suffix}", headers=headers).status_code == 404
    )


def test_another_workspace_is_404_for_the_list_and_tags(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    import_lines(engine, settings, [{"text": "Acme theirs"}], workspace="other")
    headers = as_role("owner")
    assert client.get(f"{API}/other/mentions", headers=headers).status_code == 404
    assert client.get(f"{API}/other/tags", headers=headers).status_code == 404
    assert client.get(f"{API}/other/mutes", headers=headers).status_code == 404


def test_no_token_is_401(client: TestClient, engine: Engine) -> None:
    assert client.get(f"{API}/default/mentions").status_code == 401


# --------------------------------------------------------------------------- acting


def test_an_agent_tags_and_untags(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(engine, settings, [{"text": "Acme a"}, {"text": "Acme b"}])
    headers = as_role("agent")
    tagged = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": "tag", "ids": ids, "value": "Crisis"},
        headers=headers,
    )
    assert tagged.status_code == 200
    assert tagged.json() == {"action": "tag", "changed": 2, "value": "crisis", "muted": []}
    listed = client.get(f"{API}/default/tags", headers=headers).json()
    assert listed == {"items": [{"tag": "crisis", "mentions": 2}], "next_cursor": None}
    untagged = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": "untag", "ids": [ids[0]], "value": "crisis"},
        headers=headers,
    )
    assert untagged.json()["changed"] == 1
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ()
    assert mentions_svc.get_mention(engine, "default", ids[1]).tags == ("crisis",)


def test_an_agent_corrects_the_sentiment(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(engine, settings, [{"text": "Acme a"}])
    answer = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": "correct", "ids": ids, "value": "positive"},
        headers=as_role("agent"),
    )
    assert answer.json()["changed"] == 1
    assert mentions_svc.get_mention(engine, "default", ids[0]).sentiment == "positive"
    assert any(e.action == "mention.correct" for e in accounts.audit_events(engine, "default"))


def test_a_bad_sentiment_is_400(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(engine, settings, [{"text": "Acme a"}])
    answer = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": "correct", "ids": ids, "value": "furious"},
        headers=as_role("agent"),
    )
    assert answer.status_code == 400
    assert "sentiment must be one of" in answer.json()["error"]


@pytest.mark.parametrize(
    ("role", "scopes", "action"),
    [
        ("viewer", ("read",), "tag"),
        ("owner", ("read",), "tag"),  # a read-only token acts as a viewer
        ("agent", ("read", "write"), "mute_author"),
        ("agent", ("read", "write"), "mute_site"),
    ],
)
def test_roles_are_checked(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
    role: str,
    scopes: tuple[str, ...],
    action: str,
) -> None:
    ids = import_lines(
        engine, settings, [{"text": "Acme a", "author": "bob", "url": "https://b.example"}]
    )
    answer = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": action, "ids": ids, "value": "x"},
        headers=as_role(role, scopes=scopes),
    )
    assert answer.status_code == 403
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ()
    assert tags.list_mutes(engine, "default") == []


def test_a_manager_mutes_sites_and_unmutes_them(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    ids = import_lines(
        engine,
        settings,
        [{"text": "Acme a", "url": "https://www.spam.example/1"}, {"text": "Acme b"}],
    )
    headers = as_role("manager")
    muted = client.post(
        f"{API}/default/mentions/bulk", json={"action": "mute_site", "ids": ids}, headers=headers
    )
    assert muted.json() == {
        "action": "mute_site",
        "changed": 1,
        "value": None,
        "muted": ["spam.example"],
    }
    left = client.get(f"{API}/default/mentions", headers=headers).json()
    assert [m["id"] for m in left["items"]] == [ids[1]]
    listed = client.get(f"{API}/default/mutes", headers=headers).json()
    assert [(m["kind"], m["value"]) for m in listed["items"]] == [("site", "spam.example")]
    removed = client.delete(f"{API}/default/mutes/site/spam.example", headers=headers)
    assert removed.json() == {"kind": "site", "value": "spam.example", "muted": False}
    again = client.delete(f"{API}/default/mutes/site/spam.example", headers=headers)
    assert again.status_code == 404


def test_a_manager_mutes_an_author_by_name(
    client: TestClient, engine: Engine, as_role: Callable[..., dict[str, str]]
) -> None:
    answer = client.post(
        f"{API}/default/mutes", json={"kind": "author", "value": "@Bob"}, headers=as_role("manager")
    )
    assert answer.status_code == 201
    assert answer.json() == {"kind": "author", "value": "bob", "muted": True}
    assert [(m.kind, m.value) for m in tags.list_mutes(engine, "default")] == [("author", "bob")]


def test_unknown_fields_are_refused(
    client: TestClient, engine: Engine, as_role: Callable[..., dict[str, str]]
) -> None:
    answer = client.post(
        f"{API}/default/mentions/bulk",
        json={"action": "tag", "ids": [1], "value": "x", "workspace": "other"},
        headers=as_role("agent"),
    )
    assert answer.status_code == 422


def test_ids_of_another_workspace_are_untouched(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    as_role: Callable[..., dict[str, str]],
) -> None:
    theirs = import_lines(
        engine, settings, [{"text": "Acme theirs", "author": "eve"}], workspace="other"
    )
    headers = as_role("owner")
    for action, value in (("tag", "x"), ("correct", "negative"), ("mute_author", None)):
        answer = client.post(
            f"{API}/default/mentions/bulk",
            json={"action": action, "ids": theirs, "value": value},
            headers=headers,
        )
        assert answer.status_code == 200
        assert answer.json()["changed"] == 0
    assert mentions_svc.get_mention(engine, "other", theirs[0]).tags == ()
    assert analysis.correction_of(engine, "other", theirs[0]) is None
    assert tags.list_mutes(engine, "default") == []


def test_a_session_call_needs_the_csrf_header(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = import_lines(engine, settings, [{"text": "Acme a"}])
    token = sign_in(client, make_member("agent"))
    body = {"action": "tag", "ids": ids, "value": "x"}
    refused = client.post(f"{API}/default/mentions/bulk", json=body)
    assert refused.status_code == 403
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ()
    done = client.post(f"{API}/default/mentions/bulk", json=body, headers={"X-CSRF-Token": token})
    assert done.status_code == 200
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ("x",)


def test_the_routes_are_documented(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/workspaces/{ws}/mentions", "get"),
        ("/api/v1/workspaces/{ws}/mentions/{mention_id}", "get"),
        ("/api/v1/workspaces/{ws}/mentions/{mention_id}/thread", "get"),
        ("/api/v1/workspaces/{ws}/mentions/bulk", "post"),
        ("/api/v1/workspaces/{ws}/tags", "get"),
        ("/api/v1/workspaces/{ws}/push", "post"),
    ]:
        assert paths[path][method]["description"], path
