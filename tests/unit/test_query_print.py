"""Printing queries: normalised text that parses back to the same tree."""

from __future__ import annotations

import copy
import pickle

import pytest

from flocon.domain.query import And, FieldMatch, Near, Not, Or, Phrase, Query, Term, Wildcard, parse


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("Orange", "orange"),
        ("Orange AND SNCF", "orange sncf"),
        ("orange NOT spam", "orange -spam"),
        ("a OR (b c)", "a OR b c"),
        ("(a OR b) c", "(a OR b) c"),
        ("a (b c)", "a (b c)"),
        ("a OR (b OR c)", "a OR (b OR c)"),
        ("((a))", "a"),
        ("-(a b) c", "-(a b) c"),
        ("NOT NOT a b", "--a b"),
        ('"Service  Client"', '"service client"'),
        ("e-mail", '"e mail"'),
        ("d'Orange", "orange"),
        ("Livr*", "livr*"),
        ("#Orange OR @SNCF", "#orange OR @sncf"),
        (
            "orange NEAR/3 (livraison OR delivery) -spam",
            "orange NEAR/3 (livraison OR delivery) -spam",
        ),
        ("a NEAR/2F b", "a NEAR/2f b"),
        ("x -a NEAR/1 b", "x -(a NEAR/1 b)"),
        ("title:(a OR b)", "title:a OR title:b"),
        ('TITLE:"a b"', 'title:"a b"'),
        ("site:https://www.LeMonde.fr/eco", "site:lemonde.fr"),
        ("url:https://x.com/a?b=1", 'url:"https://x.com/a?b=1"'),
        ("url:x.com/Orange_(fruit)", 'url:"x.com/orange_(fruit)"'),
        ('author:"Jean Dupont"', 'author:"jean dupont"'),
        ("lang:FR orange", "lang:fr orange"),
        ("orange -source:reddit", "orange -source:reddit"),
        ("super😍", '"super 😍"'),
    ],
)
def test_printing_normalises(text: str, printed: str) -> None:
    query = parse(text)
    assert str(query) == printed
    assert parse(printed) == query


def test_printing_built_trees() -> None:
    root = And(
        (
            Or((Term("a"), Phrase(("b", "c"), in_title=True))),
            Not(FieldMatch("site", "lemonde.fr")),
            Near(Wildcard("livr*"), Or((Term("x"), Term("y"))), 4, ordered=True),
        )
    )
    query = Query(root)
    assert str(query) == '(a OR title:"b c") -site:lemonde.fr livr* NEAR/4f (x OR y)'
    assert parse(str(query)) == query


def test_invalid_trees_are_refused() -> None:
    with pytest.raises(ValueError, match="single folded token"):
        Term("Orange")
    with pytest.raises(ValueError, match="at least two words"):
        Phrase(("a",))
    with pytest.raises(ValueError, match="NEAR operands"):
        Near(And((Term("a"), Term("b"))), Term("c"), 2)
    with pytest.raises(ValueError, match="at least 3 characters"):
        Wildcard("li*")
    with pytest.raises(ValueError, match="unknown field"):
        FieldMatch("foo", "bar")
    with pytest.raises(ValueError, match="two children"):
        Or((Term("a"),))


def test_queries_pickle_and_copy() -> None:
    query = parse('orange NEAR/3 (livr* OR "service client") -site:x.fr')
    assert pickle.loads(pickle.dumps(query)) == query
    assert copy.deepcopy(query) == query
