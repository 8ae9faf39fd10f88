"""Generate a database of N mentions (default 1,000,000) drawn from real texts, for the web
benchmarks.

Usage::

    .venv/bin/python -m benchmarks.web.generate --mentions 1000000 \\
        --database-url sqlite:////tmp/flocon-web-1m.db      # or postgresql+psycopg://...

The database must be new (or empty: no mention yet); it is created and migrated with
``flocon.storage.migrate``. What it holds, in the workspace ``default``:

* **Texts**: the ~138,000 real texts of ``../shared/datasets`` read by
  :mod:`benchmarks.corpus` (CrisisLex, Sanders, SXSW, customer-support tweets, XLM-T in 8
  languages, AlloCiné, Yelp, complaints, corporate tweets, TweetEval), normalised as ingest
  normalises them. Nothing is copied into the repository.
* **8 watches in 2 groups** (``Brands``: Apple, Google, Microsoft, Twitter; ``Topics``:
  Floods, Earthquakes, Fires, Service), with real boolean queries. The real matcher
  (:class:`flocon.services.matching.WatchMatcher`) runs over every distinct text once; a
  mention is linked to exactly the watches its text matches (about 44,000 of the texts
  match at least one). 95 % of the mentions take a matching text, so at 1M each of those
  texts appears about 21 times (at other times, by other authors, in other sources); 5 %
  take a text that matches no watch (stored unmatched, as an import stores them).
* **Analysis**: the ``fast`` profile (:class:`flocon.analysis.analyzer.Analyzer`) analyses
  every distinct matching text once (language, sentiment, needs-answer); a mention carries
  its text's results, as ingest with analysis would store them. Unmatched texts get their
  language only (the analyzer's language step), as ingest does.
* **Time**: ``--days`` (90) days ending now, with a weekly rhythm (Saturday 0.7, Sunday 0.6
  of a weekday), a daily one (peak at 15:00 UTC, trough at 03:00, ratio 0.35), a slow
  upward trend (×1.5 over the period) and three burst days (×2.5). Ids follow time, as
  they would with live collection.
* **Sources**: 95 sources of 8 kinds (feed 20 %, mastodon 25 %, bluesky 20 %, reddit 15 %,
  web, youtube, hackernews, import 5 % each); feeds and web pages on 300 sites of
  heavy-tailed popularity; every item but imports has a URL.
* **Authors**: N / 20 (at least 2,000), per platform, chosen with Zipf weights (s = 1.1),
  so a few authors write thousands of mentions and most write one or two.
* **Threads**: 15 % of the mentions reply to an earlier mention of the same source
  (usually a recent one), so chains form; **duplicates**: 4 % repeat an earlier mention's
  text and are marked ``duplicate_of`` it (reason ``near``), linked to the same watches as
  ingest links them; **tags**: 1 % carry a tag; 12 open alerts.
* **Rollups**: filled by :func:`flocon.storage.queries.rollups.rebuild_all` once every
  mention is stored (the same code ``flocon rollups rebuild`` runs): the per-watch rollups
  and the facet rollups of the workspace, its groups and its watches (schema 0010).
* PostgreSQL only: ``VACUUM ANALYZE`` at the end, what autovacuum does soon after a bulk
  load (statistics, and the visibility map index-only scans need; flocon's import also runs
  ``ANALYZE`` as tables grow). SQLite gets no ``ANALYZE``: flocon never runs it, so the
  planner sees what a user's database shows it (without statistics, see BENCHMARKS.md).

Why bulk inserts rather than the real ingest: with about 140,000 distinct real texts, a
million items repeat each text about 7 times, and the real ingest's near-duplicate
detection would rightly store most of them as duplicates; and the import measured at
3,621 items/s (BENCHMARKS.md, SQLite, without analysis) would take about 5 minutes for the
inserts alone at best, slowing as the band table grows, plus the analysis. The rows written
here are the rows ingest writes (same normalisation, search text and full-text
configuration; the full-text index is kept by the schema's own triggers), without the
near-duplicate band keys (``mention_bands``; only new imports read them).

The printout gives the time of each step and the database's size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from benchmarks.corpus import DEFAULT_DATASETS, iter_records
from sqlalchemy import Engine, event, func, insert, inspect, select, text

IntArray = npt.NDArray[np.int64]

#: (name, group, query)
WATCHES: tuple[tuple[str, str, str], ...] = (
    (
        "Apple",
        "Brands",
        "apple OR iphone* OR ipad* OR ipod OR itunes OR mac OR macbook OR @apple OR @AppleSupport",
    ),
    ("Google", "Brands", "google OR android OR gmail OR youtube OR chrome OR @google"),
    ("Microsoft", "Brands", "microsoft OR windows OR xbox OR bing OR skype OR @microsoft"),
    ("Twitter", "Brands", "twitter OR tweet OR tweets OR retweet OR @twitter"),
    (
        "Floods",
        "Topics",
        'flood* OR inondation* OR "heavy rain" OR alluvione OR überschwemmung*',
    ),
    ("Earthquakes", "Topics", "earthquake* OR quake OR séisme OR tsunami OR terremoto OR sismo"),
    (
        "Fires",
        "Topics",
        "fire OR fires OR wildfire* OR bushfire* OR incendie* OR explosion OR blast",
    ),
    (
        "Service",
        "Topics",
        '"customer service" OR support OR help OR order OR delivery OR refund OR service '
        "OR série OR saison",
    ),
)

#: (kind, share of mentions, number of sources)
KINDS: tuple[tuple[str, float, int], ...] = (
    ("feed", 0.20, 60),
    ("mastodon", 0.25, 6),
    ("bluesky", 0.20, 3),
    ("reddit", 0.15, 8),
    ("web", 0.05, 10),
    ("youtube", 0.05, 4),
    ("hackernews", 0.05, 2),
    ("import", 0.05, 2),
)
MASTODON = (
    "mastodon.social",
    "mamot.fr",
    "piaille.fr",
    "framapiaf.org",
    "mstdn.io",
    "fosstodon.org",
)
SUBREDDITS = (
    "apple",
    "google",
    "microsoft",
    "france",
    "news",
    "worldnews",
    "techsupport",
    "weather",
)
FIRST = (
    "marie", "tom", "lea", "lucas", "emma", "hugo", "chloe", "nathan", "jade", "louis",
    "sarah", "alex", "nina", "paul", "julie", "max", "ines", "leo", "clara", "sam",
)  # fmt: skip
TAGS = ("urgent", "lead", "bug", "press", "todo")
N_SITES = 300
REPLY_SHARE = 0.15
DUPLICATE_SHARE = 0.04
UNMATCHED_SHARE = 0.05
TAG_SHARE = 0.01
CHUNK = 10_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """A progress line every ``every_s`` seconds: done/total, rate, time left."""

    def __init__(self, label: str, total: int, every_s: float = 3.0) -> None:
        self.label, self.total, self.every_s = label, total, every_s
        self.start = self.last = time.perf_counter()

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.every_s:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        left = (self.total - done) / rate if rate else 0.0
        log(
            f"  {self.label}: {done:,}/{self.total:,} ({100 * done / max(self.total, 1):.0f} %), "
            f"{rate:,.0f}/s, {left:,.0f} s left"
        )


@dataclass
class Pool:
    """Distinct real texts: normalised text, language, watch ids (indices into the watch
    list), and analysis columns (None for unmatched texts)."""

    texts: list[str]
    search: list[str]
    langs: list[str | None]
    fts: list[str]
    watches: list[tuple[int, ...]]
    analysis: list[dict[str, Any] | None]


@dataclass
class Summary:
    mentions: int
    matched: int
    links: int
    authors: int
    sources: int
    rollups: int
    steps: dict[str, float]


def build_pool(watch_rows: Sequence[Any], datasets: Path) -> tuple[Pool, Pool, str]:
    """The matched and the unmatched pools, and the analysis model's name."""
    from flocon.analysis.analyzer import Analyzer
    from flocon.analysis.language import DEFAULT_LANGUAGES, UNDETERMINED
    from flocon.domain.models import MatchInput
    from flocon.domain.normalize import normalize_text
    from flocon.domain.search import fts_config, search_text
    from flocon.services.matching import WatchMatcher

    records = list(iter_records(datasets))
    texts = [normalize_text(r.text) for r in records]
    keep = [i for i, t in enumerate(texts) if t]
    records = [records[i] for i in keep]
    texts = [texts[i] for i in keep]
    log(f"  {len(texts):,} distinct real texts read from {datasets}")
    analyzer = Analyzer(profile="fast", languages=DEFAULT_LANGUAGES)
    t0 = time.perf_counter()
    detected = analyzer.language.run(texts, [r.lang for r in records])
    langs = [
        r.lang or (None if d == UNDETERMINED else d) for r, d in zip(records, detected, strict=True)
    ]
    log(f"  languages: {time.perf_counter() - t0:.1f} s")
    index_of = {int(w.id): i for i, w in enumerate(watch_rows)}
    matcher = WatchMatcher(watch_rows)
    t0 = time.perf_counter()
    hits: list[tuple[int, ...]] = []
    for record, body, lang in zip(records, texts, langs, strict=True):
        watch_ids = matcher.match(
            MatchInput(
                text=body,
                site="",
                author_handle=record.author or "",
                lang=lang or "",
                source=record.source,
            )
        )
        hits.append(tuple(sorted(index_of[w] for w in watch_ids)))
    log(f"  matching: {time.perf_counter() - t0:.1f} s")
    matched_ix = [i for i, h in enumerate(hits) if h]
    unmatched_ix = [i for i, h in enumerate(hits) if not h]
    t0 = time.perf_counter()
    analyses: list[Any] = []
    for start in range(0, len(matched_ix), 1024):
        chunk = matched_ix[start : start + 1024]
        analyses.extend(
            analyzer.analyze([texts[i] for i in chunk], languages=[langs[i] for i in chunk])
        )
    log(f"  fast analysis of {len(matched_ix):,} matching texts: {time.perf_counter() - t0:.1f} s")

    def pool(ix: list[int], analyses: list[Any] | None) -> Pool:
        return Pool(
            texts=[texts[i] for i in ix],
            search=[search_text(None, texts[i]) for i in ix],
            langs=[langs[i] for i in ix],
            fts=[fts_config(langs[i]) for i in ix],
            watches=[hits[i] for i in ix],
            analysis=[
                {
                    "sentiment": a.sentiment,
                    "sentiment_score": a.sentiment_score,
                    "sentiment_confidence": a.sentiment_confidence,
                    "needs_answer": a.needs_answer,
                    "needs_answer_score": a.needs_answer_score,
                }
                for a in analyses
            ]
            if analyses is not None
            else [None] * len(ix),
        )

    return pool(matched_ix, analyses), pool(unmatched_ix, None), analyzer.model_name


