"""Pages: the alert timeline with each alert's explanation and evidence, acknowledge and
resolve, the alert-rule editor and the deliveries (failed ones replayed).

Roles: everyone reads; an agent acknowledges and resolves; a manager adds and removes
rules, reusing the channels of an existing rule; only an admin types new channels (their
URLs carry secrets: write-only, listed without them) and replays deliveries. The actions at
the end of this module are shared with the REST API (flocon.web.api.alerts).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.errors import AlreadyExists, ConfigError, FloconError
from flocon.services import accounts, alerting
from flocon.services.signals import KINDS
from flocon.storage.queries.alert_lists import ListedAlert
from flocon.storage.queries.alerts import DeliveryRow
from flocon.web.deps import Ctx, as_admin, as_agent, as_manager, as_viewer, audit
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect
from flocon.web.ui.auth import safe_next

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

#: The status filter of the timeline: "active" (the default) is open or acknowledged.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "active": ("open", "acked"),
    "open": ("open",),
    "acked": ("acked",),
    "resolved": ("resolved",),
    "closed": ("closed",),
    "all": (),
}
PAGE_SIZE = 50


# -- labels ----------------------------------------------------------------------------------


def kind_labels() -> dict[str, str]:
    return {
        "spike": _("Volume spike"),
        "negative_shift": _("Shift to negative"),
        "snowball": _("Snowball risk"),
        "influencer": _("Influential author"),
        "new_site": _("New site"),
        "source_down": _("Source down"),
    }


def status_labels() -> dict[str, str]:
    return {
        "active": _("open or acknowledged"),
        "open": _("open"),
        "acked": _("acknowledged"),
        "resolved": _("resolved"),
        "closed": _("closed"),
        "all": _("all"),
    }


def severity_labels() -> dict[str, str]:
    return {"low": _("low"), "medium": _("medium"), "high": _("high")}


def digest_labels() -> dict[str, str]:
    return {"off": _("off"), "hourly": _("hourly"), "daily": _("daily")}


def _labels() -> dict[str, Any]:
    return {
        "kinds": kind_labels(),
        "statuses": status_labels(),
        "severities": severity_labels(),
        "digests": digest_labels(),
    }


# -- actions shared with the REST API ----------------------------------------------------------


def set_alert_status(ctx: Ctx, alert_id: int, status: str) -> ListedAlert:
    """Acknowledge (``acked``) or resolve (``resolved``) an alert as the viewer (agent+)."""
    ctx.require("agent")
    found = alerting.get_alert(ctx.engine, ctx.workspace, alert_id)
    alerting.set_status(ctx.engine, ctx.workspace, alert_id, status, by=ctx.actor)
    action = "alert.ack" if status == "acked" else "alert.resolve"
    audit(
        ctx,
        action,
        "alert",
        alert_id,
        {"kind": found.alert.kind, "watch": found.watch, "from": found.alert.status},
    )
    return alerting.get_alert(ctx.engine, ctx.workspace, alert_id)


def create_rule(ctx: Ctx, spec: alerting.RuleSpec, *, channels_of: int | None) -> alerting.RuleView:
    """Add a rule (manager+). New channels need admin; a manager reuses another rule's."""
    ctx.require("manager")
    if spec.channels and channels_of is not None:
        raise ConfigError("give new channels or reuse another rule's, not both")
    if spec.channels:
        if not ctx.can("admin"):
            raise accounts.PermissionDenied(
                "new channels need the admin role; reuse the channels of an existing rule"
            )
        rule_id = alerting.add_rule(ctx.engine, ctx.settings, ctx.workspace, spec)
    elif channels_of is not None:
        rule_id = alerting.add_rule_reusing(
            ctx.engine, ctx.settings, ctx.workspace, spec, channels_of=channels_of
        )
    else:
        raise ConfigError("give at least one channel, or reuse the channels of another rule")
    view = alerting.get_rule(ctx.engine, ctx.workspace, rule_id)
    rule = view.rule
    details: dict[str, Any] = {
        "name": rule.name,
        "watch": view.watch,
        "group": rule.group_name,
        "signals": list(rule.signals),
        "sensitivity": rule.sensitivity,
        "min_severity": rule.min_severity,
        "channels": rule.channels_shown,
        "quiet_hours": rule.quiet_hours,
        "timezone": rule.timezone,
        "cooldown_s": rule.cooldown_s,
        "digest": rule.digest,
    }
    if channels_of is not None:
        details["channels_of"] = channels_of
    audit(ctx, "alert_rule.add", "alert_rule", rule.id, details)
    return view


def delete_rule(ctx: Ctx, rule_id: int) -> alerting.RuleView:
    """Remove a rule of the workspace (manager+)."""
    ctx.require("manager")
    view = alerting.get_rule(ctx.engine, ctx.workspace, rule_id)
    alerting.remove_rule(ctx.engine, ctx.workspace, view.rule.name)
    audit(ctx, "alert_rule.remove", "alert_rule", rule_id, {"name": view.rule.name})
    return view


