"""Use cases on watches: add, edit, remove, backfill against stored history, and preview
what a query would select before it is saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from flocon.domain.models import MatchInput, Mention, Watch, WatchKind
from flocon.domain.query import parse, prepare
from flocon.errors import FloconError
from flocon.services.ingest import match_input_from_row
from flocon.services.matching import lang_allows
from flocon.storage.engine import read, write
from flocon.storage.queries import mention_lists as mlq
from flocon.storage.queries import mentions as mq
from flocon.storage.queries import watches as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mentions, sources


def parse_langs(value: str | None) -> tuple[str, ...]:
    """``"fr, en"`` → ``("fr", "en")``; language codes are ISO 639-1 like ``fr``."""
    if not value:
        return ()
    langs = tuple(dict.fromkeys(x.strip().lower() for x in value.split(",") if x.strip()))
    for lang in langs:
        if not (2 <= len(lang) <= 3 and lang.isalpha()):
            raise FloconError(f"invalid language code {lang!r}: use codes like fr, en, de")
    return langs


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise FloconError("a watch name must have between 1 and 200 characters")
    return name


def list_watches(engine: Engine, workspace: str) -> list[tuple[Watch, int]]:
    """Watches of a workspace with their number of linked mentions."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        counts = q.mention_counts(conn, ws.id)
        return [(w, counts.get(w.id, 0)) for w in q.list_all(conn, ws.id)]


def get_watch(engine: Engine, workspace: str, name: str) -> tuple[Watch, int]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch = q.get_by_name(conn, ws.id, name)
        return watch, q.mention_counts(conn, ws.id).get(watch.id, 0)


def add_watch(
    engine: Engine,
    workspace: str,
    *,
    name: str,
    query: str,
    kind: WatchKind = WatchKind.BRAND,
    group: str | None = None,
    langs: Sequence[str] = (),
) -> Watch:
    """Create a watch; an invalid query raises ``QuerySyntaxError``."""
    parse(query)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.create(
            conn,
            ws.id,
            name=_check_name(name),
            query=query.strip(),
            kind=kind,
            group=(group or "").strip() or None,
            langs=langs,
        )


def edit_watch(
    engine: Engine,
    workspace: str,
    name: str,
    *,
    new_name: str | None = None,
    query: str | None = None,
    kind: WatchKind | None = None,
    group: str | None = None,
    langs: Sequence[str] | None = None,
) -> Watch:
    """Change the given fields of a watch; ``group=""`` clears its group."""
    fields: dict[str, object] = {}
    if query is not None:
        parse(query)
        fields["query"] = query.strip()
    if new_name is not None:
        fields["name"] = _check_name(new_name)
    if kind is not None:
        fields["kind"] = kind.value
    if group is not None:
        fields["group_name"] = group.strip() or None
    if langs is not None:
        fields["langs"] = ",".join(langs)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch = q.get_by_name(conn, ws.id, name)
        if not fields:
            return watch
        return q.update_fields(conn, watch.id, **fields)


def remove_watch(engine: Engine, workspace: str, name: str) -> None:
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        q.remove(conn, q.get_by_name(conn, ws.id, name).id)


@dataclass(frozen=True, slots=True)
class BackfillResult:
    scanned: int
    linked: int
    unlinked: int
    total: int


