"""Themes of a conversation and what drives its negativity (pure: no I/O).

Given the mentions of a watch over a period (id, text, language, sentiment):

* **key phrases**: n-grams of 1 to 3 words, cut inside sentences, with no stop word
  (curated French and English lists below) and no word the watch requires at their
  edges, counted once per mention. A phrase found almost only inside a longer one
  (``thru`` inside ``drive thru``) gives way to it, and the other way round.
* **themes**: phrases grouped by (1) singular/plural variants, (2) head word (a
  multi-word phrase joins the group of its rarest word, so ``slow service`` joins
  ``slow``, not ``service``) and (3) average-linkage agglomeration on the normalised
  pointwise mutual information (NPMI) of their mentions. A theme counts the mentions
  that contain any of its phrases; themes are ranked by that count.
* **drivers of negativity**: themes over-represented in NEGATIVE mentions against the
  other analysed mentions, scored by the weighted log-odds ratio with an informative
  Dirichlet prior of Monroe, Colaresi and Quinn (2008), "Fightin' Words: Lexical Feature
  Selection and Evaluation for Identifying the Content of Political Conflict",
  *Political Analysis* 16(4). The prior is the theme's rate in the whole conversation
  (every mention of the period, analysed or not), weighing a tenth of the mentions
  (α0 = 0.1·N): rare themes are pulled towards their usual rate, and their z-score
  (the log-odds over its standard deviation) stays low until the evidence is there. Counts are per mention (does the mention
  contain the theme), so one long rant does not weigh more than ten short complaints.

Everything is deterministic (ties broken by phrase then by id) and runs in a few
seconds for 10,000 mentions on one core.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from flocon.domain.text import URL_TOKEN, fold, tokenize

__all__ = [
    "Driver",
    "Example",
    "Phrase",
    "Theme",
    "TopicInput",
    "TopicReport",
    "analyse_topics",
    "log_odds_z",
    "stop_words",
]

NEGATIVE = "negative"

# Folded (lower-case, no accents) and tokenised as flocon.domain.text does: French
# elisions are dropped (l', d', qu'...), English contractions split (don't → don, t).
_EN = frozenset(
    """
    a about above after again against all almost also although always am among an and any
    anyone anything are aren around as at be became because been before being below between
    both but by can cannot could couldn did didn do does doesn doing don done down during
    each either else enough etc even ever every everyone everything few for from further get
    gets getting go goes going gone got gotten had hadn has hasn have haven having he her
    here hers herself him himself his how however i if im in into is isn it its itself ive
    just know knew least less let like ll made make makes many may me might mine more most
    much must my myself need needs neither never no nor not nothing now of off oh ok okay
    on once one ones only onto or other others our ours ourselves out over own per please
    pretty quite rather re really said same say says see seen seem seems shall she should
    shouldn since so some someone something still such sure than thank thanks that thats
    the their theirs them themselves then there these they thing things think this those
    though through thus to too took toward under until up upon us ve very via want wanted
    was wasn way we well went were weren what whatever when where whether which while who
    whom whose why will with within without won would wouldn yeah yes yet you your yours
    yourself yourselves lol omg ur u im youre dont didnt doesnt isnt wasnt cant wont ill
    ive thats theres two three also back come came comes tell told ask asked asking
    """.split()
)
_FR = frozenset(
    """
    a afin ai aie aient ainsi alors apres as assez au aucun aucune aujourd aupres aussi
    autre autres aux avaient avais avait avant avec avez aviez avoir avons ayant bah beaucoup
    bien bon bonjour bref c ca car ce ceci cela celle celles celui cependant certains ces
    cet cette ceux chaque chez ci comme comment contre d dans de deja depuis des deux devant
    doit doivent donc dont du elle elles en encore entre es est et etaient etais etait etant
    ete etes etre eu eux fait faire fais faut fois font hui il ils j je jamais jusqu l la
    laquelle le lequel les leur leurs lors lui m ma mais me meme memes merci mes moi moins
    mon n ne ni non nos notre nous on ont ou oui par parce pas peu peut peuvent peux plus
    plusieurs pour pourquoi pourtant puis qu quand que quel quelle quelles quels qui quoi
    rien s sa sans se sera serait ses si sien soi soit sommes son sont sous suis sur t ta
    tant te tes toi ton tous tout toute toutes tres trop tu un une va vais vers veut via
    voici voila vont vos votre vous vraiment y deja juste voir dit dire mdr ptdr lol svp
    stp cest jai jsuis chui ya
    """.split()
)
_BOTH = _EN | _FR

#: Sentence and clause boundaries (a dot inside an address or a number is not one).
_BOUNDARY = re.compile(r"[.!?;:,()\[\]{}\"«»“”|/\n\r\t]+(?=\s|$)|[!?;()\[\]{}\"«»“”|\n\r\t]+")
_MAX_WORDS = 3
#: A shorter phrase found inside a longer one at least this often (by mentions) gives way.
_SUBSUMED = 0.7
#: Phrases considered when building themes: the most frequent ones, then the most negative.
_TOP_FREQUENT = 200
_TOP_NEGATIVE = 60
#: Average NPMI above which two groups of phrases are one theme.
_MERGE_NPMI = 0.3
#: Mentions two phrases must share before their NPMI counts.
_MIN_SHARED = 3
_SHOWN_PHRASES = 6
#: α0, the weight of the prior, as a share of the number of mentions.
_PRIOR_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class TopicInput:
    """One mention: its id, text (title and body), language code and sentiment label."""

    id: int
    text: str
    lang: str | None = None
    sentiment: str | None = None


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str
    mentions: int


@dataclass(frozen=True, slots=True)
class Example:
    id: int
    snippet: str


@dataclass(frozen=True, slots=True)
class Theme:
    label: str
    phrases: tuple[Phrase, ...]
    #: Mentions containing any of the theme's phrases, and their share of all mentions.
    mentions: int
    share: float
    negative: int
    examples: tuple[Example, ...]
    #: Every mention of the theme (for evaluation and drill-down; not printed).
    mention_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Driver:
    label: str
    phrases: tuple[Phrase, ...]
    #: Weighted log-odds ratio (negative vs other analysed mentions) and its z-score.
    log_odds: float
    z: float
    #: Negative mentions with the theme, of ``negative_total``; all mentions with it.
    negative: int
    negative_total: int
    mentions: int
    total: int
    examples: tuple[Example, ...]
    #: Every mention of the theme, and its negative ones (for evaluation and drill-down).
    mention_ids: tuple[int, ...]
    negative_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TopicReport:
    mentions: int
    negative: int
    #: Mentions with a sentiment that is not negative (the comparison group).
    other: int
    themes: tuple[Theme, ...]
    drivers: tuple[Driver, ...]


def stop_words(lang: str | None) -> frozenset[str]:
    """The stop words for a language code (``fr``, ``en``; anything else: both lists)."""
    code = (lang or "").lower()[:2]
    return _FR if code == "fr" else _EN if code == "en" else _BOTH


def log_odds_z(
    y_i: np.ndarray, n_i: int, y_j: np.ndarray, n_j: int, prior: np.ndarray, a0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Monroe et al. (2008), eq. 16 and 20: weighted log-odds of group i against j and z-scores.

    ``y_i``/``y_j``: per-feature counts in each group; ``n_i``/``n_j``: the groups' totals;
    ``prior``: the pseudo-counts α_w of each feature, out of ``a0`` (α0).
    """
    yi, yj = y_i.astype(float), y_j.astype(float)
    delta = np.log((yi + prior) / (n_i + a0 - yi - prior)) - np.log(
        (yj + prior) / (n_j + a0 - yj - prior)
    )
    variance = 1.0 / (yi + prior) + 1.0 / (yj + prior)
    return delta, delta / np.sqrt(variance)


