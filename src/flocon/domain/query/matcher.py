"""Compile a query tree into a plain function ``PreparedDocument -> bool``.

Compiling once per query (closures over folded values) keeps evaluation fast:
a word test is a set lookup; phrases and NEAR look at positions only after
every word they need has been found in the document's vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flocon.domain.query.ast import And, FieldMatch, Near, Node, Not, Or, Phrase, Term, Wildcard
from flocon.domain.query.document import PreparedDocument, Zone
from flocon.domain.text import URL_TOKEN, tokens

__all__ = ["Matcher", "compile_node"]

Matcher = Callable[[PreparedDocument], bool]
TokenTest = Callable[[str], bool]
Span = tuple[int, int]


def token_test(pattern: str) -> TokenTest:
    """A test telling whether one token matches the wildcard ``pattern``."""
    if "?" not in pattern:
        prefix = pattern[:-1]
        return lambda tok: tok.startswith(prefix)
    parts: list[str] = []
    for i, char in enumerate(pattern):
        if char == "?":
            parts.append(f"[^#@{URL_TOKEN}]" if i == 0 else ".")
        elif char == "*":
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda tok: regex.fullmatch(tok) is not None


def _term(node: Term) -> Matcher:
    value = node.value
    if node.in_title:
        return lambda doc: value in doc.title.vocab
    return lambda doc: value in doc.vocab


def _wildcard(node: Wildcard) -> Matcher:
    test = token_test(node.pattern)
    if node.in_title:
        return lambda doc: any(map(test, doc.title.vocab))
    return lambda doc: any(map(test, doc.vocab))


def _phrase(node: Phrase) -> Matcher:
    words = node.words
    if node.in_title:

        def in_title(doc: PreparedDocument) -> bool:
            vocab = doc.title.vocab
            return all(w in vocab for w in words) and bool(doc.title.phrase_starts(words))

        return in_title

    def anywhere(doc: PreparedDocument) -> bool:
        vocab = doc.vocab
        if not all(w in vocab for w in words):
            return False
        return any(zone.phrase_starts(words) for zone in doc.zones)

    return anywhere


def _field(node: FieldMatch) -> Matcher:
    value = node.value
    if node.field == "site":
        dotted = "." + value
        return lambda doc: doc.site == value or doc.site.endswith(dotted)
    if node.field == "url":
        return lambda doc: value in doc.url
    if node.field == "lang":
        dashed = value + "-"
        return lambda doc: doc.lang == value or doc.lang.startswith(dashed)
    if node.field == "source":
        return lambda doc: doc.source == value
    if node.field == "country":
        return lambda doc: doc.country == value
    return _author(value)


def _author(value: str) -> Matcher:
    words = tuple(tokens(value))

    def author(doc: PreparedDocument) -> bool:
        if doc.author_handle == value:
            return True
        if not doc.author_name:
            return False
        name = doc.name_zone
        if len(words) == 1:
            return words[0] in name.vocab
        return all(w in name.vocab for w in words) and bool(name.phrase_starts(words))

    return author


def _spans(node: Node, zone: Zone, is_title: bool) -> list[Span]:
    """Where a NEAR operand occurs in ``zone``, as (first, last) token positions."""
    if isinstance(node, Or):
        return [span for child in node.children for span in _spans(child, zone, is_title)]
    if not isinstance(node, Term | Wildcard | Phrase):
        raise TypeError(f"not a NEAR operand: {node!r}")
    if node.in_title and not is_title:
        return []
    if isinstance(node, Term):
        return [(p, p) for p in zone.positions(node.value)]
    if isinstance(node, Phrase):
        last = len(node.words) - 1
        return [(p, p + last) for p in zone.phrase_starts(node.words)]
    test = token_test(node.pattern)
    seq = zone.tokens if node.pattern[0] in "#@" else zone.bare
    return [(p, p) for p, tok in enumerate(seq) if test(tok)]


def _near(node: Near) -> Matcher:
    left, right = node.left, node.right
    has_left, has_right = compile_node(left), compile_node(right)
    distance, ordered = node.distance, node.ordered

    def close(lefts: list[Span], rights: list[Span]) -> bool:
        for l_first, l_last in lefts:
            for r_first, r_last in rights:
                if l_last < r_first and r_first - l_last - 1 <= distance:
                    return True
                if not ordered and r_last < l_first and l_first - r_last - 1 <= distance:
                    return True
        return False

    def near(doc: PreparedDocument) -> bool:
        if not (has_left(doc) and has_right(doc)):
            return False
        for zone in doc.zones:
            is_title = zone is doc.title
            lefts = _spans(left, zone, is_title)
            if lefts and close(lefts, _spans(right, zone, is_title)):
                return True
        return False

    return near


def cost(node: Node) -> int:
    """A rough evaluation cost, to test cheap children first."""
    if isinstance(node, Term | FieldMatch):
        return 1
    if isinstance(node, Wildcard):
        return 3
    if isinstance(node, Phrase):
        return 4
    if isinstance(node, Near):
        return 8
    if isinstance(node, Not):
        return cost(node.child) + 1
    return sum(cost(child) for child in node.children)


def _all(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) and second(doc)

    def every(doc: PreparedDocument) -> bool:
        return all(m(doc) for m in matchers)

    return every


def _any(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) or second(doc)

    def some(doc: PreparedDocument) -> bool:
        return any(m(doc) for m in matchers)

    return some


def compile_node(node: Node) -> Matcher:
    """A function telling whether a prepared document matches ``node``."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Wildcard):
        return _wildcard(node)
    if isinstance(node, Phrase):
        return _phrase(node)
    if isinstance(node, FieldMatch):
        return _field(node)
    if isinstance(node, Near):
        return _near(node)
    if isinstance(node, Not):
        inner = compile_node(node.child)
        return lambda doc: not inner(doc)
    ordered = sorted(node.children, key=cost)
    if isinstance(node, And):
        return _all([compile_node(c) for c in ordered])
    return _any([compile_node(c) for c in ordered])
