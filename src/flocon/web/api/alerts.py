"""REST API v1: alerts (list, one with its evidence, acknowledge, resolve), alert rules and
deliveries. Same roles as the pages: agents acknowledge and resolve, managers edit rules,
admins give new channels and replay deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flocon.services import alerting
from flocon.web.api.schemas_alerts import (
    AlertDetail,
    AlertList,
    AlertOut,
    AlertRuleCreate,
    AlertRuleList,
    AlertRuleOut,
    DeliveryList,
    DeliveryOut,
    EvidenceMention,
)
from flocon.web.api.schemas_workspace import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_offset,
    encode_offset,
    slice_page,
)
from flocon.web.deps import Ctx, as_admin, as_agent, as_manager, as_viewer
from flocon.web.ui import alerts as actions

router = APIRouter(prefix="/workspaces/{ws}", tags=["alerts"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="The previous page's next_cursor.")]


@router.get("/alerts", response_model=AlertList)
def list_alerts(
    ctx: Annotated[Ctx, Depends(as_viewer)],
    status: Annotated[
        list[str] | None, Query(description="open, acked, closed, resolved (repeatable).")
    ] = None,
    kind: Annotated[list[str] | None, Query(description="Alert kinds (repeatable).")] = None,
    severity: Annotated[list[str] | None, Query(description="low, medium, high.")] = None,
    watch: Annotated[str | None, Query(description="Only this watch.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AlertList:
    """Alerts, newest first (by detection time), with their explanation; every status
    unless ``status`` is given."""
    result = alerting.page_alerts(
        ctx.engine,
        ctx.workspace,
        statuses=status or [],
        kinds=kind or [],
        severities=severity or [],
        watch=watch or None,
        cursor=cursor,
        limit=limit,
    )
    return AlertList(items=[AlertOut.of(i) for i in result.items], next_cursor=result.next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(ctx: Annotated[Ctx, Depends(as_viewer)], alert_id: int) -> AlertDetail:
    """One alert with the mentions behind it (its evidence)."""
    item = alerting.get_alert(ctx.engine, ctx.workspace, alert_id)
    mentions = alerting.alert_evidence(ctx.engine, ctx.workspace, item.alert)
    return AlertDetail(
        **AlertOut.of(item).model_dump(),
        evidence_mentions=[EvidenceMention.of(m) for m in mentions],
    )


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge(ctx: Annotated[Ctx, Depends(as_agent)], alert_id: int) -> AlertOut:
    """Acknowledge an alert: someone is on it (agent or above; recorded with who)."""
    return AlertOut.of(actions.set_alert_status(ctx, alert_id, "acked"))


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
def resolve(ctx: Annotated[Ctx, Depends(as_agent)], alert_id: int) -> AlertOut:
    """Resolve an alert: it has been handled (agent or above; recorded with who)."""
    return AlertOut.of(actions.set_alert_status(ctx, alert_id, "resolved"))


@router.get("/alert-rules", response_model=AlertRuleList)
def list_rules(
    ctx: Annotated[Ctx, Depends(as_viewer)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> AlertRuleList:
    """Alert rules by name; channels are shown without their secrets."""
    views = alerting.list_rules(ctx.engine, ctx.workspace)
    items, nxt = slice_page(views, cursor, limit)
    return AlertRuleList(items=[AlertRuleOut.of(v) for v in items], next_cursor=nxt)


@router.post("/alert-rules", response_model=AlertRuleOut, status_code=201)
def add_rule(ctx: Annotated[Ctx, Depends(as_manager)], body: AlertRuleCreate) -> AlertRuleOut:
    """Add an alert rule (manager or above). New ``channels`` need an admin; a manager
    reuses another rule's with ``channels_of``."""
    return AlertRuleOut.of(actions.create_rule(ctx, body.spec(), channels_of=body.channels_of))


@router.delete("/alert-rules/{rule_id}", response_model=AlertRuleOut)
def remove_rule(ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int) -> AlertRuleOut:
    """Remove an alert rule (manager or above); answers the rule removed."""
    return AlertRuleOut.of(actions.delete_rule(ctx, rule_id))


@router.get("/deliveries", response_model=DeliveryList)
def list_deliveries(
    ctx: Annotated[Ctx, Depends(as_manager)],
    failed: Annotated[bool, Query(description="Only failed and dead ones.")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> DeliveryList:
    """Messages of the rules, newest first (manager or above)."""
    start = decode_offset(cursor)
    rows = alerting.list_deliveries(
        ctx.engine,
        ctx.workspace,
        statuses=["failed", "dead"] if failed else [],
        limit=start + limit + 1,
    )
    more = len(rows) > start + limit
    return DeliveryList(
        items=[DeliveryOut.of(d) for d in rows[start : start + limit]],
        next_cursor=encode_offset(start + limit) if more else None,
    )


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay_delivery(ctx: Annotated[Ctx, Depends(as_admin)], delivery_id: int) -> DeliveryOut:
    """Queue a failed or dead delivery again (admin or above): it goes out at the next check."""
    return DeliveryOut.of(actions.replay_delivery(ctx, delivery_id))
