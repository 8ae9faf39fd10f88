"""The dashboard's REST API: every figure as JSON with the query of the mentions behind it,
the volume series as CSV (no formula injection), filters, errors, and workspace isolation
(SQLite and PostgreSQL). Data: real tweets imported through the import service."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.domain.models import Mention
from flocon.services import accounts
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings

API = "/api/v1/workspaces"
BRANDS = ("Apple", "Google", "Microsoft", "Twitter")
START = datetime(2011, 10, 15, tzinfo=UTC)
END = datetime(2011, 10, 21, tzinfo=UTC)
PERIOD = {"since": "2011-10-15T00:00:00Z", "until": "2011-10-21T00:00:00Z"}


def load(engine: Engine, workspace: str = "default") -> None:
    for name in BRANDS:
        watches_svc.add_watch(engine, workspace, name=name, query=name.lower(), group="brands")
    text = files("flocon.samples").joinpath("sanders-brands-2011.jsonl").read_text("utf-8")
    lines = []
    for i, line in enumerate(text.splitlines()):
        rec = json.loads(line)
        if i % 10:
            rec["author"] = {"handle": f"@Fan{i % 9}"}
        if i % 5 == 0:
            rec["source"] = {"kind": "forum", "name": "forum.example"}
        lines.append(json.dumps(rec) + "\n")
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    stream = io.BytesIO("".join(lines).encode())
    import_stream(engine, workspace, stream, fmt="jsonl", settings=settings)


def stored(engine: Engine, **kw: Any) -> list[Mention]:
    return mentions_svc.list_mentions(
        engine,
        "default",
        include_duplicates=False,
        include_muted=True,
        since=START,
        until=END,
        limit=100_000,
        **kw,
    )


def count(engine: Engine, drill: str) -> int:
    query = mentions_svc.MentionQuery.from_params(parse_qsl(drill))
    return mentions_svc.count_mentions(engine, "default", query)


def bearer(engine: Engine, member: Any) -> dict[str, str]:
    _token, secret = accounts.create_token(
        engine,
        member.workspace,
        user_id=member.user.id,
        name=f"test {member.role}",
        scopes=("read",),
        actor="cli",
    )
    return {"Authorization": f"Bearer {secret}"}


MakeMember = Callable[..., Any]


def test_the_dashboard_json_has_every_figure_with_its_drill_down(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    body = client.get(
        f"{API}/default/dashboard", params=PERIOD, headers=bearer(engine, make_member("viewer"))
    ).json()
    assert set(body) == {
        "filter",
        "kpis",
        "volume",
        "trend",
        "share_of_voice",
        "top_sources",
        "top_sites",
        "top_authors",
        "emerging",
        "open_alerts",
    }
    every = stored(engine)
    assert body["filter"]["since"] == "2011-10-15T00:00:00Z"
    assert body["kpis"]["mentions"] == len(every) == count(engine, body["kpis"]["drill"])
    negative = sum(1 for m in every if m.sentiment == "negative")
    assert body["kpis"]["negative"] == negative
    assert body["volume"]["bucket"] == "day" and len(body["volume"]["total"]["points"]) == 6
    assert [line["watch"] for line in body["volume"]["watches"]] == list(BRANDS)
    for point in body["volume"]["total"]["points"]:
        assert count(engine, point["drill"]) == point["total"]
    assert [t["drill"] for t in body["trend"]] == [
        p["drill"] for p in body["volume"]["total"]["points"]
    ]
    assert body["share_of_voice"]["group"] == "brands"
    for row in body["share_of_voice"]["rows"]:
        assert row["mentions"] == len(stored(engine, watch=row["watch"]))
        assert count(engine, row["drill"]) == row["mentions"]
    for name in ("top_sources", "top_sites", "top_authors"):
        for row in body[name]:
            assert set(row) == {"key", "label", "count", "negative", "drill"}
            assert count(engine, row["drill"]) == row["count"]
    assert {r["key"] for r in body["top_sources"]} == {"forum", "twitter"}
    assert body["open_alerts"] == []


def test_filters_change_the_figures(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    headers = bearer(engine, make_member("viewer"))
    params = {**PERIOD, "watch": "Google", "source_kind": "forum", "sentiment": "negative"}
    body = client.get(f"{API}/default/dashboard", params=params, headers=headers).json()
    expected = [
        m
        for m in stored(engine, watch="Google")
        if m.source_kind == "forum" and m.sentiment == "negative"
    ]
    assert body["kpis"]["mentions"] == len(expected)
    assert body["filter"]["watches"] == ["Google"] and body["filter"]["sentiment"] == "negative"
    assert [r["watch"] for r in body["share_of_voice"]["rows"]] == ["Google"]
    everything = client.get(f"{API}/default/dashboard", params=PERIOD, headers=headers).json()
    assert everything["kpis"]["mentions"] > body["kpis"]["mentions"]


def test_hourly_buckets_and_time_zones_can_be_chosen(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    headers = bearer(engine, make_member("viewer"))
    params = {**PERIOD, "bucket": "hour"}
    hourly = client.get(f"{API}/default/dashboard", params=params, headers=headers).json()
    assert len(hourly["volume"]["total"]["points"]) == 6 * 24
    params = {**PERIOD, "timezone": "Europe/Paris"}
    paris = client.get(f"{API}/default/dashboard", params=params, headers=headers).json()
    starts = [p["start"] for p in paris["volume"]["total"]["points"]]
    assert starts[:2] == ["2011-10-15T00:00:00Z", "2011-10-15T22:00:00Z"]


def test_emerging_themes_come_with_their_mentions(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    params = {"since": "2011-10-18T00:00:00Z", "until": "2011-10-21T00:00:00Z"}
    body = client.get(
        f"{API}/default/dashboard", params=params, headers=bearer(engine, make_member("viewer"))
    ).json()
    assert body["emerging"]
    for theme in body["emerging"]:
        assert theme["mentions"] == len(theme["mention_ids"]) <= theme["total"]
        assert "search=" in theme["drill"] and count(engine, theme["drill"]) >= 1


def test_emerging_themes_can_be_left_out(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    params = {"since": "2011-10-18T00:00:00Z", "until": "2011-10-21T00:00:00Z", "themes": "false"}
    body = client.get(
        f"{API}/default/dashboard", params=params, headers=bearer(engine, make_member("viewer"))
    ).json()
    assert body["emerging"] == [] and body["kpis"]["mentions"] > 0


def test_the_default_period_is_the_last_7_days(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    body = client.get(
        f"{API}/default/dashboard", headers=bearer(engine, make_member("viewer"))
    ).json()
    since = datetime.fromisoformat(body["filter"]["since"])
    until = datetime.fromisoformat(body["filter"]["until"])
    assert timedelta(days=7) <= until - since <= timedelta(days=7, hours=2)
    assert abs(until - datetime.now(UTC)) < timedelta(hours=1, minutes=5)
    assert body["kpis"]["mentions"] == 0


def test_bad_filters_are_refused_with_a_message(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    headers = bearer(engine, make_member("viewer"))
    bad_date = client.get(f"{API}/default/dashboard", params={"since": "soon"}, headers=headers)
    assert bad_date.status_code == 400
    assert "since must be an ISO 8601" in bad_date.json()["error"]
    reversed_ = client.get(
        f"{API}/default/dashboard",
        params={"since": PERIOD["until"], "until": PERIOD["since"]},
        headers=headers,
    )
    assert reversed_.status_code == 400
    unknown = client.get(f"{API}/default/dashboard", params={"watch": "Nokia"}, headers=headers)
    assert unknown.status_code == 404


def test_the_volume_csv_has_a_header_and_the_series(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    headers = bearer(engine, make_member("viewer"))
    response = client.get(f"{API}/default/dashboard/volume.csv", params=PERIOD, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="volume.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "series",
        "watch",
        "start",
        "end",
        "positive",
        "neutral",
        "negative",
        "unknown",
        "total",
    ]
    total = [r for r in rows[1:] if r[0] == "total"]
    assert [r[2] for r in total][:2] == ["2011-10-15T00:00:00+00:00", "2011-10-16T00:00:00+00:00"]
    assert sum(int(r[8]) for r in total) == len(stored(engine))
    google = [r for r in rows[1:] if r[1] == "Google"]
    assert len(google) == 6 and sum(int(r[8]) for r in google) == len(
        stored(engine, watch="Google")
    )
    assert len(rows) == 1 + 6 * (1 + len(BRANDS))


def test_the_volume_csv_cannot_carry_a_formula(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    formula = '=HYPERLINK("http://evil.example","x")'
    watches_svc.add_watch(engine, "default", name=formula, query="apple")
    watches_svc.add_watch(engine, "default", name="@sum", query="google")
    response = client.get(
        f"{API}/default/dashboard/volume.csv",
        params=PERIOD,
        headers=bearer(engine, make_member("viewer")),
    )
    names = {r[1] for r in csv.reader(io.StringIO(response.text))}
    assert "'" + formula in names and "'@sum" in names
    assert formula not in names and "@sum" not in names


def test_another_workspaces_dashboard_is_not_found(
    client: TestClient, engine: Engine, make_member: MakeMember
) -> None:
    load(engine)
    outsider = bearer(engine, make_member("owner", workspace="other"))
    for path in ("dashboard", "dashboard/volume.csv"):
        response = client.get(f"{API}/default/{path}", params=PERIOD, headers=outsider)
        assert response.status_code == 404, path
        assert client.get(f"{API}/other/{path}", headers=outsider).status_code == 200


def test_the_api_needs_a_token_or_a_session(
    client: TestClient, engine: Engine, make_member: MakeMember, sign_in: Callable[..., str]
) -> None:
    assert client.get(f"{API}/default/dashboard").status_code == 401
    sign_in(client, make_member("viewer"))
    response = client.get(f"{API}/default/dashboard")
    assert response.status_code == 200
    assert response.json()["kpis"]["mentions"] == 0


def test_the_routes_are_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    route = spec["paths"]["/api/v1/workspaces/{ws}/dashboard"]["get"]
    assert route["tags"] == ["dashboard"] and "drill" in route["description"]
    assert "DashboardOut" in json.dumps(route["responses"])
    csv_route = spec["paths"]["/api/v1/workspaces/{ws}/dashboard/volume.csv"]["get"]
    assert "text/csv" in csv_route["responses"]["200"]["content"]
