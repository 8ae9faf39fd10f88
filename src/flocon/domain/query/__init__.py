"""The boolean query language of flocon: parse, print, match one item or many.

>>> from flocon.domain.models import MatchInput
>>> q = parse('orange NEAR/3 (livraison OR delivery) -spam')
>>> str(q)
'orange NEAR/3 (livraison OR delivery) -spam'
>>> q.matches(prepare(MatchInput(text="Orange : ma livraison est en retard")))
True

The language is documented for users in ``docs/queries.md``.
"""

from flocon.domain.query.ast import And, FieldMatch, Near, Node, Not, Or, Phrase, Term, Wildcard
from flocon.domain.query.document import PreparedDocument, prepare
from flocon.domain.query.index import QueryIndex
from flocon.domain.query.parser import parse
from flocon.domain.query.query import Query

__all__ = [
    "And",
    "FieldMatch",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "PreparedDocument",
    "Query",
    "QueryIndex",
    "Term",
    "Wildcard",
    "parse",
    "prepare",
]
