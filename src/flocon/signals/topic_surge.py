"""Per-topic surge detector: a theme that surges inside a watch's conversation (pure, no I/O).

The volume detectors (:mod:`flocon.signals.detectors`) see a watch's total; a theme such as
"intoxication alimentaire" or "colis jamais reçu" can surge while the total stays ordinary
(it replaces, rather than adds to, the usual chatter). Method:

1. **Phrases**: every mention gives its set of key phrases (1- to 3-grams cut inside
   sentences, no stop word at the edges, folded: accents and case removed), exactly as
   :mod:`flocon.analysis.topics` extracts them. Phrases holding a word of the watch's own
   keywords (``exclude``) are never topics. Phrase sets are cached by mention id
   (:class:`PhraseCache`, an LRU) so repeated checks only tokenise new mentions.
2. **Expected count**: a phrase's background rate is its *document share* among the background
   mentions, with an add-α prior: ``share = (df + α) / (N + 1)``, ``α = 0.5`` pseudo-mentions
   (a never-seen phrase gets a tiny but non-zero share, about one in 2N). The expected count in
   a sub-window is ``share × mentions in that sub-window``: per mention rather than per hour,
   so the daily cycle and ordinary swings of the total cancel out.
3. **Scan**: sub-windows of 15, 30, 45, 60, 90 and 120 min (up to ``window``) ending at ``now``
   are scored with the quasi-Poisson log-likelihood ratio of the volume detectors,
   ``(x log(x / e) - (x - e)) / D``; the observed count ``x`` is the number of distinct *authors*
   with the phrase (a mention without author counts as its own author), so one account
   repeating itself or a conversation of two cannot make a topic. The best sub-window wins.
4. **Gates**: at least ``min_mentions`` mentions and ``min_authors`` distinct authors in the
   window, ``x / e`` at least the sensitivity's ratio, and the score at least its threshold.
5. **Grouping**: readings are built greedily from the best score down; a phrase whose window
   mentions overlap an earlier reading's (at least half of the smaller set) joins it as a variant
   (``intoxication`` and ``alimentaire`` join ``intoxication alimentaire``; singular and plural,
   accented or not, fold to the same key), so one surge gives one reading.

Severity is the strictest sensitivity at which the reading would still fire (evidence enough
for ``low`` sensitivity means ``high`` severity). The thresholds are tuned on the benchmark's
tuning seed (``python -m benchmarks.detection.topics --seed 1``) for at most about one false
topic alert per watch per week at ``medium``.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from flocon.analysis.topics import key_phrases
from flocon.domain.text import fold, tokenize
from flocon.signals.detectors import Reading, count_tail
from flocon.signals.episodes import SEVERITY_RANK

__all__ = [
    "DEFAULT_TOPIC_THRESHOLDS",
    "NEGATIVE_THEME_MINUTES",
    "NEGATIVE_THEME_THRESHOLDS",
    "PhraseCache",
    "TopicConfig",
    "TopicItem",
    "TopicReading",
    "TopicThresholds",
    "negative_theme_config",
    "phrases_of",
    "shares_a_phrase",
    "surging_topics",
    "topic_scores",
    "with_negative_theme",
]

Sensitivity = Literal["low", "medium", "high"]
_SENSITIVITIES: tuple[Sensitivity, ...] = ("low", "medium", "high")
#: Sub-windows scanned, in minutes, ending at ``now`` (capped at the config's window).
_SCAN_MINUTES: tuple[int, ...] = (15, 30, 45, 60, 90, 120)
_MAX_EVIDENCE = 10
#: Two phrases whose window mentions overlap this much (of the smaller set) are one topic.
_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class TopicItem:
    """One mention of the watch."""

    id: int
    at: datetime
    text: str
    lang: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class TopicReading:
    """A topic surging in the window ending at ``now``."""

    topic: str  # the phrase (folded) with the best score
    phrases: tuple[str, ...]  # the topic's phrases, best first (variants and co-occurring ones)
    observed: int  # mentions with any of the phrases in the window
    expected: float  # expected count of the best phrase in its best sub-window
    authors: int  # distinct authors among ``observed``
    score: float  # scan score of the best phrase and sub-window
    severity: Sensitivity
    onset: datetime  # first mention with the phrase in the best sub-window
    evidence: tuple[int, ...]  # earliest mention ids with the topic (at most 10)
    explanation: str
    window_minutes: int = 0  # length of the best sub-window
    window_count: int = 0  # distinct authors with the phrase in that sub-window (the ``x``)


@dataclass(frozen=True, slots=True)
class TopicThresholds:
    """Decision thresholds of one sensitivity level."""

    score: float  # scan score needed
    ratio: float  # observed / expected needed in the best sub-window


#: Tuned on the benchmark's tuning seed (see ``benchmarks/detection/topics.py``).
DEFAULT_TOPIC_THRESHOLDS: dict[Sensitivity, TopicThresholds] = {
    "low": TopicThresholds(score=30.0, ratio=4.0),
    "medium": TopicThresholds(score=20.0, ratio=4.0),
    "high": TopicThresholds(score=14.0, ratio=4.0),
}


@dataclass(frozen=True)
class TopicConfig:
    """Settings of the per-topic detector (all have defaults)."""

    sensitivity: Sensitivity = "medium"
    window: timedelta = timedelta(hours=2)
    min_mentions: int = 5  # in the window
    min_authors: int = 3  # distinct authors (one spammer is not a topic)
    alpha: float = 0.5  # prior pseudo-mentions of every phrase in the background
    dispersion: float = 1.0  # D of the quasi-Poisson score (>= 1)
    max_readings: int = 5
    thresholds: Mapping[Sensitivity, TopicThresholds] = field(
        default_factory=lambda: dict(DEFAULT_TOPIC_THRESHOLDS)
    )
    #: sub-windows scanned, in minutes, ending at ``now`` (capped at ``window``)
    scan_minutes: tuple[int, ...] = _SCAN_MINUTES
    #: a sub-window is scored only with at least this many distinct authors of the phrase
    min_window_authors: int = 1
    #: what the mentions are, in explanations ("mentions", "negative mentions")
    noun: str = "mentions"


#: Thresholds of the negative-theme detector (:func:`negative_theme_config`), tuned on the
#: detection benchmark's tuning seed: ``python -m benchmarks.detection.run --tune-themes``.
NEGATIVE_THEME_THRESHOLDS: dict[Sensitivity, TopicThresholds] = {
    "low": TopicThresholds(score=16.0, ratio=4.0),
    "medium": TopicThresholds(score=12.0, ratio=4.0),
    "high": TopicThresholds(score=10.0, ratio=4.0),
}
#: Sub-windows of the negative-theme scan, in minutes: a snowball is minutes old.
NEGATIVE_THEME_MINUTES: tuple[int, ...] = (5, 10, 15, 20, 30)


def negative_theme_config(sensitivity: Sensitivity = "medium") -> TopicConfig:
    """The per-topic detector set for **negative themes**: run on the watch's *negative*
    mentions of the last 30 minutes (the background stays all its mentions), it fires when at
    least 3 distinct authors share a phrase that is rare in the watch's past, in one sub-window.

    A snowball is one story: its first negative mentions repeat its words ("rappel", "salmonella",
    "data breach") long before the volume or the negative share moves much. Three unrelated
    complaints within a few minutes are ordinary; three authors writing the same rare phrase are
    not."""
    return TopicConfig(
        sensitivity=sensitivity,
        window=timedelta(minutes=max(NEGATIVE_THEME_MINUTES)),
        min_mentions=3,
        min_authors=3,
        min_window_authors=3,
        scan_minutes=NEGATIVE_THEME_MINUTES,
        max_readings=3,
        thresholds=dict(NEGATIVE_THEME_THRESHOLDS),
        noun="negative mentions",
    )


class PhraseCache:
    """LRU of phrase sets by mention id, reused across checks.

    A hit also compares the text and language, so an id that now names another mention (a
    reused SQLite rowid, another database in the same process) is never served stale phrases.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._data: OrderedDict[int, tuple[str, str | None, _Phrases]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, item: TopicItem) -> _Phrases:
        found = self._data.get(item.id)
        if found is not None and found[0] == item.text and found[1] == item.lang:
            self._data.move_to_end(item.id)
            return found[2]
        phrases = _phrases(item.text, item.lang)
        self._data[item.id] = (item.text, item.lang, phrases)
        self._data.move_to_end(item.id)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)
        return phrases

    def clear(self) -> None:
        self._data.clear()


