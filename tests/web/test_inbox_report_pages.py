"""The team's report (page, JSON, CSV) and the moderation page: roles, workspace isolation,
and a mention that is not on a site of the brand cannot be moderated."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import cases as svc
from flocon.settings import Settings
from support.seeding import import_lines


def _one_case(engine: Engine, settings: Settings) -> tuple[int, int]:
    line = {"id": "c1", "text": "Acme <script>window.__xss=1</script> lost my parcel"}
    (mention_id,) = import_lines(engine, settings, [line], source="forum:f")
    case = svc.create_case(engine, "default", mention_id=mention_id, actor="cli")
    svc.record_reply(engine, "default", case.id, actor="cli", text="Sorry! DM sent.")
    return mention_id, case.id


def test_the_report_page_json_and_csv(
    owner_client: tuple[TestClient, Any, str], engine: Engine, settings: Settings
) -> None:
    client, _member, _csrf = owner_client
    _one_case(engine, settings)
    page = client.get("/w/default/inbox/report")
    assert page.status_code == 200
    assert 'id="report-total"' in page.text and 'id="report-agent"' in page.text
    data = client.get("/api/v1/workspaces/default/inbox/report").json()
    assert data["total"]["opened"] == 1 and data["total"]["first_responses"] == 1
    assert data["by_channel"]["forum"]["opened"] == 1
    download = client.get("/api/v1/workspaces/default/inbox/report?format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0]["dimension"] == "all" and rows[0]["opened"] == "1"
    assert client.get("/api/v1/workspaces/default/inbox/report?since=nonsense").status_code == 422


def test_moderation_page_roles_and_isolation(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    mention_id, _case = _one_case(engine, settings)
    viewer = make_member("viewer")
    csrf = sign_in(client, viewer)
    page = client.get(f"/w/default/mentions/{mention_id}/moderation")
    assert page.status_code == 200
    assert 'id="cannot-moderate"' in page.text
    assert "<script>window.__xss" not in page.text
    refused = client.post(
        f"/w/default/mentions/{mention_id}/moderation",
        data={"action": "hold", "csrf_token": csrf},
    )
    assert refused.status_code == 403
    api = client.post(
        f"/api/v1/workspaces/default/mentions/{mention_id}/moderate",
        json={"action": "hold"},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 403
    stranger = make_member("owner", workspace="other")
    client.cookies.clear()
    sign_in(client, stranger)
    assert client.get(f"/w/other/mentions/{mention_id}/moderation").status_code == 404
    assert client.get(f"/w/default/mentions/{mention_id}/moderation").status_code == 404
    assert client.get("/w/default/inbox/report").status_code == 404


def test_an_agent_is_told_why_a_mention_cannot_be_moderated(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    mention_id, _case = _one_case(engine, settings)
    csrf = sign_in(client, make_member("agent"))
    answer = client.post(
        f"/w/default/mentions/{mention_id}/moderation",
        data={"action": "hold", "csrf_token": csrf},
    )
    assert answer.status_code == 400 and "posting account" in answer.text
    api = client.post(
        f"/api/v1/workspaces/default/mentions/{mention_id}/moderate",
        json={"action": "delete"},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 422
    assert client.get(f"/api/v1/workspaces/default/mentions/{mention_id}/moderation").json() == []
