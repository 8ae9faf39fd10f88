"""SQL of the inbox automation: inbox rules as stored, the cursor of mentions the rules have
seen, the new mentions a check reads (with what the rules look at), and the overdue cases an
escalation marks.

Plain reads and writes on a connection; what a rule means lives in
:mod:`flocon.services.cases.rules`, what a check does in :mod:`flocon.services.cases.automation`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from flocon.storage.queries.mention_lists import not_muted
from flocon.storage.queries.mentions import chunks, one_of
from flocon.storage.tables import (
    author_scores,
    authors,
    cases,
    inbox_rules,
    inbox_settings,
    mention_watches,
    mentions,
    sources,
    users,
)

# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleRow:
    """An inbox rule as stored (``conditions`` and ``actions`` decoded, not yet checked)."""

    id: int
    workspace_id: int
    name: str
    position: int
    enabled: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


def _rule(row: Any) -> RuleRow:
    return RuleRow(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        position=row.position,
        enabled=bool(row.enabled),
        conditions=json.loads(row.conditions or "{}"),
        actions=json.loads(row.actions or "{}"),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_rules(conn: Connection, workspace_id: int, *, enabled_only: bool = False) -> list[RuleRow]:
    """The workspace's rules in the order they run (position, then age)."""
    stmt = select(inbox_rules).where(inbox_rules.c.workspace_id == workspace_id)
    if enabled_only:
        stmt = stmt.where(inbox_rules.c.enabled.is_(True))
    rows = conn.execute(stmt.order_by(inbox_rules.c.position, inbox_rules.c.id))
    return [_rule(r) for r in rows]


def get_rule(conn: Connection, workspace_id: int, rule_id: int) -> RuleRow | None:
    row = conn.execute(
        select(inbox_rules).where(
            inbox_rules.c.workspace_id == workspace_id, inbox_rules.c.id == rule_id
        )
    ).first()
    return None if row is None else _rule(row)


def find_rule(conn: Connection, workspace_id: int, name: str) -> RuleRow | None:
    row = conn.execute(
        select(inbox_rules).where(
            inbox_rules.c.workspace_id == workspace_id, inbox_rules.c.name == name
        )
    ).first()
    return None if row is None else _rule(row)


def next_position(conn: Connection, workspace_id: int) -> int:
    top = conn.execute(
        select(func.max(inbox_rules.c.position)).where(inbox_rules.c.workspace_id == workspace_id)
    ).scalar()
    return 0 if top is None else int(top) + 1


