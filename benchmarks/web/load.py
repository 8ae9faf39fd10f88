"""Load: many simulated users browsing and filtering the web app while an import runs.

Usage::

    .venv/bin/python -m benchmarks.web.load --database-url URL [--users 50] [--duration 60]

The real app runs under uvicorn in its own process on 127.0.0.1 (``--workers``, default 1: what
``flocon run`` serves). ``--users`` simulated users (asyncio + httpx, one client each) act for
``--duration`` seconds, pausing ``--think`` seconds (uniform, default 1–5) between requests:

* half of them are members signed in through the login form, reading pages: the dashboard
  with a random period (24 h, 7, 30 or 90 days) and a random filter (a group, a watch, a
  sentiment, a language, or none), then its emerging themes (which the page loads apart, as
  a browser would), mention lists with random filters (watch, sentiment,
  language, source kind, site, author, tag, period), searches, a next page, thread pages;
* the other half use read-only API tokens: the dashboard API, mention lists with filters
  followed for 1 to 3 pages by ``next_cursor``, searches, threads, counts.

Meanwhile another process runs the real ``flocon import`` over JSONL files of
``--import-items`` real texts each (new ids, published in the last two hours, analysed on
ingest with the workspace's ``fast`` profile), one file after another until the users stop.

First the same users run ``--baseline`` seconds (default: half the duration) without the
import: the baseline of the run. Errors: any 5xx answer, connection error or timeout (120 s);
4xx answers are counted apart (there should be none). Printed: requests, requests/s, errors,
p50/p95/p99 overall and per kind of request, and what the import stored meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchmarks.corpus import iter_records
from benchmarks.web.common import (
    PASSWORD,
    cheap_hashing,
    csrf_of,
    data_span,
    ensure_member,
    make_token,
    open_database,
    pct,
    serve,
)
from sqlalchemy import Engine, func, select

SEARCHES = ("earthquake", "flood", "iphone", "google", "fire", "service client", "battery",
            "customer service", "windows", "storm", "série", "android", "help", "rain")  # fmt: skip
SITES = (
    "lemonde.fr",
    "theguardian.com",
    "reddit.com",
    "bsky.app",
    "mastodon.social",
    "macrumors.com",
)
TAGS = ("urgent", "lead", "bug", "press", "todo")
NEXT = re.compile(r'href="([^"]*[?&]cursor=[^"]*)"')


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    client_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)

    def all_times(self) -> list[float]:
        return [t for ts in self.times.values() for t in ts]


@dataclass
class World:
    """What users pick from: watches, groups, languages, kinds, authors, thread ids, period."""

    watches: list[str]
    groups: list[str]
    langs: list[str]
    kinds: list[str]
    authors: list[str]
    threads: list[int]
    end: datetime


def world_of(engine: Engine) -> World:
    from flocon.services import dashboard as dash
    from flocon.storage.engine import read
    from flocon.storage.tables import authors, mentions

    options = dash.filter_options(engine, "default")
    _first, last = data_span(engine)
    with read(engine) as conn:
        n = func.count().label("n")
        threads = [
            int(r.parent_id)
            for r in conn.execute(
                select(mentions.c.parent_id, n)
                .where(mentions.c.parent_id.is_not(None))
                .group_by(mentions.c.parent_id)
                .order_by(n.desc())
                .limit(300)
            )
        ]
        keys = [
            str(k)
            for k in conn.execute(select(authors.c.key).order_by(authors.c.id).limit(200)).scalars()
        ]
    return World(
        watches=[w for w, _g in options.watches],
        groups=list(options.groups),
        langs=[lang for lang in options.langs if lang in ("en", "fr", "es", "de", "it", "pt")]
        or ["en"],
        kinds=list(options.source_kinds),
        authors=keys,
        threads=threads or [1],
        end=last,
    )


def _period(rng: random.Random, world: World, api: bool) -> list[tuple[str, str]]:
    days = rng.choices((1, 7, 30, 90), weights=(2, 4, 3, 1))[0]
    if not api:
        return [("range", {1: "24h", 7: "7d", 30: "30d", 90: "90d"}[days])]
    end = world.end + timedelta(seconds=1)
    return [("since", (end - timedelta(days=days)).isoformat()), ("until", end.isoformat())]


def _dashboard_filter(rng: random.Random, world: World) -> list[tuple[str, str]]:
    choice = rng.choices(("none", "group", "watch", "sentiment", "lang"), weights=(4, 2, 2, 1, 1))[
        0
    ]
    if choice == "group" and world.groups:
        return [("group", rng.choice(world.groups))]
    if choice == "watch" and world.watches:
        return [("watch", rng.choice(world.watches))]
    if choice == "sentiment":
        return [("sentiment", rng.choice(("positive", "negative", "neutral")))]
    if choice == "lang":
        return [("lang", rng.choice(world.langs))]
    return []


def _mention_filter(rng: random.Random, world: World) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        kind = rng.choice(
            ("watch", "sentiment", "lang", "source_kind", "site", "author", "tag", "since")
        )
        if kind == "watch":
            params.append(("watch", rng.choice(world.watches)))
        elif kind == "sentiment":
            params.append(("sentiment", rng.choice(("positive", "negative", "neutral"))))
        elif kind == "lang":
            params.append(("lang", rng.choice(world.langs)))
        elif kind == "source_kind" and world.kinds:
            params.append(("source_kind", rng.choice(world.kinds)))
        elif kind == "site":
            params.append(("site", rng.choice(SITES)))
        elif kind == "author" and world.authors:
            params.append(("author", rng.choice(world.authors[:50])))
        elif kind == "tag":
            params.append(("tag", rng.choice(TAGS)))
        elif kind == "since":
            days = rng.choice((1, 7, 30))
            params.append(("since", (world.end - timedelta(days=days)).isoformat()))
    return params


async def _get(
    client: httpx.AsyncClient, stats: Stats, kind: str, url: str, params: list[tuple[str, str]]
) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        response = await client.get(url, params=tuple(params))
    except (httpx.HTTPError, OSError) as exc:
        stats.errors[kind] += 1
        if len(stats.samples) < 10:
            stats.samples.append(f"{kind}: {type(exc).__name__}: {exc}")
        return None
    elapsed = (time.perf_counter() - t0) * 1000
    stats.times[kind].append(elapsed)
    if response.status_code >= 500:
        stats.errors[kind] += 1
        if len(stats.samples) < 10:
            stats.samples.append(f"{kind}: {response.status_code} {url} {params}")
    elif response.status_code >= 400:
        stats.client_errors[kind] += 1
        if len(stats.samples) < 10:
            stats.samples.append(
                f"{kind}: {response.status_code} {url} {params} {response.text[:200]}"
            )
    return response


async def page_user(
    base: str,
    email: str,
    world: World,
    stats: Stats,
    stop: float,
    think: tuple[float, float],
    seed: int,
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=False) as client:
        login = await client.get("/login")
        response = await client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(login.text)}
        )
        if response.status_code != 303:
            stats.errors["sign-in"] += 1
            return
        while time.monotonic() < stop:
            action = rng.choices(
                ("dashboard", "list", "search", "thread"), weights=(35, 35, 15, 15)
            )[0]
            if action == "dashboard":
                params = _period(rng, world, api=False) + _dashboard_filter(rng, world)
                await _get(client, stats, "page: dashboard", "/w/default/dashboard", params)
                # The page then loads its emerging themes apart, as the browser does.
                await _get(client, stats, "page: themes", "/w/default/dashboard/emerging", params)
            elif action in ("list", "search"):
                params = (
                    _mention_filter(rng, world)
                    if action == "list"
                    else [("search", rng.choice(SEARCHES))]
                )
                kind = "page: mentions" if action == "list" else "page: search"
                found = await _get(client, stats, kind, "/w/default/mentions", params)
                link = (
                    NEXT.search(found.text)
                    if found is not None and found.status_code == 200
                    else None
                )
                if link is not None and rng.random() < 0.3 and time.monotonic() < stop:
                    await asyncio.sleep(rng.uniform(*think))
                    url = link.group(1).replace("&amp;", "&")
                    await _get(client, stats, "page: next page", url, [])
            else:
                await _get(
                    client,
                    stats,
                    "page: thread",
                    f"/w/default/mentions/{rng.choice(world.threads)}",
                    [],
                )
            await asyncio.sleep(rng.uniform(*think))


async def api_user(
    base: str,
    token: str,
    world: World,
    stats: Stats,
    stop: float,
    think: tuple[float, float],
    seed: int,
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    root = "/api/v1/workspaces/default"
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
        while time.monotonic() < stop:
            action = rng.choices(
                ("dashboard", "list", "search", "thread", "count"), weights=(30, 35, 15, 15, 5)
            )[0]
            if action == "dashboard":
                params = _period(rng, world, api=True) + _dashboard_filter(rng, world)
                await _get(client, stats, "api: dashboard", f"{root}/dashboard", params)
            elif action == "list":
                params = _mention_filter(rng, world)
                found = await _get(client, stats, "api: mentions", f"{root}/mentions", params)
                for _ in range(rng.choice((0, 1, 2, 3))):
                    cursor = (
                        found.json().get("next_cursor")
                        if found is not None and found.status_code == 200
                        else None
                    )
                    if not cursor or time.monotonic() >= stop:
                        break
                    await asyncio.sleep(rng.uniform(*think))
                    found = await _get(
                        client,
                        stats,
                        "api: next page",
                        f"{root}/mentions",
                        [*params, ("cursor", cursor)],
                    )
            elif action == "search":
                await _get(
                    client,
                    stats,
                    "api: search",
                    f"{root}/mentions",
                    [("search", rng.choice(SEARCHES))],
                )
            elif action == "thread":
                await _get(
                    client,
                    stats,
                    "api: thread",
                    f"{root}/mentions/{rng.choice(world.threads)}/thread",
                    [],
                )
            else:
                await _get(
                    client,
                    stats,
                    "api: count",
                    f"{root}/mentions/count",
                    _mention_filter(rng, world),
                )
            await asyncio.sleep(rng.uniform(*think))


def write_import_files(folder: Path, *, files: int, items: int, stamp: str) -> list[Path]:
    """JSONL files of real texts (new ids), published during the last two hours; each run
    starts at another place of the corpus, so that runs do not repeat each other's texts."""
    records = iter_records()
    rng = random.Random(stamp)
    for _ in range(rng.randrange(100_000)):
        next(records)
    now = datetime.now(UTC)
    paths = []
    for k in range(files):
        path = folder / f"load-{stamp}-{k}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(items):
                try:
                    record = next(records)
                except StopIteration:
                    records = iter_records()
                    record = next(records)
                item = {
                    "id": f"load-{stamp}-{k}-{i}",
                    "text": record.text,
                    "published_at": (now - timedelta(seconds=rng.uniform(0, 7200))).isoformat(),
                    "author": record.author or f"loader{rng.randrange(5000)}",
                    "lang": record.lang,
                }
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


