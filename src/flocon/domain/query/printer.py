"""Print a query tree back as query text that parses to the same tree.

The output is normalised: folded words, implicit AND (juxtaposition), ``-`` for
NOT, ``title:`` on every title leaf, parentheses only where the structure
needs them.
"""

from __future__ import annotations

from flocon.domain.query.ast import And, FieldMatch, Near, Node, Not, Or, Phrase, Term, Wildcard

__all__ = ["to_text"]

_QUOTE_IF = frozenset('()"*?')


def _field_value(value: str) -> str:
    if any(c.isspace() or c in _QUOTE_IF for c in value):
        return f'"{value}"'
    return value


def _leaf(node: Term | Wildcard | Phrase) -> str:
    if isinstance(node, Term):
        text = node.value
    elif isinstance(node, Wildcard):
        text = node.pattern
    else:
        text = '"' + " ".join(node.words) + '"'
    return f"title:{text}" if node.in_title else text


def _wrap(node: Node) -> str:
    return f"({to_text(node)})"


def to_text(node: Node) -> str:
    """Query text for ``node``."""
    if isinstance(node, Term | Wildcard | Phrase):
        return _leaf(node)
    if isinstance(node, FieldMatch):
        return f"{node.field}:{_field_value(node.value)}"
    if isinstance(node, Not):
        child = node.child
        return "-" + (_wrap(child) if isinstance(child, And | Or | Near) else to_text(child))
    if isinstance(node, Near):
        op = f"NEAR/{node.distance}{'f' if node.ordered else ''}"
        sides = [_wrap(s) if isinstance(s, Or) else to_text(s) for s in (node.left, node.right)]
        return f"{sides[0]} {op} {sides[1]}"
    if isinstance(node, And):
        return " ".join(_wrap(c) if isinstance(c, And | Or) else to_text(c) for c in node.children)
    return " OR ".join(_wrap(c) if isinstance(c, Or) else to_text(c) for c in node.children)
