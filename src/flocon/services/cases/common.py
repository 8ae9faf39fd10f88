"""Vocabulary of the shared inbox: statuses and their transitions, priorities, origins, the
public record of a case, and the errors an agent can meet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from flocon.errors import AlreadyExists, ConfigError, FloconError
from flocon.storage.queries.cases import CaseRow, EventRow, MentionFacts, NoteRow, ReplyRow

STATUSES: Final = ("new", "open", "waiting", "resolved", "ignored")
#: Statuses of a case someone still has to deal with.
ACTIVE: Final = ("new", "open", "waiting")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
ORIGINS: Final = ("manual", "rule", "suggested")
SCOPES: Final = ("mention", "thread")
#: Where each status may go. "new" is only where a case starts.
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "new": ("open", "waiting", "resolved", "ignored"),
    "open": ("waiting", "resolved", "ignored"),
    "waiting": ("open", "resolved", "ignored"),
    "resolved": ("open",),
    "ignored": ("open",),
}
#: A presence older than this is not a collision any more.
PRESENCE_SECONDS: Final = 120
NOTE_MAX_CHARS: Final = 10_000
REPLY_MAX_CHARS: Final = 10_000


class CaseConflict(FloconError):
    """Someone changed the case since the version the caller saw (two agents at once)."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class CaseExists(AlreadyExists):
    """The mention already has a case; ``case_id`` names it."""

    def __init__(self, case_id: int) -> None:
        super().__init__(f"this mention already has case #{case_id}")
        self.case_id = case_id


class BadTransition(ConfigError):
    """A status change the workflow does not allow (or an ignore without its reason)."""


@dataclass(frozen=True, slots=True)
class Presence:
    """A teammate who has the case open, or is writing a reply to it."""

    user_id: int
    email: str
    activity: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Case:
    """A case as the inbox, the API and the CLI show it: the stored row, its tags, and the
    figures computed at ``now`` (current risk with waiting time, response times, overdue)."""

    row: CaseRow
    tags: tuple[str, ...]
    risk: float
    risk_factors: dict[str, Any]
    waiting_seconds: int | None
    first_response_seconds: int | None
    resolution_seconds: int | None
    first_response_overdue: bool
    resolution_overdue: bool

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def status(self) -> str:
        return self.row.status

    @property
    def overdue(self) -> bool:
        return self.first_response_overdue or self.resolution_overdue


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """A case with everything its page shows."""

    case: Case
    mention: MentionFacts | None
    events: list[EventRow] = field(default_factory=list)
    notes: list[NoteRow] = field(default_factory=list)
    replies: list[ReplyRow] = field(default_factory=list)
    presence: list[Presence] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of the inbox, riskiest first; ``next_cursor`` is None on the last page."""

    cases: list[Case]
    total: int
    next_cursor: str | None
