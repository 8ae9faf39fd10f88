"""The shared inbox: cases (a mention or a thread that needs an answer), their triage by
risk, assignment, notes, replies through the platforms or recorded, response times against
SLA targets in business hours. See docs/inbox.md.

Modules: ``common`` (vocabulary, records, errors), ``risk`` (the inbox's order), ``core``
(cases, notes, tags, presence), ``replies`` (drafts, sending, recording, posting accounts),
``timing`` (business hours, SLA, inbox settings).
"""

from __future__ import annotations

from flocon.services.cases.common import (
    ACTIVE,
    PRIORITIES,
    STATUSES,
    TRANSITIONS,
    BadTransition,
    Case,
    CaseConflict,
    CaseDetail,
    CaseExists,
    CasePage,
    Presence,
)
from flocon.services.cases.core import (
    UNSET,
    VIEWS,
    CaseQuery,
    add_note,
    create_case,
    get_case,
    list_cases,
    see_case,
    tag_case,
    update_case,
)
from flocon.services.cases.replies import (
    AccountInfo,
    add_account,
    can_send,
    list_accounts,
    record_reply,
    remove_account,
    save_draft,
    send_reply,
)
from flocon.services.cases.saved import (
    SavedReply,
    fill_saved,
    list_saved,
    remove_saved,
    save_saved,
)
from flocon.services.cases.timing import InboxSettings, get_inbox_settings, set_inbox_settings

__all__ = [
    "ACTIVE",
    "PRIORITIES",
    "STATUSES",
    "TRANSITIONS",
    "UNSET",
    "VIEWS",
    "AccountInfo",
    "BadTransition",
    "Case",
    "CaseConflict",
    "CaseDetail",
    "CaseExists",
    "CasePage",
    "CaseQuery",
    "InboxSettings",
    "Presence",
    "SavedReply",
    "add_account",
    "add_note",
    "can_send",
    "create_case",
    "fill_saved",
    "get_case",
    "get_inbox_settings",
    "list_accounts",
    "list_cases",
    "list_saved",
    "record_reply",
    "remove_account",
    "remove_saved",
    "save_draft",
    "save_saved",
    "see_case",
    "send_reply",
    "set_inbox_settings",
    "tag_case",
    "update_case",
]
