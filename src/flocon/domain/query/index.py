"""Match one item against many queries by evaluating only the queries it could match.

Each query is filed under the literals it requires (see
:mod:`~flocon.domain.query.literals`): exact tokens in a dict, prefixes in
buckets keyed by their first three characters, equality-field keys in a dict.
Queries requiring nothing are always evaluated. For an item, the candidates
are the queries filed under one of its tokens, prefixes or field keys; only
those run, in the order the queries were added.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from flocon.domain.query.document import PreparedDocument
from flocon.domain.query.literals import LiteralSet
from flocon.domain.query.query import Query

__all__ = ["QueryIndex"]

K = TypeVar("K", bound=Hashable)

_HEAD = 3  # prefixes are at least 3 characters long (plus a tag sign)


class QueryIndex(Generic[K]):
    """A set of keyed queries; ``match(doc)`` lists the keys of those that match.

    ``match`` returns the same list as
    ``[key for key, query in index.items() if query.matches(doc)]``, in the
    order keys were first added (replacing a key's query keeps its place).
    """

    def __init__(self) -> None:
        self._ids: dict[K, int] = {}
        self._queries: dict[int, Query] = {}
        # id -> (key, bound Query.matches, required literals)
        self._entries: dict[
            int, tuple[K, Callable[[PreparedDocument], bool], LiteralSet | None]
        ] = {}
        self._next_id = 0
        self._exact: dict[str, set[int]] = {}
        self._prefixes: dict[str, dict[str, set[int]]] = {}
        self._keys: dict[str, set[int]] = {}
        self._always: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def items(self) -> Iterator[tuple[K, Query]]:
        """``(key, query)`` pairs in match order."""
        for qid, (key, _, _) in sorted(self._entries.items()):
            yield key, self._queries[qid]

    def add(self, key: K, query: Query) -> None:
        """File ``query`` under ``key``, replacing the query already there."""
        qid = self._ids.get(key)
        if qid is None:
            qid = self._next_id
            self._next_id += 1
            self._ids[key] = qid
        else:
            self._unfile(qid)
        literals = query.required_literals()
        self._entries[qid] = (key, query.matches, literals)
        self._queries[qid] = query
        if literals is None:
            self._always.add(qid)
            return
        for kind, value in literals:
            if kind == "w":
                self._exact.setdefault(value, set()).add(qid)
            elif kind == "p":
                bucket = self._prefixes.setdefault(value[:_HEAD], {})
                bucket.setdefault(value, set()).add(qid)
            else:
                self._keys.setdefault(value, set()).add(qid)

    def remove(self, key: K) -> None:
        """Forget ``key``; raises :class:`KeyError` if it is not there."""
        qid = self._ids.pop(key)
        self._unfile(qid)
        del self._entries[qid]
        del self._queries[qid]

    def _unfile(self, qid: int) -> None:
        literals = self._entries[qid][2]
        if literals is None:
            self._always.discard(qid)
            return
        for kind, value in literals:
            if kind == "w":
                _discard(self._exact, value, qid)
            elif kind == "p":
                bucket = self._prefixes[value[:_HEAD]]
                _discard(bucket, value, qid)
                if not bucket:
                    del self._prefixes[value[:_HEAD]]
            else:
                _discard(self._keys, value, qid)

    def candidates(self, doc: PreparedDocument) -> set[int]:
        """Ids of the queries that may match ``doc``."""
        found = set(self._always)
        exact = self._exact
        for token in doc.vocab & exact.keys():
            found |= exact[token]
        if self._prefixes:
            prefixes = self._prefixes
            for token in doc.vocab:
                bucket = prefixes.get(token[:_HEAD])
                if bucket is not None:
                    for prefix, ids in bucket.items():
                        if token.startswith(prefix):
                            found |= ids
        if self._keys:
            for key in doc.field_keys:
                key_ids = self._keys.get(key)
                if key_ids is not None:
                    found |= key_ids
        return found

    def match(self, doc: PreparedDocument) -> list[K]:
        """Keys of the queries matching ``doc``, in the order they were added."""
        entries = self._entries
        out: list[K] = []
        for qid in sorted(self.candidates(doc)):
            key, matches, _ = entries[qid]
            if matches(doc):
                out.append(key)
        return out


def _discard(table: dict[str, set[int]], value: str, qid: int) -> None:
    ids = table.get(value)
    if ids is not None:
        ids.discard(qid)
        if not ids:
            del table[value]
