"""Pages: the inbox rules (``/w/{ws}/inbox/rules``): the list in the order they run, the
editor, the simulation of a rule over the last 30 days before it is enabled, enable, disable
and remove.

Roles: everyone reads and simulates stored rules; a manager adds, edits, enables, disables and
removes them. The actions at the top of this module are shared with the REST API
(flocon.web.api.inbox_rules). This router is registered before the inbox's, whose
``/inbox/{case_id}`` would otherwise take ``/inbox/rules``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.errors import AlreadyExists, FloconError, QuerySyntaxError
from flocon.services import accounts, alerting
from flocon.services.cases import rules
from flocon.web.deps import Ctx, as_manager, as_viewer
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])


# -- actions shared with the REST API -----------------------------------------------------------


def create_rule(
    ctx: Ctx, spec: rules.RuleSpec, *, enabled: bool = False, position: int | None = None
) -> rules.InboxRule:
    """Add a rule (manager+); the service writes the audit entry."""
    ctx.require("manager")
    return rules.add_rule(
        ctx.engine,
        ctx.workspace,
        spec,
        actor=ctx.viewer.user,
        enabled=enabled,
        position=position,
    )


def edit_rule(
    ctx: Ctx,
    rule_id: int,
    *,
    name: str | None = None,
    conditions: rules.Conditions | None = None,
    actions: rules.Actions | None = None,
    enabled: bool | None = None,
    position: int | None = None,
) -> rules.InboxRule:
    """Change a rule of the workspace (manager+); what is None stays."""
    ctx.require("manager")
    return rules.update_rule(
        ctx.engine,
        ctx.workspace,
        rule_id,
        actor=ctx.viewer.user,
        name=name,
        conditions=conditions,
        actions=actions,
        enabled=enabled,
        position=position,
    )


def delete_rule(ctx: Ctx, rule_id: int) -> rules.InboxRule:
    """Remove a rule of the workspace (manager+)."""
    ctx.require("manager")
    return rules.remove_rule(ctx.engine, ctx.workspace, rule_id, actor=ctx.viewer.user)


def simulate(ctx: Ctx, spec: rules.RuleSpec, *, days: int = 30) -> rules.Simulation:
    """What a rule would have done (reads only)."""
    return rules.simulate_rule(ctx.engine, ctx.workspace, spec, days=days)


# -- labels -----------------------------------------------------------------------------------


def _labels() -> dict[str, Any]:
    return {
        "sentiments": {
            "positive": _("positive"),
            "neutral": _("neutral"),
            "negative": _("negative"),
        },
        "priorities": {
            "low": _("low"),
            "normal": _("normal"),
            "high": _("high"),
            "urgent": _("urgent"),
        },
        "mutes": {"author": _("the author"), "site": _("the site")},
        "action_names": {
            "tag": _("tag the mention"),
            "create_case": _("open a case"),
            "priority": _("set the case's priority"),
            "assign": _("assign the case"),
            "mute": _("mute (distinct authors or sites)"),
            "notify": _("report in a notification"),
        },
    }


def describe(spec: rules.RuleSpec) -> tuple[list[str], list[str]]:
    """A rule's conditions and actions as short sentences for the list."""
    c, a = spec.conditions, spec.actions
    labels = _labels()
    when: list[str] = []
    if c.watch:
        when.append(_("watch %(name)s", name=c.watch))
    if c.query:
        when.append(_("matches %(query)s", query=c.query))
    if c.sentiment:
        names = ", ".join(labels["sentiments"].get(s, s) for s in c.sentiment)
        when.append(_("sentiment: %(list)s", list=names))
    if c.lang:
        when.append(_("language: %(list)s", list=", ".join(c.lang)))
    if c.min_influence is not None:
        when.append(_("author influence ≥ %(n)s", n=f"{c.min_influence:g}"))
    if c.min_followers is not None:
        when.append(_("followers ≥ %(n)s", n=c.min_followers))
    if c.source_kind:
        when.append(_("source: %(list)s", list=", ".join(c.source_kind)))
    if c.needs_answer is True:
        when.append(_("needs an answer"))
    elif c.needs_answer is False:
        when.append(_("needs no answer"))
    then: list[str] = []
    if a.tag:
        then.append(_("tag: %(list)s", list=", ".join(a.tag)))
    if a.create_case:
        then.append(_("open a case"))
    if a.priority:
        then.append(_("priority: %(p)s", p=labels["priorities"].get(a.priority, a.priority)))
    if a.assign:
        then.append(_("assign to %(who)s", who=a.assign))
    if a.mute:
        then.append(_("mute %(what)s", what=labels["mutes"].get(a.mute, a.mute)))
    if a.notify:
        then.append(_("notify: %(list)s", list=", ".join(a.notify)))
    return when, then


