"""The inbox rules page and API: /w/{ws}/inbox/rules is served (not taken by the case page),
a manager adds a rule (disabled), simulates it before enabling, edits, enables, disables and
removes it; a viewer reads and simulates but every write is 403; a bad query comes back with
its position; another workspace's rule is 404; collected text in a simulation is escaped.
The API (GET/POST /inbox-rules, PATCH/DELETE /{id}, POST /simulate) follows the same rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from flocon.services.cases import rules
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.tables import audit_log, cases, inbox_rules, mention_tags, mentions
from support.seeding import import_lines

FORUM = "forum:forum.example"  # the channel of these mentions


def add(engine: Engine, name: str = "Refunds", workspace: str = "default") -> rules.InboxRule:
    return rules.add_rule(
        engine,
        workspace,
        rules.parse_spec(name, {"query": "refund*"}, {"tag": ["refund"], "create_case": True}),
        actor="cli",
    )


def count(engine: Engine, table: Any) -> int:
    with read(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


FORM = {
    "name": "Refunds",
    "query": "refund*",
    "sentiment": ["negative"],
    "lang": "en, fr",
    "tag": "refund, money",
    "create_case": "1",
    "priority": "high",
}


# -- the page ----------------------------------------------------------------------------------


def test_the_rules_page_is_not_taken_by_the_case_page(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, _csrf = owner_client
    add(engine)
    page = client.get("/w/default/inbox/rules")
    assert page.status_code == 200, page.text[:300]
    assert "Inbox rules" in page.text and "Refunds" in page.text
    assert 'id="rule-editor"' in page.text


def test_a_manager_adds_a_rule_that_starts_disabled(
    client: TestClient, make_member: Callable[..., Any], sign_in: Any, engine: Engine
) -> None:
    csrf = sign_in(client, make_member("manager"))
    done = client.post("/w/default/inbox/rules", data={**FORM, "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"].endswith("done=added")
    (rule,) = rules.list_rules(engine, "default")
    assert (rule.name, rule.enabled) == ("Refunds", False)
    assert rule.conditions.lang == ("en", "fr") and rule.actions.tag == ("refund", "money")
    assert rule.actions.priority == "high" and rule.actions.create_case
    page = client.get(done.headers["location"])
    assert "simulate it, then enable it" in page.text


def test_a_bad_query_comes_back_with_its_position_and_the_form(
    client: TestClient, make_member: Callable[..., Any], sign_in: Any, engine: Engine
) -> None:
    csrf = sign_in(client, make_member("manager"))
    bad = client.post(
        "/w/default/inbox/rules", data={**FORM, "query": "acme AND (refund", "csrf_token": csrf}
    )
    assert bad.status_code == 400
    assert "error at character 10" in bad.text
    assert 'value="acme AND (refund"' in bad.text
    assert count(engine, inbox_rules) == 0


def test_a_rule_without_a_condition_is_refused(
    client: TestClient, make_member: Callable[..., Any], sign_in: Any
) -> None:
    csrf = sign_in(client, make_member("manager"))
    bad = client.post(
        "/w/default/inbox/rules", data={"name": "Empty", "tag": "x", "csrf_token": csrf}
    )
    assert bad.status_code == 400 and "at least one condition" in bad.text


def test_simulating_the_form_shows_what_it_would_do_and_writes_nothing(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Any,
    engine: Engine,
    settings: Settings,
) -> None:
    hostile, _ = import_lines(
        engine,
        settings,
        [{"text": "Acme refund"}, {"text": "Acme is great"}],
        source=FORUM,
    )
    with write(engine) as conn:  # stored text is literal: the page must escape it
        conn.execute(
            update(mentions)
            .where(mentions.c.id == hostile)
            .values(text="Acme, where is my refund? <img src=x onerror=alert(1)>")
        )
    csrf = sign_in(client, make_member("manager"))
    before = (count(engine, inbox_rules), count(engine, cases), count(engine, mention_tags))
    form = {**FORM, "sentiment": [], "lang": "", "csrf_token": csrf}
    shown = client.post("/w/default/inbox/rules/simulate", data=form)
    assert shown.status_code == 200
    assert "would have acted on 1 of 2 mentions" in shown.text
    print(shown.text[shown.text.find("sample-") :][:400])
    assert "refund? &lt;img src=x onerror=alert(1)&gt;" in shown.text
    assert "<img src=x" not in shown.text
    assert 'value="Refunds"' in shown.text  # the form as it was
    assert (count(engine, inbox_rules), count(engine, cases), count(engine, mention_tags)) == before


def test_a_stored_rule_is_simulated_then_enabled_edited_disabled_and_removed(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Any,
    engine: Engine,
    settings: Settings,
) -> None:
    import_lines(engine, settings, [{"text": "Acme refund please"}], source=FORUM)
    rule = add(engine)
    csrf = sign_in(client, make_member("manager"))
    shown = client.get(f"/w/default/inbox/rules?simulate={rule.id}")
    assert "would have acted on 1 of 1 mentions" in shown.text
    assert f'action="/w/default/inbox/rules/{rule.id}/enable"' in shown.text
    base = f"/w/default/inbox/rules/{rule.id}"
    assert client.post(f"{base}/enable", data={"csrf_token": csrf}).status_code == 303
    assert rules.get_rule(engine, "default", rule.id).enabled
    editor = client.get(f"/w/default/inbox/rules?edit={rule.id}")
    assert f'action="{base}"' in editor.text and 'value="refund*"' in editor.text
    saved = client.post(base, data={**FORM, "name": "Money back", "csrf_token": csrf})
    assert saved.status_code == 303
    edited = rules.get_rule(engine, "default", rule.id)
    assert (edited.name, edited.enabled, edited.conditions.sentiment) == (
        "Money back",
        True,
        ("negative",),
    )
    assert client.post(f"{base}/disable", data={"csrf_token": csrf}).status_code == 303
    assert not rules.get_rule(engine, "default", rule.id).enabled
    assert client.post(f"{base}/remove", data={"csrf_token": csrf}).status_code == 303
    assert rules.list_rules(engine, "default") == []
    with read(engine) as conn:
        actions = list(
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.object_type == "inbox_rule")
                .order_by(audit_log.c.id)
            ).scalars()
        )
    assert actions == [
        "inbox_rule.add",
        "inbox_rule.enable",
        "inbox_rule.edit",
        "inbox_rule.disable",
        "inbox_rule.remove",
    ]


def test_a_viewer_reads_and_simulates_but_cannot_write(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Any,
    engine: Engine,
) -> None:
    rule = add(engine)
    csrf = sign_in(client, make_member("viewer"))
    page = client.get("/w/default/inbox/rules")
    assert page.status_code == 200 and "Refunds" in page.text
    assert 'id="rule-editor"' not in page.text and "/enable" not in page.text
    assert client.get(f"/w/default/inbox/rules?simulate={rule.id}").status_code == 200
    base = f"/w/default/inbox/rules/{rule.id}"
    for path, data in [
        ("/w/default/inbox/rules", FORM),
        ("/w/default/inbox/rules/simulate", FORM),
        (base, FORM),
        (f"{base}/enable", {}),
        (f"{base}/disable", {}),
        (f"{base}/remove", {}),
    ]:
        assert client.post(path, data={**data, "csrf_token": csrf}).status_code == 403, path
    assert rules.get_rule(engine, "default", rule.id).enabled is False


def test_another_workspaces_rule_is_not_found(
    client: TestClient, make_member: Callable[..., Any], sign_in: Any, engine: Engine
) -> None:
    make_member("owner", workspace="other")
    theirs = add(engine, workspace="other")
    csrf = sign_in(client, make_member("owner"))
    base = f"/w/default/inbox/rules/{theirs.id}"
    assert client.get(f"/w/default/inbox/rules?simulate={theirs.id}").status_code == 404
    assert client.get(f"/w/default/inbox/rules?edit={theirs.id}").status_code == 404
    for path in (base, f"{base}/enable", f"{base}/disable", f"{base}/remove"):
        assert client.post(path, data={**FORM, "csrf_token": csrf}).status_code == 404, path
    assert rules.get_rule(engine, "other", theirs.id).enabled is False


def test_a_post_without_its_csrf_token_is_refused(
    owner_client: tuple[TestClient, Any, str], engine: Engine
) -> None:
    client, _member, _csrf = owner_client
    rule = add(engine)
    assert client.post(f"/w/default/inbox/rules/{rule.id}/enable").status_code == 403
    assert not rules.get_rule(engine, "default", rule.id).enabled


# -- the API -----------------------------------------------------------------------------------

Bearer = Callable[..., dict[str, str]]


API = "/api/v1/workspaces/default/inbox-rules"
BODY = {
    "name": "Refunds",
    "conditions": {"query": "refund*", "sentiment": ["negative"]},
    "actions": {"tag": ["refund"], "create_case": True, "priority": "high"},
}


def test_the_api_adds_lists_changes_and_removes_rules(
    client: TestClient, as_role: Bearer, engine: Engine
) -> None:
    manager = as_role("manager")
    created = client.post(API, json=BODY, headers=manager)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["enabled"] is False and rule["position"] == 0
    assert rule["conditions"]["sentiment"] == ["negative"]
    assert rule["actions"] == {
        "tag": ["refund"],
        "create_case": True,
        "priority": "high",
        "assign": None,
        "mute": None,
        "notify": None,
    }
    listed = client.get(API, headers=manager).json()
    assert [r["name"] for r in listed["items"]] == ["Refunds"] and listed["next_cursor"] is None
    patched = client.patch(
        f"{API}/{rule['id']}",
        json={"enabled": True, "actions": {"tag": ["money"]}},
        headers=manager,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is True
    assert patched.json()["actions"]["tag"] == ["money"]
    assert patched.json()["conditions"]["query"] == "refund*"
    assert client.get(f"{API}/{rule['id']}", headers=manager).json()["name"] == "Refunds"
    gone = client.delete(f"{API}/{rule['id']}", headers=manager)
    assert gone.status_code == 200 and gone.json()["id"] == rule["id"]
    assert client.get(API, headers=manager).json()["items"] == []


def test_the_api_checks_what_it_is_given(client: TestClient, as_role: Bearer) -> None:
    manager = as_role("manager")
    bad_query = client.post(
        API, json={**BODY, "conditions": {"query": "acme AND (refund"}}, headers=manager
    )
    assert bad_query.status_code == 400 and bad_query.json()["position"] == 9
    unknown = client.post(
        API, json={**BODY, "actions": {"tag": ["x"], "delete": True}}, headers=manager
    )
    assert unknown.status_code == 422
    no_watch = client.post(API, json={**BODY, "conditions": {"watch": "Nope"}}, headers=manager)
    assert no_watch.status_code == 400 and "no watch 'Nope'" in no_watch.json()["error"]
    assert client.post(API, json=BODY, headers=manager).status_code == 201
    assert client.post(API, json=BODY, headers=manager).status_code == 409


def test_the_api_simulates_a_stored_or_an_unsaved_rule(
    client: TestClient, as_role: Bearer, engine: Engine, settings: Settings
) -> None:
    import_lines(
        engine,
        settings,
        [{"text": "Acme refund please"}, {"text": "Acme rocks"}],
        source=FORUM,
    )
    rule = add(engine)
    viewer = as_role("viewer")
    stored = client.post(f"{API}/simulate", json={"rule_id": rule.id}, headers=viewer)
    assert stored.status_code == 200, stored.text
    result = stored.json()
    assert (result["matched"], result["scanned"], result["complete"]) == (1, 2, True)
    assert result["actions"] == {"tag": 1, "create_case": 1}
    assert result["samples"][0]["text"] == "Acme refund please"
    unsaved = client.post(
        f"{API}/simulate",
        json={"conditions": {"query": "rocks"}, "actions": {"tag": ["x"]}, "days": 7},
        headers=viewer,
    )
    assert unsaved.status_code == 200 and unsaved.json()["matched"] == 1
    neither = client.post(f"{API}/simulate", json={"days": 7}, headers=viewer)
    assert neither.status_code == 400
    assert count(engine, cases) == 0 and count(engine, mention_tags) == 0


def test_the_api_roles_and_workspaces(client: TestClient, as_role: Bearer, engine: Engine) -> None:
    rule = add(engine)
    viewer = as_role("viewer")
    assert client.get(API, headers=viewer).status_code == 200
    assert client.post(API, json=BODY, headers=viewer).status_code == 403
    assert (
        client.patch(f"{API}/{rule.id}", json={"enabled": True}, headers=viewer).status_code == 403
    )
    assert client.delete(f"{API}/{rule.id}", headers=viewer).status_code == 403
    other = as_role("manager", workspace="other")
    theirs = add(engine, name="Theirs", workspace="other")
    manager = as_role("manager")
    assert client.get(f"{API}/{theirs.id}", headers=manager).status_code == 404
    assert (
        client.patch(f"{API}/{theirs.id}", json={"enabled": True}, headers=manager).status_code
        == 404
    )
    assert client.delete(f"{API}/{theirs.id}", headers=manager).status_code == 404
    assert (
        client.post(f"{API}/simulate", json={"rule_id": theirs.id}, headers=manager).status_code
        == 404
    )
    assert client.get(API, headers=other).status_code == 404
