"""Cut query text into tokens: words, phrases, parentheses, operators, fields.

Operators are the upper-case keywords ``AND``, ``OR``, ``NOT``, ``NEAR/n`` and
``NEAR/nf``; a ``-`` glued to what follows excludes it. ``name:`` at the start
of a word is a field, unless the colon is followed by ``/`` (``https://...``).
The value of a non-text field written right after its colon is read raw, up to
the next space (``url:https://x.com/a?b=1&c=2``), so it may contain ``:/.?=&``
and balanced parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from flocon.domain.query.ast import FIELDS, MAX_NEAR_DISTANCE
from flocon.errors import QuerySyntaxError

__all__ = ["Kind", "Token", "lex"]

TEXT_FIELDS: Final = ("title",)
_FIELD_RE = re.compile(r"([^\W\d_]+):")
_NEAR_RE = re.compile(r"NEAR/(\d{1,9})([fF]?)")
_KEYWORDS: Final = {"AND", "OR", "NOT"}
_WORD_STOP = '()"'


class Kind(StrEnum):
    WORD = "word"
    PHRASE = "phrase"
    VALUE = "value"
    FIELD = "field"
    LPAREN = "("
    RPAREN = ")"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"
    NEAR = "NEAR"
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme; ``pos`` is its 0-based character offset in the query."""

    kind: Kind
    pos: int
    text: str = ""
    distance: int = 0
    ordered: bool = False


def _read_word(query: str, start: int) -> int:
    end = start
    while end < len(query) and not query[end].isspace() and query[end] not in _WORD_STOP:
        end += 1
    return end


def _read_raw_value(query: str, start: int) -> int:
    """End of a raw field value: next space, ``"`` or unbalanced ``)``."""
    end, depth = start, 0
    while end < len(query) and not query[end].isspace() and query[end] != '"':
        if query[end] == "(":
            depth += 1
        elif query[end] == ")":
            if depth == 0:
                break
            depth -= 1
        end += 1
    return end


def _keyword(word: str, pos: int) -> Token | None:
    if word in _KEYWORDS:
        return Token(Kind(word), pos, word)
    if word == "NEAR" or word.startswith("NEAR/"):
        match = _NEAR_RE.fullmatch(word)
        if match is None:
            raise QuerySyntaxError(pos, "NEAR needs a distance, like NEAR/5 or NEAR/5f")
        distance = int(match.group(1))
        if distance > MAX_NEAR_DISTANCE:
            raise QuerySyntaxError(pos, f"NEAR distance must be between 0 and {MAX_NEAR_DISTANCE}")
        return Token(Kind.NEAR, pos, word, distance=distance, ordered=bool(match.group(2)))
    return None


def lex(query: str) -> list[Token]:
    """Tokens of ``query``, ending with an ``EOF`` token; raises :class:`QuerySyntaxError`."""
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            out.append(Token(Kind.LPAREN if char == "(" else Kind.RPAREN, i, char))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end == -1:
                raise QuerySyntaxError(i, "unbalanced quote")
            out.append(Token(Kind.PHRASE, i, query[i + 1 : end]))
            i = end + 1
        elif char == "-" and (i + 1 == n or query[i + 1].isspace() or query[i + 1] == ")"):
            raise QuerySyntaxError(i, "- must be followed, without a space, by what to exclude")
        elif char == "-":
            out.append(Token(Kind.MINUS, i, char))
            i += 1
        else:
            i = _lex_word(query, i, out)
    out.append(Token(Kind.EOF, n))
    return out


def _lex_word(query: str, start: int, out: list[Token]) -> int:
    """Lex the word at ``start`` (keyword, field or plain word); returns where lexing resumes."""
    end = _read_word(query, start)
    word = query[start:end]
    keyword = _keyword(word, start)
    if keyword is not None:
        out.append(keyword)
        return end
    field = _FIELD_RE.match(word)
    if field is None or word[field.end() :].startswith("/"):
        out.append(Token(Kind.WORD, start, word))
        return end
    name = field.group(1).lower()
    if name not in FIELDS and name not in TEXT_FIELDS:
        raise QuerySyntaxError(start, f"unknown field {field.group(1)}")
    out.append(Token(Kind.FIELD, start, name))
    value_start = start + field.end()
    if value_start == len(query) or query[value_start].isspace():
        raise QuerySyntaxError(start, f"{name}: needs a value right after the colon")
    if name in TEXT_FIELDS or query[value_start] in '("':
        return value_start
    value_end = _read_raw_value(query, value_start)
    if value_end == value_start:
        raise QuerySyntaxError(start, f"{name}: needs a value right after the colon")
    out.append(Token(Kind.VALUE, value_start, query[value_start:value_end]))
    return value_end
