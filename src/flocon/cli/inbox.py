"""``flocon inbox check`` (rules, suggested cases, escalation: what ``flocon run`` does every
minute) and ``flocon inbox rules list|add|simulate|enable|disable|remove``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from flocon.cli.common import (
    DatabaseOpt,
    JsonOpt,
    WorkspaceOpt,
    load_settings,
    one_line,
    opened,
    out,
    print_json,
    safe,
    workspace_name,
)
from flocon.services.cases import automation
from flocon.services.cases import rules as rules_svc

app = typer.Typer(help="The shared inbox: rules on new mentions, suggestions, escalation.")
rules_app = typer.Typer(help="Inbox rules: conditions on new mentions, and what to do.")
app.add_typer(rules_app, name="rules")

#: Who the audit log names for changes made on the command line.
ACTOR = "cli"


def _rule_ref(value: str) -> int | str:
    """A rule's id (digits) or name."""
    return int(value) if value.isdigit() else value


def _rule_dict(rule: rules_svc.InboxRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "position": rule.position,
        "enabled": rule.enabled,
        "conditions": rule.conditions.to_json(),
        "actions": rule.actions.to_json(),
        "created_by": rule.created_by,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def _summary(parts: dict[str, Any]) -> str:
    return "; ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in parts.items()
    )


@app.command("check")
def check(database_url: DatabaseOpt = None, json_: JsonOpt = False) -> None:
    """Apply the enabled rules and suggestions to new mentions and escalate overdue cases, in
    every workspace, once."""
    settings = load_settings(database_url)
    with opened(database_url) as engine:
        report = automation.check_inbox(engine, settings)
    if json_:
        print_json(report)
        return
    for name in report.started:
        out.print(f"{safe(name)}: the inbox starts here; rules apply to mentions stored from now")
    out.print(
        f"{report.mentions} new mention(s), {report.rules_applied} rule match(es), "
        f"{report.cases_created} case(s) opened by rules, {report.suggested} suggested, "
        f"{report.tagged} tag(s), {report.muted} mute(s), {report.notifications} notification(s), "
        f"{report.escalated} case(s) escalated ({report.escalation_deliveries} message(s))"
    )
    for problem in report.problems:
        out.print(f"[yellow]warning:[/] {safe(problem)}")


@rules_app.command("list")
def list_(
    workspace: WorkspaceOpt = None, database_url: DatabaseOpt = None, json_: JsonOpt = False
) -> None:
    """The inbox rules, in the order they run."""
    name = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        found = rules_svc.list_rules(engine, name)
    if json_:
        print_json([_rule_dict(r) for r in found])
        return
    if not found:
        out.print("no inbox rule")
        return
    table = Table("id", "pos", "name", "on", "conditions", "actions")
    for r in found:
        table.add_row(
            str(r.id),
            str(r.position),
            safe(r.name),
            "yes" if r.enabled else "no",
            safe(_summary(r.conditions.to_json())),
            safe(_summary(r.actions.to_json())),
        )
    out.print(table)


ListOpt = list[str] | None


