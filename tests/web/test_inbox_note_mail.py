"""A note that @mentions teammates e-mails them (through a local SMTP server), in their
language, with the link to the case; never its author; nothing without SMTP."""

from __future__ import annotations

import email
from collections.abc import Callable
from email.policy import default as default_policy
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flocon.services import accounts
from flocon.services import cases as svc
from flocon.services import watches as watches_svc
from flocon.settings import Settings
from flocon.web import create_app
from support.seeding import import_lines


def _case(engine: Engine, settings: Settings) -> int:
    watches_svc.add_watch(engine, "default", name="Acme", query="acme")
    (mid,) = import_lines(engine, settings, [{"text": "Acme never refunded me"}])
    return svc.create_case(engine, "default", mention_id=mid, actor="cli").id


def test_mentioned_teammates_get_an_email_in_their_language(
    engine: Engine,
    database_url: str,
    mailbox: tuple[Any, int],
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    box, port = mailbox
    smtp = Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="flocon <flocon@example.org>",
        web_base_url="https://flocon.example.org",
        sentiment_profile="fast",
    )
    case_id = _case(engine, smtp)
    author = make_member("agent", email="alice@example.com")
    bob = make_member("agent", email="bob@example.com")
    accounts.set_preferences(engine, bob.user.id, locale="fr", timezone=None)
    make_member("manager", email="carol@example.com")
    app: FastAPI = create_app(smtp, engine=engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        csrf = sign_in(client, author)
        done = client.post(
            f"/w/default/inbox/{case_id}/notes",
            data={"csrf_token": csrf, "text": "@bob @carol@example.com refund? (cc @alice)"},
        )
        assert done.status_code == 303
    received = {env.rcpt_tos[0]: env for env in box.envelopes}
    assert set(received) == {"bob@example.com", "carol@example.com"}
    french = email.message_from_bytes(received["bob@example.com"].content, policy=default_policy)
    assert (
        french["Subject"] == f"[flocon] alice@example.com vous a mentionné sur le cas n° {case_id}"
    )
    body = french.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "refund?" in body
    assert f"https://flocon.example.org/w/default/inbox/{case_id}" in body
    english = email.message_from_bytes(received["carol@example.com"].content, policy=default_policy)
    assert english["Subject"].startswith("[flocon] alice@example.com mentioned you on case #")


def test_without_smtp_the_note_is_kept_and_nothing_is_sent(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    mailbox: tuple[Any, int],
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
) -> None:
    box, _port = mailbox
    case_id = _case(engine, settings)
    make_member("agent", email="bob@example.com")
    csrf = sign_in(client, make_member("agent"))
    done = client.post(
        f"/w/default/inbox/{case_id}/notes", data={"csrf_token": csrf, "text": "@bob look"}
    )
    assert done.status_code == 303
    assert box.envelopes == []
    assert [n.text for n in svc.get_case(engine, "default", case_id).notes] == ["@bob look"]
