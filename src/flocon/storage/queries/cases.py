"""SQL of the shared inbox: cases, their timeline, notes, replies, tags and presence.

Plain reads and writes on a connection; the rules (who may do what, transitions, risk,
response times) live in :mod:`flocon.services.cases`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, or_, select, update

from flocon.storage.tables import (
    alerts,
    author_scores,
    authors,
    case_events,
    case_notes,
    case_presence,
    case_replies,
    case_tags,
    cases,
    mention_watches,
    mentions,
    sources,
    users,
)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case as stored."""

    id: int
    workspace_id: int
    mention_id: int | None
    scope: str
    status: str
    ignored_reason: str | None
    priority: str
    assignee_id: int | None
    assignee: str | None
    watch_id: int | None
    channel: str
    lang: str | None
    origin: str
    title: str
    risk: float
    risk_factors: dict[str, Any]
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    escalated_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    case_id: int
    at: datetime
    user_id: int | None
    actor: str
    kind: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NoteRow:
    id: int
    case_id: int
    user_id: int | None
    author: str
    text: str
    mentioned: list[int]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    case_id: int
    mention_id: int | None
    user_id: int | None
    author: str
    text: str
    mode: str
    status: str
    url: str | None
    external_id: str | None
    error: str | None
    retryable: bool
    attempts: int
    tone: list[dict[str, Any]] | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class MentionFacts:
    """What a case needs to know about its mention: where it is, who wrote it, how risky."""

    id: int
    workspace_id: int
    text: str
    title: str | None
    url: str | None
    external_id: str
    parent_external_id: str | None
    parent_id: int | None
    source_kind: str
    source_target: str
    author_id: int | None
    author_handle: str | None
    author_name: str | None
    followers: int | None
    lang: str | None
    sentiment: str | None
    sentiment_score: float | None
    needs_answer: bool | None
    occurred_at: datetime
    watch_id: int | None


def _case(row: Any) -> CaseRow:
    return CaseRow(
        id=row.id,
        workspace_id=row.workspace_id,
        mention_id=row.mention_id,
        scope=row.scope,
        status=row.status,
        ignored_reason=row.ignored_reason,
        priority=row.priority,
        assignee_id=row.assignee_id,
        assignee=row.assignee,
        watch_id=row.watch_id,
        channel=row.channel,
        lang=row.lang,
        origin=row.origin,
        title=row.title,
        risk=float(row.risk),
        risk_factors=json.loads(row.risk_factors or "{}"),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        first_response_due_at=row.first_response_due_at,
        resolution_due_at=row.resolution_due_at,
        escalated_at=row.escalated_at,
        version=row.version,
    )


def _select_cases() -> Select[Any]:
    return select(cases, users.c.email.label("assignee")).select_from(
        cases.outerjoin(users, users.c.id == cases.c.assignee_id)
    )