@dataclass
class ImportRun:
    files: int = 0
    new: int = 0
    items: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


async def importer(
    database_url: str, paths: list[Path], until: asyncio.Event, run: ImportRun
) -> None:
    """``flocon import`` of each file in turn (another process each) until ``until`` is set."""
    flocon = Path(sys.executable).with_name("flocon")
    env = {**os.environ, "FLOCON_DATABASE_URL": database_url, "XDG_DATA_HOME": tempfile.mkdtemp()}
    for path in paths:
        if until.is_set():
            return
        t0 = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            str(flocon), "import", str(path), "--source", "import:load-benchmark", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await process.communicate()
        run.seconds += time.perf_counter() - t0
        if process.returncode != 0:
            run.failures.append(err.decode(errors="replace")[-500:])
            continue
        report = json.loads(out)
        run.files += 1
        run.new += int(report["new"])
        run.items += sum(int(report[k]) for k in ("new", "duplicate", "unmatched"))
    if not until.is_set():
        run.failures.append(
            "ran out of import files before the users stopped: raise --import-files"
        )


async def drive(
    base: str,
    world: World,
    members: list[tuple[str, str]],
    *,
    seconds: float,
    think: tuple[float, float],
    seed: int,
    database_url: str | None = None,
    import_paths: list[Path] | None = None,
) -> tuple[Stats, float, ImportRun | None]:
    stats = Stats()
    stop = time.monotonic() + seconds
    done = asyncio.Event()
    run = ImportRun() if import_paths else None
    task = (
        asyncio.create_task(importer(database_url or "", import_paths, done, run))
        if import_paths and run is not None
        else None
    )
    t0 = time.perf_counter()
    users = [
        page_user(base, email, world, stats, stop, think, seed + i)
        if i % 2 == 0
        else api_user(base, token, world, stats, stop, think, seed + i)
        for i, (email, token) in enumerate(members)
    ]
    await asyncio.gather(*users)
    elapsed = time.perf_counter() - t0
    done.set()
    if task is not None:
        await task
    return stats, elapsed, run