def replay_delivery(ctx: Ctx, delivery_id: int) -> DeliveryRow:
    """Queue a failed or dead delivery again (admin+); it goes out at the next check."""
    ctx.require("admin")
    row = alerting.get_delivery(ctx.engine, ctx.workspace, delivery_id)
    alerting.replay_delivery(ctx.engine, ctx.workspace, delivery_id)
    audit(
        ctx,
        "delivery.replay",
        "delivery",
        delivery_id,
        {"rule_id": row.rule_id, "from": row.status, "subject": row.subject[:200]},
    )
    return alerting.get_delivery(ctx.engine, ctx.workspace, delivery_id)


def channel_specs(emails: str, webhook: str, apprise: str) -> list[str]:
    """Channel specs (``email:…``, ``webhook:…``, ``apprise:…``) from the form's fields."""
    specs: list[str] = []
    addresses = ",".join(a.strip() for a in emails.replace(";", ",").split(",") if a.strip())
    if addresses:
        specs.append(f"email:{addresses}")
    if webhook.strip():
        specs.append(f"webhook:{webhook.strip()}")
    specs.extend(f"apprise:{line.strip()}" for line in apprise.splitlines() if line.strip())
    return specs


# -- pages -----------------------------------------------------------------------------------


def _notice(done: str) -> str | None:
    return {
        "acked": _("Alert acknowledged."),
        "resolved": _("Alert resolved."),
        "rule_added": _("Alert rule added."),
        "rule_removed": _("Alert rule removed."),
        "replayed": _("Delivery queued again: it goes out at the next check."),
    }.get(done)


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def timeline(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_viewer)],
    status: str = "active",
    kind: str = "",
    watch: str = "",
    severity: str = "",
    cursor: str = "",
    done: str = "",
) -> HTMLResponse:
    if status not in STATUS_FILTERS:
        raise ConfigError(f"unknown status {status!r}")
    result = alerting.page_alerts(
        ctx.engine,
        ctx.workspace,
        statuses=STATUS_FILTERS[status],
        kinds=[kind] if kind else [],
        severities=[severity] if severity else [],
        watch=watch or None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    filters = {"status": status, "kind": kind, "watch": watch, "severity": severity}
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return page(
        request,
        "alerts/list.html",
        ctx=ctx,
        items=result.items,
        filters=filters,
        next_cursor=result.next_cursor,
        watches=alerting.watches_of(ctx.engine, ctx.workspace),
        status_choices=list(STATUS_FILTERS),
        kind_choices=KINDS,
        here=here,
        notice=_notice(done),
        **_labels(),
    )


@router.get("/alerts/{alert_id:int}", response_class=HTMLResponse, include_in_schema=False)
def alert_page(
    request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], alert_id: int, done: str = ""
) -> HTMLResponse:
    item = alerting.get_alert(ctx.engine, ctx.workspace, alert_id)
    evidence = alerting.alert_evidence(ctx.engine, ctx.workspace, item.alert)
    details = item.alert.details
    figures = {
        k: v
        for k, v in details.items()
        if isinstance(v, str | int | float | bool) and not isinstance(v, dict | list)
    }
    return page(
        request,
        "alerts/detail.html",
        ctx=ctx,
        item=item,
        evidence=evidence,
        details=details,
        figures=figures,
        here=request.url.path,
        notice=_notice(done),
        **_labels(),
    )


def _status_change(request: Request, ctx: Ctx, alert_id: int, status: str, nxt: str) -> Response:
    set_alert_status(ctx, alert_id, status)
    target = safe_next(nxt) if nxt else f"/w/{ctx.workspace}/alerts/{alert_id}"
    done = "acked" if status == "acked" else "resolved"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={done}", status_code=303)


@router.post("/alerts/{alert_id:int}/ack", include_in_schema=False)
def acknowledge(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    alert_id: int,
    next: Annotated[str, Form()] = "",
) -> Response:
    return _status_change(request, ctx, alert_id, "acked", next)


@router.post("/alerts/{alert_id:int}/resolve", include_in_schema=False)
def resolve(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_agent)],
    alert_id: int,
    next: Annotated[str, Form()] = "",
) -> Response:
    return _status_change(request, ctx, alert_id, "resolved", next)


def _rules_page(
    request: Request,
    ctx: Ctx,
    *,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    done: str = "",
) -> HTMLResponse:
    watches = alerting.watches_of(ctx.engine, ctx.workspace)
    groups = sorted({w.group for w in watches if w.group})
    defaults: dict[str, Any] = {
        "name": "",
        "scope": "",
        "signals": list(KINDS),
        "sensitivity": "medium",
        "min_severity": "low",
        "quiet_hours": "",
        "timezone": ctx.viewer.user.timezone or "UTC",
        "cooldown_min": 60,
        "digest": "off",
        "channels_of": "",
    }
    return page(
        request,
        "alerts/rules.html",
        ctx=ctx,
        status_code=status_code,
        rules=alerting.list_rules(ctx.engine, ctx.workspace),
        watches=watches,
        groups=groups,
        kind_choices=KINDS,
        values={**defaults, **(values or {})},
        error=error,
        notice=_notice(done),
        **_labels(),
    )