def _words(text: str, banned: frozenset[str]) -> list[list[str]]:
    """Segments of folded tokens; a banned token (address, handle, number, brand) cuts one."""
    segments: list[list[str]] = []
    for part in _BOUNDARY.split(fold(text.replace("\u00a0", " "))):
        current: list[str] = []
        for token in tokenize(part):
            word = token[1:] if token.startswith("#") else token
            if (
                token == URL_TOKEN
                or token.startswith("@")
                or not word.isalnum()
                or word.isdigit()
                or word in banned
            ):
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(word)
        if current:
            segments.append(current)
    return segments


def key_phrases(text: str, lang: str | None, banned: frozenset[str] = frozenset()) -> set[str]:
    """The candidate key phrases (1- to 3-grams, folded, stop words at neither end) of one
    text, as themes are built from; words in ``banned`` never appear in one."""
    return _grams(_words(text, banned), stop_words(lang))


def _grams(segments: list[list[str]], stops: frozenset[str]) -> set[str]:
    found: set[str] = set()
    for seg in segments:
        for i, first in enumerate(seg):
            if first in stops or len(first) < 2:
                continue
            for n in range(1, _MAX_WORDS + 1):
                last = seg[i + n - 1] if i + n <= len(seg) else None
                if last is None:
                    break
                if last not in stops and len(last) > 1:
                    found.add(" ".join(seg[i : i + n]))
    return found


