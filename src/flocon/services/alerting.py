"""From alert events to messages: rules, cool-down, quiet hours, digests, deliveries.

A delivery is **stored before it is sent** (status ``pending``), then sent by
:func:`deliver_due`; a failure is retried with back-off (``failed`` with a next attempt) and,
after the last try, kept as ``dead`` until someone replays it (:func:`replay_delivery`).
Nothing is dropped: quiet hours and digests only delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine

from flocon.credentials import CredentialBox
from flocon.domain.models import Mention, Watch
from flocon.errors import ConfigError, NotFound
from flocon.services.signals import KINDS, AlertEvent
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import alert_lists as alq
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import mention_lists as mlq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

log = logging.getLogger(__name__)

__all__ = [
    "DIGESTS",
    "STATUSES",
    "AlertPage",
    "DeliveryReport",
    "RuleSpec",
    "RuleView",
    "add_rule",
    "add_rule_reusing",
    "alert_evidence",
    "check_all",
    "deliver_due",
    "get_alert",
    "get_delivery",
    "get_rule",
    "list_deliveries",
    "list_rules",
    "page_alerts",
    "queue_message",
    "remove_rule",
    "route",
    "watch_loop",
    "watches_of",
]

DIGESTS: Final = ("off", "hourly", "daily")
SEVERITIES: Final = ("low", "medium", "high")
#: An alert's statuses: open, acked (someone is on it), closed (back to normal, by the
#: detector), resolved (handled, by a person).
STATUSES: Final = ("open", "acked", "closed", "resolved")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
LABELS: Final = {
    "spike": "Volume spike",
    "negative_shift": "Shift to negative",
    "snowball": "Snowball risk",
    "influencer": "Influential author",
    "new_site": "New site",
    "source_down": "Source down",
}


@dataclass(frozen=True)
class RuleSpec:
    name: str
    channels: Sequence[str]
    watch: str | None = None
    group: str | None = None
    signals: Sequence[str] = KINDS
    sensitivity: str = "medium"
    min_severity: str = "low"
    quiet_hours: str | None = None
    timezone: str = "UTC"
    cooldown_s: int = 3600
    digest: str = "off"


def parse_quiet_hours(value: str) -> tuple[time, time]:
    """``"22:00-07:00"`` → (22:00, 07:00); the range may cross midnight."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-", 1))
    except ValueError as exc:
        raise ConfigError(f"quiet hours must look like 22:00-07:00, not {value!r}") from exc
    if start == end:
        raise ConfigError("quiet hours must not start and end at the same time")
    return start, end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r} (e.g. Europe/Paris)") from exc


def add_rule(engine: Engine, settings: Settings, workspace: str, spec: RuleSpec) -> int:
    """Check and store an alert rule; its channel specs are sealed (they may hold tokens)."""
    from flocon.alerting.channels import channel_from_spec

    unknown = [s for s in spec.signals if s not in KINDS]
    if unknown or not spec.signals:
        raise ConfigError(f"signals must be among {', '.join(KINDS)} (got {', '.join(unknown)})")
    if spec.sensitivity not in ("low", "medium", "high"):
        raise ConfigError("sensitivity must be low, medium or high")
    if spec.min_severity not in SEVERITIES:
        raise ConfigError("min severity must be low, medium or high")
    if spec.digest not in DIGESTS:
        raise ConfigError(f"digest must be one of {', '.join(DIGESTS)}")
    if spec.watch and spec.group:
        raise ConfigError("a rule applies to one watch or one group, not both")
    if spec.quiet_hours:
        parse_quiet_hours(spec.quiet_hours)
    _zone(spec.timezone)
    if not spec.channels:
        raise ConfigError("give at least one channel (--channel)")
    shown = [channel_from_spec(c, settings).describe() for c in spec.channels]
    sealed = CredentialBox(settings).seal({str(i): c for i, c in enumerate(spec.channels)})
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch_id = wq.get_by_name(conn, ws.id, spec.watch).id if spec.watch else None
        return aq.add_rule(
            conn,
            ws.id,
            name=spec.name.strip(),
            watch_id=watch_id,
            group_name=spec.group,
            signals=list(spec.signals),
            sensitivity=spec.sensitivity,
            min_severity=spec.min_severity,
            channels=sealed,
            channels_shown=shown,
            quiet_hours=spec.quiet_hours,
            timezone=spec.timezone,
            cooldown_s=spec.cooldown_s,
            digest=spec.digest,
            created_at=datetime.now(UTC),
        )


