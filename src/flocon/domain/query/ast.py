"""The syntax tree of a boolean query: frozen dataclasses compared by structure.

Leaves hold *folded* values (see :mod:`flocon.domain.text`), so ``Orange`` and
``orange`` give equal trees. ``in_title`` restricts a text leaf to the title.
Constructors check their invariants and raise :class:`ValueError` on a tree
the parser could never build; the parser reports user mistakes itself, with
a position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

from flocon.domain.text import URL_TOKEN, fold, tokenize, word_class

__all__ = [
    "FIELDS",
    "And",
    "FieldMatch",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Term",
    "Wildcard",
    "is_near_operand",
]

#: Fields that look at something else than the text (``title:`` is a text zone).
FIELDS: Final = ("author", "site", "url", "lang", "source", "country")

#: Largest distance accepted by ``NEAR/n``.
MAX_NEAR_DISTANCE: Final = 100

#: Plain characters needed before a final ``*``.
MIN_WILDCARD_STEM: Final = 3


@cache
def wildcard_re() -> re.Pattern[str]:
    w = word_class()
    return re.compile(rf"[#@]?[{w}?]+\*?")


def wildcard_stem_length(pattern: str) -> int:
    """How many plain characters (not ``?``, ``#``, ``@``) come before a final ``*``."""
    return sum(1 for c in pattern.rstrip("*").lstrip("#@") if c != "?")


def _check_token(value: str) -> None:
    if value == URL_TOKEN or fold(value) != value or tokenize(value) != [value]:
        raise ValueError(f"not a single folded token: {value!r}")


@dataclass(frozen=True, slots=True)
class Term:
    """One token: a word (also matches the hashtag/handle spelled the same), ``#tag`` or ``@handle``."""

    value: str
    in_title: bool = False

    def __post_init__(self) -> None:
        _check_token(self.value)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A single-word pattern: ``?`` is exactly one character, a final ``*`` any suffix."""

    pattern: str
    in_title: bool = False

    def __post_init__(self) -> None:
        pattern = self.pattern
        if (
            not wildcard_re().fullmatch(pattern)
            or fold(pattern) != pattern
            or not ("*" in pattern or "?" in pattern)
        ):
            raise ValueError(f"not a wildcard pattern: {pattern!r}")
        if pattern.endswith("*") and wildcard_stem_length(pattern) < MIN_WILDCARD_STEM:
            raise ValueError(f"wildcard needs at least 3 characters before *: {pattern!r}")

    @property
    def literal_prefix(self) -> str:
        """The characters before the first ``?`` or ``*`` (sign included)."""
        end = len(self.pattern)
        for sign in "?*":
            pos = self.pattern.find(sign)
            if pos != -1:
                end = min(end, pos)
        return self.pattern[:end]


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more tokens that must follow each other."""

    words: tuple[str, ...]
    in_title: bool = False

    def __post_init__(self) -> None:
        if len(self.words) < 2:
            raise ValueError("a phrase has at least two words")
        for word in self.words:
            _check_token(word)


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """``field:value`` on a non-text field; ``value`` is already normalised for that field."""

    field: str
    value: str

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ValueError(f"unknown field {self.field!r}")
        if not self.value or '"' in self.value:
            raise ValueError(f"bad value for {self.field}: {self.value!r}")


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/distance right``: at most ``distance`` words between; ``ordered``: left first."""

    left: Node
    right: Node
    distance: int
    ordered: bool = False

    def __post_init__(self) -> None:
        if not (is_near_operand(self.left) and is_near_operand(self.right)):
            raise ValueError("NEAR operands are terms, phrases, wildcards or OR-groups of them")
        if not 0 <= self.distance <= MAX_NEAR_DISTANCE:
            raise ValueError(f"NEAR distance out of range: {self.distance}")


@dataclass(frozen=True, slots=True)
class And:
    """Every child must match."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise ValueError("AND needs at least two children")


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child must match."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise ValueError("OR needs at least two children")


@dataclass(frozen=True, slots=True)
class Not:
    """The child must not match."""

    child: Node


Node = Term | Wildcard | Phrase | FieldMatch | Near | And | Or | Not
TextLeaf = Term | Wildcard | Phrase


def is_near_operand(node: Node) -> bool:
    """Whether ``node`` may stand on one side of NEAR."""
    if isinstance(node, Term | Wildcard | Phrase):
        return True
    if isinstance(node, Or):
        return all(is_near_operand(child) for child in node.children)
    return False
