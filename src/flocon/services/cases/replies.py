"""Answers of a case: drafts, replies sent through the platform, replies made elsewhere and
recorded with their address, and retries of failed posts; the brand's posting accounts.

A reply is never lost: it is stored (``sending``) in its own transaction *before* the
platform is called, then marked ``sent`` or ``failed`` with the platform's error and whether a
retry can help. The first reply sent or recorded sets the case's first response time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, delete, insert, select

from flocon import posting
from flocon.analysis.tone import check_tone
from flocon.connectors.http import build_http_client
from flocon.credentials import CredentialBox
from flocon.domain.normalize import site_of
from flocon.errors import AlreadyExists, ConfigError, ConnectorError, NotFound
from flocon.services import accounts
from flocon.services.accounts.common import acting_user
from flocon.services.cases.common import REPLY_MAX_CHARS, BadTransition
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import cases as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User
from flocon.storage.tables import posting_accounts

logger = logging.getLogger(__name__)

#: Source kinds whose mentions are answered by an account of the same platform.
_SAME_PLATFORM: Final = ("mastodon", "bluesky", "reddit", "youtube")
#: Platforms of accounts that answer on their own site (matched by host).
_SITE_PLATFORMS: Final = ("wordpress", "discourse")


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A posting account as lists show it: never its credentials."""

    id: int
    platform: str
    name: str
    base_url: str
    created_at: datetime
    created_by: str | None


def _now(now: datetime | None) -> datetime:
    return now.astimezone(UTC) if now is not None else datetime.now(UTC)


def _who(conn: Connection, actor: User | str) -> tuple[int | None, str]:
    user = acting_user(conn, actor)
    return (user.id, user.email) if user is not None else (None, str(actor))


def _text(text: str) -> str:
    body = text.strip()
    if not body:
        raise ConfigError("a reply needs some text")
    if len(body) > REPLY_MAX_CHARS:
        raise ConfigError(f"a reply holds at most {REPLY_MAX_CHARS} characters")
    return body


def _case(conn: Connection, ws_id: int, case_id: int) -> q.CaseRow:
    row = q.get_case(conn, ws_id, case_id)
    if row is None:
        raise NotFound(f"no case #{case_id} in this workspace")
    return row


def _tone(text: str, lang: str | None, complaint: bool) -> list[dict[str, Any]]:
    report = check_tone(text, lang=lang if lang in ("fr", "en") else None, complaint=complaint)
    return [
        {
            "code": i.code,
            "severity": i.severity,
            "evidence": i.evidence,
            "start": i.start,
            "end": i.end,
        }
        for i in report.issues
    ]


def _answered(conn: Connection, row: q.CaseRow, at: datetime) -> None:
    """The case got an answer: first response time, and a new case is now open."""
    values: dict[str, Any] = {"updated_at": at}
    if row.first_response_at is None:
        values["first_response_at"] = at
    if row.status == "new":
        values["status"] = "open"
    q.update_case(conn, row.id, values)


# -- posting accounts ------------------------------------------------------------------------


def add_account(
    engine: Engine,
    workspace: str,
    *,
    platform: str,
    name: str,
    base_url: str,
    credentials: dict[str, str],
    settings: Settings,
    actor: User | str,
    now: datetime | None = None,
) -> AccountInfo:
    """Store an account flocon posts with; its credentials are sealed (Fernet)."""
    platform = platform.strip().lower()
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a posting account needs a name of 1 to 200 characters")
    if posting.poster_for(platform) is None:
        known = ", ".join(sorted(posting.POSTERS))
        raise ConfigError(f"flocon cannot post to {platform!r} (it can to: {known})")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("the account's address must be an http:// or https:// URL")
    account = posting.PostingAccount(
        platform=platform, base_url=base_url.strip(), credentials=credentials
    )
    posting.validate_account(account)
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        taken = conn.execute(
            select(posting_accounts.c.id).where(
                posting_accounts.c.workspace_id == ws.id,
                posting_accounts.c.platform == platform,
                posting_accounts.c.name == name,
            )
        ).first()
        if taken is not None:
            raise AlreadyExists(f"a {platform} account named {name!r} already exists")
        _, who = _who(conn, actor)
        account_id: int = conn.execute(
            insert(posting_accounts)
            .values(
                workspace_id=ws.id,
                platform=platform,
                name=name,
                base_url=account.base_url,
                credentials=CredentialBox(settings).seal(credentials),
                created_by=who,
                created_at=at,
            )
            .returning(posting_accounts.c.id)
        ).scalar_one()
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="posting_account.add",
            object_type="posting_account",
            object_id=account_id,
            details={"platform": platform, "name": name, "base_url": account.base_url},
            now=at,
        )
    return AccountInfo(account_id, platform, name, account.base_url, at, who)


