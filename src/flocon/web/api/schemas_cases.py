"""REST API v1 schemas of the inbox: cases, notes, replies (inputs refuse unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flocon.services import cases as svc
from flocon.storage.queries.cases import EventRow, MentionFacts, NoteRow, ReplyRow

Status = Literal["new", "open", "waiting", "resolved", "ignored"]
Priority = Literal["low", "normal", "high", "urgent"]


class CaseOut(BaseModel):
    """A case: what needs an answer, who holds it, how risky, how fast it was answered."""

    id: int
    mention_id: int | None
    scope: str
    status: str = Field(description="new, open, waiting (for the author), resolved or ignored.")
    ignored_reason: str | None
    priority: str
    assignee: str | None = Field(description="E-mail of the member holding the case.")
    watch_id: int | None
    channel: str = Field(description="The source kind of the mention (mastodon, reddit, rss...).")
    lang: str | None
    origin: str = Field(description="manual, rule or suggested (flocon's needs-answer signal).")
    title: str
    tags: list[str]
    risk: float = Field(description="0-100: what orders the inbox.")
    risk_factors: dict[str, Any] = Field(
        description="snowball, influence, negativity, waiting: value, weight, contribution."
    )
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    overdue: bool
    waiting_seconds: int | None
    first_response_seconds: int | None = Field(description="Set once the case was answered.")
    resolution_seconds: int | None = Field(description="Set once the case is resolved.")
    version: int = Field(description="Send it back in PATCH to refuse a concurrent change.")

    @classmethod
    def of(cls, case: svc.Case) -> CaseOut:
        r = case.row
        return cls(
            id=r.id,
            mention_id=r.mention_id,
            scope=r.scope,
            status=r.status,
            ignored_reason=r.ignored_reason,
            priority=r.priority,
            assignee=r.assignee,
            watch_id=r.watch_id,
            channel=r.channel,
            lang=r.lang,
            origin=r.origin,
            title=r.title,
            tags=list(case.tags),
            risk=case.risk,
            risk_factors=case.risk_factors,
            created_at=r.created_at,
            created_by=r.created_by,
            updated_at=r.updated_at,
            first_response_at=r.first_response_at,
            resolved_at=r.resolved_at,
            first_response_due_at=r.first_response_due_at,
            resolution_due_at=r.resolution_due_at,
            overdue=case.overdue,
            waiting_seconds=case.waiting_seconds,
            first_response_seconds=case.first_response_seconds,
            resolution_seconds=case.resolution_seconds,
            version=r.version,
        )


class CaseList(BaseModel):
    items: list[CaseOut]
    total: int
    next_cursor: str | None = Field(description="Pass it as cursor for the next page; None: last.")


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mention_id: int
    priority: Priority = "normal"
    scope: Literal["mention", "thread"] = "mention"
    assignee: str | None = Field(default=None, description="E-mail of an agent or above.")


class CaseUpdate(BaseModel):
    """Only the fields present change; ``"assignee": null`` unassigns."""

    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    priority: Priority | None = None
    assignee: str | None = None
    reason: str | None = Field(default=None, description="Why the case is ignored.")
    version: int | None = Field(
        default=None, description="The version you saw: 409 if someone changed the case since."
    )
    tags_add: list[str] = Field(default_factory=list)
    tags_remove: list[str] = Field(default_factory=list)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    mentioned: list[int] = Field(description="User ids of the teammates @mentioned.")
    created_at: datetime

    @classmethod
    def of(cls, note: NoteRow) -> NoteOut:
        return cls(
            id=note.id,
            author=note.author,
            text=note.text,
            mentioned=note.mentioned,
            created_at=note.created_at,
        )


class ReplyCreate(BaseModel):
    """``send: true`` posts through the platform; ``send: false`` records a reply made
    elsewhere (with its ``url``); ``draft: true`` only saves it."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, max_length=10_000)
    send: bool = False
    url: str | None = None
    draft: bool = False
    reply_id: int | None = Field(
        default=None, description="A draft to send, or a failed reply to retry."
    )


class ReplyOut(BaseModel):
    id: int
    author: str
    text: str
    mode: str = Field(description="send (through the platform) or record (made elsewhere).")
    status: str = Field(description="draft, sending, sent, failed or recorded.")
    url: str | None
    external_id: str | None
    error: str | None
    retryable: bool
    attempts: int
    tone: list[dict[str, Any]] | None = Field(description="The tone check's findings.")
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, reply: ReplyRow) -> ReplyOut:
        return cls(
            id=reply.id,
            author=reply.author,
            text=reply.text,
            mode=reply.mode,
            status=reply.status,
            url=reply.url,
            external_id=reply.external_id,
            error=reply.error,
            retryable=reply.retryable,
            attempts=reply.attempts,
            tone=reply.tone,
            created_at=reply.created_at,
            sent_at=reply.sent_at,
        )


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: EventRow) -> EventOut:
        return cls(at=event.at, actor=event.actor, kind=event.kind, details=event.details)


class CaseMention(BaseModel):
    id: int
    text: str
    title: str | None
    url: str | None
    author_handle: str | None
    author_name: str | None
    sentiment: str | None
    lang: str | None
    occurred_at: datetime

    @classmethod
    def of(cls, m: MentionFacts) -> CaseMention:
        return cls(
            id=m.id,
            text=m.text,
            title=m.title,
            url=m.url,
            author_handle=m.author_handle,
            author_name=m.author_name,
            sentiment=m.sentiment,
            lang=m.lang,
            occurred_at=m.occurred_at,
        )


class PresenceOut(BaseModel):
    email: str
    activity: str
    at: datetime


class CaseDetailOut(CaseOut):
    mention: CaseMention | None
    events: list[EventOut]
    notes: list[NoteOut]
    replies: list[ReplyOut]
    others_here: list[PresenceOut] = Field(
        description="Teammates who have this case open or are replying (collision warning)."
    )
