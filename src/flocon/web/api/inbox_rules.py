"""REST API v1: inbox rules (list, one, add, change, remove) and their simulation over the
last days of mentions. Same roles as the page: everyone reads and simulates, managers edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flocon.errors import ConfigError
from flocon.services.cases import rules
from flocon.web.api.schemas_inbox_rules import (
    InboxRuleCreate,
    InboxRuleList,
    InboxRuleOut,
    InboxRuleUpdate,
    SimulateIn,
    SimulationOut,
)
from flocon.web.api.schemas_workspace import DEFAULT_LIMIT, MAX_LIMIT, slice_page
from flocon.web.deps import Ctx, as_manager, as_viewer
from flocon.web.ui import inbox_rules as actions

router = APIRouter(prefix="/workspaces/{ws}", tags=["inbox rules"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="The previous page's next_cursor.")]


@router.get("/inbox-rules", response_model=InboxRuleList)
def list_rules(
    ctx: Annotated[Ctx, Depends(as_viewer)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> InboxRuleList:
    """Inbox rules in the order they run on new mentions."""
    items, nxt = slice_page(rules.list_rules(ctx.engine, ctx.workspace), cursor, limit)
    return InboxRuleList(items=[InboxRuleOut.of(r) for r in items], next_cursor=nxt)


@router.post("/inbox-rules", response_model=InboxRuleOut, status_code=201)
def add_rule(ctx: Annotated[Ctx, Depends(as_manager)], body: InboxRuleCreate) -> InboxRuleOut:
    """Add an inbox rule (manager or above). It starts disabled unless ``enabled``: simulate
    it first (``POST .../inbox-rules/simulate``)."""
    spec = rules.RuleSpec(
        name=rules.check_name(body.name),
        conditions=body.conditions.parse(),
        actions=body.actions.parse(),
    )
    return InboxRuleOut.of(
        actions.create_rule(ctx, spec, enabled=body.enabled, position=body.position)
    )


@router.post("/inbox-rules/simulate", response_model=SimulationOut)
def simulate(ctx: Annotated[Ctx, Depends(as_viewer)], body: SimulateIn) -> SimulationOut:
    """What a rule would have done over the last ``days`` days of stored mentions, without
    doing it: a stored rule (``rule_id``) or an unsaved one (``conditions`` and ``actions``)."""
    if body.rule_id is not None:
        if body.conditions is not None or body.actions is not None:
            raise ConfigError("give rule_id, or conditions and actions, not both")
        spec = rules.get_rule(ctx.engine, ctx.workspace, body.rule_id).spec
    elif body.conditions is not None and body.actions is not None:
        spec = rules.RuleSpec(
            name="simulation", conditions=body.conditions.parse(), actions=body.actions.parse()
        )
    else:
        raise ConfigError("give rule_id, or conditions and actions")
    return SimulationOut.of(actions.simulate(ctx, spec, days=body.days))


@router.get("/inbox-rules/{rule_id:int}", response_model=InboxRuleOut)
def get_rule(ctx: Annotated[Ctx, Depends(as_viewer)], rule_id: int) -> InboxRuleOut:
    """One inbox rule."""
    return InboxRuleOut.of(rules.get_rule(ctx.engine, ctx.workspace, rule_id))


@router.patch("/inbox-rules/{rule_id:int}", response_model=InboxRuleOut)
def update_rule(
    ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int, body: InboxRuleUpdate
) -> InboxRuleOut:
    """Change a rule's name, conditions, actions, position, or enable / disable it (manager
    or above); the fields left out stay."""
    return InboxRuleOut.of(
        actions.edit_rule(
            ctx,
            rule_id,
            name=body.name,
            conditions=body.conditions.parse() if body.conditions is not None else None,
            actions=body.actions.parse() if body.actions is not None else None,
            enabled=body.enabled,
            position=body.position,
        )
    )


@router.delete("/inbox-rules/{rule_id:int}", response_model=InboxRuleOut)
def remove_rule(ctx: Annotated[Ctx, Depends(as_manager)], rule_id: int) -> InboxRuleOut:
    """Remove a rule (manager or above); what it already did stays. Answers the rule removed."""
    return InboxRuleOut.of(actions.delete_rule(ctx, rule_id))
