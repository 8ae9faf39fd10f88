"""``flocon alerts``, ``flocon alert-rule`` and ``flocon replay``."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    fail,
    load_settings,
    opened,
    out,
    print_json,
    safe,
    workspace_name,
)
from flocon.signals import KINDS
from flocon.storage.engine import read, write
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

if TYPE_CHECKING:
    from flocon.services.signals import AlertEvent

alerts_app = typer.Typer(help="Alerts: spikes, shifts to negative, snowball risks and more.")
rules_app = typer.Typer(help="Alert rules: which signals reach whom, through which channels.")


def _alert_dict(alert: aq.AlertRow, watch_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": alert.id,
        "watch": watch_names.get(alert.watch_id or -1),
        "kind": alert.kind,
        "status": alert.status,
        "severity": alert.severity,
        "score": alert.score,
        "episode_start": alert.episode_start.isoformat(),
        "detected_at": alert.detected_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "acked_by": alert.acked_by,
        "resolved_by": alert.resolved_by,
        "evidence": alert.evidence,
        "explanation": alert.explanation,
        "details": alert.details,
    }


@alerts_app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="open, acked, closed or resolved (repeatable)."),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"{', '.join(KINDS)} (repeatable).")
    ] = None,
    watch: Annotated[str | None, typer.Option("--watch", help="Only this watch.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List alerts, newest first (open and acknowledged ones by default)."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, name)
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        watch_id = wq.get_by_name(conn, ws.id, watch).id if watch else None
        rows = aq.list_alerts(
            conn,
            ws.id,
            statuses=status or ["open", "acked"],
            kinds=kind or [],
            watch_id=watch_id,
            limit=limit,
        )
    if json_:
        print_json([_alert_dict(a, names) for a in rows])
        return
    if not rows:
        out.print("no alerts")
        return
    table = Table("id", "detected", "watch", "kind", "severity", "status", "explanation")
    for a in rows:
        table.add_row(
            str(a.id),
            f"{a.detected_at:%Y-%m-%d %H:%M}",
            safe(names.get(a.watch_id or -1, "—")),
            a.kind,
            a.severity,
            a.status + (f" ({safe(a.acked_by)})" if a.acked_by else ""),
            safe(a.explanation[:120]),
        )
    out.print(table)


def _set(alert_id: int, status: str, by: str | None, workspace: str | None, db: str | None) -> None:
    from flocon.services import alerting

    name = workspace_name(load_settings(db), workspace)
    with opened(db) as engine:
        alert = alerting.set_status(engine, name, alert_id, status, by=by)
    out.print(f"alert {alert.id}: {alert.status}")


ByOpt = Annotated[str | None, typer.Option("--by", help="Who (name or e-mail).")]


@alerts_app.command("show")
def show(
    alert_id: Annotated[int, typer.Argument(help="Alert id (flocon alerts list).")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One alert in full: why it fired, its factors, its earliest mentions and their spread."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, name)
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        alert = aq.get_alert(conn, ws.id, alert_id)
    data = _alert_dict(alert, names)
    if json_:
        print_json(data)
        return
    out.print(
        f"alert {alert.id}: {alert.kind} on {safe(data['watch'] or 'the workspace')} "
        f"[{alert.severity}] {alert.status}"
    )
    out.print(f"  started {data['episode_start'][:16]}, detected {data['detected_at'][:16]}")
    out.print(f"  {safe(alert.explanation)}")
    details = alert.details
    for factor in details.get("factors", []):
        out.print(
            f"  factor {safe(factor['label'])}: weight {factor['weight']:+.2f}, "
            f"contribution {factor['contribution']:+.2f}"
        )
    for topic in details.get("topics", []):
        out.print(
            f"  about « {safe(topic['label'])} »: {topic['mentions']} of {topic['of']} "
            f"mentions (z {topic['z']})"
        )
    for first in details.get("earliest", []):
        out.print(
            f"  earliest #{first['id']} {first['at'][:16]} {safe(first['site'] or '')} "
            f"{safe(first['author'] or '')}"
        )
    for line in details.get("spread", []):
        out.print(f"  spread: {safe(line)}")
    if alert.evidence:
        out.print("  evidence: " + ", ".join(f"#{i}" for i in alert.evidence))


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id (flocon alerts list).")],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Acknowledge an alert: someone is on it."""
    _set(alert_id, "acked", by, workspace, database_url)


