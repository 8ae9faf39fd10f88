"""Platform searches from boolean queries: the keywords that cover a watch.

Search-based sources (Hacker News, Reddit, Mastodon, Bluesky, YouTube) cannot run a
boolean query; they search keywords such that every item the query matches contains
at least one of them, and the ingest service applies the full query to what comes
back. Pure code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flocon.domain.query.ast import And, FieldMatch, Near, Node, Not, Or, Phrase, Term, Wildcard
from flocon.domain.query.literals import literal_cost
from flocon.domain.query.parser import parse
from flocon.errors import QuerySyntaxError

__all__ = ["keywords_from_queries", "query_keywords"]

logger = logging.getLogger(__name__)


def query_keywords(query: str) -> list[str] | None:
    """Keywords one of which every item matching ``query`` contains; None if there are none.

    ``orange NEAR/3 (livraison OR delivery) -spam`` → ``["orange"]``;
    ``"crédit agricole" OR lcl`` → ``["credit agricole", "lcl"]``; ``site:x.fr`` → None.
    Raises :class:`QuerySyntaxError` for a query that does not parse.
    """
    cover = _cover(parse(query).root)
    return list(cover) if cover else None


def keywords_from_queries(queries: Sequence[str]) -> list[str]:
    """The distinct keywords to search so that every keyword-searchable query is covered.

    Queries that cannot be searched by keyword (only ``site:``, ``author:``, NOT...) or
    that no longer parse are left out; the ingest service applies every query anyway.
    """
    keywords: dict[str, None] = {}
    for query in queries:
        try:
            found = query_keywords(query)
        except QuerySyntaxError as exc:
            logger.warning("watch query %r cannot be parsed: %s", query, exc)
            continue
        for keyword in found or ():
            keywords.setdefault(keyword, None)
    return list(keywords)


def _cover(node: Node) -> tuple[str, ...] | None:
    """Alternatives at least one of which a matching item contains (None: no such set)."""
    if isinstance(node, Term):
        word = node.value.lstrip("#@")
        return (word,) if word else None
    if isinstance(node, Phrase):
        return (" ".join(node.words),)
    if isinstance(node, Wildcard):
        prefix = node.literal_prefix.lstrip("#@")
        return (prefix,) if len(prefix) >= 3 else None
    if isinstance(node, FieldMatch | Not):
        return None
    if isinstance(node, Near):
        return _cheapest([_cover(node.left), _cover(node.right)])
    covers = [_cover(child) for child in node.children]
    if isinstance(node, And):
        return _cheapest(covers)
    assert isinstance(node, Or)
    union: dict[str, None] = {}
    for cover in covers:
        if cover is None:
            return None
        union.update(dict.fromkeys(cover))
    return tuple(union)


def _keyword_cost(keyword: str) -> float:
    words = keyword.split()
    return min(literal_cost(("w", word)) for word in words) / len(words)


def _cheapest(covers: list[tuple[str, ...] | None]) -> tuple[str, ...] | None:
    found = [cover for cover in covers if cover]
    if not found:
        return None
    return min(found, key=lambda cover: sum(_keyword_cost(k) for k in cover))
