"""E-mail to the teammates a note @mentions: who wrote it, the note, the link to the case.

Sent only when the install has an SMTP server (``FLOCON_SMTP_HOST``); the author is never
e-mailed about their own note; a failure is logged and loses nothing (the note is stored, and
the case shows in the teammate's *Mentioning me* view either way). Written in the
recipient's language (French or English).
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from flocon.alerting.channels import EmailChannel, Message, SmtpConfig
from flocon.settings import Settings
from flocon.storage.engine import read
from flocon.storage.queries.cases import NoteRow
from flocon.storage.tables import users

logger = logging.getLogger(__name__)

_TEXT = {
    "en": (
        "[flocon] {author} mentioned you on case #{case_id}",
        "{author} mentioned you in a note on case #{case_id}:\n\n{note}\n\nOpen the case: {link}\n",
    ),
    "fr": (
        "[flocon] {author} vous a mentionné sur le cas n° {case_id}",
        "{author} vous a mentionné dans une note sur le cas n° {case_id} :\n\n{note}\n\n"
        "Ouvrir le cas : {link}\n",
    ),
}


def notify_mentioned(
    engine: Engine,
    settings: Settings,
    workspace: str,
    case_id: int,
    note: NoteRow,
    *,
    base_url: str = "",
) -> int:
    """E-mail each teammate the note @mentions (not its author); how many were sent."""
    if not settings.smtp_host.strip() or not note.mentioned:
        return 0
    with read(engine) as conn:
        rows = conn.execute(
            select(users.c.id, users.c.email, users.c.locale).where(
                users.c.id.in_(list(note.mentioned)), users.c.is_active.is_(True)
            )
        ).all()
    link = f"{(settings.web_base_url or base_url).rstrip('/')}/w/{workspace}/inbox/{case_id}"
    config = SmtpConfig.from_settings(settings)
    sent = 0
    for row in rows:
        if row.id == note.user_id:
            continue
        subject, body = _TEXT["fr" if (row.locale or "").startswith("fr") else "en"]
        values = {"author": note.author, "case_id": case_id, "note": note.text, "link": link}
        message = Message(
            subject=subject.format(**values),
            text=body.format(**values),
            payload={"case_id": case_id, "note_id": note.id},
            url=link,
        )
        attempt = EmailChannel(config, [row.email]).send(message)
        if attempt.ok:
            sent += 1
        else:
            logger.warning(
                "note #%s: e-mail to a mentioned teammate not sent: %s", note.id, attempt.detail
            )
    return sent