def cached_pool(watch_rows: Sequence[Any], datasets: Path) -> tuple[Pool, Pool, str]:
    """:func:`build_pool`, kept in ``$XDG_CACHE_HOME/flocon-bench`` (about 40 s saved per
    run); the key covers the datasets' files, the watches and flocon's version."""
    from flocon import __version__

    stamp = [__version__, *(f"{w.name}|{w.query}" for w in watch_rows)]
    for path in sorted(datasets.rglob("*")):
        if path.is_file():
            stamp.append(
                f"{path.relative_to(datasets)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
            )
    key = hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flocon-bench"
    path = root / f"web-pool-{key}.pickle"
    if path.is_file():
        with path.open("rb") as fh:
            matched, unmatched, model = pickle.load(fh)
        log(f"  texts, matches and analyses read from the cache {path}")
        return Pool(**matched), Pool(**unmatched), str(model)
    built = build_pool(watch_rows, datasets)
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        # Plain values, not the dataclass (this module may run as __main__).
        plain = (vars(built[0]), vars(built[1]), built[2])
        pickle.dump(plain, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return built


def _times(rng: np.random.Generator, n: int, days: int, end: datetime) -> IntArray:
    """``n`` sorted epoch microseconds over ``days`` days ending at ``end``."""
    start = end - timedelta(days=days)
    day_w = np.ones(days)
    for d in range(days):
        weekday = (start + timedelta(days=d)).weekday()
        day_w[d] = {5: 0.7, 6: 0.6}.get(weekday, 1.0) * (0.8 + 0.4 * d / max(days - 1, 1))
    for d in rng.choice(days, size=min(3, days), replace=False):
        day_w[d] *= 2.5
    hours = np.arange(24)
    hour_w = 0.35 + 0.65 * (1 + np.cos(2 * np.pi * (hours - 15) / 24)) / 2
    slot_w = (day_w[:, None] * hour_w[None, :]).ravel()
    slots = rng.choice(slot_w.size, size=n, p=slot_w / slot_w.sum())
    base = int(start.timestamp()) * 1_000_000
    micros = base + slots.astype(np.int64) * 3_600_000_000 + rng.integers(0, 3_600_000_000, size=n)
    micros = np.minimum(micros, int(end.timestamp() * 1_000_000) - 1)
    return np.sort(micros)


def _zipf(rng: np.random.Generator, size: int, population: int, s: float = 1.1) -> IntArray:
    weights = 1.0 / np.power(np.arange(1, population + 1), s)
    return rng.choice(population, size=size, p=weights / weights.sum()).astype(np.int64)


@dataclass
class SourceSpec:
    id: int
    kind: str
    name: str
    site: str  # "" when the site depends on the item (feeds share one site each; web: many)


def _sites() -> list[str]:
    named = [
        "lemonde.fr", "lefigaro.fr", "liberation.fr", "francetvinfo.fr", "bfmtv.com",
        "theguardian.com", "bbc.co.uk", "nytimes.com", "reuters.com", "theverge.com",
        "engadget.com", "macrumors.com", "9to5google.com", "zdnet.fr", "01net.com",
        "numerama.com", "clubic.com", "frandroid.com", "techcrunch.com", "wired.com",
    ]  # fmt: skip
    return named + [f"blog{i:03d}.example.net" for i in range(N_SITES - len(named))]


def generate(engine: Engine, *, mentions_n: int, days: int, seed: int, datasets: Path) -> Summary:
    from flocon.services import watches as watches_svc
    from flocon.storage import migrate
    from flocon.storage.engine import read, write
    from flocon.storage.queries import rollups as rq
    from flocon.storage.queries import workspaces as wsq
    from flocon.storage.tables import (
        alerts,
        authors,
        mention_tags,
        mention_watches,
        mentions,
        rollups,
        sources,
        watches,
    )

    steps: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    migrate.upgrade(engine)
    with read(engine) as conn:
        if conn.execute(select(func.count()).select_from(mentions)).scalar_one():
            raise SystemExit("this database already holds mentions: give a new one")
        ws = wsq.get_by_name(conn, "default")
        have = {str(n) for n in conn.execute(select(watches.c.name)).scalars()}
    for name, group, query in WATCHES:
        if name not in have:
            watches_svc.add_watch(engine, "default", name=name, query=query, group=group)
    with write(engine) as conn:
        wsq.set_sentiment_profile(conn, ws.id, "fast")
        watch_rows = watches_svc_list(conn, ws.id)
    ws_id = ws.id
    steps["schema"] = time.perf_counter() - t0

    log("reading, matching and analysing the real texts...")
    t0 = time.perf_counter()
    matched, unmatched, model = cached_pool(watch_rows, datasets)
    steps["texts"] = time.perf_counter() - t0
    log(f"  {len(matched.texts):,} texts match a watch, {len(unmatched.texts):,} match none")

    # -- sources, sites, authors -----------------------------------------------------------
    t0 = time.perf_counter()
    sites = _sites()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    specs: list[SourceSpec] = []
    with write(engine) as conn:
        for kind, _share, count in KINDS:
            for k in range(count):
                if kind == "feed":
                    name, site = f"https://{sites[k]}/feed.xml", sites[k]
                elif kind == "mastodon":
                    name, site = f"{MASTODON[k]} #tech", MASTODON[k]
                elif kind == "bluesky":
                    name, site = f"bluesky search {k}", "bsky.app"
                elif kind == "reddit":
                    name, site = f"r/{SUBREDDITS[k]}", "reddit.com"
                elif kind == "youtube":
                    name, site = f"youtube channel {k}", "youtube.com"
                elif kind == "hackernews":
                    name, site = f"hackernews {k}", "news.ycombinator.com"
                elif kind == "web":
                    name, site = f"web watch {k}", ""
                else:
                    name, site = f"import-{k}.jsonl", ""
                new_id = conn.execute(
                    insert(sources)
                    .values(workspace_id=ws_id, kind=kind, name=name, created_at=now)
                    .returning(sources.c.id)
                ).scalar_one()
                specs.append(SourceSpec(int(new_id), kind, name, site))
    kind_names = [k for k, _, _ in KINDS]
    kind_share = np.array([s for _, s, _ in KINDS])
    by_kind = {k: [s for s in specs if s.kind == k] for k in kind_names}
    n_authors = max(2000, mentions_n // 20)
    author_count = {k: max(50, int(n_authors * s)) for k, s, _ in KINDS}
    author_base: dict[str, int] = {}
    next_author = 1
    author_rows: list[dict[str, Any]] = []
    followers = np.exp(rng.normal(5.0, 2.0, size=sum(author_count.values()))).astype(np.int64)
    for kind in kind_names:
        author_base[kind] = next_author
        for r in range(author_count[kind]):
            handle = f"{FIRST[r % len(FIRST)]}{r // len(FIRST)}"
            author_rows.append(
                {
                    "id": next_author,
                    "workspace_id": ws_id,
                    "platform": kind,
                    "key": handle,
                    "handle": handle,
                    "name": handle.capitalize(),
                    "followers": int(followers[next_author - 1]),
                    "first_seen_at": now - timedelta(days=days),
                    "last_seen_at": now,
                }
            )
            next_author += 1
    with write(engine) as conn:
        for start in range(0, len(author_rows), CHUNK):
            conn.execute(insert(authors), author_rows[start : start + CHUNK])
    steps["sources and authors"] = time.perf_counter() - t0
    log(f"  {len(specs)} sources, {len(author_rows):,} authors")

    # -- the mentions' plan (vectorised) ---------------------------------------------------
    t0 = time.perf_counter()
    n = mentions_n
    times = _times(rng, n, days, now)
    kind_of = rng.choice(len(kind_names), size=n, p=kind_share / kind_share.sum())
    source_of = np.empty(n, dtype=np.int64)
    for ki, kind in enumerate(kind_names):
        mask = kind_of == ki
        count = len(by_kind[kind])
        # Sources of a kind are unequal too (the first ones busier).
        source_of[mask] = _zipf(rng, int(mask.sum()), count, 0.8)
    parent = np.full(n, -1, dtype=np.int64)
    is_reply = rng.random(n) < REPLY_SHARE
    is_reply[:100] = False
    offsets = np.minimum(rng.geometric(1 / 300, size=n), np.arange(n))
    parent[is_reply] = (np.arange(n) - offsets)[is_reply]
    parent[parent == np.arange(n)] = -1
    dup_of = np.full(n, -1, dtype=np.int64)
    is_dup = (rng.random(n) < DUPLICATE_SHARE) & (parent < 0)
    is_dup[:100] = False
    dup_of[is_dup] = (np.arange(n) - np.minimum(rng.geometric(1 / 100, size=n), np.arange(n)))[
        is_dup
    ]
    dup_of[dup_of == np.arange(n)] = -1
    is_unmatched = (rng.random(n) < UNMATCHED_SHARE) & (dup_of < 0)
    text_of = rng.integers(0, len(matched.texts), size=n)
    text_of[is_unmatched] = rng.integers(0, len(unmatched.texts), size=int(is_unmatched.sum()))
    # Replies stay in their parent's source (and kind); duplicates carry their original's text.
    for j in np.flatnonzero(parent >= 0):
        p = parent[j]
        kind_of[j], source_of[j] = kind_of[p], source_of[p]
    for j in np.flatnonzero(dup_of >= 0):
        o = dup_of[j]
        text_of[j], is_unmatched[j] = text_of[o], is_unmatched[o]
    author_rank = np.empty(n, dtype=np.int64)
    for ki, kind in enumerate(kind_names):
        mask = kind_of == ki
        author_rank[mask] = _zipf(rng, int(mask.sum()), author_count[kind])
    site_rank = _zipf(rng, n, N_SITES, 1.0)
    tagged = rng.random(n) < TAG_SHARE
    tag_of = rng.integers(0, len(TAGS), size=n)
    likes = np.floor(np.exp(rng.normal(1.0, 1.5, size=n))).astype(np.int64)
    steps["plan"] = time.perf_counter() - t0

    # -- the mentions, their watches and tags ----------------------------------------------
    log(f"storing {n:,} mentions...")
    t0 = time.perf_counter()
    progress = Progress("mentions", n)
    links = 0
    matched_n = 0
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        rows: list[dict[str, Any]] = []
        link_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        for i in range(start, stop):
            kind = kind_names[kind_of[i]]
            spec = by_kind[kind][source_of[i]]
            pool = unmatched if is_unmatched[i] else matched
            t = int(text_of[i])
            at = epoch + timedelta(microseconds=int(times[i]))
            mention_id = i + 1
            handle = f"{FIRST[author_rank[i] % len(FIRST)]}{author_rank[i] // len(FIRST)}"
            site = spec.site
            if kind == "feed":
                url: str | None = f"https://{site}/articles/{mention_id}"
            elif kind == "web":
                site = sites[int(site_rank[i])]
                url = f"https://{site}/page/{mention_id}"
            elif kind == "mastodon":
                url = f"https://{site}/@{handle}/{mention_id}"
            elif kind == "bluesky":
                url = f"https://bsky.app/profile/{handle}.bsky.social/post/{mention_id}"
            elif kind == "reddit":
                url = f"https://reddit.com/comments/{mention_id}"
            elif kind == "youtube":
                url = f"https://youtube.com/watch?v=v{mention_id}"
            elif kind == "hackernews":
                url = f"https://news.ycombinator.com/item?id={mention_id}"
            else:
                url = None
            analysis = pool.analysis[t]
            p = int(parent[i])
            d = int(dup_of[i])
            rows.append(
                {
                    "id": mention_id,
                    "workspace_id": ws_id,
                    "source_id": spec.id,
                    "external_id": f"{kind}-{mention_id}",
                    "text": pool.texts[t],
                    "title": None,
                    "url": url,
                    "canonical_url": url,
                    "site": site,
                    "author_id": author_base[kind] + int(author_rank[i]),
                    "author_handle": handle,
                    "author_name": handle.capitalize(),
                    "published_at": at,
                    "collected_at": at + timedelta(seconds=90),
                    "occurred_at": at,
                    "lang": pool.langs[t],
                    "country": None,
                    "parent_external_id": f"{kind}-{p + 1}" if p >= 0 else None,
                    "parent_id": p + 1 if p >= 0 else None,
                    "likes": int(likes[i]),
                    "shares": int(likes[i]) // 3,
                    "replies": None,
                    "duplicate_of": d + 1 if d >= 0 else None,
                    "duplicate_reason": "near" if d >= 0 else None,
                    "signature": None,
                    "search_text": pool.search[t],
                    "fts_config": pool.fts[t],
                    "sentiment": analysis["sentiment"] if analysis else None,
                    "sentiment_score": analysis["sentiment_score"] if analysis else None,
                    "sentiment_confidence": analysis["sentiment_confidence"] if analysis else None,
                    "needs_answer": analysis["needs_answer"] if analysis else None,
                    "needs_answer_score": analysis["needs_answer_score"] if analysis else None,
                    "lang_detected": False,
                    "analyzed_at": at + timedelta(seconds=90) if analysis else None,
                    "analysis_model": model if analysis else None,
                }
            )
            for w in pool.watches[t]:
                link_rows.append(
                    {
                        "mention_id": mention_id,
                        "watch_id": int(watch_rows[w].id),
                        "matched_at": at + timedelta(seconds=90),
                    }
                )
            if pool.watches[t] and d < 0:
                matched_n += 1
            if tagged[i]:
                tag_rows.append(
                    {
                        "mention_id": mention_id,
                        "tag": TAGS[int(tag_of[i])],
                        "workspace_id": ws_id,
                        "created_at": at + timedelta(hours=1),
                        "created_by": "bench@flocon.example",
                    }
                )
        with write(engine) as conn:
            conn.execute(insert(mentions), rows)
            if link_rows:
                conn.execute(insert(mention_watches), link_rows)
            if tag_rows:
                conn.execute(insert(mention_tags), tag_rows)
        links += len(link_rows)
        progress.update(stop, force=stop == n)
    steps["mentions"] = time.perf_counter() - t0

    # -- alerts, rollups, sequences, statistics ---------------------------------------------
    t0 = time.perf_counter()
    with write(engine) as conn:
        for k in range(12):
            watch = watch_rows[k % len(watch_rows)]
            at = now - timedelta(hours=6 * k + 1)
            evidence = [int(x) + 1 for x in rng.integers(max(0, n - 5000), n, size=5)]
            conn.execute(
                insert(alerts).values(
                    workspace_id=ws_id,
                    watch_id=int(watch.id),
                    kind="spike" if k % 2 == 0 else "negative",
                    key=f"bench-{k}",
                    status="open" if k % 3 else "acked",
                    severity=("high", "medium", "low")[k % 3],
                    score=3.0 + k,
                    episode_start=at - timedelta(hours=1),
                    detected_at=at,
                    updated_at=at,
                    explanation=f"{watch.name}: {40 + k} mentions in the last hour, usually 12",
                    evidence=json.dumps(evidence),
                    details="{}",
                )
            )
    steps["alerts"] = time.perf_counter() - t0
    log("rebuilding the rollups (flocon.storage.queries.rollups.rebuild_all)...")
    t0 = time.perf_counter()
    with write(engine) as conn:
        rq.rebuild_all(conn)
    steps["rollups (rebuild_all)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with write(engine) as conn:
        if conn.dialect.name == "postgresql":
            for table, column in (("mentions", "id"), ("authors", "id")):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT max({column}) FROM {table}))"
                )
        rollup_rows = int(conn.execute(select(func.count()).select_from(rollups)).scalar_one())
        if inspect(conn).has_table("facet_rollups"):
            rollup_rows += int(
                conn.exec_driver_sql("SELECT count(*) FROM facet_rollups").scalar_one()
            )
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: statistics, and the visibility map that
        # index-only scans need (VACUUM cannot run inside a transaction).
        with engine.connect() as auto:
            auto.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    steps["finish"] = time.perf_counter() - t0
    return Summary(
        mentions=n,
        matched=matched_n,
        links=links,
        authors=len(author_rows),
        sources=len(specs),
        rollups=rollup_rows,
        steps=steps,
    )


