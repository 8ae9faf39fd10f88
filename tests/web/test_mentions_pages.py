"""The mentions pages: the filtered list (the dashboard's drill-down format), full-text search,
cursor pages, the thread view, bulk actions with their roles, mutes, workspace isolation, CSRF
and stored XSS payloads rendered inert.

Mentions come through the real import service (``import_stream``), as ``flocon import``
stores them: normalised, matched against the watches, analysed.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts, analysis, tags
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.importing import import_stream
from flocon.services.mentions import MentionQuery
from flocon.settings import Settings

NOW = datetime.now(UTC).replace(microsecond=0)
MENTION_ID = re.compile(r'<article class="mention[^"]*" id="m-(\d+)"')


def seed(
    engine: Engine,
    settings: Settings,
    lines: list[dict[str, Any]],
    workspace: str = "default",
    watch: tuple[str, str] = ("Acme", "acme"),
) -> list[int]:
    """Import ``lines`` (each gets an id and a date when it has none); returns the ids of the
    stored mentions, in the order of ``lines``."""
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name=watch[0], query=watch[1])
    body = b""
    wanted = [str(line.get("id", f"{workspace}-{i}")) for i, line in enumerate(lines)]
    for i, line in enumerate(lines):
        item = {
            "id": wanted[i],
            "published_at": (NOW - timedelta(minutes=len(lines) - i)).isoformat(),
            "source": "mastodon:social.example",
            **line,
        }
        body += json.dumps(item).encode() + b"\n"
    report = import_stream(engine, workspace, io.BytesIO(body), fmt="jsonl", settings=settings)
    assert not report.rejected, report.rejected
    found = mentions_svc.list_mentions(
        engine, workspace, include_unmatched=True, include_muted=True, limit=500
    )
    by_external = {m.external_id: m.id for m in found}
    return [by_external[external] for external in wanted]


def ids_in(page_html: str) -> list[int]:
    return [int(i) for i in MENTION_ID.findall(page_html)]


def signed(
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    role: str,
    workspace: str = "default",
) -> str:
    return str(sign_in(client, make_member(role, workspace)))


def csrf_on(client: TestClient, path: str = "/w/default/mentions") -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get(path).text)
    assert found
    return found.group(1)


# --------------------------------------------------------------------------- the list


def test_the_list_shows_matched_mentions_with_their_count_and_details(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(
        engine,
        settings,
        [
            {
                "text": "Acme support answered\nin two minutes",
                "title": "Acme review",
                "url": "https://blog.example.org/acme",
                "author": {"handle": "lea", "name": "Léa"},
            },
            {"text": "nothing about the brand"},
        ],
    )
    signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/mentions")
    assert page.status_code == 200
    assert ids_in(page.text) == [ids[0]]
    assert "1 mention</p>" in page.text
    assert "Acme support answered\nin two minutes" in page.text
    assert "Acme review" in page.text
    assert "Léa" in page.text
    assert "blog.example.org" in page.text
    assert (
        '<a href="https://blog.example.org/acme" class="open" '
        'rel="noopener noreferrer nofollow ugc" target="_blank">'
    ) in page.text
    assert '<span class="badge watch">Acme</span>' in page.text


def test_search_narrows_the_list(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(
        engine,
        settings,
        [{"text": "Acme delivery was late"}, {"text": "Acme prices are fine"}],
    )
    signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/mentions?search=DELIVERY")
    assert ids_in(page.text) == [ids[0]]
    assert "1 mention</p>" in page.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"author": "@Bob"}, [1]),
        ({"site": "www.news.example"}, [2]),
        ({"source_kind": "rss"}, [2]),
        ({"lang": "de"}, [1]),
        ({"watch": "Globex"}, [3]),
    ],
)
def test_filters_narrow_the_list(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    params: dict[str, str],
    expected: list[int],
) -> None:
    seed(engine, settings, [], watch=("Globex", "globex"))
    ids = seed(
        engine,
        settings,
        [
            {"text": "Acme one", "author": "ann", "lang": "fr"},
            {"text": "Acme two", "author": "bob", "lang": "de"},
            {"text": "Acme three", "url": "https://news.example/a", "source": "rss:news"},
            {"text": "Globex four", "author": "cid", "lang": "fr"},
        ],
    )
    signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/mentions?{urlencode(params)}")
    assert page.status_code == 200
    assert ids_in(page.text) == [ids[i] for i in expected]


def test_tag_sentiment_and_needs_answer_filters(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme one"}, {"text": "Acme two"}])
    tags.tag_mentions(engine, "default", [ids[0]], "Crisis", actor="cli")
    analysis.correct_many(engine, "default", [ids[1]], "negative", by="cli")
    signed(client, make_member, sign_in, "viewer")
    assert ids_in(client.get("/w/default/mentions?tag=crisis").text) == [ids[0]]
    assert ids_in(client.get("/w/default/mentions?sentiment=negative").text) == [ids[1]]


def test_the_dashboard_drill_down_format_is_read_as_is(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme old"}, {"text": "Acme new", "author": "zed"}])
    query = MentionQuery(
        watches=("Acme",),
        since=NOW - timedelta(minutes=1, seconds=30),
        until=NOW + timedelta(hours=1),
        include_duplicates=False,
        include_muted=True,
    )
    signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/mentions?{urlencode(query.to_params())}")
    assert page.status_code == 200
    assert ids_in(page.text) == [ids[1]]
    # The form shows the filters back: the watch checked, the hidden duplicates, the dates.
    assert 'name="watch" value="Acme" checked' in page.text
    assert 'name="include_duplicates" value="false" checked' in page.text
    since = (NOW - timedelta(minutes=1, seconds=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert f'name="since" value="{since}"' in page.text


def test_a_date_typed_in_the_form_is_in_the_viewers_time_zone(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme one"}])
    signed(client, make_member, sign_in, "viewer")
    client.cookies.set("flocon_tz", "Asia/Tokyo")  # UTC+9, no summer time
    # Two minutes ago, on a clock in Tokyo: the mention (one minute old) is after it; read
    # as UTC, the same digits would be nine hours in the future.
    since = (NOW - timedelta(minutes=2) + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")
    assert ids_in(client.get(f"/w/default/mentions?since={since}").text) == [ids[0]]
    later = (NOW + timedelta(hours=9, minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids_in(client.get(f"/w/default/mentions?since={later}").text) == []


def test_a_bad_filter_is_shown_on_the_page(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    seed(engine, settings, [{"text": "Acme one"}])
    signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/mentions?sentiment=furious")
    assert page.status_code == 400
    assert "sentiment must be one of" in page.text
    assert 'id="mention-filters"' in page.text


def test_cursor_pages_show_every_mention_exactly_once(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    same_time = (NOW - timedelta(hours=1)).isoformat()
    lines: list[dict[str, Any]] = [{"text": f"Acme number {i}"} for i in range(70)]
    lines += [{"text": f"Acme tie {i}", "published_at": same_time} for i in range(40)]
    ids = seed(engine, settings, lines)
    signed(client, make_member, sign_in, "viewer")
    seen: list[int] = []
    url: str | None = "/w/default/mentions?search=acme"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        assert "110 mentions</p>" in page.text
        seen += ids_in(page.text)
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = html.unescape(found.group(1)) if found else None
        if url:
            assert "search=acme" in url
    assert pages == 3
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_a_damaged_cursor_is_an_error_not_a_crash(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    seed(engine, settings, [{"text": "Acme one"}])
    signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/mentions?cursor=%3Cscript%3E")
    assert page.status_code == 400
    assert "page link is damaged" in page.text


def test_muted_mentions_are_hidden_unless_asked_for(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme one", "author": "spammer"}, {"text": "Acme two"}])
    tags.mute(engine, "default", kind="author", value="spammer", actor="cli")
    signed(client, make_member, sign_in, "viewer")
    assert ids_in(client.get("/w/default/mentions").text) == [ids[1]]
    shown = client.get("/w/default/mentions?include_muted=true").text
    assert ids_in(shown) == [ids[1], ids[0]]
    assert shown.count('class="badge muted-flag"') == 1


# --------------------------------------------------------------------------- thread


def test_the_thread_shows_parents_the_mention_and_indented_replies(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(
        engine,
        settings,
        [
            {"id": "root", "text": "Acme root post"},
            {"id": "mid", "text": "Acme middle", "parent_id": "root"},
            {"id": "r1", "text": "Acme reply one", "parent_id": "mid"},
            {"id": "r2", "text": "Acme reply deeper", "parent_id": "r1"},
        ],
    )
    signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/mentions/{ids[1]}")
    assert page.status_code == 200
    assert ids_in(page.text) == ids
    assert f'<article class="mention ancestor" id="m-{ids[0]}">' in page.text
    assert f'<article class="mention current" id="m-{ids[1]}" aria-current="true">' in page.text
    assert f'<article class="mention reply depth-1" id="m-{ids[2]}">' in page.text
    assert f'<article class="mention reply depth-2" id="m-{ids[3]}">' in page.text
    assert "thread-truncated" not in page.text


def test_the_thread_page_shows_who_corrected_the_sentiment(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme is great, love it"}])
    before = mentions_svc.get_mention(engine, "default", ids[0]).sentiment
    analysis.correct_many(engine, "default", ids, "negative", by="agent@example.com")
    signed(client, make_member, sign_in, "viewer")
    page = client.get(f"/w/default/mentions/{ids[0]}")
    correction = re.search(r'<p id="correction">([^<]*)</p>', page.text)
    assert correction
    assert "Corrected to negative by agent@example.com" in correction.group(1)
    assert f"the model had said {before or 'unknown'}" in correction.group(1)


def test_another_workspaces_mention_is_404(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    theirs = seed(engine, settings, [{"text": "Acme secret"}], workspace="other")
    seed(engine, settings, [{"text": "Acme mine"}])
    signed(client, make_member, sign_in, "owner")
    assert client.get(f"/w/default/mentions/{theirs[0]}").status_code == 404
    assert client.get("/w/other/mentions").status_code == 404
    assert client.get(f"/w/other/mentions/{theirs[0]}").status_code == 404


# --------------------------------------------------------------------------- bulk actions


def test_an_agent_tags_mentions_and_returns_to_the_same_filtered_list(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}, {"text": "Acme b"}, {"text": "Acme c"}])
    token = signed(client, make_member, sign_in, "agent")
    back = "/w/default/mentions?search=acme&sentiment=neutral"
    done = client.post(
        "/w/default/mentions/bulk",
        data={
            "csrf_token": token,
            "ids": [str(ids[0]), str(ids[2])],
            "action": "tag",
            "value": " Crisis ",
            "next": back,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(back + "&")
    assert "done=tag" in done.headers["location"]
    assert [m.tags for m in mentions_svc.list_mentions(engine, "default", tag="crisis")] == [
        ("crisis",),
        ("crisis",),
    ]
    page = client.get(done.headers["location"])
    assert "2 mentions tagged &#39;crisis&#39;." in page.text


def test_the_list_has_checkboxes_and_select_all_for_agents_only(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}])
    signed(client, make_member, sign_in, "viewer")
    page = client.get("/w/default/mentions").text
    assert 'name="ids"' not in page
    assert 'id="bulk-form"' not in page
    client.cookies.clear()
    signed(client, make_member, sign_in, "agent")
    page = client.get("/w/default/mentions").text
    assert f'<input type="checkbox" name="ids" value="{ids[0]}"' in page
    assert 'data-select-all="mention-list"' in page
    assert 'value="mute_author"' not in page  # muting is for managers


def test_a_bulk_correction_is_stored_and_audited(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}, {"text": "Acme b"}])
    member = make_member("agent")
    token = sign_in(client, member)
    done = client.post(
        "/w/default/mentions/bulk",
        data={
            "csrf_token": token,
            "ids": [str(i) for i in ids],
            "action": "correct",
            "sentiment": "positive",
            "next": "/w/default/mentions",
        },
    )
    assert done.status_code == 303
    assert [mentions_svc.get_mention(engine, "default", i).sentiment for i in ids] == [
        "positive",
        "positive",
    ]
    correction = analysis.correction_of(engine, "default", ids[0])
    assert correction is not None
    assert correction.corrected_by == member.user.email
    (entry,) = [
        e for e in accounts.audit_events(engine, "default") if e.action == "mention.correct"
    ]
    assert entry.actor == member.user.email
    assert "Sentiment of 2 mentions set to positive." in client.get(done.headers["location"]).text


def test_a_viewer_cannot_act_on_mentions(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}])
    token = signed(client, make_member, sign_in, "viewer")
    refused = client.post(
        "/w/default/mentions/bulk",
        data={"csrf_token": token, "ids": [str(ids[0])], "action": "tag", "value": "x"},
    )
    assert refused.status_code == 403
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ()


def test_an_agent_cannot_mute(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a", "author": "bob"}])
    token = signed(client, make_member, sign_in, "agent")
    refused = client.post(
        "/w/default/mentions/bulk",
        data={"csrf_token": token, "ids": [str(ids[0])], "action": "mute_author"},
    )
    assert refused.status_code == 403
    assert tags.list_mutes(engine, "default") == []
    assert client.get("/w/default/mentions/mutes").status_code == 403


def test_a_manager_mutes_the_authors_of_selected_mentions(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(
        engine,
        settings,
        [
            {"text": "Acme a", "author": "@Bob"},
            {"text": "Acme b", "author": "bob"},
            {"text": "Acme c", "author": "cid"},
        ],
    )
    token = signed(client, make_member, sign_in, "manager")
    done = client.post(
        "/w/default/mentions/bulk",
        data={
            "csrf_token": token,
            "ids": [str(ids[0]), str(ids[1])],
            "action": "mute_author",
            "next": "/w/default/mentions",
        },
    )
    assert done.status_code == 303
    assert [(m.kind, m.value) for m in tags.list_mutes(engine, "default")] == [("author", "bob")]
    page = client.get(done.headers["location"]).text
    assert "1 author muted" in page
    assert ids_in(page) == [ids[2]]


def test_the_mutes_page_lists_and_unmutes(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    seed(engine, settings, [{"text": "Acme a", "url": "https://spam.example/x"}])
    token = signed(client, make_member, sign_in, "manager")
    added = client.post(
        "/w/default/mentions/mutes",
        data={"csrf_token": token, "kind": "site", "value": "https://www.Spam.example/page"},
    )
    assert added.status_code == 303
    page = client.get(added.headers["location"]).text
    assert "<td>spam.example" in page.replace("</a>", "").replace(
        '<a href="/w/default/mentions?site=spam.example&amp;include_muted=true">', ""
    )
    assert "&#39;spam.example&#39; is muted." in page
    removed = client.post(
        "/w/default/mentions/mutes/remove",
        data={"csrf_token": token, "kind": "site", "value": "spam.example"},
    )
    assert removed.status_code == 303
    assert tags.list_mutes(engine, "default") == []
    assert 'id="no-mutes"' in client.get(removed.headers["location"]).text


def test_quick_actions_on_the_thread_page_come_back_to_it(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}])
    token = signed(client, make_member, sign_in, "agent")
    here = f"/w/default/mentions/{ids[0]}"
    page = client.get(here).text
    assert 'id="tag-form"' in page
    assert 'id="correct-form"' in page
    assert 'id="mute-author-form"' not in page
    done = client.post(
        "/w/default/mentions/bulk",
        data={
            "csrf_token": token,
            "ids": str(ids[0]),
            "action": "tag",
            "value": "vip",
            "next": here,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(here + "?done=tag")
    assert (
        '<a class="badge tag" href="/w/default/mentions?tag=vip">vip</a>'
        in client.get(done.headers["location"]).text
    )


def test_a_next_address_elsewhere_is_ignored(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}])
    token = signed(client, make_member, sign_in, "agent")
    done = client.post(
        "/w/default/mentions/bulk",
        data={
            "csrf_token": token,
            "ids": str(ids[0]),
            "action": "tag",
            "value": "x",
            "next": "https://evil.example/w/default/mentions",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/w/default/mentions?done=tag")


def test_ids_of_another_workspace_are_untouched(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    theirs = seed(engine, settings, [{"text": "Acme theirs", "author": "eve"}], workspace="other")
    mine = seed(engine, settings, [{"text": "Acme mine"}])
    token = signed(client, make_member, sign_in, "owner")
    for action, value in (("tag", "x"), ("correct", "negative"), ("mute_author", "")):
        done = client.post(
            "/w/default/mentions/bulk",
            data={
                "csrf_token": token,
                "ids": [str(theirs[0]), str(mine[0])],
                "action": action,
                "value": value,
            },
        )
        assert done.status_code == 303
    other = mentions_svc.get_mention(engine, "other", theirs[0])
    assert other.tags == ()
    assert analysis.correction_of(engine, "other", theirs[0]) is None
    assert tags.list_mutes(engine, "default") == []
    assert mentions_svc.get_mention(engine, "default", mine[0]).tags == ("x",)


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    ids = seed(engine, settings, [{"text": "Acme a"}])
    signed(client, make_member, sign_in, "owner")
    refused = client.post(
        "/w/default/mentions/bulk", data={"ids": str(ids[0]), "action": "tag", "value": "x"}
    )
    assert refused.status_code == 403
    wrong = client.post(
        "/w/default/mentions/mutes",
        data={"csrf_token": "not-the-token", "kind": "author", "value": "bob"},
    )
    assert wrong.status_code == 403
    assert mentions_svc.get_mention(engine, "default", ids[0]).tags == ()
    assert tags.list_mutes(engine, "default") == []


# --------------------------------------------------------------------------- stored XSS

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)"><svg onload=alert(3)>'


@pytest.mark.parametrize("path", ["list", "thread"])
def test_hostile_text_author_and_url_render_inert(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    path: str,
) -> None:
    ids = seed(
        engine,
        settings,
        [
            {
                "text": f"Acme &lt;b&gt; {PAYLOAD}",
                "title": f"Acme {PAYLOAD}",
                "url": "javascript:alert(4)",
                "author": {"handle": 'x"><script>alert(5)</script>', "name": PAYLOAD},
            }
        ],
    )
    signed(client, make_member, sign_in, "manager")
    url = "/w/default/mentions" if path == "list" else f"/w/default/mentions/{ids[0]}"
    page = client.get(url)
    assert page.status_code == 200
    assert ids_in(page.text) == ids
    body = page.text.split('<main id="main"', 1)[1]
    for bad in ("<script>alert", "<img src=x", "<svg onload", 'onerror="alert'):
        assert bad not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "javascript:" not in body.lower()
    assert 'class="open"' not in body  # no link for a javascript: URL


def test_the_count_stops_past_its_cap(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flocon.web.ui import mentions as mentions_ui

    seed(engine, settings, [{"text": f"Acme number {i}"} for i in range(12)])
    signed(client, make_member, sign_in, "viewer")
    monkeypatch.setattr(mentions_ui, "COUNT_SHOWN", 10)
    assert "10+ mentions</p>" in client.get("/w/default/mentions?search=acme").text
    monkeypatch.setattr(mentions_ui, "COUNT_SHOWN", 12)
    assert "12 mentions</p>" in client.get("/w/default/mentions?search=acme").text
    query = MentionQuery(search="acme")
    assert mentions_svc.count_mentions(engine, "default", query, at_most=5) == 5
    assert mentions_svc.count_mentions(engine, "default", query) == 12
