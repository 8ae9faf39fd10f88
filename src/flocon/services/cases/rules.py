"""Inbox rules as use cases: add, list, update, enable, disable and remove them (each one
audit-logged in its transaction), and :func:`simulate_rule`, which replays a rule on the last
30 days of stored mentions and counts what it would have done, writing nothing.

What a rule is and what it decides for one mention lives in
:mod:`flocon.services.cases.rulespec` (re-exported here); the check that runs enabled rules
on new mentions in :mod:`flocon.services.cases.automation`. See docs/inbox.md, "Rules".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine

from flocon.errors import AlreadyExists, ConfigError, NotFound
from flocon.services import accounts
from flocon.services.cases.rulespec import (
    MUTE_KINDS,
    SENTIMENTS,
    Actions,
    CompiledRule,
    Conditions,
    Decision,
    MentionRecord,
    RuleSpec,
    check_name,
    compile_rule,
    decide,
    evaluate,
    parse_actions,
    parse_conditions,
    parse_spec,
)
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as uq
from flocon.storage.queries import alerts as aq
from flocon.storage.queries import inbox_rules as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User

__all__ = [
    "MUTE_KINDS",
    "SENTIMENTS",
    "Actions",
    "CompiledRule",
    "Conditions",
    "Decision",
    "InboxRule",
    "MentionRecord",
    "RuleSpec",
    "Simulation",
    "add_rule",
    "check_name",
    "compile_rule",
    "decide",
    "disable_rule",
    "enable_rule",
    "evaluate",
    "get_rule",
    "list_rules",
    "parse_actions",
    "parse_conditions",
    "parse_spec",
    "remove_rule",
    "simulate_rule",
    "update_rule",
]

#: Days a simulation replays by default, mentions it shows, and the most it reads.
SIMULATION_DAYS: Final = 30
SIMULATION_SAMPLE: Final = 20
SIMULATION_MAX_SCAN: Final = 20_000


# -- stored rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxRule:
    """A stored rule. New rules start disabled: simulate, then enable."""

    id: int
    name: str
    position: int
    enabled: bool
    spec: RuleSpec
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def conditions(self) -> Conditions:
        return self.spec.conditions

    @property
    def actions(self) -> Actions:
        return self.spec.actions


def stored(row: q.RuleRow) -> InboxRule:
    """The public record of a stored rule (its JSON checked again: a bad row fails loudly)."""
    return InboxRule(
        id=row.id,
        name=row.name,
        position=row.position,
        enabled=row.enabled,
        spec=parse_spec(row.name, row.conditions, row.actions),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _now(now: datetime | None) -> datetime:
    return now.astimezone(UTC) if now is not None else datetime.now(UTC)


def _check_refs(conn: Connection, ws_id: int, spec: RuleSpec) -> None:
    """The watch, the assignee and the alert rules a rule names exist in the workspace."""
    if spec.conditions.watch is not None:
        try:
            wq.get_by_name(conn, ws_id, spec.conditions.watch)
        except NotFound as exc:
            raise ConfigError(f"conditions.watch: no watch {spec.conditions.watch!r}") from exc
    if spec.actions.assign is not None:
        user = uq.find_user(conn, spec.actions.assign)
        role = uq.role(conn, user.id, ws_id) if user is not None and user.is_active else None
        if role is None:
            raise ConfigError(f"actions.assign: no member {spec.actions.assign!r} here")
        if not accounts.role_at_least(role, "agent"):
            raise ConfigError(f"actions.assign: {spec.actions.assign} is a {role}, not an agent")
    if spec.actions.notify:
        known = {r.name for r in aq.list_rules(conn, ws_id)}
        missing = [n for n in spec.actions.notify if n not in known]
        if missing:
            raise ConfigError(f"actions.notify: no alert rule {', '.join(map(repr, missing))}")


def _load(conn: Connection, ws_id: int, rule: int | str) -> q.RuleRow:
    row = q.get_rule(conn, ws_id, rule) if isinstance(rule, int) else q.find_rule(conn, ws_id, rule)
    if row is None:
        raise NotFound(f"no inbox rule {rule!r} in this workspace")
    return row


def _audit(
    conn: Connection,
    ws_id: int,
    actor: User | str,
    action: str,
    rule_id: int,
    details: Mapping[str, Any],
    now: datetime,
) -> None:
    accounts.record(
        conn,
        workspace_id=ws_id,
        actor=actor,
        action=action,
        object_type="inbox_rule",
        object_id=rule_id,
        details=details,
        now=now,
    )


def _shown(spec: RuleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "conditions": spec.conditions.to_json(),
        "actions": spec.actions.to_json(),
    }


def add_rule(
    engine: Engine,
    workspace: str,
    spec: RuleSpec,
    *,
    actor: User | str,
    enabled: bool = False,
    position: int | None = None,
    now: datetime | None = None,
) -> InboxRule:
    """Store a rule (last in order unless ``position`` is given); disabled unless ``enabled``.
    The watch, assignee and alert rules it names must exist."""
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        if q.find_rule(conn, ws.id, spec.name) is not None:
            raise AlreadyExists(f"an inbox rule named {spec.name!r} already exists")
        _check_refs(conn, ws.id, spec)
        rule_id = q.insert_rule(
            conn,
            ws.id,
            {
                "name": spec.name,
                "position": q.next_position(conn, ws.id) if position is None else position,
                "enabled": enabled,
                "conditions": spec.conditions.to_json(),
                "actions": spec.actions.to_json(),
                "created_by": actor.email if isinstance(actor, User) else actor,
                "created_at": at,
                "updated_at": at,
            },
        )
        _audit(
            conn, ws.id, actor, "inbox_rule.add", rule_id, {**_shown(spec), "enabled": enabled}, at
        )
        return stored(_load(conn, ws.id, rule_id))


def list_rules(engine: Engine, workspace: str) -> list[InboxRule]:
    """The workspace's rules in the order they run."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return [stored(r) for r in q.list_rules(conn, ws.id)]