def _covers(rule: aq.RuleRow, event: AlertEvent) -> bool:
    if event.kind not in rule.signals:
        return False
    if _RANK.get(event.severity, 0) < _RANK[rule.min_severity]:
        return False
    if rule.watch_id is not None:
        return rule.watch_id == event.watch_id
    if rule.group_name is not None:
        return event.group == rule.group_name
    return True


def _quiet_until(rule: aq.RuleRow, now: datetime) -> datetime | None:
    """The end of the rule's quiet hours when ``now`` falls inside them."""
    if not rule.quiet_hours:
        return None
    start, end = parse_quiet_hours(rule.quiet_hours)
    local = now.astimezone(_zone(rule.timezone))
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=local.tzinfo).astimezone(UTC)


def _digest_at(rule: aq.RuleRow, now: datetime) -> datetime:
    local = now.astimezone(_zone(rule.timezone))
    if rule.digest == "hourly":
        nxt = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    else:  # daily, at 08:00 local time
        nxt = local.replace(hour=8, minute=0, second=0, microsecond=0)
        if nxt <= local:
            nxt += timedelta(days=1)
    return nxt.astimezone(UTC)


def event_payload(event: AlertEvent) -> dict[str, Any]:
    """The JSON form of an alert event (webhook bodies, `flocon replay`)."""
    return {
        "alert_id": event.alert_id,
        "action": event.action,
        "watch": event.watch,
        "kind": event.kind,
        "episode_start": event.episode_start.astimezone(UTC).isoformat(),
        "detected_at": event.detected_at.astimezone(UTC).isoformat(),
        "severity": event.severity,
        "score": event.score,
        "evidence": list(event.evidence),
        "explanation": event.explanation,
        "details": event.details,
    }


def _text(event: AlertEvent) -> tuple[str, str]:
    where = f" on '{event.watch}'" if event.watch else ""
    verb = {"opened": "", "updated": " (growing)", "closed": " (back to normal)"}[event.action]
    subject = f"[flocon] {LABELS.get(event.kind, event.kind)}{where}{verb} — {event.severity}"
    lines = [
        subject.removeprefix("[flocon] "),
        "",
        event.explanation,
        "",
        f"Started: {event.episode_start:%Y-%m-%d %H:%M} UTC; "
        f"detected: {event.detected_at:%Y-%m-%d %H:%M} UTC",
    ]
    earliest = event.details.get("earliest") or []
    if earliest:
        lines.append("Earliest mentions: " + ", ".join(f"#{e['id']}" for e in earliest[:5]))
    for line in (event.details.get("spread") or [])[:5]:
        lines.append(f"  {line}")
    factors = event.details.get("factors") or []
    for f in factors[:5]:
        lines.append(f"  {f['label']} (weight {f['weight']:+.2f})")
    if event.evidence:
        lines.append("Evidence: " + ", ".join(f"#{i}" for i in event.evidence[:10]))
    return subject.replace("\n", " ")[:250], "\n".join(lines)


@dataclass
class RouteReport:
    deliveries: int = 0
    cooled_down: int = 0


