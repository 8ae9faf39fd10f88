"""Real texts and authors for the detection benchmark's streams (:mod:`.streams`).

The issue's benchmark injects bursts of *real negative texts*; the count detectors never read
them, the negative-theme detector (:func:`flocon.signals.topic_surge.negative_theme_config`) does.
So every stream item gets a text and an author:

* **Background**: the 2,778 inbound customer tweets of ``twcs-customer-support-sample`` in their
  real chronological order, with their real (anonymised) authors, from a random offset (and round
  again when a stream is longer than the pool). Neighbours in the stream are neighbours in the
  real inbox, so the real drift of its themes (an iOS update that breaks phones, an outage) and
  its conversations (one customer writing several times) are kept. The background's negative
  flags stay those of :mod:`.streams` (20 %, at random).
* **Bursts**, two kinds (``--burst-texts``):

  - ``themed`` (the default): a snowball is one story. Each burst takes the "Related and
    informative" tweets of one CrisisLex T26 event, shuffled, one new author each. Several of the
    events are a company's crisis (a factory collapse, a train crash, a fertiliser-plant
    explosion, an airport shooting); none is in the support inbox.
  - ``unthemed``: the same number of real texts drawn at random from the support inbox itself,
    one new author each: a rise of unrelated complaints, with no story in common. On these the
    theme detector has nothing to find; the count detectors work as before.

* **Background negatives** (``--background-negatives``): ``random`` (the default) keeps the flags
  of :mod:`.streams`; ``text`` flags the texts themselves: the fifth of the support inbox that
  flocon's fast sentiment model finds most negative (so the same 20 % share), wherever they
  fall. Real complaints then come in their real clusters (an outage, a broken update, one
  customer writing several times), the hard case for a theme detector.

  ``theme_share`` (``--theme-share``, 1 by default) mixes the two: each item of a themed burst
  tells the story with that probability, else it is an unrelated complaint (a story drowned in
  other grievances).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from benchmarks.detection.streams import SOURCES, Stream
from benchmarks.detection.topics import EVENTS, event_texts, support_pool

BurstTexts = Literal["themed", "unthemed"]
BackgroundNegatives = Literal["random", "text"]
#: Share of the background flagged negative (as in :mod:`.streams`).
NEGATIVE_SHARE = 0.2


@dataclass(frozen=True)
class StreamTexts:
    texts: tuple[str, ...]  # one per stream item, in the stream's order
    authors: tuple[str, ...]
    events: tuple[str, ...]  # the event of each burst ("" when unthemed)
    negative: npt.NDArray[np.bool_]  # the negative flags to use (the stream's, or the texts')


@cache
def pool_negative() -> npt.NDArray[np.bool_]:
    """For each text of the support inbox: among the fifth the fast sentiment model finds most
    negative?"""
    from flocon.analysis.analyzer import Analyzer

    texts = [post.text for post in support_pool()]
    classes, probs = Analyzer(profile="fast").sentiment.probabilities(texts)
    p_neg = probs[:, classes.index("negative")]
    flags: npt.NDArray[np.bool_] = p_neg >= np.quantile(p_neg, 1.0 - NEGATIVE_SHARE)
    return flags


def stream_texts(
    stream: Stream,
    seed: int,
    burst_texts: BurstTexts = "themed",
    theme_share: float = 1.0,
    background_negatives: BackgroundNegatives = "random",
) -> StreamTexts:
    """Texts and authors for every item of ``stream`` (deterministic for a seed)."""
    if not 0.0 <= theme_share <= 1.0:
        raise ValueError("theme_share must be between 0 and 1")
    if stream.burst is None:
        raise ValueError("the stream does not say which items are injected")
    rng = np.random.default_rng([seed, SOURCES.index(stream.source), stream.index, 4242])
    pool = support_pool()
    offset = int(rng.integers(len(pool)))
    n_bursts = len(stream.bursts)
    if burst_texts == "themed":
        first = int(rng.integers(len(EVENTS)))
        events = tuple(EVENTS[(first + j) % len(EVENTS)] for j in range(n_bursts))
        shuffled = []
        for event in events:
            texts = event_texts(event)
            shuffled.append([texts[int(i)] for i in rng.permutation(len(texts))])
    else:
        events = ("",) * n_bursts
        shuffled = [
            [pool[int(i)].text for i in rng.permutation(len(pool))] for _ in range(n_bursts)
        ]
    unrelated = [pool[int(i)].text for i in rng.permutation(len(pool))]
    texts_out: list[str] = []
    authors: list[str] = []
    negative = stream.negative.copy()
    by_text = pool_negative() if background_negatives == "text" else None
    k = 0
    used = [0] * n_bursts
    for b in stream.burst.tolist():
        if b < 0:
            post = pool[(offset + k) % len(pool)]
            if by_text is not None:
                negative[len(texts_out)] = bool(by_text[(offset + k) % len(pool)])
            k += 1
            texts_out.append(post.text)
            authors.append(post.author)
        else:
            mine = shuffled[b]
            if burst_texts == "themed" and rng.random() >= theme_share:
                texts_out.append(unrelated[(k + sum(used)) % len(unrelated)])
            else:
                texts_out.append(mine[used[b] % len(mine)])
            used[b] += 1
            authors.append(f"burst{b}-{used[b]}")
    return StreamTexts(tuple(texts_out), tuple(authors), events, negative)