@dataclass(frozen=True, slots=True)
class _Phrases:
    keys: frozenset[str]  # variant keys (plural ``s``/``x`` dropped)
    surface: dict[str, str]  # key -> the folded phrase as written


def _phrases(text: str, lang: str | None) -> _Phrases:
    grams = sorted(key_phrases(text, lang))
    surface: dict[str, str] = {}
    for g in grams:
        surface.setdefault(_variant(g), g)
    return _Phrases(frozenset(surface), surface)


def phrases_of(text: str, lang: str | None = None) -> frozenset[str]:
    """The variant keys of one text's key phrases (folded 1- to 3-grams, plural ``s``/``x``
    dropped from words over 3 letters): ``Intoxications alimentaires`` and ``intoxication
    alimentaire`` share ``intoxication alimentaire``."""
    return _phrases(text, lang).keys


def _variant(phrase: str) -> str:
    """Singular and plural share a form (``colis``/``coli`` aside: only words over 3 letters)."""
    if " " not in phrase:
        return phrase[:-1] if len(phrase) > 3 and phrase[-1] in "sx" else phrase
    return " ".join(w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in phrase.split())


def _banned_words(exclude: Iterable[str]) -> frozenset[str]:
    """The words of the watch's keywords, folded, in both their forms: never part of a topic."""
    words = {w for kw in exclude for w in tokenize(fold(kw))}
    return frozenset(words | {_variant(w) for w in words})