def route(
    engine: Engine, workspace: str, events: Sequence[AlertEvent], *, now: datetime | None = None
) -> RouteReport:
    """Store one delivery per (event, rule, channel) that the rules ask for."""
    now = now or datetime.now(UTC)
    report = RouteReport()
    if not events:
        return report
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        rules = aq.list_rules(conn, ws.id)
        for event in events:
            if event.action == "closed" and event.kind not in ("spike", "negative_shift"):
                continue
            for rule in rules:
                if not _covers(rule, event):
                    continue
                cooldown_key = f"{event.watch_id}:{event.kind}"
                if event.action == "opened" and rule.cooldown_s > 0:
                    last = aq.last_delivery_at(conn, rule.id, cooldown_key)
                    if last is not None and now - last < timedelta(seconds=rule.cooldown_s):
                        report.cooled_down += 1
                        continue
                subject, body = _text(event)
                payload = {**event_payload(event), "cooldown_key": cooldown_key}
                status, next_at = "pending", None
                if rule.digest != "off":
                    status, next_at = "held", _digest_at(rule, now)
                elif event.severity != "high":
                    next_at = _quiet_until(rule, now)
                for channel in range(len(rule.channels_shown)):
                    aq.add_delivery(
                        conn,
                        ws.id,
                        rule_id=rule.id,
                        channel=channel,
                        alert_ids=[event.alert_id],
                        status=status,
                        created_at=now,
                        next_attempt_at=next_at,
                        subject=subject,
                        body=body,
                        payload=payload,
                    )
                    report.deliveries += 1
    return report


def queue_message(
    conn: Connection,
    workspace_id: int,
    rule: aq.RuleRow,
    *,
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: datetime,
    urgent: bool = False,
) -> int:
    """Store, in the caller's transaction, one delivery per channel of ``rule`` for a message
    that is not an alert (an inbox escalation, an inbox rule's notification): held for the
    rule's digest, or delayed by its quiet hours unless ``urgent`` (like a high-severity
    alert). :func:`deliver_due` sends it. Returns how many deliveries were stored."""
    status, next_at = "pending", None
    if rule.digest != "off":
        status, next_at = "held", _digest_at(rule, now)
    elif not urgent:
        next_at = _quiet_until(rule, now)
    for channel in range(len(rule.channels_shown)):
        aq.add_delivery(
            conn,
            workspace_id,
            rule_id=rule.id,
            channel=channel,
            alert_ids=[],
            status=status,
            created_at=now,
            next_attempt_at=next_at,
            subject=subject.replace("\n", " ")[:250],
            body=body,
            payload=payload,
        )
    return len(rule.channels_shown)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


MAX_ATTEMPTS: Final = 6


def _digest(rows: Sequence[aq.DeliveryRow]) -> tuple[str, str, dict[str, Any]]:
    subject = f"[flocon] Digest: {len(rows)} alert(s)"
    body = "\n\n".join(f"— {r.subject.removeprefix('[flocon] ')}\n{r.body}" for r in rows)
    return subject, body, {"digest": [r.payload for r in rows]}


def deliver_due(
    engine: Engine, settings: Settings, *, now: datetime | None = None
) -> DeliveryReport:
    """Send every delivery that is due (digests grouped into one message per rule and channel)."""
    from flocon.alerting.channels import Message, backoff_s, channel_from_spec

    now = now or datetime.now(UTC)
    report = DeliveryReport()
    with read(engine) as conn:
        due = aq.due_deliveries(conn, now)
        held = aq.due_held(conn, now)
        workspace_ids = {d.workspace_id for d in due + held}
        rules = {r.id: r for ws_id in workspace_ids for r in aq.list_rules(conn, ws_id)}
    groups: dict[tuple[int, int], list[aq.DeliveryRow]] = {}
    for row in held:
        groups.setdefault((row.rule_id, row.channel), []).append(row)
    batches: list[tuple[list[aq.DeliveryRow], str, str, dict[str, Any]]] = [
        ([row], row.subject, row.body, row.payload) for row in due
    ]
    batches += [(rows, *_digest(rows)) for rows in groups.values()]
    box = CredentialBox(settings)
    for rows, subject, body, payload in batches:
        first = rows[0]
        rule = rules.get(first.rule_id)
        if rule is None:
            continue
        try:
            spec = box.open(rule.channels)[str(first.channel)]
            channel = channel_from_spec(spec, settings)
            attempt = channel.send(
                Message(subject=subject, text=body, payload={**payload, "delivery": first.id}),
                delivery_id=str(first.id),
            )
            ok, detail = attempt.ok, attempt.detail
            retry, after = attempt.retry, attempt.retry_after_s
        except ConfigError as exc:
            ok, detail, retry, after = False, str(exc), False, None
        attempts = first.attempts + 1
        wait = None
        if not ok and retry and attempts < MAX_ATTEMPTS:
            wait = after if after is not None else backoff_s(attempts)
        with write(engine) as conn:
            for row in rows:
                if ok:
                    aq.update_delivery(
                        conn, row.id, status="sent", sent_at=now, attempts=attempts, last_error=None
                    )
                elif wait is not None:
                    aq.update_delivery(
                        conn,
                        row.id,
                        status="failed",
                        attempts=attempts,
                        last_error=detail[:500],
                        next_attempt_at=now + timedelta(seconds=wait),
                    )
                else:
                    aq.update_delivery(
                        conn, row.id, status="dead", attempts=attempts, last_error=detail[:500]
                    )
        if ok:
            report.sent += 1
        elif wait is not None:
            report.failed += 1
            report.errors.append(detail)
        else:
            report.dead += 1
            report.errors.append(detail)
    return report


