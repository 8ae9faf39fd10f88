"""Fetch benchmark: one full cycle over 1,000 feeds of 50 real entries each.

The feeds are static files served by ``python -m http.server`` in its own process on
127.0.0.1, under 100 host names (``feedN.bench.test``, resolved to 127.0.0.1 by the
client's injectable resolver) so that politeness per host (2 requests at a time per
host) applies as it would on the web. The cycle fetches, parses (feedparser),
deduplicates, matches 100 watches and stores, with 16 sources in flight.

Baseline in the same run: the same 1,000 GETs with the same client and concurrency,
bodies read and dropped (what the network part alone costs here).

Run: ``.venv/bin/python benchmarks/bench_fetch.py [--feeds N] [--entries N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_matching import make_watches
from corpus import DEFAULT_DATASETS, load_items
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.credentials import CredentialBox
from flocon.services import fetching, sources, watches
from flocon.settings import Settings
from flocon.storage import migrate
from flocon.storage.engine import build_engine

HOSTS = 100
CONCURRENCY = 16


def write_feeds(root: Path, feeds: int, entries: int, texts: list[dict[str, object]]) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    for f in range(feeds):
        items = []
        for e in range(entries):
            item = texts[(f * entries + e) % len(texts)]
            when = (start + timedelta(minutes=f * entries + e)).strftime(
                "%a, %d %b %Y %H:%M:%S +0000"
            )
            items.append(
                f"<item><title>{escape(str(item['text'])[:60])}</title>"
                f"<link>https://feed{f}.example/post/{e}</link><guid>feed{f}-{e}</guid>"
                f"<description>{escape(str(item['text']))}</description><pubDate>{when}</pubDate></item>"
            )
        (root / f"f{f}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>https://feed{f}.example/</link>{''.join(items)}"
            "</channel></rss>",
            "utf-8",
        )


def write_threads(root: Path, threads: int, comments: int, texts: list[dict[str, object]]) -> None:
    """WordPress-style articles with threaded comments (every third one a reply)."""
    for t in range(threads):
        items = []
        for c in range(comments):
            text = escape(str(texts[(t * comments + c) % len(texts)]["text"]))
            cid = t * 1000 + c
            items.append(
                f'<li id="comment-{cid}" class="comment depth-1"><article class="comment-body">'
                f'<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">'
                f'user{c % 37}</b></div><div class="comment-metadata"><a href="#comment-{cid}">'
                f'<time datetime="2026-11-2{c % 5}T1{c % 10}:00:00+01:00">date</time></a></div>'
                f'</footer><div class="comment-content"><p>{text}</p></div></article>'
                + ('<ul class="children">' if c % 3 == 0 else "</li>")
            )
            if c % 3 == 2:
                items.append("</ul></li>")
        (root / f"t{t}.html").write_text(
            f'<!DOCTYPE html><html lang="fr"><head><meta charset="UTF-8"><title>Article {t}</title>'
            f'</head><body><article><h1>Article {t}</h1><div class="entry-content"><p>'
            f"{escape(str(texts[t]['text']))} "
            * 5
            + '</p></div></article><div id="comments"><ol class="comment-list">'
            + "".join(items)
            + ("</ul></li>" if comments % 3 else "")
            + "</ol></div></body></html>",
            "utf-8",
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def local_resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--comments", type=int, default=50)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args()
    print(f"date       {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine    {platform.platform()} / {os.cpu_count()} cpus")
    texts = load_items(args.feeds * args.entries, args.datasets)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "www"
        root.mkdir()
        write_feeds(root, args.feeds, args.entries, texts)
        write_threads(root, args.threads, args.comments, texts)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            urls = [f"http://feed{f % HOSTS}.bench.test:{port}/f{f}.xml" for f in range(args.feeds)]
            settings = Settings(
                database_url=f"sqlite:///{tmp}/bench.db", allow_private_addresses=True
            )
            config = dataclasses.replace(HttpConfig.from_settings(settings), retries=0)
            engine = build_engine(settings)
            migrate.upgrade(engine)
            box = CredentialBox(settings, key_file=Path(tmp) / "secret.key")
            for name, query in make_watches(100):
                watches.add_watch(engine, "default", name=name, query=str(query))
            for url in urls:
                sources.add_source(engine, box, "default", kind="feed", target=url)

            async def baseline() -> float:
                async with HttpClient(config, resolver=local_resolver) as http:
                    gate = asyncio.Semaphore(CONCURRENCY)

                    async def get(url: str) -> None:
                        async with gate:
                            await http.get(url)

                    begin = time.perf_counter()
                    await asyncio.gather(*(get(u) for u in urls))
                    return time.perf_counter() - begin

            async def full_cycle() -> fetching.CycleReport:
                async with HttpClient(config, resolver=local_resolver) as http:
                    return await fetching.run_cycle(engine, box, http, concurrency=CONCURRENCY)

            base_s = asyncio.run(baseline())
            begin = time.perf_counter()
            report = asyncio.run(full_cycle())
            cycle_s = time.perf_counter() - begin
            failed = [o for o in report.outcomes if not o.ok]
            items = sum(o.fetched for o in report.outcomes)
            print(
                f"feeds      {args.feeds} x {args.entries} entries on {HOSTS} hosts, {CONCURRENCY} in flight, 100 watches"
            )
            print(
                f"cycle      {cycle_s:.1f} s for {len(report.outcomes)} sources ({len(failed)} failed), {items} items, {items / cycle_s:,.0f} items/s"
            )
            print(
                f"baseline   {base_s:.1f} s for the same {len(urls)} GETs alone; cycle/baseline {cycle_s / base_s:.1f}"
            )
            threads = [
                f"http://blog{t % HOSTS}.bench.test:{port}/t{t}.html" for t in range(args.threads)
            ]
            for url in threads:
                sources.add_source(engine, box, "default", kind="web", target=url)
            begin = time.perf_counter()
            web = asyncio.run(full_cycle())
            web_s = time.perf_counter() - begin
            web_failed = [o for o in web.outcomes if not o.ok]
            web_items = sum(o.fetched for o in web.outcomes)
            print(
                f"threads    {len(web.outcomes)} WordPress-style threads of {args.comments} comments: "
                f"{web_s:.1f} s, {web_items} items ({len(web_failed)} failed), {web_items / web_s:,.0f} items/s"
            )
            failed += web_failed
            engine.dispose()
            if failed:
                print(f"first failure: {failed[0].error}")
                return 1
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
