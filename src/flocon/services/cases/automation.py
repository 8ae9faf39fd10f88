"""The inbox's automation, run beside the alert checks: inbox rules and suggested cases on
new mentions, then escalation of cases that wait too long.

:func:`check_inbox`, for every workspace:

1. reads the mentions stored since the last check (``inbox_settings.last_mention_id``, the
   cursor; the first check only records where the inbox starts: rules apply to *new*
   mentions), original ones that matched a watch, muted authors and sites left out;
2. applies the enabled rules in order (:func:`flocon.services.cases.rulespec.decide`), then,
   when suggestions are on, opens a case (origin "suggested") on a mention flocon thinks asks
   a question or complains (``needs_answer``) that has none. The writes and the cursor move
   in one transaction per batch: a killed check resumes without doing anything twice;
3. escalates active cases that wait too long (:mod:`flocon.services.cases.escalation`).

See docs/inbox.md, "Rules", "Suggested cases" and "Escalation".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine

from flocon.errors import ConfigError, NotFound
from flocon.services import accounts, alerting
from flocon.services.cases import escalation
from flocon.services.cases.common import CaseExists
from flocon.services.cases.core import create_in
from flocon.services.cases.rulespec import CompiledRule, Decision, compile_rule, decide, parse_spec
from flocon.services.cases.timing import settings_in
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import cases as cq
from flocon.storage.queries import inbox_rules as q
from flocon.storage.queries import tags as tq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.inbox_rules import RuleMention

log = logging.getLogger(__name__)

__all__ = ["InboxReport", "check_inbox", "check_workspace", "inbox_loop"]

#: Who the timeline and the audit log name for what the automation does.
ACTOR: Final = "flocon"
#: Mentions one transaction handles.
BATCH: Final = 500
#: Mentions stored less than this long ago wait for the next check: a batch still being
#: written (PostgreSQL numbers rows before they are committed) is never skipped.
SETTLE_S: Final = 15
#: Mentions listed in one notification, and characters of each.
NOTIFY_LIST: Final = 10
EXCERPT_CHARS: Final = 200


@dataclass
class InboxReport:
    """What one check did, over every workspace."""

    workspaces: int = 0
    #: Workspaces whose first check recorded where the inbox starts.
    started: list[str] = field(default_factory=list)
    mentions: int = 0
    rules_applied: int = 0
    cases_created: int = 0
    suggested: int = 0
    tagged: int = 0
    muted: int = 0
    notifications: int = 0
    escalated: int = 0
    escalation_deliveries: int = 0
    problems: list[str] = field(default_factory=list)


def _actor(rule: CompiledRule | None) -> str:
    # Never an e-mail address: the audit log would look the actor up as a user.
    return ACTOR if rule is None else f"rule #{rule.id}"


def _link(settings: Settings, path: str) -> str:
    return settings.web_base_url.rstrip("/") + path


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


@dataclass
class _Batch:
    """What one batch of one workspace does, gathered for the notifications and the audit."""

    ws_id: int
    ws_name: str
    rules: dict[str, CompiledRule]
    #: inbox rule name -> alert rule name -> [(mention, case id)]
    notify: dict[str, dict[str, list[tuple[RuleMention, int | None]]]] = field(default_factory=dict)
    #: inbox rule name -> mention ids it acted on, and the cases it opened
    applied: dict[str, list[int]] = field(default_factory=dict)
    opened: dict[str, list[int]] = field(default_factory=dict)
    muted: set[tuple[str, str]] = field(default_factory=set)


def _open_case(
    conn: Connection,
    batch: _Batch,
    mention: RuleMention,
    decision: Decision,
    *,
    suggest: bool,
    report: InboxReport,
    now: datetime,
) -> int | None:
    """The case a rule or a suggestion opens on the mention (None: none, or it had one)."""
    rule = batch.rules[decision.case_rule] if decision.case_rule is not None else None
    if rule is None and not (suggest and mention.needs_answer):
        return None
    origin = "rule" if rule is not None else "suggested"
    assignee = decision.assign
    for attempt in (assignee, None) if assignee is not None else (None,):
        try:
            case = create_in(
                conn,
                batch.ws_id,
                mention_id=mention.id,
                actor=_actor(rule),
                origin=origin,
                priority=decision.priority or "normal",
                scope="mention",
                assignee=attempt,
                now=now,
            )
        except CaseExists:
            return None
        except (NotFound, ConfigError) as exc:
            if attempt is None:
                raise
            # The member left or lost the role since the rule was saved: open it unassigned.
            report.problems.append(f"{batch.ws_name}: cannot assign to {attempt}: {exc}")
            continue
        if rule is not None:
            report.cases_created += 1
            tags = [t for t, by in decision.tags]
            if tags:
                cq.add_tags(conn, batch.ws_id, case.id, tags)
            batch.opened.setdefault(rule.name, []).append(case.id)
        else:
            report.suggested += 1
        return case.id
    return None


def _apply(
    conn: Connection,
    batch: _Batch,
    mention: RuleMention,
    *,
    suggest: bool,
    report: InboxReport,
    now: datetime,
) -> None:
    if (mention.author_key and ("author", mention.author_key) in batch.muted) or (
        mention.site and ("site", mention.site) in batch.muted
    ):
        return  # muted by a rule earlier in this batch
    decision = decide(list(batch.rules.values()), mention)
    report.rules_applied += len(decision.rules)
    for name in decision.rules:
        batch.applied.setdefault(name, []).append(mention.id)
    for tag, by in decision.tags:
        report.tagged += tq.add_tag(
            conn, batch.ws_id, [mention.id], tag, by=_actor(batch.rules[by]), now=now
        )
    case_id = _open_case(conn, batch, mention, decision, suggest=suggest, report=report, now=now)
    for kind, by in decision.mute:
        key = mention.author_key if kind == "author" else mention.site
        if not key:
            continue
        batch.muted.add((kind, key))
        rule = batch.rules[by]
        if tq.add_mute(conn, batch.ws_id, kind, key, by=_actor(rule), now=now):
            report.muted += 1
            accounts.record(
                conn,
                workspace_id=batch.ws_id,
                actor=_actor(rule),
                action="mute.add",
                object_type=kind,
                object_id=key,
                details={"inbox_rule": rule.name, "mention_id": mention.id},
                now=now,
            )
    for alert_rule, by in decision.notify:
        batch.notify.setdefault(by, {}).setdefault(alert_rule, []).append((mention, case_id))


def _notify(
    conn: Connection, settings: Settings, batch: _Batch, *, report: InboxReport, now: datetime
) -> None:
    """One message per (inbox rule, alert rule) for the batch, listing its mentions."""
    if not batch.notify:
        return
    alert_rules = {r.name: r for r in aq.list_rules(conn, batch.ws_id)}
    ws = batch.ws_name
    for name, targets in batch.notify.items():
        for alert_rule, hits in targets.items():
            target = alert_rules.get(alert_rule)
            if target is None:
                report.problems.append(
                    f"{ws}: inbox rule {name!r} notifies {alert_rule!r}, which no longer exists"
                )
                continue
            subject = f"[flocon] Inbox rule '{name}': {len(hits)} new mention(s)"
            lines = [f"The inbox rule '{name}' matched {len(hits)} new mention(s).", ""]
            for mention, case_id in hits[:NOTIFY_LIST]:
                who = f"@{mention.author_handle}" if mention.author_handle else "someone"
                lines.append(f"#{mention.id} {who} ({mention.source_kind}): ")
                lines.append(f"  {_excerpt(mention.text)}")
                lines.append(f"  {_link(settings, f'/w/{ws}/mentions/{mention.id}')}")
                if case_id is not None:
                    lines.append(
                        f"  Case #{case_id}: {_link(settings, f'/w/{ws}/inbox/{case_id}')}"
                    )
            if len(hits) > NOTIFY_LIST:
                lines.append(f"… and {len(hits) - NOTIFY_LIST} more.")
            payload: dict[str, Any] = {
                "kind": "inbox_rule",
                "workspace": ws,
                "inbox_rule": name,
                "mentions": [
                    {
                        "id": m.id,
                        "url": m.url or None,
                        "link": _link(settings, f"/w/{ws}/mentions/{m.id}"),
                        "case_id": case_id,
                    }
                    for m, case_id in hits
                ],
            }
            report.notifications += alerting.queue_message(
                conn,
                batch.ws_id,
                target,
                subject=subject,
                body="\n".join(lines),
                payload=payload,
                now=now,
            )


def _audit_batch(conn: Connection, batch: _Batch, now: datetime) -> None:
    """One audit entry per rule that acted in the batch (the mentions, the cases opened)."""
    for name, ids in batch.applied.items():
        rule = batch.rules[name]
        assert rule.id is not None
        accounts.record(
            conn,
            workspace_id=batch.ws_id,
            actor=_actor(rule),
            action="inbox_rule.apply",
            object_type="inbox_rule",
            object_id=rule.id,
            details={
                "name": name,
                "mentions": len(ids),
                "ids": ids[:200],
                "cases": batch.opened.get(name, [])[:200],
            },
            now=now,
        )


def _compiled(
    conn: Connection, ws_id: int, report: InboxReport, ws_name: str
) -> dict[str, CompiledRule]:
    watch_ids = {w.name: w.id for w in wq.list_all(conn, ws_id)}
    rules: dict[str, CompiledRule] = {}
    for row in q.list_rules(conn, ws_id, enabled_only=True):
        spec = parse_spec(row.name, row.conditions, row.actions)
        rule = compile_rule(spec, watch_ids=watch_ids, rule_id=row.id)
        if spec.conditions.watch is not None and spec.conditions.watch not in watch_ids:
            report.problems.append(
                f"{ws_name}: inbox rule {row.name!r} names the watch "
                f"{spec.conditions.watch!r}, which no longer exists: it matches nothing"
            )
        rules[rule.name] = rule
    return rules


def _run_rules(
    engine: Engine, settings: Settings, name: str, report: InboxReport, now: datetime
) -> None:
    """Rules and suggestions on the workspace's new mentions, one batch per transaction."""
    settled = now - timedelta(seconds=SETTLE_S)
    while True:
        with write(engine) as conn:
            ws = wsq.get_by_name(conn, name)
            cursor = q.read_cursor(conn, ws.id, lock=True)
            if cursor is None:
                q.set_cursor(conn, ws.id, q.max_mention_id(conn), now)
                report.started.append(name)
                return
            end = q.batch_end(conn, ws.id, after=cursor, settled_before=settled, limit=BATCH)
            if end is None:
                return
            batch = _Batch(ws.id, name, _compiled(conn, ws.id, report, name))
            suggest = settings_in(conn, ws.id).suggest
            for mention in q.new_mentions(conn, ws.id, after=cursor, until=end):
                report.mentions += 1
                _apply(conn, batch, mention, suggest=suggest, report=report, now=now)
            _notify(conn, settings, batch, report=report, now=now)
            _audit_batch(conn, batch, now)
            q.set_cursor(conn, ws.id, end, now)


