"""Every message of the web app has its French translation, with the same placeholders, and
the language negotiation picks what people expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from flocon.web import i18n

WEB = Path(i18n.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB),
        method_map=METHODS,
        options_map=OPTIONS,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        msgid = message[0] if isinstance(message, tuple) else message  # plural: the singular
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def test_messages_are_found_in_templates_and_code() -> None:
    messages = _messages()
    assert "Sign in" in messages
    assert "Wrong e-mail or password." in messages
    assert len(messages) > 40


def test_every_message_has_a_french_translation() -> None:
    french = i18n.catalogue("fr")
    raw = getattr(i18n.translations("fr"), "_catalog", {})
    missing = {
        m: where[0] for m, where in _messages().items() if not french.get(m) and not raw.get((m, 0))
    }
    assert not missing, "messages without French (add them to web/i18n/fr/LC_MESSAGES/*.po):\n" + (
        "\n".join(f"{where}: {m!r}" for m, where in sorted(missing.items(), key=lambda x: x[1]))
    )


def test_translations_keep_their_placeholders() -> None:
    wrong = [
        (msgid, text)
        for msgid, text in i18n.catalogue("fr").items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert not wrong


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", None, "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", None, "en"),
        ("de-DE,de;q=0.9,fr;q=0.5", None, "fr"),
        ("de-DE", None, "en"),
        ("", None, "en"),
        ("fr;q=0.2,en;q=0.9", None, "en"),
        ("en", "fr", "fr"),
        ("fr", "xx", "fr"),
        ("garbage;;q=abc,,", None, "en"),
    ],
)
def test_negotiation(header: str, preferred: str | None, expected: str) -> None:
    assert i18n.negotiate(header, preferred) == expected


def test_numbers_and_dates_follow_the_locale() -> None:
    from datetime import UTC, datetime

    with i18n.using(i18n.Lang("fr", i18n.zone("Europe/Paris"))):
        assert i18n.fmt_number(12345) == "12\u202f345"
        assert "22:30" in i18n.fmt_datetime(datetime(2026, 11, 25, 21, 30, tzinfo=UTC))
        assert i18n._("Sign in") == "Se connecter"
    with i18n.using(i18n.Lang("en", i18n.zone("America/New_York"))):
        assert i18n.fmt_number(12345) == "12,345"
        assert "4:30" in i18n.fmt_datetime(datetime(2026, 11, 25, 21, 30, tzinfo=UTC))
        assert i18n._("Sign in") == "Sign in"
