"""The data of ``flocon demo``: a separate SQLite database filled with bundled public tweets
replayed through the real pipeline, so that every page shows real content at once.

What :func:`prepare_demo` builds, in its own file (never the user's database):

* a workspace ``demo`` whose sentiment profile is ``fast`` (the n-gram model, thousands of
  texts per second: the ``accurate`` profile reads about 14 texts a second on two cores, far too
  slow for a demo that must be ready within a minute; ``flocon workspace set-profile demo
  accurate`` and ``flocon reanalyze -w demo`` switch it later);
* four watches, Apple, Google, Microsoft and Twitter, in one group (``Brands``: share of voice);
* about 1,500 tweets of October 2011 about those brands (``samples/sanders-demo.jsonl``, from the
  Sanders Analytics corpus, see ``samples/NOTICE``), their timestamps shifted so that the last
  one lands just before now. The real timeline is kept: the corpus collected each brand in its
  own window, so each watch goes quiet and bursts as it did;
* a simulated clock stepping through that timeline every :data:`STEP`: at each step the tweets
  published before it are ingested (language, sentiment, watch matching, rollups: the ingest
  service) and the detectors run at that moment (:func:`flocon.services.signals.evaluate`), as
  the scheduler would have run them live. Every alert comes from them; none is written by hand;
* influence scores of the workspace (:func:`flocon.services.influence.compute_influence`).
  The corpus does not say who wrote a tweet. A retweet, though, names the author of the words
  it repeats (``RT @twandroid: …``), and flocon stores a repost as the post it repeats (as the
  Mastodon connector does with a reblog): those tweets get that author and that text. Every
  other tweet stays without an author — none is invented.

The database is built under a temporary name and renamed when complete: a demo killed half-way
is never mistaken for a finished one (its leftover is removed at the next run). A finished demo
is reused as it is; ``reset=True`` deletes it and builds it again.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from flocon.domain.models import AuthorRef, Draft, WatchKind
from flocon.errors import ConfigError
from flocon.services import analysis as analysis_svc
from flocon.services import influence as influence_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.cases import automation
from flocon.services.replay import read_drafts, run_clock
from flocon.settings import Settings, default_data_dir, redact_url
from flocon.storage import migrate
from flocon.storage.engine import build_engine, read, write
from flocon.storage.queries import inbox_rules as inbox_q
from flocon.storage.queries import influence as iq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import (
    alerts,
    cases,
    mention_watches,
    mentions,
    sources,
    watches,
    workspaces,
)

__all__ = [
    "DemoSummary",
    "Progress",
    "demo_database_url",
    "demo_settings",
    "prepare_demo",
]

SAMPLE: Final = "sanders-demo.jsonl"
SOURCE: Final = ("twitter", "sanders-2011")
WORKSPACE: Final = "demo"
GROUP: Final = "Brands"
PROFILE: Final = "fast"
#: (name, query, kind): the Sanders corpus collected ``@apple``, ``#google``, ``#microsoft`` and
#: ``#twitter``; the queries find those and the products people named in October 2011.
WATCHES: Final[tuple[tuple[str, str, WatchKind], ...]] = (
    (
        "Apple",
        "(apple OR iphone* OR ipad* OR ipod* OR ios OR ios5 OR siri OR mac OR macbook* "
        'OR itunes OR icloud) -"big apple" -"apple pie"',
        WatchKind.BRAND,
    ),
    (
        "Google",
        'google OR android OR "ice cream sandwich" OR #icecreamsandwich OR #ics OR nexus '
        "OR #galaxynexus OR gmail",
        WatchKind.COMPETITOR,
    ),
    (
        "Microsoft",
        "microsoft OR windows OR ballmer OR #wp7 OR #windowsphone OR xbox OR skype OR bing",
        WatchKind.COMPETITOR,
    ),
    ("Twitter", "twitter OR tweetdeck", WatchKind.COMPETITOR),
)
#: Simulated time between two runs of the detectors. The scheduler checks every minute; ten
#: minutes finds the same episodes (the scan looks at every window of the last two hours) and
#: keeps the five days of the corpus to about 700 checks.
STEP: Final = timedelta(minutes=10)
#: The last tweet is published this long before ``now``.
LEAD: Final = timedelta(minutes=1)
FILE_NAME: Final = "demo.db"
_PARTIAL: Final = ".partial"
_SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")

#: ``progress(stage, done, total)``; stages: ``import`` (tweets stored), ``signals`` (steps of the
#: simulated clock whose detectors ran), ``influence`` (0 then 1 of 1).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds. ``mentions`` counts the tweets that matched a watch;
    ``shifted_by`` is how much later than in 2011 the tweets are dated."""

    database_url: str
    workspace: str
    mentions: int
    watches: tuple[str, ...]
    alerts: int
    authors_scored: int
    shifted_by: timedelta
    cases: int = 0