def list_accounts(engine: Engine, workspace: str) -> list[AccountInfo]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        rows = conn.execute(
            select(posting_accounts)
            .where(posting_accounts.c.workspace_id == ws.id)
            .order_by(posting_accounts.c.platform, posting_accounts.c.name)
        )
        return [
            AccountInfo(r.id, r.platform, r.name, r.base_url, r.created_at, r.created_by)
            for r in rows
        ]


def remove_account(engine: Engine, workspace: str, account_id: int, *, actor: User | str) -> None:
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        gone = conn.execute(
            delete(posting_accounts).where(
                posting_accounts.c.id == account_id, posting_accounts.c.workspace_id == ws.id
            )
        ).rowcount
        if not gone:
            raise NotFound(f"no posting account #{account_id} in this workspace")
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="posting_account.remove",
            object_type="posting_account",
            object_id=account_id,
        )


def _account_for(
    conn: Connection, ws_id: int, facts: q.MentionFacts, settings: Settings
) -> posting.PostingAccount | None:
    rows = list(
        conn.execute(
            select(posting_accounts)
            .where(posting_accounts.c.workspace_id == ws_id)
            .order_by(posting_accounts.c.id)
        )
    )
    chosen = None
    if facts.source_kind in _SAME_PLATFORM:
        chosen = next((r for r in rows if r.platform == facts.source_kind), None)
    else:
        site = site_of(facts.url or "") if facts.url else ""
        chosen = next(
            (
                r
                for r in rows
                if r.platform in _SITE_PLATFORMS and site and site_of(r.base_url) == site
            ),
            None,
        )
    if chosen is None:
        return None
    return posting.PostingAccount(
        platform=chosen.platform,
        base_url=chosen.base_url,
        credentials=CredentialBox(settings).open(chosen.credentials),
    )


