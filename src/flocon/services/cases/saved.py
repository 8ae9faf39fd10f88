"""Saved replies: a workspace's reply templates in French and English, with variables
({author}, {brand}, {case_link}, {agent}, {watch}) filled in for a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, delete, insert, select, update

from flocon.domain.templates import render_template, validate_template
from flocon.errors import AlreadyExists, ConfigError, NotFound
from flocon.services import accounts
from flocon.storage.engine import read, write
from flocon.storage.queries import cases as q
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User
from flocon.storage.tables import saved_replies, watches

LANGS: Final = ("fr", "en")
NAME_MAX: Final = 200
TEXT_MAX: Final = 5_000


@dataclass(frozen=True, slots=True)
class SavedReply:
    id: int
    name: str
    lang: str
    text: str
    created_by: str | None
    updated_at: datetime


def _check(name: str, lang: str, text: str) -> tuple[str, str, str]:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ConfigError(f"a saved reply needs a name of 1 to {NAME_MAX} characters")
    lang = lang.strip().lower()
    if lang not in LANGS:
        raise ConfigError(f"a saved reply's language is one of {', '.join(LANGS)}")
    text = text.strip()
    if not text or len(text) > TEXT_MAX:
        raise ConfigError(f"a saved reply holds 1 to {TEXT_MAX} characters")
    validate_template(text)
    return name, lang, text


def _row(r: object) -> SavedReply:
    return SavedReply(
        id=r.id,  # type: ignore[attr-defined]
        name=r.name,  # type: ignore[attr-defined]
        lang=r.lang,  # type: ignore[attr-defined]
        text=r.text,  # type: ignore[attr-defined]
        created_by=r.created_by,  # type: ignore[attr-defined]
        updated_at=r.updated_at,  # type: ignore[attr-defined]
    )


def list_saved(engine: Engine, workspace: str, *, lang: str | None = None) -> list[SavedReply]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        stmt = select(saved_replies).where(saved_replies.c.workspace_id == ws.id)
        if lang:
            stmt = stmt.where(saved_replies.c.lang == lang)
        rows = conn.execute(stmt.order_by(saved_replies.c.name, saved_replies.c.lang))
        return [_row(r) for r in rows]


def save_saved(
    engine: Engine,
    workspace: str,
    *,
    name: str,
    lang: str,
    text: str,
    actor: User | str,
    saved_id: int | None = None,
) -> SavedReply:
    """Create a saved reply, or change one (``saved_id``); the template is checked first."""
    name, lang, text = _check(name, lang, text)
    at = datetime.now(UTC)
    who = actor.email if isinstance(actor, User) else str(actor)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        clash = conn.execute(
            select(saved_replies.c.id).where(
                saved_replies.c.workspace_id == ws.id,
                saved_replies.c.name == name,
                saved_replies.c.lang == lang,
            )
        ).scalar()
        if clash is not None and clash != saved_id:
            raise AlreadyExists(f"a saved reply {name!r} in {lang} already exists")
        if saved_id is None:
            saved_id = conn.execute(
                insert(saved_replies)
                .values(
                    workspace_id=ws.id,
                    name=name,
                    lang=lang,
                    text=text,
                    created_by=who,
                    created_at=at,
                    updated_at=at,
                )
                .returning(saved_replies.c.id)
            ).scalar_one()
        else:
            changed = conn.execute(
                update(saved_replies)
                .where(saved_replies.c.id == saved_id, saved_replies.c.workspace_id == ws.id)
                .values(name=name, lang=lang, text=text, updated_at=at)
            ).rowcount
            if not changed:
                raise NotFound(f"no saved reply #{saved_id} in this workspace")
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="saved_reply.save",
            object_type="saved_reply",
            object_id=saved_id,
            details={"name": name, "lang": lang},
            now=at,
        )
        row = conn.execute(select(saved_replies).where(saved_replies.c.id == saved_id)).one()
        return _row(row)


def remove_saved(engine: Engine, workspace: str, saved_id: int, *, actor: User | str) -> None:
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        gone = conn.execute(
            delete(saved_replies).where(
                saved_replies.c.id == saved_id, saved_replies.c.workspace_id == ws.id
            )
        ).rowcount
        if not gone:
            raise NotFound(f"no saved reply #{saved_id} in this workspace")
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="saved_reply.remove",
            object_type="saved_reply",
            object_id=saved_id,
        )


def fill_saved(
    engine: Engine,
    workspace: str,
    saved_id: int,
    case_id: int,
    *,
    agent: User | str,
    base_url: str = "",
) -> str:
    """The saved reply's text with the case's values: the author's @handle (or name), the
    brand (the case's watch), the link to the case, the agent's name."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = conn.execute(
            select(saved_replies).where(
                saved_replies.c.id == saved_id, saved_replies.c.workspace_id == ws.id
            )
        ).first()
        if row is None:
            raise NotFound(f"no saved reply #{saved_id} in this workspace")
        case = q.get_case(conn, ws.id, case_id)
        if case is None:
            raise NotFound(f"no case #{case_id} in this workspace")
        facts = q.mention_facts(conn, ws.id, case.mention_id) if case.mention_id else None
        brand = ""
        if case.watch_id is not None:
            brand = (
                conn.execute(select(watches.c.name).where(watches.c.id == case.watch_id)).scalar()
                or ""
            )
    author = ""
    if facts is not None:
        author = (
            f"@{facts.author_handle.lstrip('@')}"
            if facts.author_handle
            else (facts.author_name or "")
        )
    if isinstance(agent, User):
        agent_name = agent.name or agent.email.split("@", 1)[0]
    else:
        agent_name = str(agent)
    values = {
        "author": author,
        "brand": brand,
        "case_link": f"{base_url.rstrip('/')}/w/{workspace}/inbox/{case_id}",
        "agent": agent_name,
        "watch": brand,
    }
    return render_template(row.text, values)