def _sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite file URL; None for another backend or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def demo_database_url(settings: Settings) -> str:
    """``demo.db`` in the folder of the user's SQLite database (the data directory when the
    database is PostgreSQL or in memory); never the user's database itself."""
    own = _sqlite_file(settings.database_url)
    folder = own.parent if own is not None else default_data_dir().resolve()
    path = folder / FILE_NAME
    if path == own:
        path = folder / f"flocon-{FILE_NAME}"
    return f"sqlite:///{path}"


def demo_settings(settings: Settings, *, database_url: str | None = None) -> Settings:
    """The settings the demo runs with: ``settings`` on the demo database, analysing on
    ingest, with its own model folder (a model retrained for a real workspace named ``demo``
    must not be used)."""
    url = database_url or demo_database_url(settings)
    path = _sqlite_file(url)
    if path is None:
        raise ConfigError(f"the demo runs on a SQLite file, not {url!r}")
    own = _sqlite_file(settings.database_url)
    if path == own or url == settings.database_url:
        raise ConfigError(f"the demo needs its own database, not yours ({redact_url(url)})")
    return settings.model_copy(
        update={
            "database_url": f"sqlite:///{path}",
            "analyze_on_ingest": True,
            "model_dir": path.parent / f"{path.stem}-models",
        }
    )