@rules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    watch: Annotated[str | None, typer.Option(help="Only mentions of this watch.")] = None,
    query: Annotated[str | None, typer.Option(help="A boolean query the mention matches.")] = None,
    sentiment: Annotated[
        ListOpt, typer.Option(help="positive, neutral or negative (repeatable).")
    ] = None,
    lang: Annotated[ListOpt, typer.Option(help="Language code (repeatable).")] = None,
    min_influence: Annotated[
        float | None, typer.Option(help="Author's network score at least (0-100).")
    ] = None,
    min_followers: Annotated[int | None, typer.Option(help="Author's followers at least.")] = None,
    source_kind: Annotated[ListOpt, typer.Option(help="Source kind (repeatable).")] = None,
    needs_answer: Annotated[
        bool | None,
        typer.Option(
            "--needs-answer/--no-needs-answer",
            help="flocon thinks it asks a question or complains (or not).",
            show_default=False,
        ),
    ] = None,
    tag: Annotated[ListOpt, typer.Option(help="Tag to put on the mention (repeatable).")] = None,
    create_case: Annotated[
        bool, typer.Option("--create-case", help="Open a case on the mention.")
    ] = False,
    priority: Annotated[
        str | None, typer.Option(help="The case's priority: low, normal, high, urgent.")
    ] = None,
    assign: Annotated[str | None, typer.Option(help="Give the case to this member.")] = None,
    mute: Annotated[str | None, typer.Option(help="Mute the mention's author or site.")] = None,
    notify: Annotated[
        ListOpt, typer.Option(help="Alert rule whose channels get a message (repeatable).")
    ] = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable it at once.")] = False,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an inbox rule (disabled unless --enable: simulate it first)."""
    conditions: dict[str, Any] = {
        "watch": watch,
        "query": query,
        "sentiment": sentiment,
        "lang": lang,
        "min_influence": min_influence,
        "min_followers": min_followers,
        "source_kind": source_kind,
        "needs_answer": needs_answer,
    }
    actions: dict[str, Any] = {
        "tag": tag,
        "create_case": create_case or None,
        "priority": priority,
        "assign": assign,
        "mute": mute,
        "notify": notify,
    }
    spec = rules_svc.parse_spec(name, conditions, actions)
    ws = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        rule = rules_svc.add_rule(engine, ws, spec, actor=ACTOR, enabled=enable)
    if json_:
        print_json(_rule_dict(rule))
        return
    state = "enabled" if rule.enabled else "disabled: `flocon inbox rules simulate` it, then enable"
    out.print(f"inbox rule {rule.id} {safe(rule.name)!r} added ({state})")


@rules_app.command("simulate")
def simulate(
    rule: Annotated[str, typer.Argument(help="The rule's id or name.")],
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of mentions to replay.")] = 30,
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """What a rule would have done over the last days of mentions (nothing is written)."""
    ws = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        stored = rules_svc.get_rule(engine, ws, _rule_ref(rule))
        result = rules_svc.simulate_rule(engine, ws, stored.spec, days=days)
    if json_:
        print_json(result)
        return
    since = f"{result.since:%Y-%m-%d %H:%M}" if result.since else "?"
    until = f"{result.until:%Y-%m-%d %H:%M}" if result.until else "?"
    out.print(
        f"{safe(stored.name)!r} matches {result.matched} of {result.scanned} mention(s) "
        f"from {since} to {until} UTC" + ("" if result.complete else " (scan capped)")
    )
    for action, n in result.actions.items():
        out.print(f"  {action}: {n}")
    for m in result.samples:
        who = f"@{m.author_handle}" if m.author_handle else "-"
        out.print(f"  #{m.id} {safe(who)}: {safe(one_line(m.text, 100))}")


def _switch(rule: str, enabled: bool, workspace: str | None, database_url: str | None) -> None:
    ws = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        ref = _rule_ref(rule)
        done = (
            rules_svc.enable_rule(engine, ws, ref, actor=ACTOR)
            if enabled
            else rules_svc.disable_rule(engine, ws, ref, actor=ACTOR)
        )
    out.print(f"inbox rule {done.id} {safe(done.name)!r} {'enabled' if enabled else 'disabled'}")


@rules_app.command("enable")
def enable_(
    rule: Annotated[str, typer.Argument(help="The rule's id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Run the rule on new mentions from the next check on."""
    _switch(rule, True, workspace, database_url)


@rules_app.command("disable")
def disable(
    rule: Annotated[str, typer.Argument(help="The rule's id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Stop running the rule (it is kept)."""
    _switch(rule, False, workspace, database_url)


@rules_app.command("remove")
def remove(
    rule: Annotated[str, typer.Argument(help="The rule's id or name.")],
    workspace: WorkspaceOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Delete a rule; what it already did stays."""
    ws = workspace_name(load_settings(database_url), workspace)
    with opened(database_url) as engine:
        gone = rules_svc.remove_rule(engine, ws, _rule_ref(rule), actor=ACTOR)
    out.print(f"inbox rule {gone.id} {safe(gone.name)!r} removed")
