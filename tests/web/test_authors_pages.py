"""The authors pages: the list by influence (advocates and detractors), computing the
scores, and an author's profile with their history, sentiment over time and the explanation
of their score; roles, CSRF and workspace isolation.

Mentions are imported through the real import and analysis (the fast sentiment profile);
scores are computed by the real influence service.
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

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts, influence
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _line(ext: str, handle: str, text: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": ext,
        "text": text,
        "published_at": at.isoformat(),
        "url": f"https://social.example/@{handle}/{ext}",
        "source": "mastodon:social.example",
        **extra,
    }


def conversation(
    engine: Engine, settings: Settings, workspace: str = "default", *, lea_name: str = "Léa M."
) -> None:
    """A small conversation about Acme: @lea is replied to and named by the others."""
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name="Acme", query="acme")
    lea = {"handle": "lea", "name": lea_name, "followers": 52_000}
    lines = [
        _line("a1", "lea", "Acme is wonderful, I love it, best purchase ever", T0, author=lea),
        _line(
            "a2",
            "bob",
            "@lea Acme broke after two days, terrible, awful support",
            T0 + timedelta(hours=1),
            author={"handle": "bob", "followers": 40},
            parent_id="a1",
        ),
        _line(
            "a3",
            "carl",
            "Acme support is awful and slow, ask @lea",
            T0 + timedelta(days=1),
            author={"handle": "carl", "followers": 300},
        ),
        _line(
            "a4",
            "lea",
            "Acme new release is fantastic, great work, I love it",
            T0 + timedelta(days=2),
            author=lea,
            likes=120,
            shares=30,
        ),
    ]
    stream = io.BytesIO(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
    import_stream(engine, workspace, stream, fmt="jsonl", settings=settings)


def _author_id(engine: Engine, handle: str, workspace: str = "default") -> int:
    if influence.scores_state(engine, workspace) is None:
        influence.compute_influence(engine, workspace)
    (found,) = influence.explain_author(engine, workspace, handle)
    return found.author_id


def test_list_before_scores_are_computed_says_so(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    sign_in(client, make_member("viewer"))
    page = client.get("/w/default/authors")
    assert page.status_code == 200
    assert "have not been computed yet" in page.text
    assert "Ask a manager" in page.text
    assert "/authors/recompute" not in page.text


def test_manager_computes_the_scores_and_it_is_audited(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    token = sign_in(client, make_member("manager"))
    response = client.post("/w/default/authors/recompute", data={"csrf_token": token})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Scores computed again." in page.text
    rows = re.findall(r'<a href="/w/default/authors/(\d+)">@(\w+)</a>', page.text)
    assert rows[0][1] == "lea"  # replied to, named, and a large audience
    assert {h for _, h in rows} == {"lea", "bob", "carl"}
    entry = accounts.audit_events(engine, "default")[0]
    assert (entry.action, entry.details["authors"]) == ("authors.recompute", 3)


def test_viewer_cannot_compute_the_scores(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    token = sign_in(client, make_member("agent"))
    response = client.post("/w/default/authors/recompute", data={"csrf_token": token})
    assert response.status_code == 403
    assert influence.scores_state(engine, "default") is None


def test_compute_without_csrf_is_refused(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    sign_in(client, make_member("owner"))
    assert client.post("/w/default/authors/recompute", data={}).status_code == 403
    assert influence.scores_state(engine, "default") is None


def test_stance_filter_keeps_only_that_stance(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    lea = _author_id(engine, "lea")
    stance = influence.author_profile(engine, "default", lea).score
    assert stance is not None
    other = "detractor" if stance.stance != "detractor" else "advocate"
    sign_in(client, make_member("viewer"))
    same = client.get(f"/w/default/authors?stance={stance.stance}")
    assert f'href="/w/default/authors/{lea}"' in same.text
    different = client.get(f"/w/default/authors?stance={other}")
    assert f'href="/w/default/authors/{lea}"' not in different.text
    assert client.get("/w/default/authors?stance=nope").status_code == 400


def test_watch_scope_has_its_own_scores(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    _author_id(engine, "lea")  # the workspace-wide scores only
    sign_in(client, make_member("viewer"))
    page = client.get("/w/default/authors?watch=Acme")
    assert "have not been computed yet" in page.text
    assert client.get("/w/default/authors?watch=Nope").status_code == 404


def test_profile_shows_history_chart_and_the_explanation(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    lea = _author_id(engine, "lea")
    sign_in(client, make_member("viewer"))
    page = client.get(f"/w/default/authors/{lea}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>@lea</h1>" in text
    assert "Léa M." in text and "mastodon" in text and "52,000" in text
    # History, newest first.
    assert text.index("Acme new release is fantastic") < text.index("Acme is wonderful")
    # The explanation: every component, its inputs and the model's formula.
    for word in ("network", "reach", "engagement", "PageRank", "replies received", "influence-1"):
        assert word in text, word
    assert "score = 100 × (0.5 × network" in text
    # Sentiment over time: a chart whose data counts her two mentions, by day.
    island = re.search(
        r'<script type="application/json" id="author-sentiment-data">(.*?)</script>', text
    )
    assert island
    data = json.loads(island.group(1))
    assert sum(sum(d["data"]) for d in data["datasets"]) == 2
    assert data["labels"][0] == "2026-03-02" and data["labels"][-1] == "2026-03-04"
    assert data["links"][0][0].startswith("/w/default/mentions?author=lea&source_kind=mastodon")


def test_profile_of_an_unscored_author_shows_no_score(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    lea = _author_id(engine, "lea")
    sign_in(client, make_member("viewer"))
    page = client.get(f"/w/default/authors/{lea}?watch=Acme")
    assert page.status_code == 200
    assert "No stored score for this author in this scope." in page.text
    assert "<h1>@lea</h1>" in page.text


def test_author_names_are_escaped(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings, lea_name="<script>alert(1)</script>")
    lea = _author_id(engine, "lea")
    sign_in(client, make_member("viewer"))
    for path in ("/w/default/authors", f"/w/default/authors/{lea}"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text, path
    assert (
        html.escape("<script>alert(1)</script>", quote=False)
        in client.get(f"/w/default/authors/{lea}").text
    )


def test_history_pages_with_a_cursor(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    lines = [
        _line(f"p{i}", "dan", f"Acme post number {i:02d}", T0 + timedelta(hours=i), author="dan")
        for i in range(25)
    ]
    stream = io.BytesIO(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
    import_stream(engine, "default", stream, fmt="jsonl", settings=settings)
    dan = _author_id(engine, "dan")
    sign_in(client, make_member("viewer"))
    first = client.get(f"/w/default/authors/{dan}")
    assert "Acme post number 24" in first.text and "Acme post number 04" not in first.text
    found = re.search(r'<a href="([^"]*cursor=[^"]*)" rel="next"', first.text)
    assert found
    second = client.get(f"/w/default/authors/{dan}" + html.unescape(found.group(1)))
    assert "Acme post number 04" in second.text and "Acme post number 24" not in second.text


@pytest.mark.parametrize("which", ["theirs", "unknown"])
def test_another_workspaces_author_is_not_found(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    which: str,
) -> None:
    conversation(engine, settings, "other")
    theirs = _author_id(engine, "lea", "other")
    sign_in(client, make_member("owner"))
    author_id = theirs if which == "theirs" else 999_999
    assert client.get(f"/w/default/authors/{author_id}").status_code == 404


def test_authors_pages_in_french(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    conversation(engine, settings)
    lea = _author_id(engine, "lea")
    sign_in(client, make_member("viewer"))
    client.cookies.set("flocon_lang", "fr")
    assert "Ambassadeurs" in client.get("/w/default/authors").text
    assert "Influence, et pourquoi" in client.get(f"/w/default/authors/{lea}").text
