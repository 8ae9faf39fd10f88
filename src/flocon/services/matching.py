"""Matching of items against every watch of a workspace, through one query index."""

from __future__ import annotations

from collections.abc import Sequence

from flocon.domain.models import MatchInput, Watch
from flocon.domain.query import QueryIndex, parse, prepare


class WatchMatcher:
    """Which watches an item matches: boolean query first, then the watch's languages.

    A watch limited to languages (``--lang fr,en``) matches an item whose language
    is one of them, or is not known yet.
    """

    def __init__(self, watches: Sequence[Watch]) -> None:
        self._index: QueryIndex[int] = QueryIndex()
        self._langs: dict[int, frozenset[str]] = {}
        for watch in watches:
            self._index.add(watch.id, parse(watch.query))
            if watch.langs:
                self._langs[watch.id] = frozenset(watch.langs)

    def match(self, item: MatchInput) -> list[int]:
        hits = self._index.match(prepare(item))
        if not self._langs or not hits:
            return list(hits)
        return [w for w in hits if w not in self._langs or lang_allows(self._langs[w], item.lang)]


def lang_allows(langs: frozenset[str], lang: str) -> bool:
    """Whether a watch limited to ``langs`` (empty: no limit) takes an item in ``lang``.

    An item whose language is not known yet is taken; ``fr-CA`` counts as ``fr``.
    """
    base = lang.split("-")[0].lower()
    return not langs or not base or base in langs
