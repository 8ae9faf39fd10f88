"""SQL for analysis results: mentions to (re)analyse, their updates, sentiment corrections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from flocon.storage.queries import rollups
from flocon.storage.queries.mentions import one_of
from flocon.storage.tables import mention_watches, mentions, sentiment_corrections


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    id: int
    text: str
    lang: str | None
    lang_detected: bool


def mentions_to_analyse(
    conn: Connection,
    workspace_id: int,
    *,
    after_id: int,
    limit: int,
    only_missing: bool,
    watch_id: int | None = None,
    since: datetime | None = None,
    include_unmatched: bool = False,
) -> list[AnalysisRow]:
    """The next ``limit`` mentions with an id above ``after_id`` (keyset paging, stable)."""
    stmt = (
        select(mentions.c.id, mentions.c.text, mentions.c.lang, mentions.c.lang_detected)
        .where(mentions.c.workspace_id == workspace_id, mentions.c.id > after_id)
        .order_by(mentions.c.id)
        .limit(limit)
    )
    if only_missing:
        stmt = stmt.where(mentions.c.analyzed_at.is_(None))
    if since is not None:
        stmt = stmt.where(mentions.c.occurred_at >= since)
    if watch_id is not None:
        stmt = stmt.where(
            mentions.c.id.in_(
                select(mention_watches.c.mention_id).where(mention_watches.c.watch_id == watch_id)
            )
        )
    elif not include_unmatched:
        stmt = stmt.where(
            select(mention_watches.c.mention_id)
            .where(mention_watches.c.mention_id == mentions.c.id)
            .exists()
        )
    return [
        AnalysisRow(id=r.id, text=r.text, lang=r.lang, lang_detected=bool(r.lang_detected))
        for r in conn.execute(stmt)
    ]


def count_to_analyse(
    conn: Connection, workspace_id: int, *, only_missing: bool, include_unmatched: bool = False
) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(mentions).where(mentions.c.workspace_id == workspace_id)
    if only_missing:
        stmt = stmt.where(mentions.c.analyzed_at.is_(None))
    if not include_unmatched:
        stmt = stmt.where(
            select(mention_watches.c.mention_id)
            .where(mention_watches.c.mention_id == mentions.c.id)
            .exists()
        )
    return int(conn.execute(stmt).scalar_one())


def store_results(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Update analysed mentions; each row has ``mid`` and the analysis columns.
    The rollups follow (old keys out, new keys in) in the same transaction."""
    if not rows:
        return
    ids = [int(r["mid"]) for r in rows]
    rollups.apply_mentions(conn, ids, -1)
    stmt = (
        update(mentions)
        .where(mentions.c.id == bindparam("mid"))
        .values(
            lang=bindparam("new_lang"),
            lang_detected=bindparam("new_lang_detected"),
            sentiment=bindparam("new_sentiment"),
            sentiment_score=bindparam("new_sentiment_score"),
            sentiment_confidence=bindparam("new_sentiment_confidence"),
            needs_answer=bindparam("new_needs_answer"),
            needs_answer_score=bindparam("new_needs_answer_score"),
            analyzed_at=bindparam("new_analyzed_at"),
            analysis_model=bindparam("new_analysis_model"),
        )
    )
    conn.execute(stmt, list(rows))
    _keep_corrections(conn, rows)
    rollups.apply_mentions(conn, ids, +1)


