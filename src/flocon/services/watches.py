"""Use cases on watches: add, edit, remove, and backfill against stored history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from flocon.domain.models import Watch, WatchKind
from flocon.domain.query import parse, prepare
from flocon.errors import FloconError
from flocon.services.ingest import match_input_from_row
from flocon.services.matching import lang_allows
from flocon.storage.engine import read, write
from flocon.storage.queries import mentions as mq
from flocon.storage.queries import watches as q
from flocon.storage.queries import workspaces as wsq


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
