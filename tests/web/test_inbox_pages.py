"""The inbox pages: a case opened from a mention's page, the inbox with its saved views and
filters, the case page (risk factors, response times, handling, notes, replies, the tone
check, saved replies, the collision warning), the inbox settings, with their roles, CSRF,
workspace isolation and stored XSS rendered inert.

Mentions come through the real import service; cases, notes and replies through
:mod:`flocon.services.cases`, as the pages themselves call it.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from flocon.errors import AlreadyExists
from flocon.services import accounts
from flocon.services import cases as svc
from flocon.services import workspaces as workspaces_svc
from flocon.settings import Settings
from flocon.storage.engine import read
from flocon.storage.tables import posting_accounts
from support.seeding import NOW, import_lines

CASE_ROW = re.compile(r'<tr id="case-(\d+)"')
COMPLAINT = {
    "text": "Acme charged my card twice and support never answers. Is anyone there?",
    "author": {"handle": "claire", "name": "Claire", "followers": 900},
}
PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)"><svg onload=alert(3)>'


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Posting accounts are sealed with the secret key."""
    return Settings(database_url=database_url, secret_key=Fernet.generate_key().decode())


def open_case(
    engine: Engine,
    settings: Settings,
    line: dict[str, Any] | None = None,
    workspace: str = "default",
    **options: Any,
) -> svc.Case:
    (mention_id,) = import_lines(engine, settings, [line or COMPLAINT], workspace=workspace)
    return svc.create_case(engine, workspace, mention_id=mention_id, actor="cli", **options)


@pytest.fixture
def agent_case(
    engine: Engine, settings: Settings, sign_as: Callable[..., str]
) -> tuple[svc.Case, str]:
    """A case opened on COMPLAINT, and the CSRF token of an agent signed in on ``client``."""
    case = open_case(engine, settings)
    return case, sign_as("agent")


def post_reply(client: TestClient, case: svc.Case, csrf: str, **fields: str) -> Response:
    """Submit the reply form of ``case`` with ``fields`` (text, action, url...)."""
    return client.post(f"/w/default/inbox/{case.id}/replies", data={**fields, "csrf_token": csrf})


def case_ids(page_html: str) -> list[int]:
    return [int(i) for i in CASE_ROW.findall(page_html)]