def report(label: str, stats: Stats, elapsed: float) -> dict[str, Any]:
    every = stats.all_times()
    errors = sum(stats.errors.values())
    client_errors = sum(stats.client_errors.values())
    out: dict[str, Any] = {
        "label": label,
        "requests": len(every),
        "seconds": elapsed,
        "rps": len(every) / elapsed,
        "errors": errors,
        "client_errors": client_errors,
        "p50": statistics.median(every) if every else 0.0,
        "p95": pct(every, 0.95) if every else 0.0,
        "p99": pct(every, 0.99) if every else 0.0,
        "kinds": {},
    }
    print(
        f"{label}: {len(every):,} requests in {elapsed:.0f} s ({out['rps']:.1f}/s), errors {errors}, "
        f"4xx {client_errors}; p50 {out['p50']:.0f} ms, p95 {out['p95']:.0f} ms, p99 {out['p99']:.0f} ms"
    )
    for kind in sorted(stats.times):
        ts = stats.times[kind]
        out["kinds"][kind] = {
            "n": len(ts),
            "p50": statistics.median(ts),
            "p95": pct(ts, 0.95),
            "p99": pct(ts, 0.99),
            "errors": stats.errors.get(kind, 0),
        }
        print(
            f"  {kind:<18} {len(ts):5d}  p50 {statistics.median(ts):7.0f}  p95 {pct(ts, 0.95):7.0f}  "
            f"p99 {pct(ts, 0.99):7.0f} ms  errors {stats.errors.get(kind, 0)}"
        )
    for sample in stats.samples:
        print(f"  sample problem: {sample}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("FLOCON_DATABASE_URL"))
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--baseline",
        type=float,
        default=None,
        help="seconds without import (default: duration / 2; 0: none)",
    )
    parser.add_argument("--think", default="1,5", help="pause between requests, MIN,MAX seconds")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--import-items", type=int, default=5000)
    parser.add_argument("--import-files", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set FLOCON_DATABASE_URL")
    low, _, high = args.think.partition(",")
    think = (float(low), float(high or low))
    from flocon.storage.tables import mentions

    engine = open_database(args.database_url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
    cheap_hashing()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    members: list[tuple[str, str]] = []
    for i in range(args.users):
        member = ensure_member(engine, f"bench-user-{i}@flocon.example", "viewer", ("default",))
        token = make_token(engine, "default", member, f"load-{stamp}-{i}") if i % 2 else ""
        members.append((member.email, token))
    world = world_of(engine)
    folder = Path(tempfile.mkdtemp(prefix="flocon-load-"))
    paths = write_import_files(
        folder, files=args.import_files, items=args.import_items, stamp=stamp
    )
    print(
        f"web load on {engine.dialect.name}, {count:,} mentions; {args.users} users "
        f"(half pages, half API), think {think[0]:g}-{think[1]:g} s, {args.workers} server worker(s); "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}",
        flush=True,
    )
    baseline_s = args.duration / 2 if args.baseline is None else args.baseline
    results: dict[str, Any] = {
        "backend": engine.dialect.name,
        "mentions": count,
        "users": args.users,
        "think": think,
    }
    with serve(args.database_url, workers=args.workers) as base:
        if baseline_s > 0:
            stats, elapsed, _ = asyncio.run(
                drive(base, world, members, seconds=baseline_s, think=think, seed=args.seed)
            )
            results["baseline"] = report("baseline, no import", stats, elapsed)
        stats, elapsed, run = asyncio.run(
            drive(
                base, world, members, seconds=args.duration, think=think, seed=args.seed + 1000,
                database_url=args.database_url, import_paths=paths,
            )
        )  # fmt: skip
        results["load"] = report("with the import running", stats, elapsed)
    assert run is not None
    rate = run.items / run.seconds if run.seconds else 0.0
    print(
        f"import meanwhile: {run.files} file(s) of {args.import_items} items, {run.items:,} items "
        f"({run.new:,} new matched) in {run.seconds:.0f} s of flocon import ({rate:,.0f} items/s, "
        f"process start included); failures {len(run.failures)}"
    )
    for failure in run.failures[:3]:
        print(f"  import failure: {failure}")
    results["import"] = {
        "files": run.files,
        "items": run.items,
        "new": run.new,
        "seconds": run.seconds,
        "failures": run.failures,
    }
    ok = results["load"]["errors"] == 0 and not [f for f in run.failures if "ran out" not in f]
    print("no error: " + ("yes" if ok else "NO"))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    engine.dispose()


if __name__ == "__main__":
    main()