def prepare_demo(
    settings: Settings,
    *,
    reset: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    database_url: str | None = None,
    limit: int | None = None,
) -> DemoSummary:
    """Build the demo database (see the module's docstring), or return the summary of the one
    already built. Takes about half a minute on two cores.

    ``database_url`` replaces :func:`demo_database_url` (a SQLite file URL); ``now`` is when the
    last tweet is due (default: now); ``limit`` keeps only the most recent tweets (quick looks,
    tests).
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    demo = demo_settings(settings, database_url=database_url)
    path = _sqlite_file(demo.database_url)
    assert path is not None
    if reset:
        _remove(path)
    if path.exists():
        return _summary(demo)
    partial = path.with_name(path.name + _PARTIAL)
    _remove(partial)  # a build killed earlier
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    building = demo.model_copy(update={"database_url": f"sqlite:///{partial}"})
    engine = build_engine(building)
    try:
        _build(engine, building, now=moment, limit=limit, progress=progress or _silent)
    finally:
        engine.dispose()
    _remove(path)  # stale side files of a database deleted by hand
    for suffix in (*_SQLITE_SIDE_FILES, ""):  # the database itself last: it means "finished"
        side = partial.with_name(partial.name + suffix)
        if side.exists():
            os.replace(side, path.with_name(path.name + suffix))
    return _summary(demo)


def _silent(stage: str, done: int, total: int) -> None:
    del stage, done, total


def _remove(path: Path) -> None:
    for suffix in (*_SQLITE_SIDE_FILES, ""):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


#: A retweet as Twitter wrote it in 2011: "RT @handle: the words of @handle".
_RETWEET: Final = re.compile(r"^\s*RT\s+@(\w{1,15}):?\s+(.+)$", re.DOTALL)


def as_reposted(draft: Draft) -> Draft:
    """A retweet stored as the tweet it repeats: its author is the one the ``RT @handle``
    names (the innermost, for a retweet of a retweet) and its text theirs. Anything else is
    returned unchanged."""
    handle: str | None = None
    text = draft.text
    while (found := _RETWEET.match(text)) is not None:
        handle, text = found.group(1), found.group(2).strip()
    if handle is None or not text:
        return draft
    return replace(draft, text=text, author=AuthorRef(handle=handle))


def _sample() -> list[Draft]:
    sample = resources.files("flocon.samples").joinpath(SAMPLE)
    with resources.as_file(sample) as file:
        drafts, rejected = read_drafts(Path(file))
    if rejected or not drafts:
        raise ConfigError(f"the bundled {SAMPLE} is damaged ({rejected} unreadable records)")
    return [as_reposted(d) for d in drafts]


def _shift(drafts: Sequence[Draft], now: datetime) -> list[Draft]:
    """The drafts dated so that the last one is published :data:`LEAD` before ``now``
    (a whole number of seconds later than in the sample)."""
    last = drafts[-1].published_at
    assert last is not None
    shift = timedelta(seconds=math.floor((now - LEAD - last).total_seconds()))
    return [replace(d, published_at=(d.published_at or last) + shift) for d in drafts]


def _ticks(first: datetime, now: datetime) -> list[datetime]:
    """Every :data:`STEP` after ``first``, ending at ``now`` exactly: the detectors never run
    in the future of the real clock, which takes over from there."""
    steps = math.ceil((now - first) / STEP)
    return [now - k * STEP for k in range(steps - 1, -1, -1)]


def _build(
    engine: Engine, settings: Settings, *, now: datetime, limit: int | None, progress: Progress
) -> None:
    migrate.upgrade(engine)
    workspaces_svc.add_workspace(engine, WORKSPACE)
    analysis_svc.set_profile(engine, WORKSPACE, PROFILE)
    for name, query, kind in WATCHES:
        watches_svc.add_watch(engine, WORKSPACE, name=name, query=query, kind=kind, group=GROUP)
    with write(engine) as conn:
        # The inbox starts before the first tweet: the replayed ones are all new to it.
        inbox_q.set_cursor(conn, wsq.get_by_name(conn, WORKSPACE).id, 0, now)
    drafts = _sample()
    if limit is not None:
        drafts = drafts[-max(limit, 1) :]
    drafts = _shift(drafts, now)
    first = drafts[0].published_at
    assert first is not None
    ticks = _ticks(first, now)
    progress("import", 0, len(drafts))
    progress("signals", 0, len(ticks))
    done = 0
    for step, tick in enumerate(run_clock(engine, settings, WORKSPACE, drafts, ticks), 1):
        if tick.done > done:
            done = tick.done
            progress("import", done, len(drafts))
        progress("signals", step, len(ticks))
    progress("influence", 0, 1)
    influence_svc.compute_influence(engine, WORKSPACE)
    progress("influence", 1, 1)
    # Suggested cases for the tweets that ask or complain, as the running inbox check would
    # open them (once every tweet has settled).
    settled = max(now, datetime.now(UTC)) + timedelta(seconds=automation.SETTLE_S + 1)
    automation.check_workspace(engine, settings, WORKSPACE, now=settled)


def _holds_demo(engine: Engine) -> bool:
    """Whether the database has the demo workspace (read before migrating: a file that is not
    a demo is left as it is)."""
    try:
        with read(engine) as conn:
            found = conn.execute(
                select(workspaces.c.id).where(workspaces.c.name == WORKSPACE)
            ).first()
    except DatabaseError:
        return False  # not a flocon database at all
    return found is not None


def _summary(settings: Settings) -> DemoSummary:
    engine = build_engine(settings)
    try:
        if not _holds_demo(engine):
            raise ConfigError(
                f"{settings.database_url} holds no demo: reset it to build the demo again"
            )
        migrate.upgrade(engine)  # a demo built by an older flocon
        with read(engine) as conn:
            ws = wsq.get_by_name(conn, WORKSPACE)
            names = tuple(w.name for w in wq.list_all(conn, ws.id))
            matched = conn.execute(
                select(func.count(func.distinct(mention_watches.c.mention_id)))
                .join(watches, watches.c.id == mention_watches.c.watch_id)
                .where(watches.c.workspace_id == ws.id)
            ).scalar_one()
            alerted = conn.execute(
                select(func.count()).select_from(alerts).where(alerts.c.workspace_id == ws.id)
            ).scalar_one()
            last = conn.execute(
                select(func.max(mentions.c.published_at))
                .join(sources, sources.c.id == mentions.c.source_id)
                .where(
                    mentions.c.workspace_id == ws.id,
                    sources.c.kind == SOURCE[0],
                    sources.c.name == SOURCE[1],
                )
            ).scalar_one()
            scored = iq.scope_state(conn, ws.id, None)
            opened = conn.execute(
                select(func.count()).select_from(cases).where(cases.c.workspace_id == ws.id)
            ).scalar_one()
    finally:
        engine.dispose()
    original = _sample()[-1].published_at
    assert original is not None
    return DemoSummary(
        database_url=settings.database_url,
        workspace=WORKSPACE,
        mentions=int(matched),
        watches=names,
        alerts=int(alerted),
        authors_scored=scored.authors if scored is not None else 0,
        shifted_by=(last - original) if last is not None else timedelta(0),
        cases=int(opened),
    )
