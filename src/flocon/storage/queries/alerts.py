"""SQL for alerts, alert rules, deliveries and the detectors' saved state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from flocon.errors import AlreadyExists, NotFound
from flocon.storage.tables import (
    alert_rules,
    alerts,
    author_scores,
    authors,
    deliveries,
    mention_watches,
    mentions,
    signal_state,
    sources,
)

# -- detectors' state ----------------------------------------------------------


def load_state(conn: Connection, watch_id: int) -> tuple[datetime | None, dict[str, Any]]:
    row = conn.execute(select(signal_state).where(signal_state.c.watch_id == watch_id)).first()
    if row is None:
        return None, {}
    return row.evaluated_at, json.loads(row.state)


def save_state(conn: Connection, watch_id: int, at: datetime, state: dict[str, Any]) -> None:
    text = json.dumps(state, sort_keys=True)
    done = conn.execute(
        update(signal_state)
        .where(signal_state.c.watch_id == watch_id)
        .values(evaluated_at=at, state=text)
    )
    if done.rowcount == 0:
        conn.execute(insert(signal_state).values(watch_id=watch_id, evaluated_at=at, state=text))


# -- alerts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    watch_id: int | None
    kind: str
    key: str
    status: str
    severity: str
    score: float | None
    episode_start: datetime
    detected_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acked_by: str | None
    resolved_by: str | None
    explanation: str
    evidence: list[int]
    details: dict[str, Any]


def _alert(row: Any) -> AlertRow:
    return AlertRow(
        id=row.id,
        watch_id=row.watch_id,
        kind=row.kind,
        key=row.key,
        status=row.status,
        severity=row.severity,
        score=row.score,
        episode_start=row.episode_start,
        detected_at=row.detected_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        acked_by=row.acked_by,
        resolved_by=row.resolved_by,
        explanation=row.explanation,
        evidence=[int(i) for i in json.loads(row.evidence)],
        details=json.loads(row.details),
    )


def find_alert(
    conn: Connection, workspace_id: int, watch_id: int | None, kind: str, key: str
) -> AlertRow | None:
    cond = [alerts.c.workspace_id == workspace_id, alerts.c.kind == kind, alerts.c.key == key]
    cond.append(alerts.c.watch_id.is_(None) if watch_id is None else alerts.c.watch_id == watch_id)
    row = conn.execute(select(alerts).where(*cond)).first()
    return None if row is None else _alert(row)


def open_alert(conn: Connection, workspace_id: int, **values: Any) -> int:
    values = {**values, "evidence": json.dumps(values["evidence"])}
    values["details"] = json.dumps(values["details"], sort_keys=True, default=str)
    result = conn.execute(insert(alerts).values(workspace_id=workspace_id, status="open", **values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_alert(conn: Connection, alert_id: int, **values: Any) -> None:
    if "evidence" in values:
        values["evidence"] = json.dumps(values["evidence"])
    if "details" in values:
        values["details"] = json.dumps(values["details"], sort_keys=True, default=str)
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def get_alert(conn: Connection, workspace_id: int, alert_id: int) -> AlertRow:
    row = conn.execute(
        select(alerts).where(alerts.c.id == alert_id, alerts.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id} in this workspace")
    return _alert(row)


def list_alerts(
    conn: Connection,
    workspace_id: int,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    watch_id: int | None = None,
    limit: int = 100,
) -> list[AlertRow]:
    stmt = select(alerts).where(alerts.c.workspace_id == workspace_id)
    if statuses:
        stmt = stmt.where(alerts.c.status.in_(list(statuses)))
    if kinds:
        stmt = stmt.where(alerts.c.kind.in_(list(kinds)))
    if watch_id is not None:
        stmt = stmt.where(alerts.c.watch_id == watch_id)
    stmt = stmt.order_by(alerts.c.detected_at.desc(), alerts.c.id.desc()).limit(limit)
    return [_alert(r) for r in conn.execute(stmt)]


# -- rules ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    name: str
    watch_id: int | None
    group_name: str | None
    signals: tuple[str, ...]
    sensitivity: str
    min_severity: str
    channels: str | None
    channels_shown: list[str]
    quiet_hours: str | None
    timezone: str
    cooldown_s: int
    digest: str
    created_at: datetime


def _rule(row: Any) -> RuleRow:
    return RuleRow(
        id=row.id,
        name=row.name,
        watch_id=row.watch_id,
        group_name=row.group_name,
        signals=tuple(s for s in row.signals.split(",") if s),
        sensitivity=row.sensitivity,
        min_severity=row.min_severity,
        channels=row.channels,
        channels_shown=json.loads(row.channels_shown),
        quiet_hours=row.quiet_hours,
        timezone=row.timezone,
        cooldown_s=row.cooldown_s,
        digest=row.digest,
        created_at=row.created_at,
    )


def add_rule(conn: Connection, workspace_id: int, **values: Any) -> int:
    values["signals"] = ",".join(values["signals"])
    values["channels_shown"] = json.dumps(values["channels_shown"])
    try:
        result = conn.execute(insert(alert_rules).values(workspace_id=workspace_id, **values))
    except IntegrityError as exc:
        raise AlreadyExists(f"an alert rule named {values['name']!r} already exists") from exc
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def list_rules(conn: Connection, workspace_id: int) -> list[RuleRow]:
    stmt = (
        select(alert_rules)
        .where(alert_rules.c.workspace_id == workspace_id)
        .order_by(alert_rules.c.name)
    )
    return [_rule(r) for r in conn.execute(stmt)]


def remove_rule(conn: Connection, workspace_id: int, name: str) -> None:
    done = conn.execute(
        delete(alert_rules).where(
            alert_rules.c.workspace_id == workspace_id, alert_rules.c.name == name
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"no alert rule named {name!r}")


# -- deliveries ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    workspace_id: int
    rule_id: int
    channel: int
    alert_ids: list[int]
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    subject: str
    body: str
    payload: dict[str, Any]


def _delivery(row: Any) -> DeliveryRow:
    return DeliveryRow(
        id=row.id,
        workspace_id=row.workspace_id,
        rule_id=row.rule_id,
        channel=row.channel,
        alert_ids=[int(i) for i in json.loads(row.alert_ids)],
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        subject=row.subject,
        body=row.body,
        payload=json.loads(row.payload),
    )


def add_delivery(conn: Connection, workspace_id: int, **values: Any) -> int:
    values["alert_ids"] = json.dumps(values["alert_ids"])
    values["payload"] = json.dumps(values["payload"], sort_keys=True, default=str)
    result = conn.execute(insert(deliveries).values(workspace_id=workspace_id, **values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def due_deliveries(
    conn: Connection, now: datetime, workspace_id: int | None = None
) -> list[DeliveryRow]:
    stmt = select(deliveries).where(
        deliveries.c.status.in_(["pending", "failed"]),
        or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
    )
    if workspace_id is not None:
        stmt = stmt.where(deliveries.c.workspace_id == workspace_id)
    return [_delivery(r) for r in conn.execute(stmt.order_by(deliveries.c.id))]


def due_held(conn: Connection, now: datetime) -> list[DeliveryRow]:
    """Deliveries held for a digest whose time has come."""
    stmt = select(deliveries).where(
        deliveries.c.status == "held", deliveries.c.next_attempt_at <= now
    )
    return [_delivery(r) for r in conn.execute(stmt.order_by(deliveries.c.id))]


def list_deliveries(
    conn: Connection, workspace_id: int, *, statuses: Sequence[str] = (), limit: int = 100
) -> list[DeliveryRow]:
    stmt = select(deliveries).where(deliveries.c.workspace_id == workspace_id)
    if statuses:
        stmt = stmt.where(deliveries.c.status.in_(list(statuses)))
    stmt = stmt.order_by(deliveries.c.id.desc()).limit(limit)
    return [_delivery(r) for r in conn.execute(stmt)]


def update_delivery(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def last_delivery_at(conn: Connection, rule_id: int, alert_kind_key: str) -> datetime | None:
    """When the rule last sent something for the same (watch, kind) — for the cool-down."""
    stmt = (
        select(deliveries.c.created_at)
        .where(
            deliveries.c.rule_id == rule_id,
            deliveries.c.payload.like(f'%"cooldown_key": "{alert_kind_key}"%'),
        )
        .order_by(deliveries.c.created_at.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar()


# -- evidence ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    id: int
    external_id: str
    occurred_at: datetime
    site: str
    author: str | None
    parent_id: int | None
    author_id: int | None
    sentiment: str | None
    sentiment_score: float | None
    text: str
    lang: str | None
    source_kind: str
    followers: int | None
    likes: int | None
    shares: int | None
    replies: int | None


_EVIDENCE_COLUMNS = (
    mentions.c.id,
    mentions.c.external_id,
    mentions.c.occurred_at,
    mentions.c.site,
    mentions.c.author_handle,
    mentions.c.author_name,
    mentions.c.parent_id,
    mentions.c.author_id,
    mentions.c.sentiment,
    mentions.c.sentiment_score,
    mentions.c.text,
    mentions.c.lang,
    sources.c.kind,
    authors.c.followers,
    mentions.c.likes,
    mentions.c.shares,
    mentions.c.replies,
)


def _evidence_select(watch_id: int | None = None) -> Select[Any]:
    """Mentions with their source kind and author's followers; of one watch when given, and
    then originals only."""
    stmt = (
        select(*_EVIDENCE_COLUMNS)
        .join(sources, sources.c.id == mentions.c.source_id)
        .outerjoin(authors, authors.c.id == mentions.c.author_id)
    )
    if watch_id is None:
        return stmt
    return stmt.join(mention_watches, mention_watches.c.mention_id == mentions.c.id).where(
        mention_watches.c.watch_id == watch_id, mentions.c.duplicate_of.is_(None)
    )


def _evidence(row: Any) -> EvidenceRow:
    return EvidenceRow(
        id=row.id,
        external_id=row.external_id,
        occurred_at=row.occurred_at,
        site=row.site,
        author=row.author_handle or row.author_name,
        parent_id=row.parent_id,
        author_id=row.author_id,
        sentiment=row.sentiment,
        sentiment_score=row.sentiment_score,
        text=row.text,
        lang=row.lang,
        source_kind=row.kind,
        followers=row.followers,
        likes=row.likes,
        shares=row.shares,
        replies=row.replies,
    )


def watch_mentions(
    conn: Connection,
    watch_id: int,
    *,
    since: datetime,
    until: datetime,
    sentiment: str | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> list[EvidenceRow]:
    """Original mentions of a watch with ``since <= occurred_at <= until``."""
    stmt = _evidence_select(watch_id).where(
        mentions.c.occurred_at >= since, mentions.c.occurred_at <= until
    )
    if sentiment is not None:
        stmt = stmt.where(mentions.c.sentiment == sentiment)
    order = mentions.c.occurred_at.desc() if newest_first else mentions.c.occurred_at
    return [_evidence(r) for r in conn.execute(stmt.order_by(order, mentions.c.id).limit(limit))]


@dataclass(frozen=True, slots=True)
class TextRow:
    """What topic detectors read of a mention: its text and who wrote it, when."""

    id: int
    occurred_at: datetime
    text: str
    lang: str | None
    author: str | None


def watch_texts(
    conn: Connection,
    watch_id: int,
    *,
    since: datetime,
    until: datetime,
    limit: int = 5000,
) -> list[TextRow]:
    """The texts of a watch's original mentions with ``since <= occurred_at <= until``, newest
    first: the slim read of a topic background (no source, author or engagement joins)."""
    stmt = (
        select(
            mentions.c.id,
            mentions.c.occurred_at,
            mentions.c.text,
            mentions.c.lang,
            mentions.c.author_handle,
            mentions.c.author_name,
        )
        .join(mention_watches, mention_watches.c.mention_id == mentions.c.id)
        .where(
            mention_watches.c.watch_id == watch_id,
            mentions.c.duplicate_of.is_(None),
            mentions.c.occurred_at >= since,
            mentions.c.occurred_at <= until,
        )
        .order_by(mentions.c.occurred_at.desc(), mentions.c.id)
        .limit(limit)
    )
    return [
        TextRow(r.id, r.occurred_at, r.text, r.lang, r.author_handle or r.author_name)
        for r in conn.execute(stmt)
    ]


def children(conn: Connection, parent_ids: Sequence[int], until: datetime) -> list[EvidenceRow]:
    """Replies to the given mentions (any watch), up to ``until``."""
    if not parent_ids:
        return []
    stmt = (
        _evidence_select()
        .where(mentions.c.parent_id.in_(list(parent_ids)), mentions.c.occurred_at <= until)
        .order_by(mentions.c.occurred_at)
    )
    return [_evidence(r) for r in conn.execute(stmt)]


def sites_seen_before(
    conn: Connection, watch_id: int, sites: Sequence[str], up_to_id: int
) -> set[str]:
    """Which of ``sites`` the watch already had a mention on (mention ids up to ``up_to_id``)."""
    if not sites:
        return set()
    stmt = (
        select(mentions.c.site)
        .join(mention_watches, mention_watches.c.mention_id == mentions.c.id)
        .where(
            mention_watches.c.watch_id == watch_id,
            mentions.c.site.in_(list(sites)),
            mentions.c.id <= up_to_id,
        )
        .distinct()
    )
    return {str(s) for s in conn.execute(stmt).scalars()}


def watch_mentions_after(
    conn: Connection, watch_id: int, after_id: int, until: datetime, limit: int = 5000
) -> list[EvidenceRow]:
    """Original mentions of a watch stored after mention ``after_id`` (ids only grow), in id
    order: what is new since the last check, however late a source delivered it."""
    stmt = (
        _evidence_select(watch_id)
        .where(mentions.c.id > after_id, mentions.c.occurred_at <= until)
        .order_by(mentions.c.id)
        .limit(limit)
    )
    return [_evidence(r) for r in conn.execute(stmt)]


def last_mention_id(conn: Connection, watch_id: int, before: datetime) -> int:
    """The highest id among the watch's mentions that occurred before ``before`` (0: none)."""
    stmt = (
        select(func.max(mentions.c.id))
        .join(mention_watches, mention_watches.c.mention_id == mentions.c.id)
        .where(mention_watches.c.watch_id == watch_id, mentions.c.occurred_at < before)
    )
    return int(conn.execute(stmt).scalar() or 0)


