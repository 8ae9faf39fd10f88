"""Words of the inbox pages: statuses, priorities, views, risk factors, tone issues, reply
statuses and timeline events in the viewer's language, and the notices after a form."""

from __future__ import annotations

from typing import Any

from flocon.web.i18n import _


def status_labels() -> dict[str, str]:
    return {
        "new": _("new"),
        "open": _("open"),
        "waiting": _("waiting for the author"),
        "resolved": _("resolved"),
        "ignored": _("ignored"),
    }


def priority_labels() -> dict[str, str]:
    return {"low": _("low"), "normal": _("normal"), "high": _("high"), "urgent": _("urgent")}


def view_labels() -> dict[str, str]:
    return {
        "": _("All open cases"),
        "mine": _("Mine"),
        "unassigned": _("Unassigned"),
        "overdue": _("Overdue"),
        "mentioning": _("Mentioning me"),
    }


def factor_labels() -> dict[str, str]:
    return {
        "snowball": _("Snowball risk"),
        "influence": _("Author influence"),
        "negativity": _("Negativity"),
        "waiting": _("Waiting time"),
    }


def tone_labels() -> dict[str, str]:
    return {
        "defensive": _("Defensive: it argues or justifies instead of helping."),
        "dismissive": _("Dismissive: it brushes the person off."),
        "blames_customer": _("It blames the person who complains."),
        "no_apology": _("No apology or empathy for a complaint."),
        "no_next_step": _("No next step: say what happens now, or how to reach you."),
        "non_apology": _('A non-apology ("sorry you feel that way"): apologise for what happened.'),
        "shouting": _("Shouting: capitals or many exclamation marks."),
        "placeholder": _("A placeholder was left in the text."),
        "mixed_register": _("Mixed « tu » and « vous »: pick one."),
        "overpromise": _("A promise the team may not keep: say what you will check instead."),
        "too_long": _("Too long for a public reply."),
    }


def reply_status_labels() -> dict[str, str]:
    return {
        "draft": _("draft"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "recorded": _("recorded (made elsewhere)"),
    }


def event_labels() -> dict[str, str]:
    return {
        "created": _("opened the case"),
        "assign": _("assigned"),
        "status": _("status"),
        "priority": _("priority"),
        "note": _("added a note"),
        "tag": _("tags"),
        "reply": _("replied"),
        "reply_failed": _("reply refused by the platform"),
        "escalated": _("escalated"),
    }


def page_labels() -> dict[str, Any]:
    return {
        "statuses": status_labels(),
        "priorities": priority_labels(),
        "views": view_labels(),
        "factors": factor_labels(),
        "tones": tone_labels(),
        "reply_statuses": reply_status_labels(),
        "events": event_labels(),
    }


def notice_for(done: str) -> str | None:
    return {
        "created": _("Case opened."),
        "updated": _("Case updated."),
        "noted": _("Note added."),
        "sent": _("Reply sent."),
        "failed": _("The platform refused the reply: see the error below."),
        "recorded": _("Reply recorded."),
        "drafted": _("Draft saved."),
        "saved": _("Saved."),
        "removed": _("Removed."),
        "exists": _("This mention already has a case: here it is."),
    }.get(done)