def get_rule(engine: Engine, workspace: str, rule: int | str) -> InboxRule:
    """One rule of the workspace, by id or name (``NotFound`` for another workspace's)."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return stored(_load(conn, ws.id, rule))


def update_rule(
    engine: Engine,
    workspace: str,
    rule: int | str,
    *,
    actor: User | str,
    name: str | None = None,
    conditions: Conditions | None = None,
    actions: Actions | None = None,
    position: int | None = None,
    enabled: bool | None = None,
    now: datetime | None = None,
) -> InboxRule:
    """Change a rule's name, conditions, actions, position or state (what is None stays)."""
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _load(conn, ws.id, rule)
        before = stored(row)
        spec = replace(
            before.spec,
            name=before.name if name is None else check_name(name),
            conditions=before.conditions if conditions is None else conditions,
            actions=before.actions if actions is None else actions,
        )
        if spec.name != before.name and q.find_rule(conn, ws.id, spec.name) is not None:
            raise AlreadyExists(f"an inbox rule named {spec.name!r} already exists")
        _check_refs(conn, ws.id, spec)
        values: dict[str, Any] = {}
        if spec.name != before.name:
            values["name"] = spec.name
        if spec.conditions != before.conditions:
            values["conditions"] = spec.conditions.to_json()
        if spec.actions != before.actions:
            values["actions"] = spec.actions.to_json()
        if position is not None and position != before.position:
            values["position"] = position
        if enabled is not None and enabled != before.enabled:
            values["enabled"] = enabled
        if not values:
            return before
        q.update_rule(conn, row.id, {**values, "updated_at": at})
        if set(values) == {"enabled"}:
            action = "inbox_rule.enable" if enabled else "inbox_rule.disable"
            _audit(conn, ws.id, actor, action, row.id, {"name": spec.name}, at)
        else:
            _audit(conn, ws.id, actor, "inbox_rule.edit", row.id, {"name": spec.name, **values}, at)
        return stored(_load(conn, ws.id, row.id))


