"""An item prepared for matching: tokenised once, then tested against every query.

:func:`prepare` folds and tokenises the text and the title of a
:class:`~flocon.domain.models.MatchInput` (see :mod:`flocon.domain.text`) and
normalises the other fields. Word positions, needed only by phrases and NEAR,
are computed on first use.
"""

from __future__ import annotations

from flocon.domain.models import MatchInput
from flocon.domain.text import fold, tokenize

__all__ = ["PreparedDocument", "Zone", "prepare"]

_TAG_SIGNS = "#@"


class Zone:
    """The tokens of one searchable text (the body or the title).

    ``tokens`` keeps ``#tag``/``@handle`` signs; ``vocab`` holds every token
    plus the bare word of each tag, so that ``orange`` finds ``#orange``.
    """

    __slots__ = ("_bare", "_positions", "tokens", "vocab")

    def __init__(self, toks: list[str], *, has_tags: bool = True) -> None:
        self.tokens = toks
        vocab = set(toks)
        if has_tags:
            vocab.update([t[1:] for t in toks if t[0] in _TAG_SIGNS])
        self.vocab: set[str] = vocab
        self._bare: list[str] | None = None
        self._positions: dict[str, list[int]] | None = None

    @property
    def bare(self) -> list[str]:
        """Tokens with their tag sign removed, position by position."""
        if self._bare is None:
            self._bare = [t[1:] if t[0] in _TAG_SIGNS else t for t in self.tokens]
        return self._bare

    def positions(self, key: str) -> list[int]:
        """Positions where ``key`` occurs, as a token or as the bare word of a tag."""
        if self._positions is None:
            index: dict[str, list[int]] = {}
            for pos, tok in enumerate(self.tokens):
                index.setdefault(tok, []).append(pos)
                if tok[0] in _TAG_SIGNS:
                    index.setdefault(tok[1:], []).append(pos)
            self._positions = index
        return self._positions.get(key, [])

    def matches_at(self, pos: int, word: str) -> bool:
        """Whether the token at ``pos`` is ``word`` (a bare word also accepts a tag)."""
        if pos >= len(self.tokens):
            return False
        if word[0] in _TAG_SIGNS:
            return self.tokens[pos] == word
        return self.bare[pos] == word

    def phrase_starts(self, words: tuple[str, ...]) -> list[int]:
        """Start positions of ``words`` as consecutive tokens."""
        first, rest = words[0], words[1:]
        return [
            start
            for start in self.positions(first)
            if all(self.matches_at(start + i, w) for i, w in enumerate(rest, 1))
        ]


_EMPTY = Zone([])


def _zone(text: str) -> Zone:
    if not text:
        return _EMPTY
    folded = fold(text)
    return Zone(tokenize(folded), has_tags="#" in folded or "@" in folded)


class PreparedDocument:
    """What queries look at for one item; build it with :func:`prepare`, then treat it as read-only."""

    __slots__ = (
        "_name_tokens",
        "author_handle",
        "author_name",
        "country",
        "field_keys",
        "lang",
        "site",
        "source",
        "text",
        "title",
        "url",
        "vocab",
        "zones",
    )

    def __init__(self, item: MatchInput) -> None:
        self.text = _zone(item.text)
        self.title = _zone(item.title)
        if self.title.tokens:
            self.vocab = self.text.vocab | self.title.vocab
            self.zones: tuple[Zone, ...] = (self.text, self.title)
        else:
            self.vocab = self.text.vocab
            self.zones = (self.text,)
        self.url = item.url.lower()
        site = item.site.lower().rstrip(".")
        self.site = site[4:] if site.startswith("www.") else site
        self.author_handle = fold(item.author_handle).strip().lstrip("@")
        self.author_name = item.author_name
        self._name_tokens: Zone | None = None
        self.lang = item.lang.strip().lower().replace("_", "-")
        self.source = item.source.strip().lower()
        self.country = item.country.strip().lower()
        self.field_keys = field_keys(
            lang=self.lang, source=self.source, country=self.country, site=self.site
        )

    @property
    def name_zone(self) -> Zone:
        """The author's display name, tokenised on first use."""
        if self._name_tokens is None:
            self._name_tokens = _zone(self.author_name)
        return self._name_tokens


def field_keys(*, lang: str, source: str, country: str, site: str) -> list[str]:
    """Index keys for equality-like fields.

    ``lang=fr`` and ``lang=fr-ca`` for ``fr-ca``; ``site=blog.lemonde.fr``,
    ``site=lemonde.fr`` and ``site=fr`` for ``blog.lemonde.fr``; ``source=rss``...
    """
    keys: list[str] = []
    if lang:
        parts = lang.split("-")
        keys.extend(f"lang={'-'.join(parts[:n])}" for n in range(1, len(parts) + 1))
    if source:
        keys.append(f"source={source}")
    if country:
        keys.append(f"country={country}")
    if site:
        labels = site.split(".")
        keys.extend(f"site={'.'.join(labels[n:])}" for n in range(len(labels)))
    return keys


def prepare(item: MatchInput) -> PreparedDocument:
    """Tokenise ``item`` once, for every query."""
    return PreparedDocument(item)
