"""REST API v1 schemas of inbox rules and their simulation (inputs refuse unknown fields; the
rule's own checks, such as a watch that exists or a query that parses, answer 400)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flocon.services.cases import rules

Priority = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["positive", "neutral", "negative"]


class RuleConditions(BaseModel):
    """Conditions on a new mention; all of them must hold (a list: one of its values). At
    least one is required."""

    model_config = ConfigDict(extra="forbid")
    watch: str | None = Field(default=None, description="The mention matched this watch.")
    query: str | None = Field(
        default=None, description="The mention matches this boolean query (docs/queries.md)."
    )
    sentiment: list[Sentiment] | None = None
    lang: list[str] | None = Field(default=None, description="Language codes; fr takes fr-CA.")
    min_influence: float | None = Field(
        default=None, ge=0, le=100, description="The author's network score, at least."
    )
    min_followers: int | None = Field(default=None, ge=0)
    source_kind: list[str] | None = Field(default=None, description="mastodon, reddit, rss...")
    needs_answer: bool | None = Field(
        default=None, description="flocon thinks the mention asks a question or complains."
    )

    def parse(self) -> rules.Conditions:
        return rules.parse_conditions(self.model_dump(exclude_none=True))

    @classmethod
    def of(cls, conditions: rules.Conditions) -> RuleConditions:
        return cls(**conditions.to_json())


class RuleActions(BaseModel):
    """What the rule does to a mention it matches. At least one is required."""

    model_config = ConfigDict(extra="forbid")
    tag: list[str] | None = Field(default=None, description="Tags on the mention (and case).")
    create_case: bool = False
    priority: Priority | None = Field(default=None, description="The case's priority.")
    assign: str | None = Field(default=None, description="E-mail of an agent or above.")
    mute: Literal["author", "site"] | None = None
    notify: list[str] | None = Field(
        default=None, description="Alert rules whose channels get a message."
    )

    def parse(self) -> rules.Actions:
        return rules.parse_actions(self.model_dump(exclude_none=True))

    @classmethod
    def of(cls, actions: rules.Actions) -> RuleActions:
        return cls(**actions.to_json())


class InboxRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    conditions: RuleConditions
    actions: RuleActions
    enabled: bool = Field(default=False, description="New rules start disabled: simulate first.")
    position: int | None = Field(default=None, ge=0, description="Default: after the others.")


class InboxRuleUpdate(BaseModel):
    """The fields to change (those left out stay)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    conditions: RuleConditions | None = None
    actions: RuleActions | None = None
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0)


class InboxRuleOut(BaseModel):
    """An inbox rule; rules run by ``position``, then ``id``."""

    id: int
    name: str
    position: int
    enabled: bool
    conditions: RuleConditions
    actions: RuleActions
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: rules.InboxRule) -> InboxRuleOut:
        return cls(
            id=rule.id,
            name=rule.name,
            position=rule.position,
            enabled=rule.enabled,
            conditions=RuleConditions.of(rule.conditions),
            actions=RuleActions.of(rule.actions),
            created_by=rule.created_by,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
        )


class InboxRuleList(BaseModel):
    items: list[InboxRuleOut]
    next_cursor: str | None


class SimulateIn(BaseModel):
    """A stored rule (``rule_id``), or an unsaved one (``conditions`` and ``actions``)."""

    model_config = ConfigDict(extra="forbid")
    rule_id: int | None = None
    conditions: RuleConditions | None = None
    actions: RuleActions | None = None
    days: int = Field(default=30, ge=1, le=366)


class SimulatedMention(BaseModel):
    """A mention the rule would have acted on (collected text: escape it before showing it)."""

    id: int
    text: str
    author_handle: str | None
    source_kind: str
    sentiment: str | None
    lang: str | None
    occurred_at: datetime | None

    @classmethod
    def of(cls, m: rules.MentionRecord) -> SimulatedMention:
        return cls(
            id=m.id,
            text=m.text,
            author_handle=m.author_handle or None,
            source_kind=m.source_kind,
            sentiment=m.sentiment,
            lang=m.lang or None,
            occurred_at=m.occurred_at,
        )


class SimulationOut(BaseModel):
    """What the rule would have done from ``since`` to ``until`` (nothing was written)."""

    matched: int = Field(description="Mentions it would have acted on.")
    scanned: int = Field(description="Mentions of the period read.")
    actions: dict[str, int] = Field(description="Mentions each action would have acted on.")
    samples: list[SimulatedMention] = Field(description="The newest of them.")
    since: datetime | None
    until: datetime | None
    complete: bool = Field(description="False when the scan stopped at its cap.")

    @classmethod
    def of(cls, result: rules.Simulation) -> SimulationOut:
        return cls(
            matched=result.matched,
            scanned=result.scanned,
            actions=result.actions,
            samples=[SimulatedMention.of(m) for m in result.samples],
            since=result.since,
            until=result.until,
            complete=result.complete,
        )