def _holds(phrase: str, banned: frozenset[str]) -> bool:
    return bool(banned) and any(w in banned for w in phrase.split())


def _llr(x: float, e: float, dispersion: float) -> float:
    if x <= e:
        return 0.0
    return (x * math.log(x / e) - (x - e)) / dispersion


@dataclass(slots=True)
class _Candidate:
    phrase: str
    docs: list[int]  # indices into the sorted recent items
    score: float = 0.0
    expected: float = 0.0
    count: int = 0
    minutes: int = 0
    start: int = 0  # first doc index of the best sub-window


def _author(item: TopicItem) -> str:
    return item.author if item.author is not None else f"#{item.id}"


def _severity(score: float, ratio: float, config: TopicConfig) -> Sensitivity | None:
    strictest: tuple[tuple[Sensitivity, Sensitivity], ...] = (
        ("low", "high"),
        ("medium", "medium"),
        ("high", "low"),
    )
    for level, severity in strictest:
        t = config.thresholds[level]
        if score >= t.score and ratio >= t.ratio:
            return severity
    return None


def _candidates(
    now: datetime,
    recent: Sequence[TopicItem],
    background: Sequence[TopicItem],
    config: TopicConfig,
    exclude: Iterable[str],
    cache: PhraseCache,
) -> tuple[list[TopicItem], list[_Candidate]]:
    """Scored candidate phrases (every gate but the score and ratio thresholds applied)."""
    start = now - config.window
    items = sorted((it for it in recent if start < it.at <= now), key=lambda it: (it.at, it.id))
    if len(items) < config.min_mentions:
        return items, []
    banned = _banned_words(exclude)
    docs: dict[str, list[int]] = {}
    sets = [cache.get(it) for it in items]
    forms: dict[str, Counter[str]] = {}
    for d, phrases in enumerate(sets):
        for p in phrases.keys:
            docs.setdefault(p, []).append(d)
    for phrases in sets:
        for p, form in phrases.surface.items():
            if p in docs and len(docs[p]) >= config.min_mentions:
                forms.setdefault(p, Counter())[form] += 1
    authors = [_author(it) for it in items]
    chosen: dict[str, _Candidate] = {}
    for p, where in docs.items():
        if len(where) < config.min_mentions:
            continue
        if len({authors[d] for d in where}) < config.min_authors:
            continue
        if _holds(p, banned):
            continue
        label = min(forms[p].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        chosen[p] = _Candidate(label, where)
    if not chosen:
        return items, []
    # Background document frequencies of the candidates only.
    keys = frozenset(chosen)
    df = dict.fromkeys(keys, 0)
    n_bg = 0
    for it in background:
        if it.at > start:
            continue
        n_bg += 1
        for p in cache.get(it).keys & keys:
            df[p] += 1
    # Sub-windows: index of their first item (items are sorted by time).
    times = [it.at for it in items]
    window_min = config.window.total_seconds() / 60.0
    subs: list[tuple[int, int]] = []
    for minutes in config.scan_minutes:
        if minutes > window_min + 1e-9:
            break
        lo = now - timedelta(minutes=minutes)
        first = next((i for i, t in enumerate(times) if t > lo), len(times))
        subs.append((minutes, first))
    if not subs or subs[-1][0] < window_min - 1e-9:
        subs.append((math.ceil(window_min), 0))
    dispersion = max(1.0, config.dispersion)
    for key, cand in chosen.items():
        share = (df[key] + config.alpha) / (n_bg + 1.0)
        for minutes, first in subs:
            n = len(items) - first
            if n <= 0:
                continue
            x = len({authors[d] for d in cand.docs if d >= first})
            if x < config.min_window_authors:
                continue
            e = share * n
            score = _llr(x, e, dispersion)
            if score > cand.score:
                cand.score, cand.expected, cand.count = score, e, x
                cand.minutes, cand.start = minutes, first
    # best first; on a tie the longer phrase (``intoxication alimentaire`` before its words)
    ranked = sorted(chosen.values(), key=lambda c: (-c.score, -len(c.phrase.split()), c.phrase))
    return items, ranked


def shares_a_phrase(
    items: Iterable[TopicItem],
    min_authors: int,
    exclude: Iterable[str] = (),
    cache: PhraseCache | None = None,
) -> bool:
    """Whether at least ``min_authors`` distinct authors of ``items`` share a key phrase that
    holds none of the ``exclude`` keywords: the cheap test that spares reading a background when
    no topic could fire."""
    cache = _CACHE if cache is None else cache
    banned = _banned_words(exclude)
    authors: dict[str, set[str]] = {}
    for it in items:
        for p in cache.get(it).keys:
            authors.setdefault(p, set()).add(_author(it))
    return any(len(who) >= min_authors and not _holds(p, banned) for p, who in authors.items())


def topic_scores(
    now: datetime,
    recent: Sequence[TopicItem],
    background: Sequence[TopicItem],
    config: TopicConfig = TopicConfig(),
    exclude: Iterable[str] = (),
    cache: PhraseCache | None = None,
) -> list[tuple[str, float, float, tuple[int, ...]]]:
    """Every gated candidate as ``(phrase, score, ratio, window mention ids)``, best first.

    For tuning: a phrase fires at a sensitivity when score and ratio reach its thresholds.
    """
    items, cands = _candidates(
        now, recent, background, config, exclude, _CACHE if cache is None else cache
    )
    return [
        (
            c.phrase,
            c.score,
            c.count / max(c.expected, 1e-12),
            tuple(items[d].id for d in c.docs),
        )
        for c in cands
    ]


_CACHE = PhraseCache()


def surging_topics(
    now: datetime,
    recent: Sequence[TopicItem],
    background: Sequence[TopicItem],
    background_span: timedelta,
    config: TopicConfig = TopicConfig(),
    exclude: Iterable[str] = (),
    cache: PhraseCache | None = None,
) -> list[TopicReading]:
    """Topics surging in the ``config.window`` ending at ``now``, best first.

    ``recent``: the watch's mentions in the window (older ones are ignored); ``background``:
    its mentions over the preceding ``background_span`` (possibly a sample: the rate is a share
    of mentions, so only the sample's size matters; ``background_span`` is quoted in the
    explanation); ``exclude``: the watch's own keywords; ``cache``: a :class:`PhraseCache` to
    reuse across checks (a module-wide one by default).
    """
    items, cands = _candidates(
        now, recent, background, config, exclude, _CACHE if cache is None else cache
    )
    level = config.thresholds[config.sensitivity]
    readings: list[TopicReading] = []
    taken: list[tuple[set[int], list[str], _Candidate]] = []
    for cand in cands:
        ratio = cand.count / max(cand.expected, 1e-12)
        fires = cand.score >= level.score and ratio >= level.ratio
        mine = set(cand.docs)
        home = next(
            (
                group
                for group in taken
                if len(group[0] & mine) >= _OVERLAP * min(len(group[0]), len(mine))
            ),
            None,
        )
        if home is not None:
            home[1].append(cand.phrase)  # a variant of an earlier (better) topic
            home[0].update(mine)
            continue
        if fires:
            taken.append((mine, [cand.phrase], cand))
    days = background_span.total_seconds() / 86400.0
    span = f"{days:.0f} days" if days >= 1.5 else f"{background_span.total_seconds() / 3600:.0f} h"
    for docs, phrases, cand in taken[: config.max_readings]:
        ordered = sorted(docs)
        authors = len({_author(items[d]) for d in ordered})
        in_best = [d for d in cand.docs if d >= cand.start]
        ratio = cand.count / max(cand.expected, 1e-12)
        severity = _severity(cand.score, ratio, config) or "low"
        readings.append(
            TopicReading(
                topic=cand.phrase,
                phrases=tuple(phrases),
                observed=len(ordered),
                expected=cand.expected,
                authors=authors,
                score=cand.score,
                severity=severity,
                onset=items[in_best[0]].at if in_best else items[ordered[0]].at,
                evidence=tuple(items[d].id for d in ordered[:_MAX_EVIDENCE]),
                explanation=(
                    f'"{cand.phrase}" is surging: {cand.count} distinct authors mentioned it in '
                    f"the last {cand.minutes} min against {cand.expected:.2f} expected from its "
                    f"usual share of mentions over the previous {span} "
                    f"({len(ordered)} {config.noun} by {authors} authors in the last "
                    f"{config.window.total_seconds() / 60:.0f} min; scan score {cand.score:.1f})"
                ),
                window_minutes=cand.minutes,
                window_count=cand.count,
            )
        )
    return readings


def with_negative_theme(readings: Sequence[Reading], theme: TopicReading | None) -> list[Reading]:
    """The count detectors' readings with a negative theme (the best reading of
    :func:`surging_topics` under :func:`negative_theme_config`, or None) folded into their
    ``negative_shift``: both are evidence of one shift to negative, so the watch gets **one**
    episode, opened by whichever sees it first.

    A theme turns a quiet ``negative_shift`` reading into a firing one (its own onset, severity
    and explanation; the count detectors' minimum volume does not apply: the theme has its own
    gates). When both fire, the higher severity and the earlier onset win and the explanation
    names the theme too."""
    if theme is None:
        return list(readings)
    said = f"Negative theme: {theme.explanation}"
    out: list[Reading] = []
    for r in readings:
        if r.kind != "negative_shift":
            out.append(r)
        elif not r.firing:
            out.append(
                Reading(
                    kind="negative_shift",
                    firing=True,
                    severity=theme.severity,
                    observed=float(theme.observed),
                    expected=theme.expected,
                    # Poisson tail of the phrase's authors in its best sub-window
                    p_value=count_tail(theme.window_count, theme.expected, 1.0),
                    window_minutes=theme.window_minutes,
                    onset=theme.onset,
                    explanation=said,
                )
            )
        else:
            severity = r.severity or "low"
            if SEVERITY_RANK[theme.severity] > SEVERITY_RANK[severity]:
                severity = theme.severity
            onset = theme.onset if r.onset is None else min(r.onset, theme.onset)
            out.append(
                replace(r, severity=severity, onset=onset, explanation=f"{r.explanation}. {said}")
            )
    return out