def _keep_corrections(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """A person's correction outlives re-analysis: the mention keeps the corrected label and
    the correction's ``previous`` becomes what the model says now."""
    model = {int(r["mid"]): r["new_sentiment"] for r in rows}
    ids = sorted(model)
    corrected: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stmt = select(sentiment_corrections.c.mention_id, sentiment_corrections.c.label).where(
            one_of(conn, sentiment_corrections.c.mention_id, chunk)
        )
        corrected.update((int(m), str(label)) for m, label in conn.execute(stmt))
    if not corrected:
        return
    conn.execute(
        update(sentiment_corrections)
        .where(sentiment_corrections.c.mention_id == bindparam("b_mid"))
        .values(previous=bindparam("b_previous")),
        [{"b_mid": m, "b_previous": model[m]} for m in sorted(corrected)],
    )
    conn.execute(
        update(mentions)
        .where(mentions.c.id == bindparam("b_mid"))
        .values(sentiment=bindparam("b_label")),
        [{"b_mid": m, "b_label": label} for m, label in sorted(corrected.items())],
    )


@dataclass(frozen=True, slots=True)
class Correction:
    mention_id: int
    text: str
    label: str
    lang: str | None
    previous: str | None
    corrected_at: datetime


def correct(
    conn: Connection,
    workspace_id: int,
    mention_id: int,
    *,
    label: str,
    by: str | None,
    now: datetime,
) -> str | None:
    """Store a person's label for a mention (replacing an earlier one); returns the model's label."""
    done = correct_many(conn, workspace_id, [mention_id], label=label, by=by, now=now)
    if mention_id not in done:
        from flocon.errors import NotFound

        raise NotFound(f"mention {mention_id} does not exist in this workspace")
    return done[mention_id]


def correct_many(
    conn: Connection,
    workspace_id: int,
    mention_ids: Sequence[int],
    *,
    label: str,
    by: str | None,
    now: datetime,
) -> dict[int, str | None]:
    """Store a person's label for mentions of the workspace (others are ignored); returns
    mention id → the model's label.

    The correction row keeps the model's label (``previous``), who and when (one row per
    mention: a new correction replaces the earlier one, whose ``previous`` it keeps). The
    mention's ``sentiment`` takes the corrected label and the rollups follow, in the
    caller's transaction.
    """
    ids = sorted(set(mention_ids))
    current: dict[int, str | None] = {}
    model: dict[int, str | None] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stmt = select(mentions.c.id, mentions.c.sentiment).where(
            mentions.c.workspace_id == workspace_id, one_of(conn, mentions.c.id, chunk)
        )
        current.update((int(i), s) for i, s in conn.execute(stmt))
        earlier = select(
            sentiment_corrections.c.mention_id, sentiment_corrections.c.previous
        ).where(one_of(conn, sentiment_corrections.c.mention_id, chunk))
        model.update((int(i), p) for i, p in conn.execute(earlier))
    found = sorted(current)
    if not found:
        return {}
    previous = {i: model[i] if i in model else current[i] for i in found}
    changed = [i for i in found if current[i] != label]
    for start in range(0, len(found), 500):
        chunk = found[start : start + 500]
        conn.execute(
            delete(sentiment_corrections).where(
                one_of(conn, sentiment_corrections.c.mention_id, chunk)
            )
        )
    conn.execute(
        insert(sentiment_corrections),
        [
            {
                "workspace_id": workspace_id,
                "mention_id": i,
                "label": label,
                "previous": previous[i],
                "corrected_by": by,
                "corrected_at": now,
            }
            for i in found
        ],
    )
    if changed:
        rollups.apply_mentions(conn, changed, -1)
        for start in range(0, len(changed), 500):
            chunk = changed[start : start + 500]
            conn.execute(
                update(mentions).where(one_of(conn, mentions.c.id, chunk)).values(sentiment=label)
            )
        rollups.apply_mentions(conn, changed, +1)
    return previous


def corrections(conn: Connection, workspace_id: int) -> list[Correction]:
    stmt = (
        select(
            sentiment_corrections.c.mention_id,
            sentiment_corrections.c.label,
            sentiment_corrections.c.previous,
            sentiment_corrections.c.corrected_at,
            mentions.c.text,
            mentions.c.lang,
        )
        .join(mentions, mentions.c.id == sentiment_corrections.c.mention_id)
        .where(sentiment_corrections.c.workspace_id == workspace_id)
        .order_by(sentiment_corrections.c.id)
    )
    return [
        Correction(
            mention_id=r.mention_id,
            text=r.text,
            label=r.label,
            lang=r.lang,
            previous=r.previous,
            corrected_at=r.corrected_at,
        )
        for r in conn.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class MentionCorrection:
    """A person's correction of one mention's sentiment: the label, what the model had said
    (``previous``), who and when."""

    mention_id: int
    label: str
    previous: str | None
    corrected_by: str | None
    corrected_at: datetime


def correction_of(conn: Connection, workspace_id: int, mention_id: int) -> MentionCorrection | None:
    """The correction of a mention of the workspace, or None when it was never corrected."""
    row = conn.execute(
        select(
            sentiment_corrections.c.label,
            sentiment_corrections.c.previous,
            sentiment_corrections.c.corrected_by,
            sentiment_corrections.c.corrected_at,
        ).where(
            sentiment_corrections.c.workspace_id == workspace_id,
            sentiment_corrections.c.mention_id == mention_id,
        )
    ).first()
    if row is None:
        return None
    return MentionCorrection(
        mention_id=mention_id,
        label=row.label,
        previous=row.previous,
        corrected_by=row.corrected_by,
        corrected_at=row.corrected_at,
    )
