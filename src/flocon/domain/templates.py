"""Saved-reply templates: their syntax, their check and their rendering.

A template is plain text in which ``{name}`` stands for a variable of
:data:`TEMPLATE_VARIABLES`; ``{{`` and ``}}`` are a literal ``{`` and ``}``::

    Bonjour {author}, toutes nos excuses. Votre dossier : {case_link} — {agent}, {brand}

Choices:

* a tiny parser, not :meth:`str.format`: ``{author.__class__}`` or ``{0}`` are
  errors, never attribute or index look-ups;
* the known variables are a closed list: a misspelt ``{autor}`` is an error at
  save time (with its position and the closest known name), not a hole at send time;
* a lone ``}`` is an error, like in Python format strings, so that ``author}``
  (a forgotten ``{``) is caught;
* rendering needs a value for every variable the template uses: a missing value
  raises :class:`~flocon.errors.TemplateError` naming all of them (a reply saying
  « Bonjour , » is worse than an error). A caller that has no value for an optional
  variable passes ``""``. Values are inserted as they are: braces in a value are
  not read as variables. Values for variables the template does not use are ignored.

Everything here is pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from flocon.errors import TemplateError

__all__ = [
    "TEMPLATE_VARIABLES",
    "render_template",
    "template_variables",
    "validate_template",
]

#: The variables a template may use.
#:
#: ``author``: the person answered (their handle or name); ``brand``: the workspace's
#: brand; ``case_link``: the address of the case for the customer; ``case_id``: the
#: case's short reference (to quote in an e-mail); ``agent``: the first name of the
#: agent who sends the reply; ``watch``: the name of the watch that found the mention.
TEMPLATE_VARIABLES: Final = ("author", "brand", "case_link", "case_id", "agent", "watch")


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str
    position: int


def _parse(text: str) -> Iterator[str | _Variable]:
    """Literal text and variables, in order; raises :class:`TemplateError` at the first mistake."""
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch not in "{}":
            literal.append(ch)
            i += 1
            continue
        if text.startswith(ch * 2, i):
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            raise TemplateError(i, "'}' without an opening '{' (write '}}' for a literal brace)")
        close = text.find("}", i + 1)
        inner_open = text.find("{", i + 1)
        if close == -1 or (inner_open != -1 and inner_open < close):
            raise TemplateError(i, "'{' is never closed (write '{{' for a literal brace)")
        name = text[i + 1 : close]
        _check_name(name, i)
        if literal:
            yield "".join(literal)
            literal = []
        yield _Variable(name, i)
        i = close + 1
    if literal:
        yield "".join(literal)


def _check_name(name: str, position: int) -> None:
    if not name:
        raise TemplateError(position, "empty variable '{}' (write '{{}}' for literal braces)")
    if name in TEMPLATE_VARIABLES:
        return
    known = ", ".join(TEMPLATE_VARIABLES)
    close = difflib.get_close_matches(name.strip().lower(), TEMPLATE_VARIABLES, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise TemplateError(position, f"unknown variable '{name}'{hint}; known variables: {known}")


def validate_template(text: str) -> None:
    """Raise :class:`~flocon.errors.TemplateError` for the first mistake of ``text``, if any."""
    for _ in _parse(text):
        pass


def template_variables(text: str) -> list[str]:
    """The variables ``text`` uses, each once, in the order they first appear."""
    names = (part.name for part in _parse(text) if isinstance(part, _Variable))
    return list(dict.fromkeys(names))


def render_template(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each variable replaced by its value from ``values``.

    Raises :class:`~flocon.errors.TemplateError` when ``text`` is malformed, or when
    ``values`` lacks a variable it uses (the error lists every missing one and
    points at the first use).
    """
    parts = list(_parse(text))
    missing = [part for part in parts if isinstance(part, _Variable) and part.name not in values]
    if missing:
        names = ", ".join(dict.fromkeys(part.name for part in missing))
        raise TemplateError(missing[0].position, f"no value for {names}")
    return "".join(part if isinstance(part, str) else values[part.name] for part in parts)