def text_of(page_html: str, element_id: str) -> str:
    """The text of the element with that id (tags dropped, entities decoded, spaces folded)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page_html, re.S)
    assert found, f"no #{element_id} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


@pytest.fixture
def second_client(app: FastAPI) -> Iterator[TestClient]:
    """Another browser: a second agent on the same app."""
    with TestClient(app, follow_redirects=False) as c:
        yield c


# --------------------------------------------------------------------------- open a case


def test_the_mention_page_opens_a_case_in_the_inbox(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT])
    token = sign_as("agent")
    mention_page = client.get(f"/w/default/mentions/{mid}")
    assert 'id="open-case"' in mention_page.text
    done = client.post("/w/default/inbox", data={"mention_id": mid, "csrf_token": token})
    assert done.status_code == 303
    (case,) = svc.list_cases(engine, "default").cases
    assert done.headers["location"] == f"/w/default/inbox/{case.id}?done=created"
    assert case.row.mention_id == mid and case.status == "new"
    page = client.get(done.headers["location"])
    assert page.status_code == 200
    assert text_of(page.text, "notice") == "Case opened."
    assert "Acme charged my card twice" in text_of(page.text, "case-mention")


def test_opening_a_case_twice_leads_to_the_existing_case(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    again = client.post(
        "/w/default/inbox", data={"mention_id": case.row.mention_id, "csrf_token": token}
    )
    assert again.status_code == 303
    assert again.headers["location"] == f"/w/default/inbox/{case.id}?done=exists"
    assert svc.list_cases(engine, "default").total == 1
    page = client.get(again.headers["location"])
    assert text_of(page.text, "notice") == "This mention already has a case: here it is."


def test_the_mention_page_offers_no_case_button_to_a_viewer(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    (mid,) = import_lines(engine, settings, [COMPLAINT])
    sign_as("viewer")
    page = client.get(f"/w/default/mentions/{mid}")
    assert page.status_code == 200
    assert 'id="open-case"' not in page.text


# --------------------------------------------------------------------------- the inbox


def test_the_inbox_lists_cases_riskiest_first_with_why(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    calm = open_case(
        engine, settings, {"id": "calm", "text": "Acme opens a store", "author": {"handle": "a"}}
    )
    angry = open_case(
        engine,
        settings,
        {
            "id": "angry",
            "text": "Acme is terrible, worst service ever, still no refund",
            "author": {"handle": "big", "followers": 200_000},
        },
    )
    sign_as("viewer")
    page = client.get("/w/default/inbox")
    assert page.status_code == 200
    assert case_ids(page.text) == [angry.id, calm.id]
    assert text_of(page.text, "case-count") == "2 cases"
    row = page.text.split(f'id="case-{angry.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Author influence +" in row and "Negativity +" in row
    assert "/inbox/settings" in page.text


def _three_cases(engine: Engine, settings: Settings, agent: accounts.User) -> dict[str, int]:
    mine = open_case(
        engine, settings, {"id": "mine", "text": "Acme one", "author": {"handle": "a"}}
    )
    svc.update_case(engine, "default", mine.id, actor="cli", assignee=agent.id)
    svc.tag_case(engine, "default", mine.id, actor="cli", add=["billing"])
    free = open_case(
        engine,
        settings,
        {"id": "free", "text": "Acme two", "author": {"handle": "b"}, "lang": "fr"},
        priority="high",
    )
    late = open_case(
        engine,
        settings,
        {"id": "late", "text": "Acme three", "author": {"handle": "c"}},
        now=NOW - timedelta(days=4),
    )
    return {"mine": mine.id, "free": free.id, "late": late.id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("view=mine", ["mine"]),
        ("view=unassigned", ["free", "late"]),
        ("view=overdue", ["late"]),
        ("priority=high", ["free"]),
        ("tag=billing", ["mine"]),
        ("status=open", ["mine"]),
        ("status=resolved", []),
        ("assignee=none", ["free", "late"]),
        ("watch=Acme", ["free", "late", "mine"]),
        ("channel=twitter", []),
        ("lang=fr", ["free"]),
    ],
)
def test_saved_views_and_filters(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    query: str,
    expected: list[str],
) -> None:
    agent = make_member("agent")
    ids = _three_cases(engine, settings, agent.user)
    sign_in(client, agent)
    page = client.get(f"/w/default/inbox?{query}")
    assert page.status_code == 200
    assert sorted(case_ids(page.text)) == sorted(ids[name] for name in expected)


def test_the_overdue_row_is_marked(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    agent = make_member("agent")
    ids = _three_cases(engine, settings, agent.user)
    sign_in(client, agent)
    page = client.get("/w/default/inbox")
    assert f'<tr id="case-{ids["late"]}" class="overdue">' in page.text
    assert f'<tr id="case-{ids["free"]}">' in page.text
    row = page.text.split(f'id="case-{ids["late"]}"', 1)[1].split("</tr>", 1)[0]
    assert "overdue" in row and "Waiting time +" in row
    assert not re.search(r";\s*</small>", page.text)  # no dangling separator


def test_a_bad_filter_is_shown_on_the_page(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    open_case(engine, settings)
    sign_as("viewer")
    page = client.get("/w/default/inbox?status=bogus")
    assert page.status_code == 400
    assert "status must be one of" in page.text
    assert 'id="cases"' not in page.text


# --------------------------------------------------------------------------- the case page


def test_the_case_page_shows_the_risk_factors_and_response_times(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings, now=NOW - timedelta(hours=10))
    sign_as("viewer")
    page = client.get(f"/w/default/inbox/{case.id}")
    assert page.status_code == 200
    table = text_of(page.text, "risk-factors")
    for label in ("Snowball risk", "Author influence", "Negativity", "Waiting time"):
        assert label in table
    assert "0.35" in table and "0.25" in table and "0.15" in table
    # 10 h of waiting on a normal case (8 h target): overdue, no response yet.
    first = text_of(page.text, "first-response")
    assert first.startswith("due ") and first.endswith("overdue")
    assert text_of(page.text, "resolution").startswith("due ")


def test_a_case_of_another_workspace_is_404(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    theirs = open_case(engine, settings, workspace="other")
    token = sign_as("owner")
    assert client.get(f"/w/default/inbox/{theirs.id}").status_code == 404
    assert client.get("/w/other/inbox").status_code == 404
    posts = {
        f"/w/default/inbox/{theirs.id}": {"version": theirs.row.version, "take": "1"},
        f"/w/default/inbox/{theirs.id}/notes": {"text": "hello"},
        f"/w/default/inbox/{theirs.id}/replies": {"text": "hi", "action": "record"},
        f"/w/default/inbox/{theirs.id}/replies/1/send": {},
        "/w/default/inbox": {"mention_id": theirs.row.mention_id},
    }
    for path, data in posts.items():
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 404, path
    detail = svc.get_case(engine, "other", theirs.id)
    assert detail.notes == [] and detail.replies == []
    assert detail.case.row.assignee is None
    assert svc.list_cases(engine, "default").total == 0


def test_saved_replies_and_accounts_of_another_workspace_are_404(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, "other")
    saved = svc.save_saved(
        engine, "other", name="Theirs", lang="en", text="Hi {author}", actor="cli"
    )
    account = svc.add_account(
        engine,
        "other",
        platform="mastodon",
        name="brand",
        base_url="https://social.example",
        credentials={"access_token": "t"},
        settings=settings,
        actor="cli",
    )
    token = sign_as("owner")
    assert client.get(f"/w/default/inbox/{case.id}?saved={saved.id}").status_code == 404
    for path in (
        f"/w/default/inbox/settings/saved/{saved.id}/remove",
        f"/w/default/inbox/settings/accounts/{account.id}/remove",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert [s.id for s in svc.list_saved(engine, "other")] == [saved.id]
    assert [a.id for a in svc.list_accounts(engine, "other")] == [account.id]


# --------------------------------------------------------------------------- handling


def test_an_agent_takes_a_case(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    agent = make_member("agent")
    token = sign_in(client, agent)
    page = client.get(f"/w/default/inbox/{case.id}")
    assert 'id="take-case"' in page.text
    done = client.post(
        f"/w/default/inbox/{case.id}",
        data={"version": case.row.version, "take": "1", "csrf_token": token},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/w/default/inbox/{case.id}?done=updated"
    row = svc.get_case(engine, "default", case.id).case.row
    assert (row.assignee, row.status) == (agent.user.email, "open")
    again = client.get(done.headers["location"])
    assert 'id="take-case"' not in again.text
    assert "Case updated." in again.text
    history = text_of(again.text, "case-history")
    assert "cli · opened the case" in history
    assert f"{agent.user.email} · assigned → {agent.user.email}" in history
    assert f"{agent.user.email} · status → open" in history
    mine = client.get("/w/default/inbox?view=mine")
    assert case_ids(mine.text) == [case.id]


def test_status_priority_and_tags_change_in_one_form(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    tagged = svc.tag_case(engine, "default", case.id, actor="cli", add=["old"])
    token = sign_as("agent")
    done = client.post(
        f"/w/default/inbox/{case.id}",
        data={
            "version": tagged.row.version,
            "status": "waiting",
            "priority": "urgent",
            "assignee": "",
            "tags": "Billing, refund",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303, done.text[:300]
    current = svc.get_case(engine, "default", case.id).case
    assert (current.status, current.row.priority) == ("waiting", "urgent")
    assert sorted(current.tags) == ["billing", "refund"]
    page = client.get(f"/w/default/inbox/{case.id}")
    assert 'value="billing, refund"' in page.text
    assert text_of(page.text, "case-status") == "waiting for the author"


def test_ignoring_needs_a_reason_shown_on_the_page(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    refused = client.post(
        f"/w/default/inbox/{case.id}",
        data={"version": case.row.version, "status": "ignored", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert "a reason is required" in text_of(refused.text, "case-error")
    assert svc.get_case(engine, "default", case.id).case.status == "new"


def test_a_stale_form_is_refused_with_409_and_says_why(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    svc.update_case(engine, "default", case.id, actor="cli", priority="high")
    refused = client.post(
        f"/w/default/inbox/{case.id}",
        data={"version": case.row.version, "status": "resolved", "csrf_token": token},
    )
    assert refused.status_code == 409
    assert "was changed by someone else" in text_of(refused.text, "case-error")
    assert svc.get_case(engine, "default", case.id).case.status == "new"
    # The page shown with the error carries the current version: saving again works.
    version = re.search(r'name="version" value="(\d+)"', refused.text)
    assert version and int(version.group(1)) == case.row.version + 1


def test_a_stale_take_is_refused_too(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    first = make_member("agent")
    svc.update_case(engine, "default", case.id, actor="cli", assignee=first.user.id)
    token = sign_as("agent")
    refused = client.post(
        f"/w/default/inbox/{case.id}",
        data={"version": case.row.version, "take": "1", "csrf_token": token},
    )
    assert refused.status_code == 409
    assert svc.get_case(engine, "default", case.id).case.row.assignee == first.user.email


# --------------------------------------------------------------------------- notes


def test_a_note_with_an_at_mention_names_the_teammate(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    make_member("agent", email="lea@acme.example")
    token = sign_as("agent")
    done = client.post(
        f"/w/default/inbox/{case.id}/notes",
        data={"text": "@lea can you check the refund? <b>urgent</b>", "csrf_token": token},
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=noted")
    (note,) = svc.get_case(engine, "default", case.id).notes
    assert note.text.startswith("@lea can you check")
    page = client.get(done.headers["location"])
    assert f'id="note-{note.id}"' in page.text
    assert "&lt;b&gt;urgent&lt;/b&gt;" in page.text
    history = text_of(page.text, "case-history")
    assert "note" in history
    events = svc.get_case(engine, "default", case.id).events
    assert events[-1].details["mentioned"] == ["lea@acme.example"]


def test_an_empty_note_is_refused_on_the_page(
    client: TestClient, agent_case: tuple[svc.Case, str]
) -> None:
    case, token = agent_case
    refused = client.post(
        f"/w/default/inbox/{case.id}/notes", data={"text": "", "csrf_token": token}
    )
    assert refused.status_code == 400
    assert "a note needs some text" in text_of(refused.text, "case-error")


# --------------------------------------------------------------------------- replies


def test_check_the_tone_shows_the_issues_and_keeps_the_draft(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    draft = "Calm down. You should have read the FAQ!!!"
    page = post_reply(client, case, token, text=draft, action="check")
    assert page.status_code == 200
    tone = page.text.split('id="tone"', 1)[1].split("</div>", 1)[0]
    assert "Dismissive: it brushes the person off." in tone
    assert "It blames the person who complains." in tone
    assert "No apology or empathy for a complaint." in tone
    assert "« Calm down »" in tone
    assert html.unescape(text_of(page.text, "r-text")) == draft
    # Nothing was stored: checking is not saving.
    assert svc.get_case(engine, "default", case.id).replies == []


def test_checking_an_empty_reply_shows_the_case_again(
    client: TestClient, agent_case: tuple[svc.Case, str]
) -> None:
    case, token = agent_case
    page = post_reply(client, case, token, text="", action="check")
    assert page.status_code == 200
    assert 'id="reply-form"' in page.text and 'id="tone"' not in page.text


def test_a_good_reply_passes_the_tone_check(
    client: TestClient, agent_case: tuple[svc.Case, str]
) -> None:
    case, token = agent_case
    page = post_reply(
        client,
        case,
        token,
        text="We are so sorry about the double charge, Claire. I have sent you a DM "
        "and will refund you today.",
        action="check",
    )
    assert "The tone looks right" in text_of(page.text, "tone")


def test_a_saved_reply_fills_the_reply_with_the_cases_values(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    saved = svc.save_saved(
        engine,
        "default",
        name="Apology",
        lang="en",
        text="Hello {author}, {brand} is sorry. Follow it here: {case_link} — {agent}",
        actor="cli",
    )
    agent = make_member("agent", email="sam@acme.example")
    sign_in(client, agent)
    page = client.get(f"/w/default/inbox/{case.id}")
    assert f'<option value="{saved.id}">Apology (en)</option>' in page.text
    filled = client.get(f"/w/default/inbox/{case.id}?saved={saved.id}")
    assert filled.status_code == 200
    assert text_of(filled.text, "r-text") == (
        f"Hello @claire, Acme is sorry. Follow it here: "
        f"http://testserver/w/default/inbox/{case.id} — sam"
    )


def test_a_reply_made_elsewhere_is_recorded_and_answers_the_case(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    agent = make_member("agent")
    token = sign_in(client, agent)
    page = client.get(f"/w/default/inbox/{case.id}")
    assert 'id="send-reply"' not in page.text  # no posting account
    assert "flocon has no account to post on this platform" in page.text
    done = post_reply(
        client,
        case,
        token,
        text="Sorry Claire, we called you back.",
        action="record",
        url="https://social.example/@acme/42",
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=recorded")
    detail = svc.get_case(engine, "default", case.id)
    (reply,) = detail.replies
    assert (reply.status, reply.url) == ("recorded", "https://social.example/@acme/42")
    assert detail.case.first_response_seconds is not None
    page = client.get(done.headers["location"])
    item = text_of(page.text, f"reply-{reply.id}")
    assert "recorded (made elsewhere)" in item and agent.user.email in item
    assert 'href="https://social.example/@acme/42"' in page.text
    assert text_of(page.text, "first-response").startswith("after ")


def test_a_reply_with_a_javascript_address_is_refused(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    refused = post_reply(
        client, case, token, text="Sorry!", action="record", url="javascript:alert(1)"
    )
    assert refused.status_code == 400
    assert "http:// or https://" in text_of(refused.text, "case-error")
    # The draft is kept in the box.
    assert text_of(refused.text, "r-text") == "Sorry!"
    assert svc.get_case(engine, "default", case.id).replies == []


def test_a_draft_is_saved(
    client: TestClient,
    engine: Engine,
    agent_case: tuple[svc.Case, str],
) -> None:
    case, token = agent_case
    done = post_reply(client, case, token, text="Sorry, looking into it", action="draft")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=drafted")
    (reply,) = svc.get_case(engine, "default", case.id).replies
    assert reply.status == "draft"
    page = client.get(done.headers["location"])
    assert "draft" in text_of(page.text, f"reply-{reply.id}")
    # Without a posting account, a draft cannot be sent from here.
    assert f'id="send-draft-{reply.id}"' not in page.text


def test_sending_without_an_account_says_how_to_answer(
    client: TestClient, agent_case: tuple[svc.Case, str]
) -> None:
    case, token = agent_case
    refused = post_reply(client, case, token, text="Sorry Claire", action="send")
    assert refused.status_code == 400
    assert "no posting account answers mastodon mentions" in text_of(refused.text, "case-error")


def test_with_an_account_the_send_button_names_the_platform(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    svc.add_account(
        engine,
        "default",
        platform="mastodon",
        name="brand",
        base_url="https://social.example",
        credentials={"access_token": "t"},
        settings=settings,
        actor="cli",
    )
    sign_as("agent")
    page = client.get(f"/w/default/inbox/{case.id}")
    assert text_of(page.text, "send-reply") == "Send on mastodon"
    assert "flocon has no account to post" not in page.text


# --------------------------------------------------------------------------- collisions


def test_a_teammate_who_had_the_case_open_is_shown(
    client: TestClient,
    second_client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    first = make_member("agent", email="first@acme.example")
    sign_in(second_client, first)
    assert second_client.get(f"/w/default/inbox/{case.id}").status_code == 200
    sign_as("agent")
    page = client.get(f"/w/default/inbox/{case.id}")
    warning = text_of(page.text, "collision")
    assert "first@acme.example has this case open." in warning
    assert "Check with them before answering." in warning
    # The first agent does not see themself.
    assert 'id="collision"' in second_client.get(f"/w/default/inbox/{case.id}").text
    alone = open_case(
        engine, settings, {"id": "alone", "text": "Acme x", "author": {"handle": "z"}}
    )
    assert 'id="collision"' not in client.get(f"/w/default/inbox/{alone.id}").text


def test_a_teammate_writing_a_reply_is_shown_as_replying(
    client: TestClient,
    second_client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    first = make_member("agent", email="first@acme.example")
    token = sign_in(second_client, first)
    post_reply(second_client, case, token, text="Sorry", action="check")
    sign_as("agent")
    page = client.get(f"/w/default/inbox/{case.id}")
    assert "first@acme.example is writing a reply to this case." in text_of(page.text, "collision")


def test_a_presence_older_than_two_minutes_is_no_collision(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    first = make_member("agent", email="first@acme.example")
    svc.see_case(engine, "default", case.id, user_id=first.user.id, now=NOW - timedelta(minutes=3))
    sign_as("agent")
    assert 'id="collision"' not in client.get(f"/w/default/inbox/{case.id}").text


def test_a_viewer_leaves_no_presence(
    client: TestClient,
    second_client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    sign_in(second_client, make_member("viewer"))
    second_client.get(f"/w/default/inbox/{case.id}")
    sign_as("agent")
    assert 'id="collision"' not in client.get(f"/w/default/inbox/{case.id}").text


# --------------------------------------------------------------------------- settings


def test_a_manager_adds_and_removes_a_saved_reply(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("manager")
    page = client.get("/w/default/inbox/settings")
    assert page.status_code == 200
    assert 'id="saved-reply-form"' in page.text
    assert 'id="account-form"' not in page.text and 'id="targets-form"' not in page.text
    done = client.post(
        "/w/default/inbox/settings/saved",
        data={"name": "Apology", "lang": "fr", "text": "Bonjour {author}", "csrf_token": token},
    )
    assert done.status_code == 303
    (saved,) = svc.list_saved(engine, "default")
    assert (saved.name, saved.lang, saved.text) == ("Apology", "fr", "Bonjour {author}")
    listed = client.get(done.headers["location"])
    assert "Saved." in listed.text and f'id="saved-{saved.id}"' in listed.text
    removed = client.post(
        f"/w/default/inbox/settings/saved/{saved.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert svc.list_saved(engine, "default") == []


def test_a_saved_reply_is_edited(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    saved = svc.save_saved(engine, "default", name="Hi", lang="en", text="Hi {author}", actor="cli")
    token = sign_as("manager")
    page = client.get("/w/default/inbox/settings")
    assert f'id="edit-saved-{saved.id}"' in page.text
    done = client.post(
        "/w/default/inbox/settings/saved",
        data={
            "saved_id": saved.id,
            "name": "Hello",
            "lang": "en",
            "text": "Hello {author}",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303
    (edited,) = svc.list_saved(engine, "default")
    assert (edited.id, edited.name, edited.text) == (saved.id, "Hello", "Hello {author}")


def test_a_bad_template_is_refused_with_its_reason(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("manager")
    refused = client.post(
        "/w/default/inbox/settings/saved",
        data={"name": "Broken", "lang": "en", "text": "Hello {author", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert text_of(refused.text, "settings-error")
    assert svc.list_saved(engine, "default") == []


def test_an_admin_adds_a_posting_account_whose_credentials_are_never_shown(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    secret = "masto-secret-token-0123456789"
    done = client.post(
        "/w/default/inbox/settings/accounts",
        data={
            "platform": "mastodon",
            "name": "Acme support",
            "base_url": "https://social.example",
            "credentials": f"access_token={secret}\n",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303, done.text[:500]
    (account,) = svc.list_accounts(engine, "default")
    assert (account.platform, account.name) == ("mastodon", "Acme support")
    with read(engine) as conn:
        stored = conn.execute(select(posting_accounts.c.credentials)).scalar_one()
    assert secret not in stored  # sealed
    page = client.get("/w/default/inbox/settings")
    assert "Acme support" in text_of(page.text, "posting-accounts")
    assert secret not in page.text
    audit = accounts.audit_events(engine, "default")
    assert all(secret not in json.dumps(entry.details) for entry in audit)


def test_credentials_that_are_not_key_value_lines_are_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    refused = client.post(
        "/w/default/inbox/settings/accounts",
        data={
            "platform": "mastodon",
            "name": "x",
            "base_url": "https://social.example",
            "credentials": "just-a-token-without-its-name",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    assert text_of(refused.text, "settings-error") == "Credentials are key=value lines."
    assert "just-a-token-without-its-name" not in refused.text
    assert svc.list_accounts(engine, "default") == []


def test_an_account_missing_its_token_is_refused_without_echoing_credentials(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    refused = client.post(
        "/w/default/inbox/settings/accounts",
        data={
            "platform": "mastodon",
            "name": "x",
            "base_url": "https://social.example",
            "credentials": "password=hunter2-secret",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    assert "hunter2-secret" not in refused.text
    assert svc.list_accounts(engine, "default") == []


def test_an_admin_removes_a_posting_account(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    account = svc.add_account(
        engine,
        "default",
        platform="mastodon",
        name="brand",
        base_url="https://social.example",
        credentials={"access_token": "t"},
        settings=settings,
        actor="cli",
    )
    token = sign_as("admin")
    done = client.post(
        f"/w/default/inbox/settings/accounts/{account.id}/remove", data={"csrf_token": token}
    )
    assert done.status_code == 303
    assert svc.list_accounts(engine, "default") == []


HOURS = {
    "timezone": "Europe/Paris",
    "week": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"]},
}
SLA = {
    "first_response_s": {"low": 86400, "normal": 7200, "high": 3600, "urgent": 900},
    "resolution_s": {"low": None, "normal": 86400, "high": 43200, "urgent": 14400},
}


def test_an_admin_sets_business_hours_and_targets(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    page = client.get("/w/default/inbox/settings")
    assert 'id="targets-form"' in page.text
    done = client.post(
        "/w/default/inbox/settings/targets",
        data={
            "business_hours": json.dumps(HOURS),
            "sla": json.dumps(SLA),
            "csrf_token": token,
        },
    )
    assert done.status_code == 303, done.text[:500]
    current = svc.get_inbox_settings(engine, "default")
    assert current.business_hours.to_json()["timezone"] == "Europe/Paris"
    assert current.sla.first_response_s["normal"] == 7200
    assert current.suggest is False  # the box was left unticked
    shown = client.get("/w/default/inbox/settings")
    assert "Europe/Paris" in text_of(shown.text, "t-hours")
    assert '"normal": 7200' in html.unescape(text_of(shown.text, "t-sla"))


@pytest.mark.parametrize(
    ("hours", "sla", "message"),
    [
        (
            '{"timezone": "Europe/Paris",',
            json.dumps(SLA),
            "Business hours: not valid JSON (line 1, column 29)",
        ),
        ("[1, 2]", json.dumps(SLA), "Business hours: a JSON object {...} is expected."),
        (json.dumps(HOURS), "{", "Response targets: not valid JSON (line 1, column 2)"),
        (
            json.dumps({**HOURS, "timezone": "Mars/Olympus"}),
            json.dumps(SLA),
            "Mars/Olympus",
        ),
        (
            json.dumps({**HOURS, "week": {"mon": ["9h-18h"]}}),
            json.dumps(SLA),
            "week.mon",
        ),
        (json.dumps(HOURS), json.dumps({"first_response_s": {}}), "missing SLA key(s)"),
        (
            json.dumps(HOURS),
            json.dumps({**SLA, "first_response_s": {**SLA["first_response_s"], "normal": -1}}),
            "first_response_s.normal",
        ),
    ],
)
def test_bad_business_hours_or_sla_give_a_clear_error(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    hours: str,
    sla: str,
    message: str,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    refused = client.post(
        "/w/default/inbox/settings/targets",
        data={"business_hours": hours, "sla": sla, "suggest": "on", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert message in text_of(refused.text, "settings-error")
    # What was typed stays in the form, to be corrected.
    assert html.unescape(text_of(refused.text, "t-hours")) == " ".join(hours.split())
    assert svc.get_inbox_settings(engine, "default").business_hours.always_open


def test_empty_fields_restore_the_default_hours_and_targets(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    svc.set_inbox_settings(engine, "default", actor="cli", business_hours=HOURS, sla=SLA)
    token = sign_as("admin")
    done = client.post(
        "/w/default/inbox/settings/targets",
        data={"business_hours": " ", "sla": "", "suggest": "on", "csrf_token": token},
    )
    assert done.status_code == 303, done.text.split("<main", 1)[1][:1500]
    current = svc.get_inbox_settings(engine, "default")
    assert current.business_hours.always_open
    assert current.sla.first_response_s["normal"] == 8 * 3600
    assert current.suggest is True


def test_a_refused_saved_reply_keeps_what_was_typed(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("manager")
    refused = client.post(
        "/w/default/inbox/settings/saved",
        data={"name": "Broken", "lang": "en", "text": "Hello {author", "csrf_token": token},
    )
    assert refused.status_code == 400
    form = refused.text.split('id="saved-reply-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="Broken"' in form
    assert '<option value="en" selected>' in form
    assert "Hello {author</textarea>" in form


def test_a_refused_account_keeps_its_fields_but_not_its_credentials(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("admin")
    refused = client.post(
        "/w/default/inbox/settings/accounts",
        data={
            "platform": "mastodon",
            "name": "Acme support",
            "base_url": "ftp://social.example",
            "credentials": "access_token=secret-value-42",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    assert "http:// or https://" in text_of(refused.text, "settings-error")
    form = refused.text.split('id="account-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="Acme support"' in form and 'value="ftp://social.example"' in form
    assert "secret-value-42" not in refused.text


def test_the_platforms_offered_are_those_flocon_can_post_to(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    from flocon import posting

    sign_as("admin")
    page = client.get("/w/default/inbox/settings")
    select_html = page.text.split('id="a-platform"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]+)"', select_html) == sorted(posting.POSTERS)


# --------------------------------------------------------------------------- roles and CSRF


def _every_post(case: svc.Case, saved_id: int, account_id: int) -> dict[str, dict[str, Any]]:
    return {
        "/w/default/inbox": {"mention_id": case.row.mention_id},
        f"/w/default/inbox/{case.id}": {"version": case.row.version, "take": "1"},
        f"/w/default/inbox/{case.id}/notes": {"text": "hello"},
        f"/w/default/inbox/{case.id}/replies": {"text": "hi", "action": "record"},
        f"/w/default/inbox/{case.id}/replies/1/send": {},
        "/w/default/inbox/settings/saved": {"name": "n", "lang": "en", "text": "t"},
        f"/w/default/inbox/settings/saved/{saved_id}/remove": {},
        "/w/default/inbox/settings/accounts": {
            "platform": "mastodon",
            "name": "n",
            "base_url": "https://social.example",
            "credentials": "access_token=x",
        },
        f"/w/default/inbox/settings/accounts/{account_id}/remove": {},
        "/w/default/inbox/settings/targets": {"business_hours": "{}", "sla": "{}"},
    }


def _fixtures(engine: Engine, settings: Settings) -> tuple[svc.Case, int, int]:
    case = open_case(engine, settings)
    saved = svc.save_saved(engine, "default", name="Hi", lang="en", text="Hi", actor="cli")
    account = svc.add_account(
        engine,
        "default",
        platform="mastodon",
        name="brand",
        base_url="https://social.example",
        credentials={"access_token": "t"},
        settings=settings,
        actor="cli",
    )
    return case, saved.id, account.id


def test_a_viewer_reads_every_page_but_every_post_is_403(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case, saved_id, account_id = _fixtures(engine, settings)
    token = sign_as("viewer")
    for path in ("/w/default/inbox", f"/w/default/inbox/{case.id}", "/w/default/inbox/settings"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<form method="post"' not in page.text.split('<main id="main"', 1)[1], path
    for path, data in _every_post(case, saved_id, account_id).items():
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
    detail = svc.get_case(engine, "default", case.id)
    assert detail.notes == [] and detail.replies == [] and detail.case.row.assignee is None
    assert len(svc.list_saved(engine, "default")) == 1
    assert len(svc.list_accounts(engine, "default")) == 1


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("agent", {"case"}),
        ("manager", {"case", "saved"}),
        ("admin", {"case", "saved", "accounts", "targets"}),
    ],
)
def test_settings_posts_need_their_role(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
    role: str,
    allowed: set[str],
) -> None:
    case, saved_id, account_id = _fixtures(engine, settings)
    token = sign_as(role)
    area = {
        "/w/default/inbox/settings/saved": "saved",
        f"/w/default/inbox/settings/saved/{saved_id}/remove": "saved",
        "/w/default/inbox/settings/accounts": "accounts",
        f"/w/default/inbox/settings/accounts/{account_id}/remove": "accounts",
        "/w/default/inbox/settings/targets": "targets",
    }
    for path, data in _every_post(case, saved_id, account_id).items():
        if path not in area:
            continue
        answer = client.post(path, data={**data, "csrf_token": token})
        if area[path] in allowed:
            assert answer.status_code in (303, 400), (path, answer.status_code)
        else:
            assert answer.status_code == 403, path
    page = client.get("/w/default/inbox/settings")
    assert ('id="account-form"' in page.text) == ("accounts" in allowed)
    assert ('id="saved-reply-form"' in page.text) == ("saved" in allowed)


def test_an_agent_cannot_add_a_posting_account(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    token = sign_as("agent")
    refused = client.post(
        "/w/default/inbox/settings/accounts",
        data={
            "platform": "mastodon",
            "name": "n",
            "base_url": "https://social.example",
            "credentials": "access_token=x",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 403
    assert svc.list_accounts(engine, "default") == []


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    token: str | None,
    sign_as: Callable[..., str],
) -> None:
    case, saved_id, account_id = _fixtures(engine, settings)
    sign_as("owner")
    for path, data in _every_post(case, saved_id, account_id).items():
        sent = dict(data) if token is None else {**data, "csrf_token": token}
        assert client.post(path, data=sent).status_code == 403, path
    detail = svc.get_case(engine, "default", case.id)
    assert detail.notes == [] and detail.replies == [] and detail.case.row.assignee is None
    assert len(svc.list_saved(engine, "default")) == 1
    assert len(svc.list_accounts(engine, "default")) == 1


def test_signed_out_visitors_are_sent_to_the_login_page(client: TestClient) -> None:
    answer = client.get("/w/default/inbox")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


# --------------------------------------------------------------------------- stored XSS


@pytest.mark.parametrize("where", ["list", "case"])
def test_hostile_mention_text_renders_inert(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    where: str,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(
        engine,
        settings,
        {
            "id": "xss",
            "text": f"Acme {html.escape(PAYLOAD)}",
            "title": f"Acme {html.escape(PAYLOAD)}",
            "url": "javascript:alert(4)",
            "author": {"handle": 'x"><script>alert(5)</script>', "name": PAYLOAD},
        },
    )
    svc.tag_case(engine, "default", case.id, actor="cli", add=["<b>tag</b>"])
    sign_as("agent")
    page = client.get("/w/default/inbox" if where == "list" else f"/w/default/inbox/{case.id}")
    assert page.status_code == 200
    body = page.text.split('<main id="main"', 1)[1]
    for bad in ("<script>alert", "<img src=x", "<svg onload", 'onerror="alert', "<b>tag"):
        assert bad not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "javascript:" not in body.lower()


def test_hostile_notes_replies_and_saved_replies_render_inert(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    svc.add_note(engine, "default", case.id, actor="cli", text=PAYLOAD)
    svc.record_reply(engine, "default", case.id, actor="cli", text=PAYLOAD)
    saved = svc.save_saved(engine, "default", name=PAYLOAD, lang="en", text=PAYLOAD, actor="cli")
    sign_as("manager")
    for path in (
        f"/w/default/inbox/{case.id}",
        f"/w/default/inbox/{case.id}?saved={saved.id}",
        "/w/default/inbox/settings",
    ):
        body = client.get(path).text.split('<main id="main"', 1)[1]
        for bad in ("<script>alert", "<img src=x", "<svg onload"):
            assert bad not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path


# --------------------------------------------------------------------------- French


def test_the_inbox_speaks_french(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    sign_as: Callable[..., str],
) -> None:
    case = open_case(engine, settings)
    sign_as("agent")
    client.cookies.set("flocon_lang", "fr")
    page = client.get(f"/w/default/inbox/{case.id}")
    assert page.status_code == 200
    assert "Le prendre" in page.text
    listing = client.get("/w/default/inbox")
    assert "Non attribués" in listing.text