def replay_delivery(engine: Engine, workspace: str, delivery_id: int) -> None:
    """Queue a failed or dead delivery again, now."""
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        rows = [d for d in aq.list_deliveries(conn, ws.id, limit=100_000) if d.id == delivery_id]
        if not rows:
            raise ConfigError(f"no delivery {delivery_id} in workspace {workspace!r}")
        if rows[0].status == "sent":
            raise ConfigError(f"delivery {delivery_id} was already sent")
        aq.update_delivery(conn, delivery_id, status="pending", next_attempt_at=None)


def set_status(
    engine: Engine, workspace: str, alert_id: int, status: str, *, by: str | None
) -> aq.AlertRow:
    """Acknowledge (someone is on it) or resolve (handled) an alert."""
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        alert = aq.get_alert(conn, ws.id, alert_id)
        if status == "acked":
            if alert.status == "resolved":
                raise ConfigError(f"alert {alert_id} is already resolved")
            aq.update_alert(conn, alert_id, status="acked", acked_at=now, acked_by=by)
        else:
            aq.update_alert(conn, alert_id, status="resolved", resolved_at=now, resolved_by=by)
        return aq.get_alert(conn, ws.id, alert_id)


@dataclass
class CheckReport:
    events: list[AlertEvent] = field(default_factory=list)
    routed: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def check_all(engine: Engine, settings: Settings, *, now: datetime | None = None) -> CheckReport:
    """Run the detectors of every workspace, queue what the rules ask for, send what is due."""
    from flocon.services import signals

    now = now or datetime.now(UTC)
    report = CheckReport()
    with read(engine) as conn:
        names = [w.name for w in wsq.list_all(conn)]
    for name in names:
        events = signals.evaluate(engine, settings, name, now=now)
        report.events += events
        report.routed += route(engine, name, events, now=now).deliveries
    report.delivery = deliver_due(engine, settings, now=now)
    return report


async def watch_loop(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    wake: asyncio.Event,
    *,
    every_s: float = 60.0,
    on_report: Callable[[CheckReport], None] | None = None,
) -> None:
    """Check every ``every_s`` seconds, and at once when ``wake`` is set (new mentions stored),
    until ``stop``. A failing check is logged and retried at the next turn."""
    while not stop.is_set():
        wake.clear()
        try:
            report = await asyncio.to_thread(check_all, engine, settings)
        except Exception:  # one bad turn must not stop alerting
            log.exception("alert check failed")
        else:
            if on_report is not None:
                on_report(report)
        waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=every_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()


# -- reading alerts, rules and deliveries (the web app and the REST API) ------------------


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of alerts, newest first; ``next_cursor`` is None on the last page."""

    items: list[alq.ListedAlert]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule with the name of its watch (channels only as ``rule.channels_shown``)."""

    rule: aq.RuleRow
    watch: str | None


