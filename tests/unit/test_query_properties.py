"""Properties of the query language, checked on generated inputs (hypothesis).

* ``parse`` on any string returns a Query or raises QuerySyntaxError, nothing else;
* printing is stable: ``parse(str(q)) == q`` and ``str(parse(str(q))) == str(q)``;
* ``QueryIndex.match`` equals the naive filter over every query.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flocon.domain.models import MatchInput
from flocon.domain.query import (
    And,
    FieldMatch,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    QueryIndex,
    Term,
    Wildcard,
    parse,
    prepare,
)
from flocon.domain.query.parser import _has_positive
from flocon.errors import QuerySyntaxError

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

SYNTAX_ALPHABET = "aAbeéÉoOrRnNDTEF ()\"'’-*?#@:/.=&_35😍\t"
FRAGMENTS = [
    "AND", "OR", "NOT", "NEAR/2", "NEAR/0f", "NEAR", "NEAR/x", "(", ")", '"', "-", "*", "?",
    "#", "@", ":", "title:", "site:", "url:", "author:", "lang:", "source:", "country:",
    "foo:", "orange", "Élan", "l'", "d’", "e-mail", "livr*", "li*", "co?r", "?", "#orange",
    "@sncf", "https://x.co/a?b=1", "www.x.fr", "😍", "and", "3.5", '""', "&", " ", " ", " ",
]  # fmt: skip

WORDS = ["orange", "#orange", "@orange", "livraison", "retard", "sncf", "mail", "e", "appli",
         "😍", "colour", "service", "client", "elan", "x", "a", "b", "and", "3"]  # fmt: skip
PATTERNS = ["livr*", "ora*", "#ora*", "@ora*", "colo?r", "?", "a?", "ser*", "orange?", "re?ard*"]
FIELD_VALUES = {
    "site": ["orange.fr", "lemonde.fr", "fr"],
    "url": ["orange.fr/x", "https://orange.fr", "x.com/a_(b)", "a b"],
    "lang": ["fr", "fr-ca", "en"],
    "source": ["reddit", "rss"],
    "country": ["fr", "us"],
    "author": ["orange", "jean dupont", "dupont"],
}

TEXT_WORDS = ["Orange", "orange", "#Orange", "@orange", "orangeade", "#orangeade", "livraison",
              "Livré", "retard", "SNCF", "e-mail", "mail", "l'appli", "appli", "😍", "colour",
              "color", "service", "client", "Élan", "x", "a", "b", "and", "3",
              "https://orange.fr/x", "re-tard"]  # fmt: skip

syntax_text = st.one_of(
    st.text(alphabet=SYNTAX_ALPHABET, max_size=40),
    st.text(max_size=30),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
)

in_title = st.booleans()
term = st.builds(Term, st.sampled_from(WORDS), in_title)
wildcard = st.builds(Wildcard, st.sampled_from(PATTERNS), in_title)
phrase = st.builds(
    Phrase, st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(tuple), in_title
)
field = st.sampled_from(sorted(FIELD_VALUES)).flatmap(
    lambda name: st.builds(FieldMatch, st.just(name), st.sampled_from(FIELD_VALUES[name]))
)
text_leaf = st.one_of(term, wildcard, phrase)
near_operand = st.one_of(
    text_leaf, st.lists(text_leaf, min_size=2, max_size=3).map(lambda c: Or(tuple(c)))
)
near = st.builds(Near, near_operand, near_operand, st.integers(0, 4), st.booleans())


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(many.map(And), many.map(Or), children.map(Not))


nodes = st.recursive(st.one_of(text_leaf, field, near), _extend, max_leaves=8)
queries = nodes.filter(_has_positive).map(Query)

documents = st.builds(
    MatchInput,
    text=st.lists(st.sampled_from(TEXT_WORDS), max_size=10).map(" ".join),
    title=st.lists(st.sampled_from(TEXT_WORDS), max_size=3).map(" ".join),
    url=st.sampled_from(["", "https://www.Orange.fr/x", "https://x.com/a_(b)"]),
    site=st.sampled_from(["", "orange.fr", "www.lemonde.fr", "notlemonde.fr", "blog.lemonde.fr"]),
    author_handle=st.sampled_from(["", "orange", "@Orange", "orange_fr"]),
    author_name=st.sampled_from(["", "Jean Dupont", "Orange"]),
    lang=st.sampled_from(["", "fr", "fr-CA", "en"]),
    source=st.sampled_from(["", "reddit", "rss"]),
    country=st.sampled_from(["", "fr", "us"]),
)


# --------------------------------------------------------------------------- properties


def _assert_stable(query: Query) -> None:
    printed = str(query)
    again = parse(printed)
    assert again == query, printed
    assert str(again) == printed


@SETTINGS
@given(syntax_text)
def test_parse_returns_a_query_or_raises_a_syntax_error(text: str) -> None:
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert error.reason
        return
    _assert_stable(query)


@SETTINGS
@given(queries)
def test_printing_generated_trees_is_stable(query: Query) -> None:
    _assert_stable(query)


@SETTINGS
@given(st.lists(queries, min_size=1, max_size=8), st.lists(documents, min_size=1, max_size=5))
def test_index_equals_the_naive_filter(query_list: list[Query], docs: list[MatchInput]) -> None:
    index: QueryIndex[int] = QueryIndex()
    for key, query in enumerate(query_list):
        index.add(key, query)
    for item in docs:
        doc = prepare(item)
        assert index.match(doc) == [k for k, q in enumerate(query_list) if q.matches(doc)]


@SETTINGS
@given(
    st.lists(queries, min_size=2, max_size=6),
    st.lists(st.integers(0, 5), max_size=4),
    documents,
)
def test_index_stays_exact_after_replace_and_remove(
    query_list: list[Query], removed: list[int], item: MatchInput
) -> None:
    index: QueryIndex[int] = QueryIndex()
    live = dict(enumerate(query_list))
    for key, query in live.items():
        index.add(key, query)
    index.add(0, query_list[-1])
    live[0] = query_list[-1]
    for key in removed:
        if key in live:
            index.remove(key)
            del live[key]
    doc = prepare(item)
    assert index.match(doc) == [k for k, q in live.items() if q.matches(doc)]


@SETTINGS
@given(queries, documents)
def test_printed_query_matches_the_same_documents(query: Query, item: MatchInput) -> None:
    doc = prepare(item)
    assert parse(str(query)).matches(doc) == query.matches(doc)