def backfill_watch(
    engine: Engine,
    workspace: str,
    name: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Match a watch against every stored item of its workspace.

    Links the items it matches and unlinks those it no longer matches (after an
    edit), so the watch's mentions are exactly what its query selects.
    """
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch = q.get_by_name(conn, ws.id, name)
        query = parse(watch.query)
        langs = frozenset(watch.langs)
        already = q.linked_mention_ids(conn, watch.id)
        matched: set[int] = set()
        scanned = 0
        for row in mq.iter_for_matching(conn, ws.id):
            scanned += 1
            item = match_input_from_row(row)
            if lang_allows(langs, item.lang) and query.matches(prepare(item)):
                matched.add(row.id)
            if progress is not None and scanned % 1000 == 0:
                progress(scanned)
    to_link = matched - already
    to_unlink = already - matched
    with write(engine) as conn:
        current = q.get_by_id(conn, watch.id)
        if current.query != watch.query:
            raise FloconError(f"watch {name!r} changed during the backfill; run it again")
        q.link(conn, ((m, watch.id) for m in sorted(to_link)))
        q.unlink(conn, watch.id, sorted(to_unlink))
    if progress is not None:
        progress(scanned)
    return BackfillResult(
        scanned=scanned, linked=len(to_link), unlinked=len(to_unlink), total=len(matched)
    )


# --------------------------------------------------------------------------- preview

#: Days of stored data a query preview estimates its daily volume on.
PREVIEW_DAYS = 30
#: Mentions a preview shows (the newest it matches).
PREVIEW_LIMIT = 20
#: Stored mentions a preview matches at most (the newest first), so it answers in well under
#: a second however large the workspace; beyond, the estimate covers a shorter period.
PREVIEW_MAX_SCAN = 20_000


@dataclass(frozen=True, slots=True)
class QueryPreview:
    """What a query would select among stored mentions, before it is saved.

    ``mentions``: the newest matches (originals, not duplicates), newest first.
    ``matched``: the original mentions it matches from ``since`` to ``until``;
    ``per_day``: ``matched`` spread over that period (at least one day when every stored
    mention of the period was scanned). ``since`` is the start of the window, or of the
    stored data when it is younger; ``complete`` is False when the scan stopped at its cap:
    ``since`` is then the time of the oldest mention scanned.
    """

    mentions: list[Mention]
    matched: int
    scanned: int
    since: datetime
    until: datetime
    per_day: float
    complete: bool


def preview_query(
    engine: Engine,
    workspace: str,
    query: str,
    *,
    langs: Sequence[str] = (),
    limit: int = PREVIEW_LIMIT,
    days: int = PREVIEW_DAYS,
    max_scan: int = PREVIEW_MAX_SCAN,
    now: datetime | None = None,
) -> QueryPreview:
    """Match ``query`` (and ``langs``, as a watch would) against the stored mentions of the
    last ``days`` days of data, newest first, and estimate its daily volume.

    "The last days of data" end at the newest stored mention (or ``now`` when it is
    later), so a workspace filled with older data (a replayed corpus) still previews.
    Raises ``QuerySyntaxError`` for an invalid query. Nothing is written.
    """
    parsed = parse(query)
    allowed = frozenset(langs)
    now = now or datetime.now(UTC)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        newest, oldest = conn.execute(
            select(func.max(mentions.c.occurred_at), func.min(mentions.c.occurred_at)).where(
                mentions.c.workspace_id == ws.id
            )
        ).one()
        until = _aware(newest) if newest is not None and _aware(newest) < now else now
        since = until - timedelta(days=days)
        stmt = (
            select(
                mentions.c.id,
                mentions.c.text,
                mentions.c.title,
                mentions.c.url,
                mentions.c.site,
                mentions.c.author_handle,
                mentions.c.author_name,
                mentions.c.lang,
                sources.c.kind,
                mentions.c.country,
                mentions.c.occurred_at,
            )
            .join(sources, sources.c.id == mentions.c.source_id)
            .where(
                mentions.c.workspace_id == ws.id,
                mentions.c.occurred_at > since,
                mentions.c.occurred_at <= until,
                mentions.c.duplicate_of.is_(None),
            )
            .order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc())
            .limit(max_scan)
        )
        scanned = 0
        matched = 0
        shown: list[int] = []
        last_at: datetime | None = None
        for row in conn.execute(stmt):
            scanned += 1
            last_at = row.occurred_at
            item = MatchInput(
                text=row.text,
                title=row.title or "",
                url=row.url or "",
                site=row.site or "",
                author_handle=row.author_handle or "",
                author_name=row.author_name or "",
                lang=row.lang or "",
                source=row.kind,
                country=row.country or "",
            )
            if lang_allows(allowed, item.lang) and parsed.matches(prepare(item)):
                matched += 1
                if len(shown) < limit:
                    shown.append(int(row.id))
        found = mlq.by_ids(conn, ws.id, shown)
    complete = scanned < max_scan
    if complete:
        # A workspace younger than the window: the estimate covers the data there is.
        since = max(since, _aware(oldest)) if oldest is not None else since
        period = max((until - since) / timedelta(days=1), 1.0)
    else:
        assert last_at is not None
        since = _aware(last_at)
        period = max((until - since) / timedelta(days=1), 1 / 24)
    return QueryPreview(
        mentions=[found[i] for i in shown if i in found],
        matched=matched,
        scanned=scanned,
        since=since,
        until=until,
        per_day=matched / period,
        complete=complete,
    )


def _aware(value: datetime) -> datetime:
    """Aggregates (min, max) bypass the column type: SQLite gives naive UTC (or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