def mention_facts(conn: Connection, workspace_id: int, mention_id: int) -> MentionFacts | None:
    first_watch = (
        select(func.min(mention_watches.c.watch_id))
        .where(mention_watches.c.mention_id == mentions.c.id)
        .scalar_subquery()
    )
    row = conn.execute(
        select(
            mentions.c.id,
            mentions.c.workspace_id,
            mentions.c.text,
            mentions.c.title,
            mentions.c.url,
            mentions.c.external_id,
            mentions.c.parent_external_id,
            mentions.c.parent_id,
            sources.c.kind.label("source_kind"),
            sources.c.target.label("source_target"),
            mentions.c.author_id,
            mentions.c.author_handle,
            mentions.c.author_name,
            authors.c.followers,
            mentions.c.lang,
            mentions.c.sentiment,
            mentions.c.sentiment_score,
            mentions.c.needs_answer,
            mentions.c.occurred_at,
            first_watch.label("watch_id"),
        )
        .select_from(
            mentions.join(sources, sources.c.id == mentions.c.source_id).outerjoin(
                authors, authors.c.id == mentions.c.author_id
            )
        )
        .where(mentions.c.id == mention_id, mentions.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        return None
    return MentionFacts(**row._asdict())


def snowball_score(conn: Connection, workspace_id: int, mention_id: int) -> float | None:
    """The highest snowball probability the detectors gave this mention, if any."""
    value = conn.execute(
        select(func.max(alerts.c.score)).where(
            alerts.c.workspace_id == workspace_id,
            alerts.c.kind == "snowball",
            alerts.c.key == str(mention_id),
        )
    ).scalar()
    return None if value is None else float(value)


def influence_score(conn: Connection, workspace_id: int, author_id: int) -> float | None:
    """The author's best stored network score (0-100) in the workspace, if computed."""
    value = conn.execute(
        select(func.max(author_scores.c.score)).where(
            author_scores.c.workspace_id == workspace_id, author_scores.c.author_id == author_id
        )
    ).scalar()
    return None if value is None else float(value)


def case_for_mention(conn: Connection, workspace_id: int, mention_id: int) -> int | None:
    value: int | None = conn.execute(
        select(cases.c.id).where(
            cases.c.workspace_id == workspace_id, cases.c.mention_id == mention_id
        )
    ).scalar()
    return value


def insert_case(conn: Connection, values: Mapping[str, Any]) -> int:
    row = dict(values)
    row["risk_factors"] = json.dumps(row.get("risk_factors") or {}, sort_keys=True)
    case_id: int = conn.execute(insert(cases).values(**row).returning(cases.c.id)).scalar_one()
    return case_id


def get_case(conn: Connection, workspace_id: int, case_id: int) -> CaseRow | None:
    row = conn.execute(
        _select_cases().where(cases.c.id == case_id, cases.c.workspace_id == workspace_id)
    ).first()
    return None if row is None else _case(row)


def update_case(
    conn: Connection,
    case_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    bump: bool = True,
) -> bool:
    """Apply ``values`` and bump the version (unless ``bump`` is False: a note or a tag does
    not conflict with a change of status); False when ``expected_version`` is stale."""
    row = dict(values)
    if "risk_factors" in row:
        row["risk_factors"] = json.dumps(row["risk_factors"], sort_keys=True)
    stmt = update(cases).where(cases.c.id == case_id)
    if expected_version is not None:
        stmt = stmt.where(cases.c.version == expected_version)
    if bump:
        row["version"] = cases.c.version + 1
    result = conn.execute(stmt.values(**row))
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class CaseConditions:
    """Filters of the inbox (None: any)."""

    statuses: Sequence[str] | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    watch_id: int | None = None
    priorities: Sequence[str] | None = None
    channel: str | None = None
    lang: str | None = None
    tag: str | None = None
    overdue_at: datetime | None = None
    #: Only cases whose notes @mention this user.
    mentioning: int | None = None


def cases_mentioning(conn: Connection, workspace_id: int, user_id: int) -> list[int]:
    """Ids of the workspace's cases with a note that @mentions ``user_id``."""
    rows = conn.execute(
        select(case_notes.c.case_id, case_notes.c.mentioned)
        .join(cases, cases.c.id == case_notes.c.case_id)
        .where(
            cases.c.workspace_id == workspace_id,
            case_notes.c.mentioned.contains(str(user_id)),
        )
    )
    return sorted({r.case_id for r in rows if user_id in json.loads(r.mentioned or "[]")})


def list_cases(conn: Connection, workspace_id: int, flt: CaseConditions) -> list[CaseRow]:
    where: list[Any] = [cases.c.workspace_id == workspace_id]
    if flt.statuses:
        where.append(cases.c.status.in_(list(flt.statuses)))
    if flt.unassigned:
        where.append(cases.c.assignee_id.is_(None))
    elif flt.assignee_id is not None:
        where.append(cases.c.assignee_id == flt.assignee_id)
    if flt.watch_id is not None:
        where.append(cases.c.watch_id == flt.watch_id)
    if flt.priorities:
        where.append(cases.c.priority.in_(list(flt.priorities)))
    if flt.channel:
        where.append(cases.c.channel == flt.channel)
    if flt.lang:
        where.append(cases.c.lang == flt.lang)
    if flt.tag:
        where.append(
            cases.c.id.in_(
                select(case_tags.c.case_id).where(
                    case_tags.c.workspace_id == workspace_id, case_tags.c.tag == flt.tag
                )
            )
        )
    if flt.overdue_at is not None:
        at = flt.overdue_at
        where.append(cases.c.status.in_(["new", "open", "waiting"]))
        where.append(
            or_(
                and_(cases.c.first_response_at.is_(None), cases.c.first_response_due_at < at),
                cases.c.resolution_due_at < at,
            )
        )
    if flt.mentioning is not None:
        where.append(cases.c.id.in_(cases_mentioning(conn, workspace_id, flt.mentioning) or [-1]))
    rows = conn.execute(_select_cases().where(*where).order_by(cases.c.id))
    return [_case(r) for r in rows]


def insert_event(
    conn: Connection,
    case_id: int,
    *,
    at: datetime,
    user_id: int | None,
    actor: str,
    kind: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(case_events).values(
            case_id=case_id,
            at=at,
            user_id=user_id,
            actor=actor,
            kind=kind,
            details=json.dumps(dict(details or {}), sort_keys=True, default=str),
        )
    )


def events(conn: Connection, case_id: int) -> list[EventRow]:
    rows = conn.execute(
        select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
    )
    return [
        EventRow(
            id=r.id,
            case_id=r.case_id,
            at=r.at,
            user_id=r.user_id,
            actor=r.actor,
            kind=r.kind,
            details=json.loads(r.details or "{}"),
        )
        for r in rows
    ]


def insert_note(
    conn: Connection,
    case_id: int,
    *,
    user_id: int | None,
    author: str,
    text: str,
    mentioned: Sequence[int],
    at: datetime,
) -> int:
    note_id: int = conn.execute(
        insert(case_notes)
        .values(
            case_id=case_id,
            user_id=user_id,
            author=author,
            text=text,
            mentioned=json.dumps(list(mentioned)),
            created_at=at,
        )
        .returning(case_notes.c.id)
    ).scalar_one()
    return note_id


def notes(conn: Connection, case_id: int) -> list[NoteRow]:
    rows = conn.execute(
        select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.id)
    )
    return [
        NoteRow(
            id=r.id,
            case_id=r.case_id,
            user_id=r.user_id,
            author=r.author,
            text=r.text,
            mentioned=json.loads(r.mentioned or "[]"),
            created_at=r.created_at,
        )
        for r in rows
    ]


def _reply(row: Any) -> ReplyRow:
    return ReplyRow(
        id=row.id,
        case_id=row.case_id,
        mention_id=row.mention_id,
        user_id=row.user_id,
        author=row.author,
        text=row.text,
        mode=row.mode,
        status=row.status,
        url=row.url,
        external_id=row.external_id,
        error=row.error,
        retryable=bool(row.retryable),
        attempts=row.attempts,
        tone=None if row.tone is None else json.loads(row.tone),
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
    )


def insert_reply(conn: Connection, values: Mapping[str, Any]) -> int:
    row = dict(values)
    if row.get("tone") is not None:
        row["tone"] = json.dumps(row["tone"], sort_keys=True)
    reply_id: int = conn.execute(
        insert(case_replies).values(**row).returning(case_replies.c.id)
    ).scalar_one()
    return reply_id


def update_reply(
    conn: Connection, reply_id: int, values: Mapping[str, Any], *, from_status: str | None = None
) -> bool:
    row = dict(values)
    if "tone" in row and row["tone"] is not None:
        row["tone"] = json.dumps(row["tone"], sort_keys=True)
    stmt = update(case_replies).where(case_replies.c.id == reply_id)
    if from_status is not None:
        stmt = stmt.where(case_replies.c.status == from_status)
    return conn.execute(stmt.values(**row)).rowcount == 1


def get_reply(conn: Connection, case_id: int, reply_id: int) -> ReplyRow | None:
    row = conn.execute(
        select(case_replies).where(case_replies.c.id == reply_id, case_replies.c.case_id == case_id)
    ).first()
    return None if row is None else _reply(row)


def replies(conn: Connection, case_id: int) -> list[ReplyRow]:
    rows = conn.execute(
        select(case_replies).where(case_replies.c.case_id == case_id).order_by(case_replies.c.id)
    )
    return [_reply(r) for r in rows]


def tags(conn: Connection, case_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not case_ids:
        return found
    rows = conn.execute(
        select(case_tags.c.case_id, case_tags.c.tag)
        .where(case_tags.c.case_id.in_(list(case_ids)))
        .order_by(case_tags.c.tag)
    )
    for r in rows:
        found.setdefault(r.case_id, []).append(r.tag)
    return found


def add_tags(conn: Connection, workspace_id: int, case_id: int, new: Sequence[str]) -> list[str]:
    have = set(tags(conn, [case_id]).get(case_id, []))
    added = [t for t in dict.fromkeys(new) if t not in have]
    if added:
        conn.execute(
            insert(case_tags),
            [{"case_id": case_id, "tag": t, "workspace_id": workspace_id} for t in added],
        )
    return added


def remove_tags(conn: Connection, case_id: int, old: Sequence[str]) -> int:
    return conn.execute(
        delete(case_tags).where(case_tags.c.case_id == case_id, case_tags.c.tag.in_(list(old)))
    ).rowcount


def set_presence(conn: Connection, case_id: int, user_id: int, activity: str, at: datetime) -> None:
    changed = conn.execute(
        update(case_presence)
        .where(case_presence.c.case_id == case_id, case_presence.c.user_id == user_id)
        .values(activity=activity, at=at)
    ).rowcount
    if not changed:
        conn.execute(
            insert(case_presence).values(case_id=case_id, user_id=user_id, activity=activity, at=at)
        )


def presence(
    conn: Connection, case_id: int, since: datetime
) -> list[tuple[int, str, str, datetime]]:
    """(user id, e-mail, activity, when) of everyone seen on the case since ``since``."""
    rows = conn.execute(
        select(case_presence.c.user_id, users.c.email, case_presence.c.activity, case_presence.c.at)
        .join(users, users.c.id == case_presence.c.user_id)
        .where(case_presence.c.case_id == case_id, case_presence.c.at >= since)
        .order_by(case_presence.c.at.desc())
    )
    return [(r.user_id, r.email, r.activity, r.at) for r in rows]
