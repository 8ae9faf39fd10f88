"""Schemas of the watches API (inputs refuse unknown fields), the conversions from service
records, and what the watches and sources pages and API share: cursor pages and the audit
entry of a web write."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from flocon.domain.models import Mention, Watch, WatchKind
from flocon.domain.query import parse
from flocon.errors import FloconError, QuerySyntaxError
from flocon.services.watches import BackfillResult, QueryPreview

#: The longest query the web accepts (a watch query is a few lines at most).
MAX_QUERY = 10_000
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchCreate(_Input):
    """A new watch."""

    name: str = Field(min_length=1, max_length=200, description="Unique in the workspace.")
    query: str = Field(min_length=1, max_length=MAX_QUERY, description="Boolean query.")
    kind: WatchKind = WatchKind.BRAND
    group: str | None = Field(
        default=None, max_length=200, description="Watches of a group are compared."
    )
    langs: list[str] = Field(default_factory=list, description="ISO 639-1 codes; empty: all.")
    backfill: bool = Field(
        default=False, description="Also match the stored mentions against the new watch."
    )


class WatchUpdate(_Input):
    """Fields to change; those left out stay. ``group: ""`` removes the group, ``langs: []``
    the language limit."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUERY)
    kind: WatchKind | None = None
    group: str | None = Field(default=None, max_length=200)
    langs: list[str] | None = None
    backfill: bool = Field(
        default=False, description="Then match the stored mentions against the watch again."
    )


class BackfillPublic(BaseModel):
    scanned: int
    linked: int
    unlinked: int
    total: int


class WatchPublic(BaseModel):
    name: str
    query: str
    normalized_query: str
    kind: WatchKind
    group: str | None
    langs: list[str]
    mentions: int = Field(description="Mentions linked to the watch.")
    created_at: datetime
    updated_at: datetime
    backfill: BackfillPublic | None = None


class WatchList(BaseModel):
    items: list[WatchPublic]
    next_cursor: str | None


class QueryCheckIn(_Input):
    query: str = Field(max_length=MAX_QUERY)


class QueryCheckOut(BaseModel):
    """``ok`` with the normalised query, or the error: ``position`` is the 0-based offset
    of the character where the problem was found, ``reason`` says what it is."""

    ok: bool
    normalized: str | None = None
    error: str | None = None
    reason: str | None = None
    position: int | None = None


class PreviewIn(_Input):
    query: str = Field(min_length=1, max_length=MAX_QUERY)
    langs: list[str] = Field(default_factory=list)
    limit: int = Field(default=20, ge=1, le=100)


class MentionBrief(BaseModel):
    id: int
    occurred_at: datetime
    source_kind: str
    site: str
    author: str | None
    title: str | None
    text: str
    url: str | None
    lang: str | None
    sentiment: str | None


class PreviewOut(BaseModel):
    """The stored mentions a query matches: ``matched`` originals from ``since`` to ``until``
    (``per_day`` on average), the newest of them in ``mentions``."""

    matched: int
    scanned: int
    per_day: float
    since: datetime
    until: datetime
    complete: bool
    mentions: list[MentionBrief]


class Deleted(BaseModel):
    deleted: str


# --------------------------------------------------------------------------- conversions


def watch_public(
    watch: Watch, mentions: int, backfill: BackfillResult | None = None
) -> WatchPublic:
    return WatchPublic(
        name=watch.name,
        query=watch.query,
        normalized_query=normalized(watch.query),
        kind=watch.kind,
        group=watch.group,
        langs=list(watch.langs),
        mentions=mentions,
        created_at=watch.created_at,
        updated_at=watch.updated_at,
        backfill=None
        if backfill is None
        else BackfillPublic(
            scanned=backfill.scanned,
            linked=backfill.linked,
            unlinked=backfill.unlinked,
            total=backfill.total,
        ),
    )


def normalized(query: str) -> str:
    """The printed form of a stored query (the query itself if it no longer parses)."""
    try:
        return str(parse(query))
    except QuerySyntaxError:
        return query


def check_query(query: str) -> QueryCheckOut:
    """Parse ``query``: ok and its normalised form, or the error and its position."""
    if not query.strip():
        return QueryCheckOut(ok=False, error="the query is empty", reason="the query is empty")
    try:
        return QueryCheckOut(ok=True, normalized=str(parse(query)))
    except QuerySyntaxError as exc:
        return QueryCheckOut(ok=False, error=str(exc), reason=exc.reason, position=exc.position)


def mention_brief(m: Mention) -> MentionBrief:
    return MentionBrief(
        id=m.id,
        occurred_at=m.published_at or m.collected_at,
        source_kind=m.source_kind,
        site=m.site,
        author=m.author_handle or m.author_name,
        title=m.title,
        text=m.text,
        url=m.url,
        lang=m.lang,
        sentiment=m.sentiment,
    )


def preview_out(preview: QueryPreview) -> PreviewOut:
    return PreviewOut(
        matched=preview.matched,
        scanned=preview.scanned,
        per_day=round(preview.per_day, 2),
        since=preview.since,
        until=preview.until,
        complete=preview.complete,
        mentions=[mention_brief(m) for m in preview.mentions],
    )


# --------------------------------------------------------------------------- shared


def paginate(
    items: Sequence[T], key: Callable[[T], str | int], *, limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items``, in the order of ``key``, after the opaque ``cursor``, and the
    cursor of the next page (None on the last one)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FloconError(f"limit must be between 1 and {MAX_LIMIT}")
    items = sorted(items, key=key)
    start = 0
    if cursor:
        after = _decode(cursor)
        start = next((i for i, item in enumerate(items) if _after(key(item), after)), len(items))
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, (_encode(key(page[-1])) if more and page else None)


def _after(value: str | int, cursor: str | int) -> bool:
    if isinstance(value, int) and isinstance(cursor, int):
        return value > cursor
    return str(value) > str(cursor)


def _encode(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> str | int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise FloconError("invalid cursor: use the next_cursor of the previous page") from exc
    if not isinstance(value, str | int):
        raise FloconError("invalid cursor: use the next_cursor of the previous page")
    return value