def watches_svc_list(conn: Any, workspace_id: int) -> list[Any]:
    from flocon.storage.queries import watches as wq

    return sorted(wq.list_all(conn, workspace_id), key=lambda w: w.id)


def database_size(engine: Engine) -> int:
    """Bytes the database takes (SQLite: file + WAL; PostgreSQL: pg_database_size)."""
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def iter_lines(summary: Summary, engine: Engine, total_s: float) -> Iterator[str]:
    yield (
        f"generated {summary.mentions:,} mentions ({summary.matched:,} original matched, "
        f"{summary.links:,} watch links), {summary.authors:,} authors, {summary.sources} "
        f"sources, {summary.rollups:,} rollup rows (per watch and facets) on {engine.dialect.name} in {total_s:.0f} s; "
        f"database {database_size(engine) / 2**20:,.0f} MiB"
    )
    for step, seconds in summary.steps.items():
        yield f"  {step:<24} {seconds:8.1f} s"
    rate = summary.mentions / max(summary.steps.get("mentions", 0.0), 1e-9)
    yield f"  mentions stored at {rate:,.0f}/s (with their watch links, tags, full-text index)"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FLOCON_DATABASE_URL"),
        help="a new database (default: $FLOCON_DATABASE_URL)",
    )
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set FLOCON_DATABASE_URL")
    from flocon.settings import Settings
    from flocon.storage.engine import build_engine

    engine = build_engine(Settings(database_url=args.database_url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _big_cache(dbapi_connection: Any, _record: Any) -> None:
            # The generator's own connections only: a 1 GiB page cache for the bulk load.
            dbapi_connection.execute("PRAGMA cache_size=-1048576")

    t0 = time.perf_counter()
    summary = generate(
        engine, mentions_n=args.mentions, days=args.days, seed=args.seed, datasets=args.datasets
    )
    for line in iter_lines(summary, engine, time.perf_counter() - t0):
        print(line, flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