# -- the form ---------------------------------------------------------------------------------

FIELDS = (
    "name",
    "watch",
    "query",
    "lang",
    "min_influence",
    "min_followers",
    "source_kind",
    "needs_answer",
    "tag",
    "priority",
    "assign",
    "mute",
)


def _words(value: str) -> list[str] | None:
    items = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return items or None


def _number(value: str, what: str, *, whole: bool = False) -> float | int | None:
    text = value.strip()
    if not text:
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        raise FloconError(_("%(what)s must be a number", what=what)) from None


def spec_from_form(values: dict[str, Any]) -> rules.RuleSpec:
    """The rule the editor describes (blank fields are not conditions or actions)."""
    needs = values.get("needs_answer", "")
    conditions: dict[str, Any] = {
        "watch": values.get("watch") or None,
        "query": (values.get("query") or "").strip() or None,
        "sentiment": values.get("sentiment") or None,
        "lang": _words(values.get("lang", "")),
        "min_influence": _number(values.get("min_influence", ""), _("Author influence")),
        "min_followers": _number(values.get("min_followers", ""), _("Followers"), whole=True),
        "source_kind": _words(values.get("source_kind", "")),
        "needs_answer": {"yes": True, "no": False}.get(needs),
    }
    actions: dict[str, Any] = {
        "tag": _words(values.get("tag", "")),
        "create_case": bool(values.get("create_case")) or None,
        "priority": values.get("priority") or None,
        "assign": values.get("assign") or None,
        "mute": values.get("mute") or None,
        "notify": values.get("notify") or None,
    }
    return rules.parse_spec(values.get("name") or "", conditions, actions)


def form_values(rule: rules.InboxRule | None) -> dict[str, Any]:
    """The editor's fields for a stored rule (empty for a new one)."""
    values: dict[str, Any] = dict.fromkeys(FIELDS, "")
    values.update({"sentiment": [], "notify": [], "create_case": False})
    if rule is None:
        return values
    c, a = rule.conditions, rule.actions
    values.update(
        {
            "name": rule.name,
            "watch": c.watch or "",
            "query": c.query or "",
            "sentiment": list(c.sentiment),
            "lang": ", ".join(c.lang),
            "min_influence": "" if c.min_influence is None else f"{c.min_influence:g}",
            "min_followers": "" if c.min_followers is None else str(c.min_followers),
            "source_kind": ", ".join(c.source_kind),
            "needs_answer": {True: "yes", False: "no", None: ""}[c.needs_answer],
            "tag": ", ".join(a.tag),
            "create_case": a.create_case,
            "priority": a.priority or "",
            "assign": a.assign or "",
            "mute": a.mute or "",
            "notify": list(a.notify),
        }
    )
    return values


# -- pages ------------------------------------------------------------------------------------


def _notice(done: str) -> str | None:
    return {
        "added": _("Rule added. It is disabled: simulate it, then enable it."),
        "saved": _("Rule saved."),
        "enabled": _("Rule enabled: it acts on new mentions from the next check."),
        "disabled": _("Rule disabled."),
        "removed": _("Rule removed. What it already did stays."),
    }.get(done)


def _rules_page(
    request: Request,
    ctx: Ctx,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_position: int | None = None,
    values: dict[str, Any] | None = None,
    editing: rules.InboxRule | None = None,
    simulation: rules.Simulation | None = None,
    simulated: rules.InboxRule | None = None,
    done: str = "",
) -> HTMLResponse:
    found = rules.list_rules(ctx.engine, ctx.workspace)
    manager = ctx.can("manager")
    members = (
        sorted(
            u.email
            for u, role in accounts.list_members(ctx.engine, ctx.workspace)
            if accounts.role_at_least(role, "agent") and u.is_active
        )
        if manager
        else []
    )
    return page(
        request,
        "inbox/rules.html",
        ctx=ctx,
        status_code=status_code,
        rules=[(r, *describe(r.spec)) for r in found],
        watches=alerting.watches_of(ctx.engine, ctx.workspace) if manager else [],
        alert_rules=[v.rule.name for v in alerting.list_rules(ctx.engine, ctx.workspace)]
        if manager
        else [],
        members=members,
        values=values if values is not None else form_values(editing),
        editing=editing,
        simulation=simulation,
        simulated=simulated,
        error=error,
        error_position=error_position,
        notice=_notice(done),
        **_labels(),
    )