def _check_among(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise ConfigError(f"{what} must be among {', '.join(allowed)} (got {', '.join(wrong)})")
    return list(values)


def page_alerts(
    engine: Engine,
    workspace: str,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    severities: Sequence[str] = (),
    watch: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AlertPage:
    """Alerts newest first, filtered (empty filters: any), one page after ``cursor``."""
    from flocon.services.mentions import decode_cursor, encode_cursor

    if not 1 <= limit <= 500:
        raise ConfigError("limit must be between 1 and 500")
    after = decode_cursor(cursor) if cursor else None
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch_id = wq.get_by_name(conn, ws.id, watch).id if watch else None
        rows = alq.page_alerts(
            conn,
            ws.id,
            statuses=_check_among(statuses, STATUSES, "status"),
            kinds=_check_among(kinds, KINDS, "kind"),
            severities=_check_among(severities, SEVERITIES, "severity"),
            watch_id=watch_id,
            after=after,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].alert if more else None
    return AlertPage(
        items=rows, next_cursor=encode_cursor(last.detected_at, last.id) if last else None
    )


def get_alert(engine: Engine, workspace: str, alert_id: int) -> alq.ListedAlert:
    """One alert of the workspace (:class:`NotFound` for another workspace's)."""
    with read(engine) as conn:
        return alq.get_alert(conn, wsq.get_by_name(conn, workspace).id, alert_id)


def alert_evidence(
    engine: Engine, workspace: str, alert: aq.AlertRow, *, limit: int = 200
) -> list[Mention]:
    """The stored mentions behind an alert, in the alert's order (deleted ones left out)."""
    ids = list(dict.fromkeys(alert.evidence))[:limit]
    with read(engine) as conn:
        found = mlq.by_ids(conn, wsq.get_by_name(conn, workspace).id, ids)
    return [found[i] for i in ids if i in found]


def watches_of(engine: Engine, workspace: str) -> list[Watch]:
    """The watches of a workspace, by name (for filters and rule scopes)."""
    with read(engine) as conn:
        return wq.list_all(conn, wsq.get_by_name(conn, workspace).id)


def list_rules(engine: Engine, workspace: str) -> list[RuleView]:
    """The alert rules of a workspace, by name."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        rules = aq.list_rules(conn, ws.id)
    return [RuleView(r, names.get(r.watch_id) if r.watch_id else None) for r in rules]


def get_rule(engine: Engine, workspace: str, rule_id: int) -> RuleView:
    """One rule of the workspace (:class:`NotFound` for another workspace's)."""
    for view in list_rules(engine, workspace):
        if view.rule.id == rule_id:
            return view
    raise NotFound(f"no alert rule {rule_id} in this workspace")


def remove_rule(engine: Engine, workspace: str, name: str) -> None:
    """Remove an alert rule and its deliveries."""
    with write(engine) as conn:
        aq.remove_rule(conn, wsq.get_by_name(conn, workspace).id, name)


def add_rule_reusing(
    engine: Engine, settings: Settings, workspace: str, spec: RuleSpec, *, channels_of: int
) -> int:
    """Add a rule that sends where rule ``channels_of`` sends: its sealed channels are
    copied without being shown to anyone (``spec.channels`` is ignored)."""
    source = get_rule(engine, workspace, channels_of).rule
    opened = CredentialBox(settings).open(source.channels)
    channels = [opened[k] for k in sorted(opened, key=int)]
    if not channels:
        raise ConfigError(f"the rule {source.name!r} has no channel to reuse")
    return add_rule(engine, settings, workspace, replace(spec, channels=channels))


def list_deliveries(
    engine: Engine, workspace: str, *, statuses: Sequence[str] = (), limit: int = 100
) -> list[aq.DeliveryRow]:
    """Messages of the workspace's rules, newest first."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return aq.list_deliveries(conn, ws.id, statuses=statuses, limit=limit)


def get_delivery(engine: Engine, workspace: str, delivery_id: int) -> aq.DeliveryRow:
    """One delivery of the workspace (:class:`NotFound` for another workspace's)."""
    with read(engine) as conn:
        return alq.get_delivery(conn, wsq.get_by_name(conn, workspace).id, delivery_id)