def _encoded(values: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for key in ("conditions", "actions"):
        if key in row:
            row[key] = json.dumps(row[key], sort_keys=True)
    return row


def insert_rule(conn: Connection, workspace_id: int, values: Mapping[str, Any]) -> int:
    rule_id: int = conn.execute(
        insert(inbox_rules)
        .values(workspace_id=workspace_id, **_encoded(values))
        .returning(inbox_rules.c.id)
    ).scalar_one()
    return rule_id


def update_rule(conn: Connection, rule_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(inbox_rules).where(inbox_rules.c.id == rule_id).values(**_encoded(values)))


def delete_rule(conn: Connection, rule_id: int) -> None:
    conn.execute(delete(inbox_rules).where(inbox_rules.c.id == rule_id))


# -- the cursor of seen mentions ----------------------------------------------------------------


def read_cursor(conn: Connection, workspace_id: int, *, lock: bool = False) -> int | None:
    """The last mention id the rules have seen (None: never ran; 0: from the first mention).
    ``lock`` holds the settings row until the transaction ends (PostgreSQL), so two checks
    never run the same batch."""
    stmt = select(inbox_settings.c.last_mention_id).where(
        inbox_settings.c.workspace_id == workspace_id
    )
    if lock:
        stmt = stmt.with_for_update()
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def set_cursor(conn: Connection, workspace_id: int, value: int, now: datetime) -> None:
    """Move the cursor (the settings row is created with its defaults when missing)."""
    changed = conn.execute(
        update(inbox_settings)
        .where(inbox_settings.c.workspace_id == workspace_id)
        .values(last_mention_id=value)
    ).rowcount
    if not changed:
        conn.execute(
            insert(inbox_settings).values(
                workspace_id=workspace_id, last_mention_id=value, updated_at=now
            )
        )


def max_mention_id(conn: Connection) -> int:
    """The highest mention id of the whole database (ids are shared by every workspace)."""
    return int(conn.execute(select(func.max(mentions.c.id))).scalar() or 0)


def batch_end(
    conn: Connection, workspace_id: int, *, after: int, settled_before: datetime, limit: int
) -> int | None:
    """The last mention id of the next batch after ``after``: at most ``limit`` mentions of the
    workspace, stopping before the first one stored at or after ``settled_before`` (a batch
    still being written may hold lower ids). None when there is none."""
    rows = conn.execute(
        select(mentions.c.id, mentions.c.collected_at)
        .where(mentions.c.workspace_id == workspace_id, mentions.c.id > after)
        .order_by(mentions.c.id)
        .limit(limit)
    ).all()
    end: int | None = None
    for mention_id, collected_at in rows:
        if collected_at >= settled_before:
            break
        end = int(mention_id)
    return end


# -- what the rules look at -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleMention:
    """What an inbox rule can look at in one mention (empty strings: unknown).

    ``author_key`` is the author's key as mutes store it; ``influence`` the author's best
    network score (0-100) in the workspace, when computed; ``watch_ids`` the watches it matched.
    """

    id: int
    text: str
    title: str = ""
    url: str = ""
    site: str = ""
    author_handle: str = ""
    author_name: str = ""
    author_key: str | None = None
    lang: str = ""
    source_kind: str = ""
    country: str = ""
    sentiment: str | None = None
    needs_answer: bool | None = None
    followers: int | None = None
    influence: float | None = None
    watch_ids: frozenset[int] = frozenset()
    occurred_at: datetime | None = None


_COLUMNS = (
    mentions.c.id,
    mentions.c.text,
    mentions.c.title,
    mentions.c.url,
    mentions.c.site,
    mentions.c.author_id,
    mentions.c.author_handle,
    mentions.c.author_name,
    authors.c.key.label("author_key"),
    authors.c.followers,
    mentions.c.lang,
    sources.c.kind.label("source_kind"),
    mentions.c.country,
    mentions.c.sentiment,
    mentions.c.needs_answer,
    mentions.c.occurred_at,
)


def _eligible(conn: Connection, workspace_id: int) -> list[ColumnElement[bool]]:
    """Original mentions of the workspace that matched a watch, muted ones left out."""
    return [
        mentions.c.workspace_id == workspace_id,
        mentions.c.duplicate_of.is_(None),
        select(mention_watches.c.mention_id)
        .where(mention_watches.c.mention_id == mentions.c.id)
        .exists(),
        *not_muted(conn, workspace_id),
    ]


def _records(conn: Connection, workspace_id: int, rows: Sequence[Any]) -> list[RuleMention]:
    ids = [int(r.id) for r in rows]
    watched: dict[int, set[int]] = {}
    for part in chunks(ids):
        for mention_id, watch_id in conn.execute(
            select(mention_watches.c.mention_id, mention_watches.c.watch_id).where(
                one_of(conn, mention_watches.c.mention_id, part)
            )
        ):
            watched.setdefault(int(mention_id), set()).add(int(watch_id))
    author_ids = sorted({int(r.author_id) for r in rows if r.author_id is not None})
    scores: dict[int, float] = {}
    for part in chunks(author_ids):
        for author_id, score in conn.execute(
            select(author_scores.c.author_id, func.max(author_scores.c.score))
            .where(
                author_scores.c.workspace_id == workspace_id,
                one_of(conn, author_scores.c.author_id, part),
            )
            .group_by(author_scores.c.author_id)
        ):
            scores[int(author_id)] = float(score)
    return [
        RuleMention(
            id=int(r.id),
            text=r.text,
            title=r.title or "",
            url=r.url or "",
            site=r.site or "",
            author_handle=r.author_handle or "",
            author_name=r.author_name or "",
            author_key=r.author_key,
            lang=r.lang or "",
            source_kind=r.source_kind,
            country=r.country or "",
            sentiment=r.sentiment,
            needs_answer=r.needs_answer,
            followers=None if r.followers is None else int(r.followers),
            influence=scores.get(int(r.author_id)) if r.author_id is not None else None,
            watch_ids=frozenset(watched.get(int(r.id), ())),
            occurred_at=r.occurred_at,
        )
        for r in rows
    ]


def _select() -> Any:
    return select(*_COLUMNS).select_from(
        mentions.join(sources, sources.c.id == mentions.c.source_id).outerjoin(
            authors, authors.c.id == mentions.c.author_id
        )
    )


def new_mentions(
    conn: Connection, workspace_id: int, *, after: int, until: int
) -> list[RuleMention]:
    """The mentions a check applies the rules to, ids in (``after``, ``until``], in id order."""
    rows = conn.execute(
        _select()
        .where(*_eligible(conn, workspace_id), mentions.c.id > after, mentions.c.id <= until)
        .order_by(mentions.c.id)
    ).all()
    return _records(conn, workspace_id, rows)


def recent_mentions(
    conn: Connection, workspace_id: int, *, since: datetime, until: datetime, limit: int
) -> list[RuleMention]:
    """The mentions a simulation replays: occurred in (``since``, ``until``], newest first."""
    rows = conn.execute(
        _select()
        .where(
            *_eligible(conn, workspace_id),
            mentions.c.occurred_at > since,
            mentions.c.occurred_at <= until,
        )
        .order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc())
        .limit(limit)
    ).all()
    return _records(conn, workspace_id, rows)