def can_send(engine: Engine, workspace: str, case_id: int, *, settings: Settings) -> bool:
    """Whether flocon has an account to answer this case's mention on its platform."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _case(conn, ws.id, case_id)
        if row.mention_id is None:
            return False
        facts = q.mention_facts(conn, ws.id, row.mention_id)
        return facts is not None and _account_for(conn, ws.id, facts, settings) is not None


# -- replies ---------------------------------------------------------------------------------


def save_draft(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    text: str,
    reply_id: int | None = None,
    now: datetime | None = None,
) -> q.ReplyRow:
    """Save (or update) a draft, with its tone check; drafts survive a closed tab."""
    body = _text(text)
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _case(conn, ws.id, case_id)
        user_id, name = _who(conn, actor)
        tone = _tone(body, row.lang, complaint=True)
        if reply_id is not None:
            found = q.get_reply(conn, case_id, reply_id)
            if found is None or found.status != "draft":
                raise NotFound(f"no draft #{reply_id} on case #{case_id}")
            q.update_reply(conn, reply_id, {"text": body, "tone": tone, "updated_at": at})
            saved = reply_id
        else:
            saved = q.insert_reply(
                conn,
                {
                    "case_id": case_id,
                    "mention_id": row.mention_id,
                    "user_id": user_id,
                    "author": name,
                    "text": body,
                    "mode": "send",
                    "status": "draft",
                    "tone": tone,
                    "created_at": at,
                    "updated_at": at,
                },
            )
        found = q.get_reply(conn, case_id, saved)
        assert found is not None
        return found


def record_reply(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    text: str,
    url: str | None = None,
    now: datetime | None = None,
) -> q.ReplyRow:
    """Record a reply made elsewhere (a forum without an API, a phone call), with its URL."""
    body = _text(text)
    if url is not None and url.strip():
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("the reply's address must be an http:// or https:// URL")
        url = url.strip()
    else:
        url = None
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _case(conn, ws.id, case_id)
        user_id, name = _who(conn, actor)
        reply_id = q.insert_reply(
            conn,
            {
                "case_id": case_id,
                "mention_id": row.mention_id,
                "user_id": user_id,
                "author": name,
                "text": body,
                "mode": "record",
                "status": "recorded",
                "url": url,
                "tone": _tone(body, row.lang, complaint=True),
                "created_at": at,
                "updated_at": at,
                "sent_at": at,
            },
        )
        _answered(conn, row, at)
        details = {"reply_id": reply_id, "mode": "record", "url": url}
        q.insert_event(
            conn, case_id, at=at, user_id=user_id, actor=name, kind="reply", details=details
        )
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="case.reply",
            object_type="case",
            object_id=case_id,
            details=details,
            now=at,
        )
        found = q.get_reply(conn, case_id, reply_id)
        assert found is not None
        return found


def _target(facts: q.MentionFacts) -> posting.ReplyTarget:
    return posting.ReplyTarget(
        platform=facts.source_kind,
        external_id=facts.external_id,
        url=facts.url,
        parent_external_id=facts.parent_external_id,
        extra={k: v for k, v in {"author_handle": facts.author_handle or ""}.items() if v},
    )


def send_reply(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    settings: Settings,
    text: str | None = None,
    reply_id: int | None = None,
    now: datetime | None = None,
) -> q.ReplyRow:
    """Post a reply through the platform of the case's mention.

    Either ``text`` (a new reply) or ``reply_id`` (a draft, or a failed reply to retry).
    The reply is stored as ``sending`` first; it ends ``sent`` or ``failed`` (with the
    platform's error, and ``retryable``). A failed reply is returned, not raised: the agent
    sees it in the case and may retry.
    """
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _case(conn, ws.id, case_id)
        if row.mention_id is None:
            raise BadTransition("this case's mention was deleted: record the reply instead")
        facts = q.mention_facts(conn, ws.id, row.mention_id)
        if facts is None:
            raise BadTransition("this case's mention was deleted: record the reply instead")
        account = _account_for(conn, ws.id, facts, settings)
        if account is None:
            raise BadTransition(
                f"no posting account answers {facts.source_kind} mentions in this workspace: "
                "add one in the inbox settings, or record the reply made elsewhere"
            )
        user_id, name = _who(conn, actor)
        if reply_id is None:
            body = _text(text or "")
            reply_id = q.insert_reply(
                conn,
                {
                    "case_id": case_id,
                    "mention_id": row.mention_id,
                    "user_id": user_id,
                    "author": name,
                    "text": body,
                    "mode": "send",
                    "status": "sending",
                    "attempts": 1,
                    "tone": _tone(body, row.lang, complaint=True),
                    "created_at": at,
                    "updated_at": at,
                },
            )
        else:
            found = q.get_reply(conn, case_id, reply_id)
            if found is None or found.mode != "send":
                raise NotFound(f"no reply #{reply_id} to send on case #{case_id}")
            if found.status == "failed" and not found.retryable:
                raise BadTransition(
                    f"reply #{reply_id} was refused by the platform ({found.error}): "
                    "edit it as a new reply"
                )
            if found.status not in ("draft", "failed"):
                raise BadTransition(f"reply #{reply_id} is {found.status}: nothing to send")
            body = _text(text) if text is not None else found.text
            changed = q.update_reply(
                conn,
                reply_id,
                {
                    "text": body,
                    "status": "sending",
                    "attempts": found.attempts + 1,
                    "error": None,
                    "updated_at": at,
                },
                from_status=found.status,
            )
            if not changed:
                raise BadTransition(f"reply #{reply_id} is being sent by someone else")
        target = _target(facts)
    # The reply is stored: now talk to the platform, outside any transaction.
    poster = posting.poster_for(account.platform)
    assert poster is not None
    error: ConnectorError | None = None
    posted: posting.Posted | None = None
    try:
        posted = asyncio.run(_post(poster, settings, account, target, body))
    except ConnectorError as exc:
        error = exc
        logger.warning("reply #%s of case #%s failed: %s", reply_id, case_id, exc)
    done = _now(None) if now is None else at
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _case(conn, ws.id, case_id)
        if posted is not None:
            q.update_reply(
                conn,
                reply_id,
                {
                    "status": "sent",
                    "external_id": posted.external_id,
                    "url": posted.url,
                    "sent_at": done,
                    "updated_at": done,
                    "retryable": False,
                },
            )
            _answered(conn, row, done)
            details: dict[str, Any] = {"reply_id": reply_id, "mode": "send", "url": posted.url}
            kind = "reply"
        else:
            assert error is not None
            q.update_reply(
                conn,
                reply_id,
                {
                    "status": "failed",
                    "error": str(error),
                    "retryable": bool(error.retryable),
                    "updated_at": done,
                },
            )
            details = {"reply_id": reply_id, "error": str(error), "retryable": error.retryable}
            kind = "reply_failed"
        q.insert_event(
            conn, case_id, at=done, user_id=user_id, actor=name, kind=kind, details=details
        )
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action=f"case.{kind}",
            object_type="case",
            object_id=case_id,
            details=details,
            now=done,
        )
        found = q.get_reply(conn, case_id, reply_id)
        assert found is not None
        return found


async def _post(
    poster: posting.Poster,
    settings: Settings,
    account: posting.PostingAccount,
    target: posting.ReplyTarget,
    text: str,
) -> posting.Posted:
    async with build_http_client(settings) as http:
        return await poster.reply(http, account, target, text)
