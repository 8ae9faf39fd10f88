"""Pages of the shared inbox: the cases riskiest first with their factors, saved views and
filters; a case with its mention, timeline, notes, assignment and replies (from a saved
reply, checked for tone, sent through the platform or recorded); the inbox settings
(saved replies, posting accounts, business hours and SLA).

Roles: everyone reads; an agent opens cases, takes and changes them, writes notes and
replies; a manager edits saved replies; an admin adds posting accounts (their credentials
are write-only) and sets business hours and SLA targets.

Modules: ``labels`` (the words of the pages), ``cases`` (the inbox and a case),
``settings`` (the settings page). ``/inbox/settings`` is routed before ``/inbox/{case_id}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from flocon.web.ui.inbox import cases, settings

router = APIRouter()
router.include_router(settings.router)
router.include_router(cases.router)

__all__ = ["router"]