@router.get("/alerts/rules", response_class=HTMLResponse, include_in_schema=False)
def rules(request: Request, ctx: Annotated[Ctx, Depends(as_viewer)], done: str = "") -> Response:
    return _rules_page(request, ctx, done=done)


@router.post("/alerts/rules", include_in_schema=False)
def add_rule(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_manager)],
    name: Annotated[str, Form()],
    scope: Annotated[str, Form()] = "",
    signals: Annotated[list[str] | None, Form()] = None,
    sensitivity: Annotated[str, Form()] = "medium",
    min_severity: Annotated[str, Form()] = "low",
    quiet_hours: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
    cooldown_min: Annotated[str, Form()] = "60",
    digest: Annotated[str, Form()] = "off",
    channels_of: Annotated[str, Form()] = "",
    emails: Annotated[str, Form()] = "",
    webhook: Annotated[str, Form()] = "",
    apprise: Annotated[str, Form()] = "",
) -> Response:
    # Channel fields are write-only: never sent back into the form.
    values: dict[str, Any] = {
        "name": name,
        "scope": scope,
        "signals": signals or [],
        "sensitivity": sensitivity,
        "min_severity": min_severity,
        "quiet_hours": quiet_hours,
        "timezone": timezone,
        "cooldown_min": cooldown_min,
        "digest": digest,
        "channels_of": channels_of,
    }
    try:
        kind, _sep, target = scope.partition(":")
        if scope and kind not in ("watch", "group"):
            raise ConfigError("the scope must be a watch or a group")
        try:
            cooldown_s = round(float(cooldown_min.strip() or "0") * 60)
            reuse = int(channels_of) if channels_of.strip() else None
        except ValueError as exc:
            raise ConfigError("the cool-down must be a number of minutes") from exc
        if cooldown_s < 0:
            raise ConfigError("the cool-down must not be negative")
        if not name.strip():
            raise ConfigError("give the rule a name")
        spec = alerting.RuleSpec(
            name=name.strip(),
            channels=channel_specs(emails, webhook, apprise),
            watch=target if kind == "watch" and target else None,
            group=target if kind == "group" and target else None,
            signals=tuple(signals or ()),
            sensitivity=sensitivity,
            min_severity=min_severity,
            quiet_hours=quiet_hours.strip() or None,
            timezone=timezone.strip() or "UTC",
            cooldown_s=cooldown_s,
            digest=digest,
        )
        create_rule(ctx, spec, channels_of=reuse)
    except accounts.PermissionDenied:
        raise
    except FloconError as exc:
        status = 409 if isinstance(exc, AlreadyExists) else 400
        return _rules_page(request, ctx, status_code=status, error=str(exc), values=values)
    return RedirectResponse(f"/w/{ctx.workspace}/alerts/rules?done=rule_added", status_code=303)


@router.post("/alerts/rules/{rule_id:int}/delete", include_in_schema=False)
def remove_rule(
    request: Request, ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int
) -> Response:
    delete_rule(ctx, rule_id)
    return RedirectResponse(f"/w/{ctx.workspace}/alerts/rules?done=rule_removed", status_code=303)


@router.get("/alerts/deliveries", response_class=HTMLResponse, include_in_schema=False)
def deliveries(
    request: Request,
    ctx: Annotated[Ctx, Depends(as_manager)],
    failed: str = "",
    done: str = "",
) -> HTMLResponse:
    statuses = ["failed", "dead"] if failed else []
    rows = alerting.list_deliveries(ctx.engine, ctx.workspace, statuses=statuses, limit=200)
    names = {v.rule.id: v.rule for v in alerting.list_rules(ctx.engine, ctx.workspace)}
    return page(
        request,
        "alerts/deliveries.html",
        ctx=ctx,
        rows=rows,
        rules=names,
        failed=bool(failed),
        notice=_notice(done),
        delivery_labels={
            "pending": _("pending"),
            "held": _("held for a digest"),
            "sent": _("sent"),
            "failed": _("failed, will retry"),
            "dead": _("failed"),
        },
        **_labels(),
    )


@router.post("/alerts/deliveries/{delivery_id:int}/replay", include_in_schema=False)
def replay(request: Request, ctx: Annotated[Ctx, Depends(as_admin)], delivery_id: int) -> Response:
    replay_delivery(ctx, delivery_id)
    return RedirectResponse(f"/w/{ctx.workspace}/alerts/deliveries?done=replayed", status_code=303)
