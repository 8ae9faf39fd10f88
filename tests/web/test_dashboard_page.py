"""The dashboard page: real tweets imported through the import service and analysed on
ingest; the charts' JSON islands hold the right counts and every point, slice and row links
to a mentions list of exactly as many mentions; filters, French, time zones, empty
workspaces, other workspaces (404) and hostile names (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.domain.models import Mention
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings
from flocon.storage.engine import write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import watches as wq

BRANDS = ("Apple", "Google", "Microsoft", "Twitter")
#: The sample's tweets run from 15 to 20 October 2011 (UTC).
PERIOD = "range=custom&from=2011-10-15&to=2011-10-20"
PAGE = f"/w/default/dashboard?{PERIOD}"
START = datetime(2011, 10, 15, tzinfo=UTC)
END = datetime(2011, 10, 21, tzinfo=UTC)


def records() -> list[dict[str, Any]]:
    """The bundled Sanders tweets, with authors, sites and source kinds spread over them."""
    text = files("flocon.samples").joinpath("sanders-brands-2011.jsonl").read_text("utf-8")
    out = []
    for i, line in enumerate(text.splitlines()):
        rec = json.loads(line)
        if i % 10:
            rec["author"] = {"handle": f"@Fan{i % 9}"}
        if i % 4 == 0:
            rec["url"] = f"https://www.blog{i % 3}.example.org/p/{rec['id']}"
        if i % 5 == 0:
            rec["source"] = {"kind": "forum", "name": "forum.example"}
        out.append(rec)
    return out


def import_records(engine: Engine, items: list[dict[str, Any]], workspace: str = "default") -> None:
    data = "".join(json.dumps(r) + "\n" for r in items).encode()
    settings = Settings(database_url=str(engine.url), sentiment_profile="fast")
    import_stream(engine, workspace, io.BytesIO(data), fmt="jsonl", settings=settings)


def load(engine: Engine) -> None:
    for name in BRANDS:
        watches_svc.add_watch(engine, "default", name=name, query=name.lower(), group="brands")
    watches_svc.add_watch(engine, "default", name="iPhone", query="iphone")
    import_records(engine, records())


def stored(engine: Engine, **kw: Any) -> list[Mention]:
    """Originals of some watch in the period, muted or not."""
    kw.setdefault("include_muted", True)
    return mentions_svc.list_mentions(
        engine,
        "default",
        include_duplicates=False,
        since=START,
        until=END,
        limit=100_000,
        **kw,
    )


def island(page: str, element_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S
    )
    assert found, f"no JSON island {element_id}"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def count_behind(engine: Engine, link: str) -> int:
    """How many mentions the mentions list at ``link`` shows (the page's own parsing)."""
    parts = urlsplit(html.unescape(link))
    assert parts.path == "/w/default/mentions"
    query = mentions_svc.MentionQuery.from_params(parse_qsl(parts.query))
    return mentions_svc.count_mentions(engine, "default", query)


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def linked_numbers(fragment: str) -> list[tuple[str, int]]:
    """(href, number) of each link whose text is a number."""
    return [
        (href, int(n.replace(",", "")))
        for href, n in re.findall(r'<a href="([^"]+)"[^>]*>([\d,]+)</a>', fragment)
    ]


def viewer_client(
    client: TestClient, make_member: Callable[..., Any], sign_in: Callable[..., str]
) -> TestClient:
    sign_in(client, make_member("viewer"))
    return client


# -- figures and drill-downs -----------------------------------------------------------------


def test_volume_chart_counts_the_period_by_day_and_sentiment(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(PAGE)
    assert page.status_code == 200
    data = island(page.text, "volume-data")
    assert data["type"] == "bar" and data["stacked"] is True
    assert data["labels"][:2] == ["Sat, Oct 15", "Sun, Oct 16"] and len(data["labels"]) == 6
    by_sentiment = {d["label"]: d["data"] for d in data["datasets"]}
    expected: dict[str, Counter[int]] = {}
    for m in stored(engine):
        assert m.published_at is not None
        day = (m.published_at - START).days
        expected.setdefault(m.sentiment or "unknown", Counter())[day] += 1
    for label, counts in expected.items():
        assert by_sentiment[label] == [counts[d] for d in range(6)]
    kpi = page.text[page.text.index('id="kpi-mentions"') :][:400]
    assert f">{len(stored(engine))}</a>" in kpi


def test_every_volume_slice_links_to_as_many_mentions(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    data = island(viewer_client(client, make_member, sign_in).get(PAGE).text, "volume-data")
    checked = 0
    for dataset, links in zip(data["datasets"], data["links"], strict=True):
        for value, link in zip(dataset["data"], links, strict=True):
            assert count_behind(engine, link) == value
            checked += value
    assert checked == len(stored(engine))


def test_trend_points_and_share_slices_link_to_their_mentions(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    volume, trend, share = (island(page, f"{n}-data") for n in ("volume", "trend", "share"))
    totals = [sum(d["data"][i] for d in volume["datasets"]) for i in range(len(volume["labels"]))]
    assert [count_behind(engine, link) for link in trend["links"][0]] == totals
    assert all(-100 <= v <= 100 for v in trend["datasets"][0]["data"] if v is not None)
    assert sorted(share["labels"]) == sorted(BRANDS)  # the group "brands"; iPhone is in none
    for watch, value, link in zip(
        share["labels"], share["datasets"][0]["data"], share["links"], strict=True
    ):
        assert value == len(stored(engine, watch=watch)) == count_behind(engine, link)


def test_share_of_voice_table_gives_counts_shares_and_links(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    table = page[page.index('id="share-table"') : page.index("</table>", page.index("share-table"))]
    rows = linked_numbers(table)
    counts = {w: len(stored(engine, watch=w)) for w in BRANDS}
    assert sorted(n for _, n in rows) == sorted(counts.values())
    assert all(count_behind(engine, href) == n for href, n in rows)
    top = max(counts, key=lambda w: counts[w])
    share = counts[top] / sum(counts.values()) * 100
    assert f"{share:.1f}%" in table


def test_top_tables_link_to_lists_of_as_many_mentions(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    sources = linked_numbers(section(page, "top-sources"))
    assert {n for _, n in sources} == set(Counter(m.source_kind for m in stored(engine)).values())
    for name in ("top-sources", "top-sites", "top-authors"):
        rows = linked_numbers(section(page, name))
        assert rows, name
        for href, n in rows:
            assert count_behind(engine, href) == n
    assert ">Fan" in section(page, "top-authors")
    assert ">blog0.example.org</a>" in section(page, "top-sites")


def test_emerging_themes_load_after_the_page_and_link_to_a_search_and_an_example(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    client = viewer_client(client, make_member, sign_in)
    query = "range=custom&from=2011-10-18&to=2011-10-20"
    page = client.get(f"/w/default/dashboard?{query}").text
    slot = section(page, "emerging-slot")
    assert f'hx-get="/w/default/dashboard/emerging?{html.escape(query)}"' in slot
    fragment = client.get(f"/w/default/dashboard/emerging?{query}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    themes = section(fragment.text, "emerging")
    links = re.findall(r'<a href="(/w/default/mentions\?[^"]+)"><strong>', themes)
    assert links
    assert all("search=" in link and count_behind(engine, link) >= 1 for link in links)
    example = re.search(r'href="/w/default/mentions/(\d+)"', themes)
    assert example
    assert int(example.group(1)) in {m.id for m in stored(engine)}


def test_emerging_themes_have_a_page_of_their_own_without_javascript(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    client = viewer_client(client, make_member, sign_in)
    page = client.get("/w/default/dashboard/emerging?range=custom&from=2011-10-18&to=2011-10-20")
    assert page.status_code == 200 and "<html" in page.text
    assert 'href="/w/default/dashboard?range=custom&amp;from=2011-10-18' in page.text
    assert 'id="emerging"' in page.text


# -- filters ---------------------------------------------------------------------------------


def test_filters_narrow_every_figure(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    client = viewer_client(client, make_member, sign_in)
    page = client.get(f"{PAGE}&watch=Google&source_kind=forum").text
    google_forum = [m for m in stored(engine, watch="Google") if m.source_kind == "forum"]
    assert 0 < len(google_forum) < len(stored(engine))
    volume = island(page, "volume-data")
    assert sum(sum(d["data"]) for d in volume["datasets"]) == len(google_forum)
    assert [n for _, n in linked_numbers(section(page, "top-sources"))] == [len(google_forum)]
    assert '<option value="Google" selected>' in page
    assert '<option value="forum" selected>' in page


def test_a_sentiment_filter_keeps_only_its_slice(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(f"{PAGE}&sentiment=negative").text
    volume = island(page, "volume-data")
    assert [d["label"] for d in volume["datasets"]] == ["negative"]
    negative = [m for m in stored(engine) if m.sentiment == "negative"]
    assert sum(volume["datasets"][0]["data"]) == len(negative) > 0
    for value, link in zip(volume["datasets"][0]["data"], volume["links"][0], strict=True):
        assert count_behind(engine, link) == value


def test_the_default_period_is_the_last_7_days(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)  # everything happened in 2011
    page = viewer_client(client, make_member, sign_in).get("/w/default/dashboard").text
    assert '<option value="7d" selected>' in page
    today = datetime.now(UTC).date()
    assert f'name="to" value="{today.isoformat()}"' in page
    assert f'name="from" value="{(today - timedelta(days=7)).isoformat()}"' in page
    assert 'id="no-mention-in-period"' in page
    assert "<canvas" not in page


def test_custom_dates_are_days_in_the_users_time_zone(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    client = viewer_client(client, make_member, sign_in)
    client.cookies.set("flocon_tz", "Europe/Paris")
    page = client.get("/w/default/dashboard?range=custom&from=2011-10-16&to=2011-10-19").text
    volume = island(page, "volume-data")
    first = dict(parse_qsl(urlsplit(volume["links"][0][0]).query))
    assert first["since"] == "2011-10-15T22:00:00+00:00"  # midnight in Paris (UTC+2)
    assert first["until"] == "2011-10-16T22:00:00+00:00"
    assert len(volume["labels"]) == 4 and volume["labels"][0] == "Sun, Oct 16"


def test_a_bad_date_is_refused_with_a_message(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(
        "/w/default/dashboard?range=custom&from=yesterday"
    )
    assert page.status_code == 400
    assert "From must be a date such as 2026-03-31." in page.text


def test_dates_in_the_wrong_order_are_refused(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(
        "/w/default/dashboard?range=custom&from=2011-10-20&to=2011-10-15"
    )
    assert page.status_code == 400
    assert "The start date comes after the end date." in page.text


def test_an_unknown_watch_is_not_found(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(f"{PAGE}&watch=Nokia")
    assert page.status_code == 404


# -- languages -------------------------------------------------------------------------------


def test_labels_and_dates_are_french_for_a_french_browser(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    client = viewer_client(client, make_member, sign_in)
    page = client.get(PAGE, headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    volume = island(page, "volume-data")
    assert [d["label"] for d in volume["datasets"]][:3] == ["positif", "neutre", "négatif"]
    assert volume["labels"][0] == "sam. 15 oct." and volume["label_name"] == "Période"
    assert island(page, "trend-data")["datasets"][0]["label"] == "Sentiment net"
    assert "Volume par sentiment" in page and "Part de voix" in page
    assert "Principaux auteurs" in page


# -- empty states ----------------------------------------------------------------------------


def test_a_workspace_without_watches_says_how_to_start(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    sign_in(client, make_member("manager"))
    page = client.get("/w/default/dashboard").text
    assert 'id="dashboard-welcome"' in page
    assert 'href="/w/default/watches/new"' in page and 'href="/w/default/sources/new"' in page
    assert "<canvas" not in page


def test_watches_without_mentions_say_to_add_a_source(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    page = viewer_client(client, make_member, sign_in).get("/w/default/dashboard").text
    assert 'id="no-mention-yet"' in page
    assert "Ask a manager to add a source" in page
    assert 'id="no-mention-in-period"' in page and "<canvas" not in page


def test_share_of_voice_without_a_group_explains_groups(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    watches_svc.add_watch(engine, "default", name="Apple", query="apple")
    import_records(engine, records())
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    assert 'id="share-data"' not in page
    assert "put your brand and its competitors in one group" in page


def test_share_of_voice_of_one_chosen_watch_asks_for_more(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    page = viewer_client(client, make_member, sign_in).get(f"{PAGE}&watch=Apple").text
    assert 'id="share-data"' not in page
    assert "Share of voice compares several watches: choose more than one, or none." in page


# -- alerts ----------------------------------------------------------------------------------


def test_open_alerts_are_counted_and_link_to_their_page(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    with write(engine) as conn:
        apple = wq.get_by_name(conn, 1, "Apple").id
        ids = []
        for n in range(3):
            ids.append(
                aq.open_alert(
                    conn,
                    1,
                    watch_id=apple,
                    kind="spike",
                    key=f"k{n}",
                    severity="high",
                    score=1.0,
                    episode_start=START,
                    detected_at=START + timedelta(hours=n),
                    updated_at=START + timedelta(hours=n),
                    explanation=f"Apple spiked ({n})",
                    evidence=[],
                    details={},
                )
            )
        aq.update_alert(conn, ids[1], status="acked")
        aq.update_alert(conn, ids[2], status="resolved")
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    alerts = section(page, "open-alerts")
    assert f'href="/w/default/alerts/{ids[0]}"' in alerts
    assert f'href="/w/default/alerts/{ids[1]}"' in alerts
    assert f"/alerts/{ids[2]}" not in alerts
    assert "Volume spike · Apple" in alerts
    kpi = page[page.index('id="kpi-alerts"') :]
    assert re.search(r'<a href="/w/default/alerts\?status=open">1</a>', kpi)


# -- access ----------------------------------------------------------------------------------


def test_a_member_of_another_workspace_gets_404(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    sign_in(client, make_member("owner", workspace="other"))
    assert client.get(PAGE).status_code == 404
    assert client.get("/w/other/dashboard").status_code == 200


def test_signed_out_visitors_are_sent_to_the_login_page(client: TestClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


# -- hostile names ---------------------------------------------------------------------------

PAYLOAD = "</script><script>alert(1)</script>"


def test_hostile_author_and_watch_names_are_escaped_and_cannot_leave_the_json(
    client: TestClient, engine: Engine, make_member: Any, sign_in: Any
) -> None:
    load(engine)
    watches_svc.add_watch(engine, "default", name=PAYLOAD, query="microsoft", group="brands")
    hostile = [
        {
            "id": f"x{n}",
            "text": f"microsoft and apple again {n}",
            "published_at": f"2011-10-19T1{n}:00:00Z",
            "author": {"handle": PAYLOAD, "name": PAYLOAD},
            "url": f"https://evil.example/{n}",
        }
        for n in range(9)
    ]
    import_records(engine, hostile)
    page = viewer_client(client, make_member, sign_in).get(PAGE).text
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in section(page, "top-authors")
    share = island(page, "share-data")  # the regex stops at the first </script>
    assert PAYLOAD in share["labels"]
    raw = page[page.index('id="share-data">') :]
    assert raw.index("</script>") > raw.index("\\u003c/script\\u003e")