def failing_sources(conn: Connection, workspace_id: int, failing_before: datetime) -> list[Any]:
    stmt = select(
        sources.c.id, sources.c.name, sources.c.kind, sources.c.failing_since, sources.c.last_error
    ).where(
        and_(
            sources.c.workspace_id == workspace_id,
            sources.c.failing_since.is_not(None),
            sources.c.failing_since <= failing_before,
            sources.c.paused.is_(False),
        )
    )
    return list(conn.execute(stmt))


def influence_scores(
    conn: Connection, workspace_id: int, watch_id: int, author_ids: Sequence[int]
) -> dict[int, float]:
    """Stored influence scores (0–100) of authors: the watch's own when computed, else the
    workspace-wide ones (``flocon authors``)."""
    ids = sorted(set(author_ids))
    if not ids:
        return {}
    stmt = select(author_scores.c.author_id, author_scores.c.watch_id, author_scores.c.score).where(
        author_scores.c.workspace_id == workspace_id,
        author_scores.c.author_id.in_(ids),
        or_(author_scores.c.watch_id == watch_id, author_scores.c.watch_id.is_(None)),
    )
    out: dict[int, float] = {}
    for author_id, scope, score in conn.execute(stmt):
        if scope is not None or author_id not in out:
            out[int(author_id)] = float(score)
    return out