def enable_rule(engine: Engine, workspace: str, rule: int | str, *, actor: User | str) -> InboxRule:
    """Run the rule on new mentions from the next check on."""
    return update_rule(engine, workspace, rule, actor=actor, enabled=True)


def disable_rule(
    engine: Engine, workspace: str, rule: int | str, *, actor: User | str
) -> InboxRule:
    return update_rule(engine, workspace, rule, actor=actor, enabled=False)


def remove_rule(engine: Engine, workspace: str, rule: int | str, *, actor: User | str) -> InboxRule:
    """Delete a rule; what it already did (tags, cases, mutes) stays. Returns it."""
    at = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _load(conn, ws.id, rule)
        gone = stored(row)
        q.delete_rule(conn, row.id)
        _audit(conn, ws.id, actor, "inbox_rule.remove", row.id, {"name": row.name}, at)
        return gone


# -- simulation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Simulation:
    """What a rule would have done over stored mentions, without doing it.

    ``matched``: original, watched, unmuted mentions of the period it acts on; ``actions``:
    how many mentions each action would have acted on (``create_case`` counts those without a
    case yet, ``mute`` distinct authors or sites; ``notify`` mentions reported, a check
    grouping its new ones into one message per alert rule);
    ``samples``: the newest of them. The period runs from ``since`` to ``until`` (the newest
    stored mention when older than now, as the watch preview does); ``complete`` is False
    when the scan stopped at its cap (``since`` is then the oldest mention read).
    """

    matched: int
    scanned: int
    actions: dict[str, int]
    samples: list[MentionRecord] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    complete: bool = True


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def simulate_rule(
    engine: Engine,
    workspace: str,
    spec: RuleSpec,
    *,
    days: int = SIMULATION_DAYS,
    now: datetime | None = None,
    sample: int = SIMULATION_SAMPLE,
    max_scan: int = SIMULATION_MAX_SCAN,
) -> Simulation:
    """Replay ``spec`` on the last ``days`` days of stored mentions and count what it would
    have done (nothing is written). Raises ``ConfigError`` when it names a missing watch,
    assignee or alert rule, like saving it would."""
    if not 1 <= days <= 366:
        raise ConfigError("a simulation covers 1 to 366 days")
    at = _now(now)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        _check_refs(conn, ws.id, spec)
        watch_ids = {w.name: w.id for w in wq.list_all(conn, ws.id)}
        rule = compile_rule(spec, watch_ids=watch_ids)
        oldest, newest = q.data_span(conn, ws.id)
        until = _aware(newest) if newest is not None and _aware(newest) < at else at
        since = until - timedelta(days=days)
        rows = q.recent_mentions(conn, ws.id, since=since, until=until, limit=max_scan)
        hits = [m for m in rows if evaluate(rule, m)]
        with_case = q.mentions_with_cases(conn, ws.id, [m.id for m in hits])
    complete = len(rows) < max_scan
    if not complete and rows:
        since = rows[-1].occurred_at or since
    elif oldest is not None:
        since = max(since, _aware(oldest))
    a = spec.actions
    counts: dict[str, int] = {}
    if a.tag:
        counts["tag"] = len(hits)
    if a.create_case:
        counts["create_case"] = sum(1 for m in hits if m.id not in with_case)
    if a.priority is not None:
        counts["priority"] = len(hits)
    if a.assign is not None:
        counts["assign"] = len(hits)
    if a.mute is not None:
        keys = {m.author_key if a.mute == "author" else m.site for m in hits}
        counts["mute"] = len({k for k in keys if k})
    if a.notify:
        counts["notify"] = len(hits)
    return Simulation(
        matched=len(hits),
        scanned=len(rows),
        actions=counts,
        samples=hits[:sample],
        since=since,
        until=until,
        complete=complete,
    )