def data_span(conn: Connection, workspace_id: int) -> tuple[datetime | None, datetime | None]:
    """(oldest, newest) ``occurred_at`` of the workspace's mentions (aggregates: raw values)."""
    oldest, newest = conn.execute(
        select(func.min(mentions.c.occurred_at), func.max(mentions.c.occurred_at)).where(
            mentions.c.workspace_id == workspace_id
        )
    ).one()
    return oldest, newest


def mentions_with_cases(conn: Connection, workspace_id: int, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for part in chunks(list(ids)):
        found.update(
            int(i)
            for i in conn.execute(
                select(cases.c.mention_id).where(
                    cases.c.workspace_id == workspace_id, one_of(conn, cases.c.mention_id, part)
                )
            ).scalars()
        )
    return found


# -- escalation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverdueCase:
    """An active case past a due time, not escalated yet."""

    id: int
    title: str
    priority: str
    watch_id: int | None
    assignee: str | None
    created_at: datetime
    first_response_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None


def to_escalate(conn: Connection, workspace_id: int, now: datetime) -> list[OverdueCase]:
    """Active cases waiting past their first-response (unanswered) or resolution due time,
    never escalated, oldest first."""
    rows = conn.execute(
        select(
            cases.c.id,
            cases.c.title,
            cases.c.priority,
            cases.c.watch_id,
            users.c.email.label("assignee"),
            cases.c.created_at,
            cases.c.first_response_at,
            cases.c.first_response_due_at,
            cases.c.resolution_due_at,
        )
        .select_from(cases.outerjoin(users, users.c.id == cases.c.assignee_id))
        .where(
            cases.c.workspace_id == workspace_id,
            cases.c.status.in_(["new", "open", "waiting"]),
            cases.c.escalated_at.is_(None),
            or_(
                and_(cases.c.first_response_at.is_(None), cases.c.first_response_due_at < now),
                cases.c.resolution_due_at < now,
            ),
        )
        .order_by(cases.c.id)
    ).all()
    return [OverdueCase(**r._asdict()) for r in rows]


def mark_escalated(conn: Connection, case_id: int, now: datetime) -> bool:
    """Set ``escalated_at`` once; False when another check did it first. The version is left
    alone: an escalation is not an edit that should make an agent's open form stale."""
    done = conn.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.escalated_at.is_(None))
        .values(escalated_at=now)
    )
    return done.rowcount == 1
