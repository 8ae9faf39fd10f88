"""Real texts for benchmarks, read from the shared datasets folder (never copied into the repo).

Sources (about 138,000 texts): CrisisLex T6 and T26 tweets (several languages), the
Sanders brand tweets, the customer-support tweets of 76 brands, SXSW brand tweets,
complaint tweets, corporate tweets, the XLM-T tweets in 8 languages (French
included), AlloCiné French TV-series reviews, McDonald's Yelp reviews and the
TweetEval validation tweets. Sources are interleaved round-robin, so any prefix
of the stream mixes them; the order is deterministic.

* :func:`load_texts` gives :class:`~flocon.domain.models.MatchInput` records;
* :func:`load_items` gives JSON-serialisable dicts (``id``, ``text``,
  ``published_at``, ``author``, ``lang``) for import benchmarks.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flocon.domain.models import MatchInput

__all__ = ["DEFAULT_DATASETS", "Record", "iter_records", "load_items", "load_texts"]

DEFAULT_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

_TWITTER_EPOCH_MS = 1288834974657
_TWEET_DATE = "%a %b %d %H:%M:%S %z %Y"
_XLM_LANGS = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True, slots=True)
class Record:
    """One text of a dataset, with what is known about it."""

    id: str
    text: str
    source: str = "twitter"
    published_at: datetime | None = None
    author: str | None = None
    lang: str | None = None

    def as_match_input(self) -> MatchInput:
        return MatchInput(
            text=self.text,
            site="twitter.com" if self.source == "twitter" else "",
            author_handle=self.author or "",
            lang=self.lang or "",
            source=self.source,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "author": self.author,
            "lang": self.lang,
        }


def _snowflake_time(tweet_id: str) -> datetime | None:
    """Creation time encoded in a tweet id (ids from November 2010 on)."""
    try:
        value = int(tweet_id)
    except ValueError:
        return None
    millis = (value >> 22) + _TWITTER_EPOCH_MS
    if value < 2**40:  # older, sequential ids carry no time
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _tweet_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, _TWEET_DATE).astimezone(UTC)
    except ValueError:
        return None


def _crisislex_t6(root: Path) -> Iterator[Record]:
    for path in sorted(root.glob("crisislex-t6/*/*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = csv.reader(fh)
            next(rows)
            for row in rows:
                tweet_id = row[0].strip("'")
                yield Record(
                    f"crisislex-t6:{path.parent.name}:{tweet_id}",
                    row[1],
                    published_at=_snowflake_time(tweet_id),
                )


def _crisislex_t26(root: Path) -> Iterator[Record]:
    for path in sorted(root.glob("crisislex-t26/*/*-tweets_labeled.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = csv.reader(fh)
            next(rows)
            for row in rows:
                tweet_id = row[0].strip('"')
                yield Record(
                    f"crisislex-t26:{path.parent.name}:{tweet_id}",
                    row[1],
                    published_at=_snowflake_time(tweet_id),
                )


def _sanders(root: Path) -> Iterator[Record]:
    with (root / "sanders-brand-tweets" / "full-corpus.csv").open(
        encoding="utf-8", newline=""
    ) as fh:
        for row in csv.DictReader(fh):
            yield Record(
                f"sanders:{row['TweetId']}",
                row["TweetText"],
                published_at=_tweet_date(row["TweetDate"]),
            )


def _twcs(root: Path) -> Iterator[Record]:
    path = root / "twcs-customer-support-sample" / "twcs.csv"
    # One row holds bare carriage returns that were never quoted (see the dataset README).
    with path.open(encoding="utf-8", newline="") as fh:
        text = fh.read().replace("\r\n", "\n").replace("\r", " ")
    for row in csv.DictReader(io.StringIO(text)):
        yield Record(
            f"twcs:{row['tweet_id']}",
            row["text"],
            published_at=_tweet_date(row["created_at"]),
            author=row["author_id"],
        )


def _xlm_t(root: Path) -> Iterator[Record]:
    for folder, lang in sorted(_XLM_LANGS.items()):
        for split in ("train", "val"):
            path = root / "xlm-t-umsab" / folder / f"{split}_text.txt"
            with path.open(encoding="utf-8") as fh:
                for line_no, line in enumerate(fh):
                    yield Record(f"xlm-t:{lang}:{split}:{line_no}", line.rstrip("\n"), lang=lang)


def _allocine(root: Path) -> Iterator[Record]:
    for split in ("train", "dev"):
        path = root / "allocine-tvseries-fr" / "fr" / f"{split}.tsv"
        with path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh):
                _label, _, text = line.rstrip("\n").partition("\t")
                yield Record(f"allocine:{split}:{line_no}", text, source="review", lang="fr")


def _sxsw(root: Path) -> Iterator[Record]:
    path = root / "brand-product-emotions-sxsw" / "judge-1377884607_tweet_product_company.csv"
    with path.open(encoding="cp1252", errors="replace", newline="") as fh:
        for row_no, row in enumerate(csv.DictReader(fh)):
            yield Record(f"sxsw:{row_no}", row["tweet_text"], lang="en")


def _complaints(root: Path) -> Iterator[Record]:
    with (root / "complaints-twitter" / "complaints-data.csv").open(encoding="utf-8") as fh:
        for row in csv.reader(fh):
            yield Record(
                f"complaints:{row[0]}", row[1], lang="en", published_at=_snowflake_time(row[0])
            )


def _corporate(root: Path) -> Iterator[Record]:
    path = root / "dfe-corporate-messaging" / "Corporate-messaging-DFE.csv"
    with path.open(encoding="cp1252", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            yield Record(f"dfe-corporate:{row['_unit_id']}", row["text"], author=row["screenname"])


def _yelp(root: Path) -> Iterator[Record]:
    path = root / "dfe-mcdonalds-yelp" / "McDonalds-Yelp-Sentiment-DFE.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            yield Record(f"yelp:{row['_unit_id']}", row["review"], source="review", lang="en")


def _tweeteval(root: Path) -> Iterator[Record]:
    with (root / "tweeteval-sentiment" / "val_text.txt").open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh):
            yield Record(f"tweeteval:val:{line_no}", line.rstrip("\n"), lang="en")


_READERS: tuple[Callable[[Path], Iterator[Record]], ...] = (
    _crisislex_t6,
    _crisislex_t26,
    _xlm_t,
    _twcs,
    _sanders,
    _allocine,
    _sxsw,
    _complaints,
    _corporate,
    _yelp,
    _tweeteval,
)


def iter_records(datasets_dir: Path = DEFAULT_DATASETS) -> Iterator[Record]:
    """Every non-empty text once, sources interleaved round-robin, in a fixed order."""
    if not datasets_dir.is_dir():
        raise FileNotFoundError(f"datasets folder not found: {datasets_dir}")
    streams = [reader(datasets_dir) for reader in _READERS]
    seen: set[str] = set()  # a few tweets are listed twice in their file
    while streams:
        alive = []
        for stream in streams:
            for record in stream:
                if record.text.strip() and record.id not in seen:
                    seen.add(record.id)
                    yield record
                    alive.append(stream)
                    break
        streams = alive


def _take(n: int, datasets_dir: Path) -> list[Record]:
    records: list[Record] = []
    for record in iter_records(datasets_dir):
        if len(records) == n:
            break
        records.append(record)
    if len(records) < n:
        raise ValueError(f"only {len(records)} texts available in {datasets_dir}, {n} asked")
    return records


def load_texts(n: int, datasets_dir: Path = DEFAULT_DATASETS) -> list[MatchInput]:
    """The first ``n`` texts as matching inputs (source ``twitter`` or ``review``)."""
    return [record.as_match_input() for record in _take(n, datasets_dir)]


def load_items(n: int, datasets_dir: Path = DEFAULT_DATASETS) -> list[dict[str, Any]]:
    """The first ``n`` texts as JSON-serialisable dicts with unique ``id``s.

    Keys: ``id``, ``text``, ``published_at`` (ISO 8601 UTC or None), ``author``
    (handle or None), ``lang`` (ISO 639-1 or None).
    """
    return [record.as_dict() for record in _take(n, datasets_dir)]