def _subgrams(phrase: str) -> Iterable[str]:
    words = phrase.split()
    for n in range(1, len(words)):
        for i in range(len(words) - n + 1):
            yield " ".join(words[i : i + n])


def _variant_key(phrase: str) -> str:
    """Singular and plural share a key: ``fries``/``fry`` no, ``employees``/``employee`` yes."""
    return " ".join(w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in phrase.split())


class _Groups:
    """Union-find over phrase indices; the root is the smallest index (deterministic)."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _agglomerate(groups: list[list[int]], npmi: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage merging of groups while the best pair's mean NPMI ≥ ``threshold``."""
    k = len(groups)
    member = np.zeros((k, npmi.shape[0]))
    for g, phrases in enumerate(groups):
        member[g, phrases] = 1.0
    sums = member @ npmi @ member.T
    sizes = member.sum(axis=1)
    alive = np.ones(k, dtype=bool)
    while True:
        link = sums / np.outer(sizes, sizes)
        np.fill_diagonal(link, -np.inf)
        link[~alive, :] = -np.inf
        link[:, ~alive] = -np.inf
        best = int(np.argmax(link))
        a, b = divmod(best, k)
        if link[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        groups[a] = groups[a] + groups[b]
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
    return [groups[g] for g in range(k) if alive[g]]


def _snippet(text: str, phrase: str, width: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    found = re.search(r"\b" + re.escape(phrase.split()[0]), fold(flat))
    start = max(0, (found.start() if found else 0) - width // 3)
    start = min(start, len(flat) - width + 1)
    if start and flat[start - 1] != " ":
        start = flat.find(" ", start) + 1 or start  # begin at a word
    cut = flat[start : start + width - 1]
    end = cut.rfind(" ")
    cut = cut[:end] if end > width // 2 else cut  # end at a word
    return ("…" if start else "") + cut.strip() + "…"


def _examples(
    indices: Sequence[int],
    hits: np.ndarray,
    items: Sequence[TopicInput],
    phrase: str,
    count: int,
    width: int,
) -> tuple[Example, ...]:
    """Mentions holding the most of a theme's phrases first, then by id."""
    ranked = sorted(indices, key=lambda d: (-int(hits[d]), items[d].id))
    return tuple(
        Example(items[d].id, _snippet(items[d].text, phrase, width)) for d in ranked[:count]
    )


def analyse_topics(
    items: Sequence[TopicInput],
    *,
    exclude: Iterable[str] = (),
    limit: int = 10,
    examples: int = 3,
    min_mentions: int | None = None,
    min_z: float = 1.96,
    prior_strength: float | None = None,
    snippet_width: int = 160,
) -> TopicReport:
    """Themes and drivers of negativity of ``items`` (see the module docstring).

    ``exclude``: words never part of a phrase (the watch's required keywords);
    ``min_mentions``: mentions a phrase needs (default: 2, or 0.2 % of the mentions);
    ``min_z``: the z-score a driver needs (1.96: two-sided 5 %);
    ``prior_strength``: α0 of the Dirichlet prior (default: a tenth of the number of
    mentions, so the prior steadies rare themes without drowning a short period).
    """
    items = sorted(items, key=lambda item: item.id)
    total = len(items)
    banned = frozenset(w for kw in exclude for w in tokenize(fold(kw)))
    per_item = [key_phrases(it.text, it.lang, banned) for it in items]
    df = Counter(g for grams in per_item for g in grams)
    floor = min_mentions if min_mentions is not None else max(2, math.ceil(0.002 * total))
    candidates = {g: c for g, c in df.items() if c >= floor}
    # A phrase mostly seen inside a longer candidate gives way to it.
    dropped: set[str] = set()
    for phrase in sorted(candidates, key=lambda g: (-len(g.split()), g)):
        for inner in _subgrams(phrase):
            if inner in candidates and candidates[phrase] >= _SUBSUMED * candidates[inner]:
                dropped.add(inner)
    names = sorted((g for g in candidates if g not in dropped), key=lambda g: (-candidates[g], g))
    negative = np.array([it.sentiment == NEGATIVE for it in items], dtype=bool)
    other = np.array([it.sentiment not in (None, NEGATIVE) for it in items], dtype=bool)
    n_neg, n_other = int(negative.sum()), int(other.sum())
    if not names:
        return TopicReport(total, n_neg, n_other, (), ())
    index = {g: i for i, g in enumerate(names)}
    matrix = np.zeros((len(names), total), dtype=bool)
    for d, grams in enumerate(per_item):
        for g in grams:
            i = index.get(g)
            if i is not None:
                matrix[i, d] = True

    strength = float(prior_strength if prior_strength is not None else _PRIOR_SHARE * total)

    def z_scores(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # α_w = α0 · (rate of mentions with w in the whole conversation), smoothed.
        prior = strength * (rows.sum(axis=1) + 0.5) / (total + 1)
        neg_counts, other_counts = rows[:, negative].sum(axis=1), rows[:, other].sum(axis=1)
        return log_odds_z(neg_counts, n_neg, other_counts, n_other, prior, strength)

    # The phrases themes are built from: the most frequent, then the most negative.
    chosen = list(range(min(_TOP_FREQUENT, len(names))))
    if n_neg:
        _, phrase_z = z_scores(matrix)
        taken = set(chosen)
        extra = [
            int(i)
            for i in np.argsort(-phrase_z, kind="stable")[:_TOP_NEGATIVE]
            if phrase_z[i] >= min_z and int(i) not in taken
        ]
        chosen += sorted(extra)
    sub = matrix[chosen].astype(np.float32)
    chosen_names = [names[i] for i in chosen]
    groups = _Groups(len(chosen))
    by_key: dict[str, int] = {}
    for k, phrase in enumerate(chosen_names):
        groups.union(k, by_key.setdefault(_variant_key(phrase), k))
    position = {p: k for k, p in enumerate(chosen_names)}
    for k, phrase in enumerate(chosen_names):
        words = [w for w in phrase.split() if w in position]
        if " " in phrase and words:
            rarest = min(words, key=lambda w: (candidates[w], w))
            groups.union(k, position[rarest])
    together = sub @ sub.T
    freq = np.diag(together) / total
    joint = together / total
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(joint / np.outer(freq, freq)) / -np.log(joint)
    npmi[(together < _MIN_SHARED) | ~np.isfinite(npmi)] = 0.0
    initial: dict[int, list[int]] = {}
    for k in range(len(chosen)):
        initial.setdefault(groups.find(k), []).append(k)
    merged = _agglomerate([initial[r] for r in sorted(initial)], npmi, _MERGE_NPMI)

    theme_rows = np.zeros((len(merged), total), dtype=bool)
    hit_counts = np.zeros((len(merged), total), dtype=np.int32)
    for t, members in enumerate(merged):
        theme_rows[t] = sub[members].any(axis=0)
        hit_counts[t] = sub[members].sum(axis=0)

    def phrases_of(members: list[int]) -> tuple[Phrase, ...]:
        ordered = sorted(members, key=lambda k: (-candidates[chosen_names[k]], chosen_names[k]))
        return tuple(Phrase(chosen_names[k], candidates[chosen_names[k]]) for k in ordered)

    order = sorted(
        range(len(merged)), key=lambda t: (-int(theme_rows[t].sum()), phrases_of(merged[t])[0].text)
    )
    themes = []
    for t in order[:limit]:
        phrases = phrases_of(merged[t])
        docs = np.flatnonzero(theme_rows[t]).tolist()
        themes.append(
            Theme(
                label=phrases[0].text,
                phrases=phrases[:_SHOWN_PHRASES],
                mentions=len(docs),
                share=len(docs) / total,
                negative=int(theme_rows[t][negative].sum()),
                examples=_examples(
                    docs, hit_counts[t], items, phrases[0].text, examples, snippet_width
                ),
                mention_ids=tuple(items[d].id for d in docs),
            )
        )
    drivers: list[Driver] = []
    if n_neg:
        delta, z = z_scores(theme_rows)
        for t in sorted(range(len(merged)), key=lambda t: (-z[t], phrases_of(merged[t])[0].text)):
            neg_docs = np.flatnonzero(theme_rows[t] & negative).tolist()
            if z[t] < min_z or len(drivers) >= limit:
                break
            if len(neg_docs) < 2:
                continue
            phrases = phrases_of(merged[t])
            drivers.append(
                Driver(
                    label=phrases[0].text,
                    phrases=phrases[:_SHOWN_PHRASES],
                    log_odds=float(delta[t]),
                    z=float(z[t]),
                    negative=len(neg_docs),
                    negative_total=n_neg,
                    mentions=int(theme_rows[t].sum()),
                    total=total,
                    examples=_examples(
                        neg_docs, hit_counts[t], items, phrases[0].text, examples, snippet_width
                    ),
                    mention_ids=tuple(items[d].id for d in np.flatnonzero(theme_rows[t]).tolist()),
                    negative_ids=tuple(items[d].id for d in neg_docs),
                )
            )
    return TopicReport(total, n_neg, n_other, tuple(themes), tuple(drivers))


def emerging_themes(
    focus: Sequence[TopicInput],
    background: Sequence[TopicInput],
    *,
    exclude: Iterable[str] = (),
    limit: int = 3,
    min_z: float = 1.96,
) -> tuple[Driver, ...]:
    """Themes over-represented in ``focus`` (an episode's mentions) against ``background``
    (the watch's usual conversation): the same weighted log-odds with an informative prior
    as the drivers of negativity, with "in the episode" in place of "negative".

    In the returned drivers, ``negative`` counts the episode's mentions with the theme and
    ``negative_total`` the episode's size.
    """
    focus_ids = {item.id for item in focus}
    items = [
        TopicInput(id=it.id, text=it.text, lang=it.lang, sentiment=NEGATIVE) for it in focus
    ] + [
        TopicInput(id=it.id, text=it.text, lang=it.lang, sentiment="background")
        for it in background
        if it.id not in focus_ids
    ]
    report = analyse_topics(items, exclude=exclude, limit=limit, examples=1, min_z=min_z)
    return report.drivers