@router.get("/inbox/rules", response_class=HTMLResponse, include_in_schema=False)
def rules_page(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    edit: int | None = None,
    replay: Annotated[int | None, Query(alias="simulate")] = None,
    done: str = "",
) -> HTMLResponse:
    """The rules; ``?simulate=ID`` adds what that rule would have done, ``?edit=ID`` (manager)
    fills the editor with it."""
    simulation = simulated = None
    if replay is not None:
        simulated = rules.get_rule(ctx.engine, ctx.workspace, replay)
        simulation = simulate(ctx, simulated.spec)
    editing = None
    if edit is not None and ctx.can("manager"):
        editing = rules.get_rule(ctx.engine, ctx.workspace, edit)
    return _rules_page(
        request, ctx, editing=editing, simulation=simulation, simulated=simulated, done=done
    )


def _failed(
    request: Request,
    ctx: Ctx,
    exc: FloconError,
    values: dict[str, Any],
    editing: rules.InboxRule | None,
) -> HTMLResponse:
    status = 409 if isinstance(exc, AlreadyExists) else 400
    position = exc.position if isinstance(exc, QuerySyntaxError) else None
    message = (
        _(
            "The query has an error at character %(n)s: %(reason)s",
            n=exc.position + 1,
            reason=exc.reason,
        )
        if isinstance(exc, QuerySyntaxError)
        else str(exc)
    )
    return _rules_page(
        request,
        ctx,
        status_code=status,
        error=message,
        error_position=position,
        values=values,
        editing=editing,
    )


Text = Annotated[str, Form()]
Many = Annotated[list[str] | None, Form()]


class RuleForm:
    """The editor's fields, read from a posted form."""

    def __init__(
        self,
        name: Text = "",
        watch: Text = "",
        query: Text = "",
        sentiment: Many = None,
        lang: Text = "",
        min_influence: Text = "",
        min_followers: Text = "",
        source_kind: Text = "",
        needs_answer: Text = "",
        tag: Text = "",
        create_case: Text = "",
        priority: Text = "",
        assign: Text = "",
        mute: Text = "",
        notify: Many = None,
    ) -> None:
        self.values: dict[str, Any] = {
            "name": name,
            "watch": watch,
            "query": query,
            "sentiment": sentiment or [],
            "lang": lang,
            "min_influence": min_influence,
            "min_followers": min_followers,
            "source_kind": source_kind,
            "needs_answer": needs_answer,
            "tag": tag,
            "create_case": bool(create_case),
            "priority": priority,
            "assign": assign,
            "mute": mute,
            "notify": notify or [],
        }


Form_ = Annotated[RuleForm, Depends()]


@router.post("/inbox/rules", include_in_schema=False)
def add(request: Request, ctx: Annotated[Ctx, Depends(as_manager)], form: Form_) -> Response:
    try:
        create_rule(ctx, spec_from_form(form.values))
    except accounts.PermissionDenied:
        raise
    except FloconError as exc:
        return _failed(request, ctx, exc, form.values, None)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/rules?done=added", status_code=303)


@router.post("/inbox/rules/simulate", response_class=HTMLResponse, include_in_schema=False)
def simulate_form(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_manager)],
    form: Form_,
    rule_id: Annotated[str, Form()] = "",
) -> Response:
    """Simulate the rule being written (saved or not): the page comes back with the result
    and the form as it was."""
    editing = rules.get_rule(ctx.engine, ctx.workspace, int(rule_id)) if rule_id.isdigit() else None
    try:
        spec = spec_from_form(form.values)
        result = simulate(ctx, spec)
    except FloconError as exc:
        return _failed(request, ctx, exc, form.values, editing)
    return _rules_page(
        request, ctx, values=form.values, editing=editing, simulation=result, simulated=None
    )


@router.post("/inbox/rules/{rule_id:int}", include_in_schema=False)
def save(
    request: Request, ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int, form: Form_
) -> Response:
    editing = rules.get_rule(ctx.engine, ctx.workspace, rule_id)
    try:
        spec = spec_from_form(form.values)
        edit_rule(ctx, rule_id, name=spec.name, conditions=spec.conditions, actions=spec.actions)
    except accounts.PermissionDenied:
        raise
    except FloconError as exc:
        return _failed(request, ctx, exc, form.values, editing)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/rules?done=saved", status_code=303)


@router.post("/inbox/rules/{rule_id:int}/enable", include_in_schema=False)
def enable(ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int) -> Response:
    edit_rule(ctx, rule_id, enabled=True)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/rules?done=enabled", status_code=303)


@router.post("/inbox/rules/{rule_id:int}/disable", include_in_schema=False)
def disable(ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int) -> Response:
    edit_rule(ctx, rule_id, enabled=False)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/rules?done=disabled", status_code=303)


@router.post("/inbox/rules/{rule_id:int}/remove", include_in_schema=False)
def remove(ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int) -> Response:
    delete_rule(ctx, rule_id)
    return RedirectResponse(f"/w/{ctx.workspace}/inbox/rules?done=removed", status_code=303)
