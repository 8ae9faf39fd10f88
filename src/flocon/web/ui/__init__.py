"""The pages, one router per area. Every router refuses unsafe requests without their CSRF
token (``security.csrf_protect``)."""

from fastapi import APIRouter

from flocon.web.ui import (
    alerts,
    auth,
    authors,
    dashboard,
    inbox,
    inbox_rules,
    mentions,
    moderation,
    settings,
    sources,
    team,
    watches,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    dashboard.router,
    mentions.router,
    moderation.router,
    team.router,
    # Before the inbox's: its /inbox/{case_id} would take /inbox/rules.
    inbox_rules.router,
    inbox.router,
    watches.router,
    sources.router,
    alerts.router,
    authors.router,
    settings.router,
)