def check_workspace(
    engine: Engine,
    settings: Settings,
    workspace: str,
    *,
    now: datetime | None = None,
    report: InboxReport | None = None,
) -> InboxReport:
    """Rules, suggestions and escalation for one workspace."""
    at = now.astimezone(UTC) if now is not None else datetime.now(UTC)
    out = report if report is not None else InboxReport()
    out.workspaces += 1
    _run_rules(engine, settings, workspace, out, at)
    escalated, queued = escalation.escalate(engine, settings, workspace, now=at)
    out.escalated += escalated
    out.escalation_deliveries += queued
    return out


def check_inbox(engine: Engine, settings: Settings, *, now: datetime | None = None) -> InboxReport:
    """Rules, suggestions and escalation for every workspace. A workspace whose check fails
    is logged and named in ``problems``; the others go on."""
    at = now.astimezone(UTC) if now is not None else datetime.now(UTC)
    report = InboxReport()
    with read(engine) as conn:
        names = [w.name for w in wsq.list_all(conn)]
    for name in names:
        try:
            check_workspace(engine, settings, name, now=at, report=report)
        except Exception as exc:  # one workspace's failure must not stop the others
            log.exception("inbox check of workspace %s failed", name)
            report.problems.append(f"{name}: {exc}")
    for problem in report.problems:
        log.warning("inbox: %s", problem)
    return report


async def inbox_loop(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    wake: asyncio.Event,
    *,
    every_s: float = 60.0,
    on_report: Callable[[InboxReport], None] | None = None,
) -> None:
    """Check every ``every_s`` seconds, and soon after ``wake`` is set (new mentions stored:
    they settle for :data:`SETTLE_S` seconds first), until ``stop``. A failing check is
    logged and retried at the next turn."""
    while not stop.is_set():
        wake.clear()
        try:
            report = await asyncio.to_thread(check_inbox, engine, settings)
        except Exception:  # one bad turn must not stop the inbox
            log.exception("inbox check failed")
        else:
            if on_report is not None:
                on_report(report)
        waiters: Sequence[asyncio.Task[Any]] = (
            asyncio.create_task(stop.wait()),
            asyncio.create_task(wake.wait()),
        )
        _, pending = await asyncio.wait(
            waiters, timeout=every_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if wake.is_set() and not stop.is_set():
            # Let the new mentions settle, so that this turn sees them.
            await _sleep_unless(stop, SETTLE_S + 1)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
