"""Parse query text into a :class:`~flocon.domain.query.query.Query` (recursive descent).

Grammar, loosest binding first::

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          juxtaposition is AND
    unary   := ("NOT" | "-") unary | near
    near    := primary [NEAR/n primary]         operands: terms, phrases, OR-groups
    primary := "(" or ")" | WORD | PHRASE | FIELD primary-or-value

Every mistake raises :class:`~flocon.errors.QuerySyntaxError` with the
0-based offset of the offending token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, NoReturn

from flocon.domain.query.ast import (
    FIELDS,
    And,
    FieldMatch,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    Wildcard,
    is_near_operand,
    wildcard_re,
    wildcard_stem_length,
)
from flocon.domain.query.lexer import Kind, Token, lex
from flocon.domain.query.query import Query
from flocon.domain.text import ELISION_PREFIXES, URL_TOKEN, fold, tokenize, tokens
from flocon.errors import QuerySyntaxError

__all__ = ["parse"]

_OPERAND_START: Final = frozenset(
    {Kind.WORD, Kind.PHRASE, Kind.LPAREN, Kind.MINUS, Kind.NOT, Kind.FIELD}
)
_ELISION_RE = re.compile(f"(?:{'|'.join(ELISION_PREFIXES)})'(?=.)")
_SCHEME_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)+")
_PORT_RE = re.compile(r":\d*$")
MAX_DEPTH: Final = 50
_NEAR_OPERANDS = "NEAR operands must be terms, phrases or OR-groups of them"
_NO_URL = "web addresses are searched with url: or site:"

# Context of a subtree: None (plain text), "title", or a non-text field name.
Context = str | None


def _fail(pos: int, reason: str) -> NoReturn:
    raise QuerySyntaxError(pos, reason)


def _fixed_point(step: Callable[[str], str], value: str) -> str:
    while True:
        new = step(value)
        if new == value:
            return value
        value = new


def _site_step(value: str) -> str:
    value = _SCHEME_RE.sub("", value.strip().lower())
    value = re.split(r"[/?#]", value, maxsplit=1)[0]
    value = _PORT_RE.sub("", value).strip(".")
    return value.removeprefix("www.")


def _author_step(value: str) -> str:
    return " ".join(fold(value).strip().lstrip("@").split())


def field_value(name: str, raw: str, pos: int, *, quoted: bool) -> FieldMatch:
    """Normalise the value of field ``name``; ``pos`` is where the value starts."""
    if not quoted and name != "url" and ("*" in raw or "?" in raw):
        _fail(pos, f"wildcards are not allowed in {name}:")
    if name == "site":
        value = _fixed_point(_site_step, raw)
        if any(c.isspace() for c in value):
            _fail(pos, "site: needs a domain, like lemonde.fr")
    elif name == "author":
        value = _fixed_point(_author_step, raw)
        if not tokens(value):
            _fail(pos, "author: needs a name or a handle")
    elif name == "lang":
        value = raw.strip().lower().replace("_", "-")
    else:
        value = raw.strip().lower()
    if not value:
        _fail(pos, f"{name}: needs a value")
    return FieldMatch(name, value)


def _text_leaf(toks: list[str], pos: int, in_title: bool) -> Term | Phrase:
    if URL_TOKEN in toks:
        _fail(pos, _NO_URL)
    if len(toks) == 1:
        return Term(toks[0], in_title)
    return Phrase(tuple(toks), in_title)


def _wildcard(raw: str, pos: int, in_title: bool) -> Wildcard:
    pattern = fold(raw)
    elision = _ELISION_RE.match(pattern)
    if elision is not None:
        pattern = pattern[elision.end() :]
    if "*" in pattern[:-1]:
        _fail(pos, "* is only allowed at the end of a word")
    if not wildcard_re().fullmatch(pattern):
        _fail(pos, "a wildcard must be one word: letters, digits, ? and a final *")
    if pattern.endswith("*") and wildcard_stem_length(pattern) < 3:
        _fail(pos, "wildcard needs at least 3 characters before *")
    return Wildcard(pattern, in_title)


def _has_positive(node: Node) -> bool:
    """Whether ``node`` looks for something (a query of exclusions only matches everything)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_has_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_has_positive(c) for c in node.children)
    return True


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = lex(text)
        self.index = 0
        self.depth = 0

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(token.pos, f"query is nested too deeply (more than {MAX_DEPTH} levels)")

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if self.peek().kind is Kind.EOF:
            _fail(0, "empty query")
        node = self.parse_or(None, None)
        extra = self.peek()
        if extra.kind is Kind.RPAREN:
            _fail(extra.pos, "unbalanced parenthesis")
        if extra.kind is not Kind.EOF:  # pragma: no cover - every other token starts an operand
            _fail(extra.pos, f"unexpected {extra.kind.value}")
        if not _has_positive(node):
            _fail(0, "query needs at least one term to look for")
        return node

    def parse_or(self, ctx: Context, after: Token | None) -> Node:
        children = [self.parse_and(ctx, after)]
        while self.peek().kind is Kind.OR:
            op = self.advance()
            children.append(self.parse_and(ctx, op))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, ctx: Context, after: Token | None) -> Node:
        children = [self.parse_unary(ctx, after)]
        while True:
            token = self.peek()
            if token.kind is Kind.AND:
                self.advance()
                children.append(self.parse_unary(ctx, token))
            elif token.kind in _OPERAND_START:
                children.append(self.parse_unary(ctx, None))
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, ctx: Context, after: Token | None) -> Node:
        token = self.peek()
        if token.kind in (Kind.NOT, Kind.MINUS):
            self.advance()
            self.nest(token)
            node = Not(self.parse_unary(ctx, token))
            self.depth -= 1
            return node
        return self.parse_near(ctx, after)

    def parse_near(self, ctx: Context, after: Token | None) -> Node:
        left = self.parse_primary(ctx, after)
        if self.peek().kind is not Kind.NEAR:
            return left
        op = self.advance()
        if ctx is not None and ctx in FIELDS:
            _fail(op.pos, f"NEAR only works on text, not inside {ctx}:")
        right = self.parse_primary(ctx, op)
        if not (is_near_operand(left) and is_near_operand(right)):
            _fail(op.pos, _NEAR_OPERANDS)
        if self.peek().kind is Kind.NEAR:
            _fail(self.peek().pos, "NEAR cannot be chained: join NEAR clauses with AND")
        return Near(left, right, op.distance, op.ordered)

    def parse_primary(self, ctx: Context, after: Token | None) -> Node:
        token = self.peek()
        if token.kind is Kind.LPAREN:
            self.advance()
            if self.peek().kind is Kind.RPAREN:
                _fail(token.pos, "empty parentheses")
            self.nest(token)
            node = self.parse_or(ctx, token)
            if self.peek().kind is not Kind.RPAREN:
                _fail(token.pos, "unbalanced parenthesis")
            self.advance()
            self.depth -= 1
            return node
        if token.kind is Kind.WORD:
            self.advance()
            return self.word(token, ctx)
        if token.kind is Kind.PHRASE:
            self.advance()
            return self.phrase(token, ctx)
        if token.kind is Kind.FIELD:
            self.advance()
            if ctx is not None:
                _fail(token.pos, "fields cannot be nested")
            return self.field(token)
        self.missing_operand(token, after)

    def field(self, token: Token) -> Node:
        name = token.text
        if name == "title":
            return self.parse_primary("title", token)
        value = self.peek()
        if value.kind is Kind.VALUE:
            self.advance()
            return field_value(name, value.text, value.pos, quoted=False)
        return self.parse_primary(name, token)

    def word(self, token: Token, ctx: Context) -> Node:
        if ctx is not None and ctx in FIELDS:
            return field_value(ctx, token.text, token.pos, quoted=False)
        raw, in_title = token.text, ctx == "title"
        if "*" in raw or "?" in raw:
            return _wildcard(raw, token.pos, in_title)
        toks = tokenize(fold(raw))
        if not toks:
            _fail(token.pos, f"nothing to search for in {raw!r}")
        return _text_leaf(toks, token.pos, in_title)

    def phrase(self, token: Token, ctx: Context) -> Node:
        if ctx is not None and ctx in FIELDS:
            return field_value(ctx, token.text, token.pos, quoted=True)
        toks = tokenize(fold(token.text))
        if not toks:
            _fail(token.pos, "empty phrase")
        return _text_leaf(toks, token.pos, ctx == "title")

    def missing_operand(self, found: Token, after: Token | None) -> NoReturn:
        if found.kind in (Kind.AND, Kind.OR, Kind.NEAR):
            _fail(found.pos, f"{found.kind.value} needs an operand on each side")
        if after is None:
            if found.kind is Kind.RPAREN:
                _fail(found.pos, "unbalanced parenthesis")
            _fail(0, "empty query")  # pragma: no cover - caught in parse()
        if after.kind is Kind.LPAREN:
            _fail(after.pos, "unbalanced parenthesis")
        if after.kind in (Kind.AND, Kind.OR):
            _fail(after.pos, f"{after.kind.value} needs an operand on each side")
        if after.kind is Kind.NEAR:
            if found.kind in (Kind.EOF, Kind.RPAREN):
                _fail(after.pos, "NEAR needs an operand on each side")
            _fail(after.pos, _NEAR_OPERANDS)
        if after.kind is Kind.NOT:
            _fail(after.pos, "NOT needs something to exclude after it")
        if after.kind is Kind.MINUS:
            _fail(after.pos, "- must be followed, without a space, by what to exclude")
        if after.kind is Kind.FIELD:
            _fail(after.pos, f"{after.text}: must be followed by a term, a phrase or a group")
        _fail(found.pos, f"unexpected {found.kind.value}")  # pragma: no cover


def parse(text: str) -> Query:
    """Parse ``text`` into a :class:`Query`; raises :class:`~flocon.errors.QuerySyntaxError`."""
    return Query(_Parser(text).parse())
