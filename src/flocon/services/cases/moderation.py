"""Transparent moderation of the brand's own spaces (WordPress comments, Discourse posts):
hold, approve, hide with a public reason, mark as spam. Never a deletion.

Each action is stored (``moderation_actions``) before the platform is called, then marked
``done`` or ``failed`` with the platform's error; it is written to the audit log with its
author. The account used is the workspace's posting account of that site (matched by host).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, insert, select, update

from flocon import posting
from flocon.connectors.http import build_http_client
from flocon.credentials import CredentialBox
from flocon.domain.normalize import site_of
from flocon.errors import ConfigError, ConnectorError, NotFound
from flocon.services import accounts
from flocon.services.accounts.common import acting_user
from flocon.services.cases.common import BadTransition
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import cases as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User
from flocon.storage.tables import moderation_actions, posting_accounts

logger = logging.getLogger(__name__)

ACTIONS: Final = posting.MODERATION_ACTIONS
REASON_MAX: Final = 2_000


@dataclass(frozen=True, slots=True)
class ModerationRecord:
    id: int
    mention_id: int | None
    action: str
    reason: str | None
    status: str
    error: str | None
    actor: str
    at: datetime


def _record(r: object) -> ModerationRecord:
    return ModerationRecord(
        id=r.id,  # type: ignore[attr-defined]
        mention_id=r.mention_id,  # type: ignore[attr-defined]
        action=r.action,  # type: ignore[attr-defined]
        reason=r.reason,  # type: ignore[attr-defined]
        status=r.status,  # type: ignore[attr-defined]
        error=r.error,  # type: ignore[attr-defined]
        actor=r.actor,  # type: ignore[attr-defined]
        at=r.at,  # type: ignore[attr-defined]
    )


def _account(
    engine: Engine, ws_id: int, url: str | None, settings: Settings
) -> posting.PostingAccount | None:
    site = site_of(url) if url else ""
    if not site:
        return None
    with read(engine) as conn:
        rows = conn.execute(
            select(posting_accounts)
            .where(
                posting_accounts.c.workspace_id == ws_id,
                posting_accounts.c.platform.in_(list(posting.MODERATORS)),
            )
            .order_by(posting_accounts.c.id)
        ).all()
    for r in rows:
        if site_of(r.base_url) == site:
            return posting.PostingAccount(
                platform=r.platform,
                base_url=r.base_url,
                credentials=CredentialBox(settings).open(r.credentials),
            )
    return None


def can_moderate(engine: Engine, workspace: str, mention_id: int, *, settings: Settings) -> bool:
    """Whether the mention is on a space of the brand that flocon can moderate."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        facts = q.mention_facts(conn, ws.id, mention_id)
    return facts is not None and _account(engine, ws.id, facts.url, settings) is not None


def history(engine: Engine, workspace: str, mention_id: int) -> list[ModerationRecord]:
    """Every moderation action on a mention, oldest first (nothing is ever removed)."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        rows = conn.execute(
            select(moderation_actions)
            .where(
                moderation_actions.c.workspace_id == ws.id,
                moderation_actions.c.mention_id == mention_id,
            )
            .order_by(moderation_actions.c.id)
        )
        return [_record(r) for r in rows]


def moderate(
    engine: Engine,
    workspace: str,
    mention_id: int,
    *,
    action: str,
    reason: str | None,
    actor: User | str,
    settings: Settings,
) -> ModerationRecord:
    """Apply a moderation ``action`` on the platform and keep it on record. ``hide`` needs
    a public ``reason`` (published as the brand's comment). A platform failure is returned
    as a ``failed`` record with its error, not raised."""
    if action not in ACTIONS:
        raise ConfigError(f"a moderation action is one of {', '.join(ACTIONS)}")
    text = (reason or "").strip() or None
    if text is not None and len(text) > REASON_MAX:
        raise ConfigError(f"a reason holds at most {REASON_MAX} characters")
    if action == "hide" and text is None:
        raise ConfigError("hiding needs a public reason: the community sees why")
    at = datetime.now(UTC)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        facts = q.mention_facts(conn, ws.id, mention_id)
    if facts is None:
        raise NotFound(f"no mention #{mention_id} in this workspace")
    account = _account(engine, ws.id, facts.url, settings)
    if account is None:
        raise BadTransition(
            "flocon moderates only the brand's own WordPress or Discourse sites: add a posting "
            "account for this site in the inbox settings"
        )
    moderator = posting.moderator_for(account.platform)
    assert moderator is not None
    with write(engine) as conn:
        user = acting_user(conn, actor)
        name = user.email if user is not None else str(actor)
        record_id: int = conn.execute(
            insert(moderation_actions)
            .values(
                workspace_id=ws.id,
                mention_id=mention_id,
                action=action,
                reason=text,
                status="pending",
                user_id=user.id if user is not None else None,
                actor=name,
                at=at,
            )
            .returning(moderation_actions.c.id)
        ).scalar_one()
    target = posting.ReplyTarget(
        platform=facts.source_kind,
        external_id=facts.external_id,
        url=facts.url,
        parent_external_id=facts.parent_external_id,
    )
    error: ConnectorError | None = None
    try:
        asyncio.run(_moderate(moderator, settings, account, target, action, text))
    except ConnectorError as exc:
        error = exc
        logger.warning("moderation #%s (%s) failed: %s", record_id, action, exc)
    with write(engine) as conn:
        conn.execute(
            update(moderation_actions)
            .where(moderation_actions.c.id == record_id)
            .values(status="failed" if error else "done", error=str(error) if error else None)
        )
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action=f"mention.moderate.{action}",
            object_type="mention",
            object_id=mention_id,
            details={
                "reason": text,
                "status": "failed" if error else "done",
                "error": str(error) if error else None,
                "platform": account.platform,
            },
            now=at,
        )
        row = conn.execute(
            select(moderation_actions).where(moderation_actions.c.id == record_id)
        ).one()
        return _record(row)


async def _moderate(
    moderator: posting.Moderator,
    settings: Settings,
    account: posting.PostingAccount,
    target: posting.ReplyTarget,
    action: str,
    reason: str | None,
) -> None:
    async with build_http_client(settings) as http:
        await moderator.moderate(http, account, target, action, reason=reason)  # type: ignore[arg-type]
