"""REST API v1 schemas of mentions, threads, tags, mutes, bulk actions and the push endpoint
(inputs refuse unknown fields). Collected fields (text, title, author, url) are untrusted:
escape them before showing them, and only follow ``http(s)`` URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flocon.domain.models import Mention
from flocon.services import tags
from flocon.services.mentions import Thread
from flocon.storage.queries.analysis import MentionCorrection


class MentionOut(BaseModel):
    """A stored mention."""

    id: int
    source_kind: str
    source_name: str
    external_id: str = Field(description="The source's own id of the item.")
    text: str
    title: str | None
    url: str | None = Field(description="As collected: untrusted, may be any scheme.")
    site: str = Field(description="The host of url, lower case, without www. ('' if none).")
    author_handle: str | None
    author_name: str | None
    published_at: datetime | None
    collected_at: datetime
    lang: str | None
    country: str | None
    parent_id: int | None = Field(description="The mention this one answers, when stored.")
    likes: int | None
    shares: int | None
    replies: int | None
    duplicate_of: int | None = Field(description="The original, when this one is a duplicate.")
    watches: list[str] = Field(description="Names of the watches it matched.")
    sentiment: str | None = Field(description="positive, neutral, negative; None: not analysed.")
    sentiment_score: float | None
    needs_answer: bool | None
    tags: list[str]

    @classmethod
    def of(cls, m: Mention) -> MentionOut:
        return cls(
            id=m.id,
            source_kind=m.source_kind,
            source_name=m.source_name,
            external_id=m.external_id,
            text=m.text,
            title=m.title,
            url=m.url,
            site=m.site,
            author_handle=m.author_handle,
            author_name=m.author_name,
            published_at=m.published_at,
            collected_at=m.collected_at,
            lang=m.lang,
            country=m.country,
            parent_id=m.parent_id,
            likes=m.likes,
            shares=m.shares,
            replies=m.replies,
            duplicate_of=m.duplicate_of,
            watches=list(m.watches),
            sentiment=m.sentiment,
            sentiment_score=m.sentiment_score,
            needs_answer=m.needs_answer,
            tags=list(m.tags),
        )


class MentionList(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None = Field(description="Pass it as cursor for the next page; None: last.")


class MentionCount(BaseModel):
    count: int


class CorrectionOut(BaseModel):
    """A person's correction of the sentiment (the latest; each one is in the audit log)."""

    label: str
    previous: str | None = Field(description="What the model said.")
    corrected_by: str | None
    corrected_at: datetime

    @classmethod
    def of(cls, c: MentionCorrection) -> CorrectionOut:
        return cls(
            label=c.label,
            previous=c.previous,
            corrected_by=c.corrected_by,
            corrected_at=c.corrected_at,
        )


class MentionDetail(MentionOut):
    correction: CorrectionOut | None = Field(description="None when never corrected.")


class ReplyOut(BaseModel):
    depth: int = Field(description="1: a direct reply to the mention asked for.")
    mention: MentionOut


class ThreadOut(BaseModel):
    """A mention in its conversation: parents from the top down, then replies depth first."""

    mention: MentionOut
    ancestors: list[MentionOut]
    replies: list[ReplyOut]
    truncated: bool = Field(description="The thread was longer than the limits and was cut.")

    @classmethod
    def of(cls, t: Thread) -> ThreadOut:
        return cls(
            mention=MentionOut.of(t.root),
            ancestors=[MentionOut.of(a) for a in t.ancestors],
            replies=[ReplyOut(depth=d, mention=MentionOut.of(r)) for d, r in t.replies],
            truncated=t.truncated,
        )


class BulkIn(BaseModel):
    """An action on mentions of the workspace; ids of other workspaces are ignored."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["tag", "untag", "correct", "mute_author", "mute_site"] = Field(
        description="tag, untag, correct (agent or above); mute_author, mute_site (manager or "
        "above: mutes the authors or the sites of these mentions)."
    )
    ids: list[int] = Field(min_length=1, max_length=tags.MAX_IDS)
    value: str | None = Field(
        default=None,
        max_length=300,
        description="The tag (tag, untag) or the sentiment: positive, neutral, negative (correct).",
    )


class BulkOut(BaseModel):
    action: str
    changed: int = Field(
        description="Mentions changed (tag, untag, correct) or authors / sites muted."
    )
    value: str | None = Field(description="The tag or the sentiment, as stored.")
    muted: list[str] = Field(description="The authors or sites muted (mute_author, mute_site).")


class TagOut(BaseModel):
    tag: str
    mentions: int


class TagList(BaseModel):
    items: list[TagOut]
    next_cursor: str | None


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["author", "site"]
    value: str = Field(min_length=1, max_length=300, description="A handle or name, or a host.")


class MuteOut(BaseModel):
    kind: str
    value: str
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, m: tags.Mute) -> MuteOut:
        return cls(kind=m.kind, value=m.value, created_at=m.created_at, created_by=m.created_by)


class MuteList(BaseModel):
    items: list[MuteOut]
    next_cursor: str | None


class MuteChange(BaseModel):
    kind: str
    value: str = Field(description="As stored: an author's key, or a host.")
    muted: bool


class RejectedOut(BaseModel):
    line: int = Field(
        description="The line of the body (JSON lines), or the item's position from 1 (a JSON "
        "array)."
    )
    error: str


class PushReport(BaseModel):
    """What a push did. Pushing the same items again stores nothing new (already_stored)."""

    received: int = Field(description="Items read (blank lines are skipped).")
    new: int = Field(description="Stored, matching at least one watch.")
    duplicate: int = Field(
        description="Stored, marked as a duplicate of another (same URL or near-identical text)."
    )
    already_stored: int = Field(
        description="Not stored again: the same source already has an item with this id "
        "(or, without an id, the same content)."
    )
    unmatched: int = Field(description="Stored, matching no watch.")
    rejected: list[RejectedOut]


class ErrorOut(BaseModel):
    error: str
