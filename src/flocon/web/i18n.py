"""French and English: the message catalogues, the locale of a request, and dates and numbers
formatted for it.

Catalogues are gettext ``.po`` files under ``i18n/<locale>/LC_MESSAGES/``, one file per area of
the app (``core.po``, ``dashboard.po``...), merged when first needed: nothing is compiled at
install time. English is the source language. The locale of a request is the user's choice,
else the browser's ``Accept-Language``, else English. Templates and views call ``_()``, which
reads the request's translations from a context variable.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALES: tuple[str, ...] = ("en", "fr")
DEFAULT_LOCALE = "en"
LOCALE_NAMES = {"en": "English", "fr": "Français"}


@dataclass(frozen=True, slots=True)
class Lang:
    """What a request is shown in: a locale and a time zone."""

    locale: str
    tz: ZoneInfo

    @property
    def translations(self) -> gettext.NullTranslations:
        return translations(self.locale)


_DEFAULT = Lang(DEFAULT_LOCALE, ZoneInfo("UTC"))
_current: ContextVar[Lang | None] = ContextVar("flocon_lang", default=None)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The merged catalogue of ``locale`` (English: identity)."""
    if locale == DEFAULT_LOCALE or locale not in LOCALES:
        return gettext.NullTranslations()
    folder = resources.files("flocon.web") / "i18n" / locale / "LC_MESSAGES"
    merged: gettext.GNUTranslations | None = None
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as stream:
            catalog = read_po(stream, locale=locale)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = gettext.GNUTranslations(buffer)
        if merged is None:
            merged = part
        else:
            merged._catalog.update(part._catalog)  # type: ignore[attr-defined]
    return merged or gettext.NullTranslations()


def catalogue(locale: str) -> dict[str, str]:
    """Every translated message of ``locale`` (msgid -> msgstr), for tests and tools."""
    trans = translations(locale)
    raw: dict[Any, Any] = getattr(trans, "_catalog", {})
    return {k: v for k, v in raw.items() if isinstance(k, str) and k}


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The user's choice if it is one of ours, else the best match of ``Accept-Language``."""
    if preferred in LOCALES:
        return str(preferred)
    choices: list[tuple[float, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        choices.append((-quality + position * 1e-6, tag.strip().lower()))
    for _, tag in sorted(choices):
        primary = tag.split("-")[0]
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE


def zone(name: str | None) -> ZoneInfo:
    """The named time zone, UTC when unknown or empty."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


@contextmanager
def using(lang: Lang) -> Iterator[None]:
    """Make ``lang`` the current one for ``_()`` and the formatters."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Lang:
    return _current.get() or _DEFAULT


def set_current(lang: Lang) -> None:
    _current.set(lang)


def _(message: str, **values: Any) -> str:
    """Translate ``message`` into the current locale; ``%(name)s`` placeholders are filled."""
    text = current().translations.gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    text = current().translations.ngettext(singular, plural, n)
    values.setdefault("num", n)
    return text % values


def fmt_datetime(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    lang = current()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, style, tzinfo=lang.tz, locale=lang.locale)


def fmt_date(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    lang = current()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_date(value.astimezone(lang.tz), style, locale=lang.locale)


def fmt_number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=current().locale)


def fmt_duration(seconds: float | int | None) -> str:
    """A duration in words of the current locale ("3 hours", "3 heures"); "–" when unknown."""
    if seconds is None:
        return "–"
    return format_timedelta(
        max(0, round(seconds)), threshold=1.5, format="short", locale=current().locale
    )


def fmt_percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=current().locale)


def locale_name(code: str) -> str:
    return LOCALE_NAMES.get(code) or Locale.parse(code).get_display_name(code) or code