@alerts_app.command("resolve")
def resolve(
    alert_id: Annotated[int, typer.Argument(help="Alert id (flocon alerts list).")],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Resolve an alert: it has been handled."""
    _set(alert_id, "resolved", by, workspace, database_url)


@alerts_app.command("check")
def check(
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run the detectors now, store the alerts, and send what the rules ask for."""
    from flocon.services import alerting, signals

    settings = load_settings(database_url)
    name = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        events = signals.evaluate(engine, settings, name)
        routed = alerting.route(engine, name, events)
        sent = alerting.deliver_due(engine, settings)
    result = {
        "events": [alerting.event_payload(e) for e in events],
        "deliveries": routed.deliveries,
        "sent": sent.sent,
        "failed": sent.failed,
        "dead": sent.dead,
    }
    if json_:
        print_json(result)
        return
    for e in events:
        out.print(f"{e.action} {e.kind} {safe(e.watch or '')}: {safe(e.explanation)}")
    out.print(
        f"{len(events)} alert change(s); {routed.deliveries} message(s) queued, "
        f"{sent.sent} sent, {sent.failed} to retry, {sent.dead} failed"
    )


@alerts_app.command("deliveries")
def deliveries_(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failed and dead deliveries.")
    ] = False,
    replay: Annotated[
        int | None, typer.Option("--replay", help="Queue this failed delivery again.")
    ] = None,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Messages sent or waiting; failed ones can be replayed."""
    from flocon.services import alerting

    settings = load_settings(database_url)
    name = workspace_name(settings, workspace)
    with opened(database_url) as engine:
        if replay is not None:
            alerting.replay_delivery(engine, name, replay)
            sent = alerting.deliver_due(engine, settings)
            out.print(
                f"delivery {replay} replayed: {sent.sent} sent, {sent.failed + sent.dead} failed"
            )
            return
        with read(engine) as conn:
            ws = wsq.get_by_name(conn, name)
            rows = aq.list_deliveries(conn, ws.id, statuses=["failed", "dead"] if failed else [])
    data: list[dict[str, Any]] = [
        {
            "id": d.id,
            "rule_id": d.rule_id,
            "channel": d.channel,
            "alerts": d.alert_ids,
            "status": d.status,
            "attempts": d.attempts,
            "created_at": d.created_at.isoformat(),
            "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "last_error": d.last_error,
            "subject": d.subject,
        }
        for d in rows
    ]
    if json_:
        print_json(data)
        return
    table = Table("id", "status", "attempts", "created", "subject", "last error")
    for d in data:
        table.add_row(
            str(d["id"]),
            d["status"],
            str(d["attempts"]),
            d["created_at"][:16],
            safe(d["subject"]),
            safe(d["last_error"] or ""),
        )
    out.print(table if data else "no deliveries")


@rules_app.command("add")
def rule_add(
    name: Annotated[str, typer.Argument(help="Name of the rule.")],
    channel: Annotated[
        list[str],
        typer.Option(
            "--channel",
            help="email:ADDRESS[,ADDRESS], webhook:URL, or apprise:URL (Slack, Mattermost, "
            "Teams, Matrix, Discord, Telegram…); repeatable. See docs/alerts.md.",
        ),
    ],
    watch: Annotated[str | None, typer.Option("--watch", help="Only this watch.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Only this watch group.")] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option("--signal", help=f"{', '.join(KINDS)} (repeatable; default: all)."),
    ] = None,
    sensitivity: Annotated[
        str, typer.Option("--sensitivity", help="low, medium or high.")
    ] = "medium",
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="low, medium or high.")
    ] = "low",
    quiet_hours: Annotated[
        str | None,
        typer.Option("--quiet-hours", help="e.g. 22:00-07:00: held until the end (high passes)."),
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="e.g. Europe/Paris.")] = "UTC",
    cooldown: Annotated[
        int, typer.Option("--cooldown", min=0, help="Seconds before the same signal alerts again.")
    ] = 3600,
    digest: Annotated[str, typer.Option("--digest", help="off, hourly or daily.")] = "off",
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Add an alert rule."""
    from flocon.services import alerting

    settings = load_settings(database_url)
    ws = workspace_name(settings, workspace)
    spec = alerting.RuleSpec(
        name=name,
        channels=channel,
        watch=watch,
        group=group,
        signals=signal or KINDS,
        sensitivity=sensitivity,
        min_severity=min_severity,
        quiet_hours=quiet_hours,
        timezone=timezone,
        cooldown_s=cooldown,
        digest=digest,
    )
    with opened(database_url) as engine:
        rule_id = alerting.add_rule(engine, settings, ws, spec)
    out.print(f"alert rule {safe(name)!r} added (id {rule_id})")


@rules_app.command("list")
def rule_list(
    workspace: WorkspaceOpt = None, database_url: DatabaseOpt = None, json_: JsonOpt = False
) -> None:
    """List alert rules (channels shown without their secrets)."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine, read(engine) as conn:
        ws = wsq.get_by_name(conn, name)
        names = {w.id: w.name for w in wq.list_all(conn, ws.id)}
        rules = aq.list_rules(conn, ws.id)
    data: list[dict[str, Any]] = [
        {
            "id": r.id,
            "name": r.name,
            "watch": names.get(r.watch_id or -1),
            "group": r.group_name,
            "signals": list(r.signals),
            "sensitivity": r.sensitivity,
            "min_severity": r.min_severity,
            "channels": r.channels_shown,
            "quiet_hours": r.quiet_hours,
            "timezone": r.timezone,
            "cooldown_s": r.cooldown_s,
            "digest": r.digest,
        }
        for r in rules
    ]
    if json_:
        print_json(data)
        return
    if not data:
        out.print("no alert rules")
        return
    table = Table("name", "scope", "signals", "sensitivity", "channels", "quiet", "digest")
    for d in data:
        scope = d["watch"] or (f"group {d['group']}" if d["group"] else "all watches")
        table.add_row(
            safe(d["name"]),
            safe(scope),
            ", ".join(d["signals"]),
            d["sensitivity"],
            safe("; ".join(d["channels"])),
            d["quiet_hours"] or "",
            d["digest"],
        )
    out.print(table)


@rules_app.command("remove")
def rule_remove(
    name: Annotated[str, typer.Argument(help="Name of the rule.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Remove an alert rule."""
    ws = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine, write(engine) as conn:
        aq.remove_rule(conn, wsq.get_by_name(conn, ws).id, name)
    out.print(f"alert rule {safe(name)!r} removed")


# -- replay ----------------------------------------------------------------------


def replay_line(event: AlertEvent, external: dict[int, str]) -> dict[str, Any]:
    return {
        "watch": event.watch,
        "kind": event.kind,
        "episode_start": event.episode_start.astimezone(UTC).isoformat(),
        "detected_at": event.detected_at.astimezone(UTC).isoformat(),
        "severity": event.severity,
        "evidence": [external.get(i, str(i)) for i in event.evidence],
        "explanation": event.explanation,
        "action": event.action,
        "score": event.score,
    }


def replay(
    file: Annotated[Path, typer.Argument(help="Timestamped items, the import format (JSONL).")],
    watch: Annotated[
        list[str],
        typer.Option("--watch", help="NAME=QUERY, repeatable: the watches to replay against."),
    ],
    speed: Annotated[
        str,
        typer.Option("--speed", help="max (as fast as possible) or N: N× real time."),
    ] = "max",
    step: Annotated[
        int, typer.Option("--step", min=60, help="Simulated seconds between evaluations.")
    ] = 300,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Sentiment profile (default: fast).")
    ] = "fast",
    json_: JsonOpt = False,
) -> None:
    """Replay timestamped items through the whole pipeline with a simulated clock.

    Items are ingested in the order of their published_at, the detectors run every --step
    simulated seconds, and every signal and alert is printed (one JSON object per line with
    --json). A throw-away SQLite database is used: your data is never touched.
    """
    from flocon.services import replay as replay_svc

    if speed != "max":
        try:
            factor = float(speed)
            if factor <= 0:
                raise ValueError
        except ValueError:
            fail(f"--speed must be max or a positive number, not {speed!r}", 2)
    else:
        factor = 0.0
    pairs: list[tuple[str, str]] = []
    for value in watch:
        name, sep, query = value.partition("=")
        if not sep or not name.strip() or not query.strip():
            fail(f"--watch must be NAME=QUERY, not {value!r}", 2)
        pairs.append((name.strip(), query.strip()))
    if not file.is_file() and str(file) != "-":
        fail(f"no such file: {file}", 2)

    started = time.monotonic()
    first_at: list[datetime] = []

    def emit(event: AlertEvent, external: dict[int, str], now: datetime) -> None:
        if factor:
            if not first_at:
                first_at.append(now)
            due = (now - first_at[0]).total_seconds() / factor
            delay = due - (time.monotonic() - started)
            if delay > 0:
                time.sleep(delay)
        line = replay_line(event, external)
        if json_:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            out.print(
                f"{line['detected_at'][:16]} {line['action']:7} {line['kind']:14} "
                f"{safe(line['watch'] or '')} [{line['severity']}] {safe(line['explanation'])}"
            )

    with tempfile.TemporaryDirectory(prefix="flocon-replay-") as tmp:
        report = replay_svc.replay(
            file,
            pairs,
            database=Path(tmp) / "replay.db",
            step=timedelta(seconds=step),
            profile=profile,
            emit=emit,
        )
    if not json_:
        out.print(
            f"{report.items} item(s) replayed over {report.span}, {report.evaluations} "
            f"evaluation(s), {report.events} signal(s); rejected {report.rejected}"
        )
