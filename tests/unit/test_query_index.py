"""QueryIndex: same answers as evaluating every query, in insertion order; add, replace, remove."""

from __future__ import annotations

import pytest

from flocon.domain.models import MatchInput
from flocon.domain.query import QueryIndex, parse, prepare

WATCHES = {
    "orange": "Orange -spam",
    "sncf-delay": '(SNCF OR "ouigo") NEAR/5 (retard* OR annul*)',
    "french": "lang:fr",
    "site": "site:lemonde.fr",
    "either": "title:free OR url:lefigaro.fr",
    "colour": "colo?r",
    "tag": "#orange*",
}


def index_of(watches: dict[str, str]) -> QueryIndex[str]:
    index: QueryIndex[str] = QueryIndex()
    for key, text in watches.items():
        index.add(key, parse(text))
    return index


def naive(watches: dict[str, str], item: MatchInput) -> list[str]:
    doc = prepare(item)
    return [key for key, text in watches.items() if parse(text).matches(doc)]


@pytest.mark.parametrize(
    "item",
    [
        MatchInput(text="Orange en panne"),
        MatchInput(text="Orange spam"),
        MatchInput(text="SNCF : train annulé", lang="fr"),
        MatchInput(text="rien", site="blog.lemonde.fr"),
        MatchInput(text="rien", title="Free baisse ses prix"),
        MatchInput(text="rien", url="https://www.lefigaro.fr/eco"),
        MatchInput(text="nice colour #OrangeFrance"),
        MatchInput(text=""),
    ],
)
def test_index_agrees_with_the_naive_loop(item: MatchInput) -> None:
    assert index_of(WATCHES).match(prepare(item)) == naive(WATCHES, item)


def test_results_follow_insertion_order() -> None:
    index: QueryIndex[int] = QueryIndex()
    for key in (3, 1, 2):
        index.add(key, parse("orange"))
    assert index.match(prepare(MatchInput(text="Orange"))) == [3, 1, 2]


def test_replacing_a_query_keeps_its_place() -> None:
    index = index_of({"a": "orange", "b": "orange"})
    index.add("a", parse("sncf"))
    assert index.match(prepare(MatchInput(text="orange"))) == ["b"]
    assert index.match(prepare(MatchInput(text="orange sncf"))) == ["a", "b"]
    assert len(index) == 2


def test_remove() -> None:
    index = index_of(WATCHES)
    index.remove("orange")
    index.remove("french")
    assert "orange" not in index
    assert index.match(prepare(MatchInput(text="Orange", lang="fr"))) == []
    with pytest.raises(KeyError):
        index.remove("orange")


def test_items_lists_queries_in_match_order() -> None:
    index = index_of({"b": "x", "a": "y"})
    assert [(key, str(query)) for key, query in index.items()] == [("b", "x"), ("a", "y")]


def test_queries_without_required_literal_are_always_candidates() -> None:
    index = index_of({"not-literal": "url:orange.fr OR site:sncf.com"})
    doc = prepare(MatchInput(text="rien", url="https://orange.fr/offre"))
    assert index.candidates(doc)
    assert index.match(doc) == ["not-literal"]


def test_documents_without_literals_skip_indexed_queries() -> None:
    index = index_of({"orange": "orange", "prefix": "livr*"})
    assert index.candidates(prepare(MatchInput(text="rien du tout"))) == set()


@pytest.mark.parametrize(
    ("query", "literals"),
    [
        ("orange", {("w", "orange")}),
        ("orange sncf", {("w", "orange")}),
        ("le orange", {("w", "orange")}),
        ("orange OR livr*", {("w", "orange"), ("p", "livr")}),
        ('"le service"', {("w", "service")}),
        ("lang:fr", {("k", "lang=fr")}),
        ("site:lemonde.fr", {("k", "site=lemonde.fr")}),
        ("orange OR -spam x", {("w", "orange"), ("w", "x")}),
    ],
)
def test_required_literals(query: str, literals: set[tuple[str, str]]) -> None:
    assert parse(query).required_literals() == frozenset(literals)


@pytest.mark.parametrize("query", ["url:orange.fr", "author:x", "co?r", "orange OR url:x.fr"])
def test_queries_without_required_literals(query: str) -> None:
    assert parse(query).required_literals() is None
