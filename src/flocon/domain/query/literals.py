"""The literals a query requires: a document lacking all of them cannot match.

A literal is ``("w", token)`` (the token is in the document's vocabulary),
``("p", prefix)`` (some vocabulary entry starts with ``prefix``) or
``("k", key)`` (a field key such as ``lang=fr`` or ``site=lemonde.fr``, see
:func:`~flocon.domain.query.document.field_keys`).

``required(node)`` is a set of alternatives, or ``None`` when the node can
match without any literal (NOT, ``url:``, ``author:``): for AND the cheapest child's
set, for OR the union over children (``None`` if one child has none).
"""

from __future__ import annotations

from typing import Final

from flocon.domain.query.ast import And, FieldMatch, Near, Node, Not, Phrase, Term, Wildcard

__all__ = ["Literal", "LiteralSet", "required"]

Literal = tuple[str, str]
LiteralSet = frozenset[Literal]

# Words so frequent that requiring them filters almost nothing.
_COMMON: Final = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "de",
        "des",
        "du",
        "en",
        "est",
        "et",
        "for",
        "from",
        "have",
        "i",
        "il",
        "in",
        "is",
        "it",
        "je",
        "la",
        "le",
        "les",
        "mais",
        "me",
        "my",
        "not",
        "of",
        "on",
        "or",
        "pas",
        "pour",
        "que",
        "qui",
        "rt",
        "se",
        "so",
        "sur",
        "that",
        "the",
        "this",
        "to",
        "un",
        "une",
        "was",
        "we",
        "with",
        "you",
    ]
)
_FIELD_COST: Final = 30.0


def literal_cost(literal: Literal) -> float:
    """An estimate of how often a literal is present: lower is more selective."""
    kind, value = literal
    if kind == "k":
        return _FIELD_COST
    length = len(value.lstrip("#@"))
    if kind == "p":
        return {3: 6.0, 4: 3.0}.get(length, 2.0)
    if value in _COMMON:
        return 50.0
    return 1.0 if length >= 4 else 2.0 if length == 3 else 5.0


def set_cost(literals: LiteralSet) -> float:
    """The cost of a set of alternatives: the sum of its literals' costs."""
    return sum(literal_cost(lit) for lit in literals)


def _cheapest(sets: list[LiteralSet | None]) -> LiteralSet | None:
    found = [s for s in sets if s is not None]
    return min(found, key=set_cost) if found else None


def required(node: Node) -> LiteralSet | None:
    """The literals at least one of which a matching document contains, or None."""
    if isinstance(node, Term):
        return frozenset({("w", node.value)})
    if isinstance(node, Wildcard):
        prefix = node.literal_prefix
        return frozenset({("p", prefix)}) if len(prefix.lstrip("#@")) >= 3 else None
    if isinstance(node, Phrase):
        return _cheapest([frozenset({("w", word)}) for word in node.words])
    if isinstance(node, FieldMatch):
        if node.field in ("lang", "source", "country", "site"):
            return frozenset({("k", f"{node.field}={node.value}")})
        return None
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return _cheapest([required(node.left), required(node.right)])
    child_sets = [required(child) for child in node.children]
    if isinstance(node, And):
        return _cheapest(child_sets)
    union: set[Literal] = set()
    for child_set in child_sets:
        if child_set is None:
            return None
        union |= child_set
    return frozenset(union)
