"""Plain records that travel between connectors, the ingest service and storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class WatchKind(StrEnum):
    BRAND = "brand"
    COMPETITOR = "competitor"
    PRODUCT = "product"
    CAMPAIGN = "campaign"
    PERSON = "person"


@dataclass(frozen=True, slots=True)
class AuthorRef:
    """Who wrote an item, as the source tells it."""

    handle: str | None = None
    name: str | None = None
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """One collected item before normalisation, dedup and matching.

    ``external_id`` is the source's own id; when a source gives none, the
    ingest service derives a stable one from the content.
    ``published_at`` is timezone-aware UTC or None.
    """

    source_kind: str
    source_name: str
    text: str
    external_id: str | None = None
    title: str | None = None
    url: str | None = None
    author: AuthorRef | None = None
    published_at: datetime | None = None
    lang: str | None = None
    country: str | None = None
    parent_external_id: str | None = None
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None


@dataclass(frozen=True, slots=True)
class MatchInput:
    """The fields a boolean query can look at, for one item.

    ``site`` is the host of ``url`` (lower case, no ``www.``), or empty.
    All fields are plain strings; empty means unknown.
    """

    text: str
    title: str = ""
    url: str = ""
    site: str = ""
    author_handle: str = ""
    author_name: str = ""
    lang: str = ""
    source: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    name: str
    created_at: datetime
    #: "fast" or "accurate"; None follows the install's FLOCON_SENTIMENT_PROFILE.
    sentiment_profile: str | None = None


@dataclass(frozen=True, slots=True)
class Watch:
    """A named boolean query of a workspace."""

    id: int
    name: str
    query: str
    kind: WatchKind
    group: str | None
    langs: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Mention:
    """A stored item, as listed to users."""

    id: int
    source_kind: str
    source_name: str
    external_id: str
    text: str
    title: str | None
    url: str | None
    site: str
    author_handle: str | None
    author_name: str | None
    published_at: datetime | None
    collected_at: datetime
    lang: str | None
    country: str | None
    parent_id: int | None
    likes: int | None
    shares: int | None
    replies: int | None
    duplicate_of: int | None
    watches: tuple[str, ...]
    sentiment: str | None = None
    sentiment_score: float | None = None
    needs_answer: bool | None = None
    #: The team's tags on it (flocon.services.tags), in alphabetical order.
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """A place flocon reads from, with its schedule and health."""

    id: int
    kind: str
    name: str
    target: str
    options: dict[str, str]
    has_credentials: bool
    every_s: int | None
    paused: bool
    cursor: dict[str, object]
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_since: datetime | None
    consecutive_failures: int
    last_items: int
    created_at: datetime

    def state(self, now: datetime) -> str:
        """ok, failing, backing off, paused, new (never fetched) or manual (file imports)."""
        if self.every_s is None:
            return "manual"
        if self.paused:
            return "paused"
        if self.consecutive_failures:
            if self.next_run_at is not None and self.next_run_at > now:
                return "backing off"
            return "failing"
        return "ok" if self.last_success_at else "new"
