"""Escalation of cases that wait too long: an active case past its first-response due time
(unanswered) or its resolution due time, never escalated, gets ``escalated_at`` (once), a
timeline event (kind "escalated") and a message queued through the workspace's alert
channels: for the alert rules that cover the case's watch (its own, its group's, and the
rules of every watch), or every rule of the workspace when the case has no watch. The
alert deliveries send it (:func:`flocon.services.alerting.deliver_due`).

Run by :func:`flocon.services.cases.automation.check_inbox`. See docs/inbox.md, "Escalation".
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from flocon.services import alerting
from flocon.settings import Settings
from flocon.storage.engine import write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import cases as cq
from flocon.storage.queries import inbox_rules as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

__all__ = ["escalate"]

#: Who the timeline names for an escalation.
ACTOR: Final = "flocon"
EXCERPT_CHARS: Final = 200


def _link(settings: Settings, path: str) -> str:
    return settings.web_base_url.rstrip("/") + path


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def _covers(rule: aq.RuleRow, watch_id: int | None, groups: dict[int, str | None]) -> bool:
    """Whether an alert rule speaks for a case's watch (a case without a watch: every rule)."""
    if watch_id is None or (rule.watch_id is None and rule.group_name is None):
        return True
    if rule.watch_id is not None:
        return rule.watch_id == watch_id
    return rule.group_name == groups.get(watch_id)


def _when(due: datetime, zone_name: str, now: datetime) -> str:
    """A due time in the alert rule's time zone: "14:00 UTC", or with its date if not today."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = due.astimezone(zone)
    day = "" if local.date() == now.astimezone(zone).date() else f"{local:%Y-%m-%d} "
    return f"{day}{local:%H:%M} {local.tzname() or zone_name}"


def escalate(engine: Engine, settings: Settings, name: str, *, now: datetime) -> tuple[int, int]:
    """Escalate the workspace's overdue cases; returns (cases escalated, deliveries queued)."""
    escalated = queued = 0
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, name)
        overdue = q.to_escalate(conn, ws.id, now)
        if not overdue:
            return 0, 0
        alert_rules = aq.list_rules(conn, ws.id)
        watches = {w.id: w for w in wq.list_all(conn, ws.id)}
        groups = {w.id: w.group for w in watches.values()}
        for case in overdue:
            if not q.mark_escalated(conn, case.id, now):
                continue
            unanswered = (
                case.first_response_at is None
                and case.first_response_due_at is not None
                and case.first_response_due_at < now
            )
            due = case.first_response_due_at if unanswered else case.resolution_due_at
            assert due is not None
            reason = "first_response" if unanswered else "resolution"
            targets = [r for r in alert_rules if _covers(r, case.watch_id, groups)]
            cq.insert_event(
                conn,
                case.id,
                at=now,
                user_id=None,
                actor=ACTOR,
                kind="escalated",
                details={
                    "reason": reason,
                    "due_at": due.isoformat(),
                    "alert_rules": [r.name for r in targets],
                },
            )
            escalated += 1
            link = _link(settings, f"/w/{name}/inbox/{case.id}")
            watch = watches.get(case.watch_id) if case.watch_id is not None else None
            waits = "a first response" if unanswered else "its resolution"
            for rule in targets:
                when = _when(due, rule.timezone, now)
                body = "\n".join(
                    [
                        f"Case #{case.id} waits for {waits}: it was due {when}.",
                        "",
                        f"Priority: {case.priority}",
                        f"Watch: {watch.name if watch else '-'}",
                        f"Assigned to: {case.assignee or 'nobody'}",
                        f"Opened: {case.created_at:%Y-%m-%d %H:%M} UTC",
                        "",
                        _excerpt(case.title),
                        "",
                        f"Open the case: {link}",
                    ]
                )
                queued += alerting.queue_message(
                    conn,
                    ws.id,
                    rule,
                    subject=f"[flocon] Case #{case.id} waits for {waits}: due {when}",
                    body=body,
                    payload={
                        "kind": "case_escalated",
                        "workspace": name,
                        "case_id": case.id,
                        "reason": reason,
                        "due_at": due.isoformat(),
                        "priority": case.priority,
                        "watch": watch.name if watch else None,
                        "assignee": case.assignee,
                        "url": link,
                    },
                    now=now,
                    urgent=True,
                )
    return escalated, queued
