"""Latency of the web app's dashboard and mentions pages and API over a generated database.

Usage::

    .venv/bin/python -m benchmarks.web.run --database-url URL [--repeat 30] [--breakdown]

The real app (``flocon.web.app:app_from_environment``) runs under uvicorn in its own process
on 127.0.0.1 (one worker, as ``flocon run`` serves). Pages are read by a member signed in
through the login form; the API with a read-only API token (``Authorization: Bearer``). Each
request is sent ``--warmup`` times, then timed ``--repeat`` times, one at a time (warm
caches, no concurrency), from sending to the last byte of the answer; p50, p95 and p99 are
printed with the same request on the empty workspace ``empty`` (no watch, no mention) as the
baseline of the run, and the ratio of the two p95s.

Periods: the API asks for the 7 and 30 days up to the newest mention; the page uses its
"Last 7 days" and "Last 30 days" presets, up to now (the generator ends its data at the time
it ran). The deep page is the page after a real mention 60 days back (what following
``next_cursor`` from the first page reaches after thousands of pages).

``--breakdown`` also times, in this process and without HTTP, each service function the
dashboard calls (``--repeat`` times each), to tell which figure costs what.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from benchmarks.web.common import (
    EMPTY,
    OWNER,
    cheap_hashing,
    data_span,
    ensure_member,
    make_token,
    open_database,
    pct,
    serve,
    sign_in,
)
from sqlalchemy import Engine, func, select

TARGET_MS = 200.0


@dataclass
class Figure:
    name: str
    path: str
    n: int
    p50: float
    p95: float
    p99: float
    base_p95: float | None = None
    errors: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """One request: ``api`` (token) or page (session); ``{ws}`` in the path is the workspace."""

    name: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    api: bool = True
    baseline: bool = True


def _iso(at: datetime) -> str:
    return at.isoformat()


def probes(engine: Engine) -> list[Probe]:
    from flocon.services.mentions import encode_cursor
    from flocon.storage.engine import read
    from flocon.storage.queries import workspaces as wsq
    from flocon.storage.tables import mentions

    _first, last = data_span(engine)
    end = (last + timedelta(seconds=1)).replace(microsecond=0)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, "default")
        deep = conn.execute(
            select(mentions.c.occurred_at, mentions.c.id)
            .where(
                mentions.c.workspace_id == ws.id, mentions.c.occurred_at <= end - timedelta(days=60)
            )
            .order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc())
            .limit(1)
        ).first()
        n_replies = func.count().label("n")
        busiest = conn.execute(
            select(mentions.c.parent_id, n_replies)
            .where(mentions.c.workspace_id == ws.id, mentions.c.parent_id.is_not(None))
            .group_by(mentions.c.parent_id)
            .order_by(n_replies.desc())
            .limit(1)
        ).first()
    cursor = encode_cursor(deep.occurred_at, deep.id) if deep is not None else ""
    thread_id = int(busiest.parent_id) if busiest is not None else 1
    d7 = (("since", _iso(end - timedelta(days=7))), ("until", _iso(end)))
    d30 = (("since", _iso(end - timedelta(days=30))), ("until", _iso(end)))
    dash = "/api/v1/workspaces/{ws}/dashboard"
    men = "/api/v1/workspaces/{ws}/mentions"
    return [
        Probe("dashboard page, last 7 days", "/w/{ws}/dashboard", (("range", "7d"),), api=False),
        Probe("dashboard page, last 30 days", "/w/{ws}/dashboard", (("range", "30d"),), api=False),
        Probe(
            "dashboard page: emerging themes, 30 days",
            "/w/{ws}/dashboard/emerging",
            (("range", "30d"),),
            api=False,
        ),
        Probe("dashboard API, 7 days", dash, d7),
        Probe("dashboard API, 30 days", dash, d30),
        Probe("dashboard API, 30 days, without themes", dash, (*d30, ("themes", "false"))),
        Probe(
            "dashboard API, 30 days, group Brands, negative",
            dash,
            (*d30, ("group", "Brands"), ("sentiment", "negative")),
            baseline=False,
        ),
        Probe(
            "dashboard API, 30 days, watch Apple, en",
            dash,
            (*d30, ("watch", "Apple"), ("lang", "en")),
            baseline=False,
        ),
        Probe(
            "dashboard API, 30 days, negative",
            dash,
            (*d30, ("sentiment", "negative")),
            baseline=False,
        ),
        Probe("dashboard API, 30 days, en", dash, (*d30, ("lang", "en")), baseline=False),
        Probe(
            "dashboard page, 30 days, group Topics",
            "/w/{ws}/dashboard",
            (("range", "30d"), ("group", "Topics")),
            api=False,
            baseline=False,
        ),
        Probe("mentions API, first page", men),
        Probe(
            "mentions API, filtered (Apple, negative, en)",
            men,
            (("watch", "Apple"), ("sentiment", "negative"), ("lang", "en")),
            baseline=False,
        ),
        Probe(
            "mentions API, filtered (site, 30 days)",
            men,
            (("site", "lemonde.fr"), *d30),
            baseline=False,
        ),
        Probe("mentions API, filtered (tag urgent)", men, (("tag", "urgent"),), baseline=False),
        Probe(
            "mentions API, deep cursor page (60 days back)",
            men,
            (("cursor", cursor),),
            baseline=False,
        ),
        Probe("mentions API, search 'earthquake'", men, (("search", "earthquake"),)),
        Probe(
            "mentions API, search 'customer service'",
            men,
            (("search", "customer service"),),
            baseline=False,
        ),
        Probe("mentions API, thread (busiest)", f"{men}/{thread_id}/thread", baseline=False),
        Probe("mentions page, first page", "/w/{ws}/mentions", api=False),
        Probe(
            "mentions page, search 'earthquake'",
            "/w/{ws}/mentions",
            (("search", "earthquake"),),
            api=False,
        ),
        Probe(
            "mention page with its thread (busiest)",
            f"/w/{{ws}}/mentions/{thread_id}",
            api=False,
            baseline=False,
        ),
    ]


def timed(
    client: httpx.Client,
    url: str,
    params: tuple[tuple[str, str], ...],
    headers: dict[str, str],
    warmup: int,
    repeat: int,
) -> tuple[list[float], int, int]:
    """Latencies in ms, error count, last status."""
    out: list[float] = []
    errors = 0
    status = 0
    for i in range(warmup + repeat):
        t0 = time.perf_counter()
        try:
            response = client.get(url, params=params, headers=headers)
            response.read()
            status = response.status_code
        except httpx.HTTPError:
            status = 599
        elapsed = (time.perf_counter() - t0) * 1000
        if status >= 400:
            errors += 1
        if i >= warmup:
            out.append(elapsed)
    return out, errors, status


def measure_http(engine: Engine, database_url: str, *, warmup: int, repeat: int) -> list[Figure]:
    cheap_hashing()
    member = ensure_member(engine, OWNER, "owner", ("default", EMPTY))
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    tokens = {
        "default": make_token(engine, "default", member, f"bench-{stamp}"),
        EMPTY: make_token(engine, EMPTY, member, f"bench-{stamp}"),
    }
    figures: list[Figure] = []
    with serve(database_url) as base, httpx.Client(base_url=base, timeout=120) as client:
        sign_in(client, OWNER)
        routes = set(client.get("/api/v1/openapi.json").json().get("paths", {}))
        for probe in probes(engine):
            if probe.api and not any(_same_route(probe.path, r) for r in routes):
                figures.append(Figure(probe.name, probe.path, 0, 0, 0, 0, note="route missing"))
                continue
            runs: dict[str, tuple[list[float], int, int]] = {}
            for ws in ("default", EMPTY) if probe.baseline else ("default",):
                headers = {"Authorization": f"Bearer {tokens[ws]}"} if probe.api else {}
                url = probe.path.replace("{ws}", ws)
                runs[ws] = timed(client, url, probe.params, headers, warmup, repeat)
            times, errors, status = runs["default"]
            base_p95 = pct(runs[EMPTY][0], 0.95) if EMPTY in runs else None
            figure = Figure(
                probe.name,
                probe.path.replace("{ws}", "default"),
                len(times),
                statistics.median(times),
                pct(times, 0.95),
                pct(times, 0.99),
                base_p95,
                errors,
                note="" if status == 200 else f"status {status}",
            )
            figures.append(figure)
            print(line(figure), flush=True)
    return figures


def _same_route(path: str, route: str) -> bool:
    a, b = path.strip("/").split("/"), route.strip("/").split("/")
    return len(a) == len(b) and all(x == y or y.startswith("{") for x, y in zip(a, b, strict=True))


def line(f: Figure) -> str:
    if f.note == "route missing":
        return f"  {f.name:<50} route missing"
    ratio = f"x{f.p95 / f.base_p95:5.1f}" if f.base_p95 else "      "
    base = f"{f.base_p95:7.1f}" if f.base_p95 is not None else "      -"
    mark = "ok  " if f.p95 < TARGET_MS and not f.errors else "MISS"
    note = f"  errors {f.errors}" if f.errors else ""
    return (
        f"  {f.name:<50} p50 {f.p50:7.1f}  p95 {f.p95:7.1f}  p99 {f.p99:7.1f} ms  "
        f"baseline p95 {base}  {ratio}  {mark}{note} {f.note}"
    )


def _dashboard_calls(
    engine: Engine, days: int, end: datetime
) -> list[tuple[str, Callable[[], object]]]:
    from flocon.services import dashboard as dash
    from flocon.web.ui.dashboard import gather

    flt = dash.DashboardFilter(since=end - timedelta(days=days), until=end)
    groups = dash.groups(engine, "default")
    share_flt = dash.DashboardFilter(
        since=flt.since, until=flt.until, group=groups[0] if groups else None
    )
    return [
        ("filter_options", lambda: dash.filter_options(engine, "default")),
        ("volume (facet rollups)", lambda: dash.volume(engine, "default", flt)),
        (
            "share_of_voice (facet rollups)",
            lambda: dash.share_of_voice(engine, "default", share_flt),
        ),
        ("top_sources", lambda: dash.top_sources(engine, "default", flt)),
        ("top_sites", lambda: dash.top_sites(engine, "default", flt)),
        ("top_authors", lambda: dash.top_authors(engine, "default", flt)),
        ("emerging (cached)", lambda: dash.emerging(engine, "default", flt)),
        (
            "emerging, computed (cache bypassed)",
            lambda: dash.emerging(engine, "default", flt, cache=False),
        ),
        ("open_alerts", lambda: dash.open_alerts(engine, "default", limit=100)),
        ("gather (everything)", lambda: gather(engine, "default", flt, groups=groups)),
    ]


def _mention_calls(engine: Engine) -> list[tuple[str, Callable[[], object]]]:
    from flocon.services import mentions as svc

    everything, search = svc.MentionQuery(), svc.MentionQuery(search="earthquake")
    return [
        ("page_mentions, first page", lambda: svc.page_mentions(engine, "default", everything)),
        ("count_mentions, everything", lambda: svc.count_mentions(engine, "default", everything)),
        (
            "count_mentions, everything, at most 10,001 (the page)",
            lambda: svc.count_mentions(engine, "default", everything, at_most=10_001),
        ),
        (
            "count_mentions, search 'earthquake'",
            lambda: svc.count_mentions(engine, "default", search),
        ),
    ]


def breakdown(engine: Engine, *, repeat: int) -> list[Figure]:
    """Each dashboard service function and the mentions service, timed in this process."""
    _first, last = data_span(engine)
    end = last + timedelta(seconds=1)
    calls = [
        (f"{d} d: {name}", call) for d in (7, 30) for name, call in _dashboard_calls(engine, d, end)
    ]
    calls.extend(_mention_calls(engine))
    out: list[Figure] = []
    for name, call in calls:
        call()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        f = Figure(name, "", repeat, statistics.median(times), pct(times, 0.95), pct(times, 0.99))
        out.append(f)
        print(line(f), flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("FLOCON_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set FLOCON_DATABASE_URL")

    engine = open_database(args.database_url)
    first, last = data_span(engine)
    with engine.connect() as conn:
        from flocon.storage.tables import mentions

        count = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
    print(
        f"web latency on {engine.dialect.name}, {count:,} mentions from {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU(s), Python {platform.python_version()}; "
        f"{args.repeat} timed requests each after {args.warmup} warm-up",
        flush=True,
    )
    figures = measure_http(engine, args.database_url, warmup=args.warmup, repeat=args.repeat)
    parts = breakdown(engine, repeat=max(5, args.repeat // 3)) if args.breakdown else []
    misses = [
        f.name for f in figures if f.note != "route missing" and (f.p95 >= TARGET_MS or f.errors)
    ]
    print(
        f"target p95 < {TARGET_MS:.0f} ms: "
        + ("met" if not misses else f"missed by {len(misses)}: {', '.join(misses)}")
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "backend": engine.dialect.name,
                    "mentions": count,
                    "figures": [asdict(f) for f in figures],
                    "breakdown": [asdict(f) for f in parts],
                },
                fh,
                indent=1,
            )
    engine.dispose()
    sys.exit(0)


if __name__ == "__main__":
    main()
