"""The ingest service: normalise, deduplicate, match and store collected items.

Every source (file import today, connectors later) hands its drafts to
:func:`ingest_batch` inside one write transaction per batch, so a killed
process loses at most the batch in flight and a restart skips what is stored.

Dedup rules (documented in docs/import.md):
1. same source and external id → the same item: not stored again;
2. same canonical URL as a stored item → stored, marked duplicate of it;
3. near-duplicate text (MinHash estimate of word-shingle Jaccard ≥
   ``NEAR_DUPLICATE_THRESHOLD``) → stored, marked duplicate of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from flocon.domain import dedup
from flocon.domain.models import Draft, MatchInput
from flocon.domain.normalize import canonical_url, normalize_text, site_of
from flocon.domain.search import fts_config, search_text
from flocon.services.matching import WatchMatcher
from flocon.storage.queries import mentions as q
from flocon.storage.queries import watches as wq

if TYPE_CHECKING:
    from flocon.analysis.analyzer import Analysis, Analyzer


@dataclass
class IngestCounts:
    """What happened to a run of items; ``rejected`` lists (index or line, reason)."""

    new: int = 0
    duplicate: int = 0
    already_stored: int = 0
    unmatched: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        self.new += other.new
        self.duplicate += other.duplicate
        self.already_stored += other.already_stored
        self.unmatched += other.unmatched
        self.rejected.extend(other.rejected)


@dataclass
class _Item:
    index: int
    draft: Draft
    text: str
    title: str | None
    url: str | None
    canonical: str | None
    site: str
    external_id: str
    source_id: int = 0
    signature: dedup.Signature | None = None
    duplicate_of: int | None = None
    duplicate_of_item: _Item | None = None
    duplicate_reason: str | None = None
    watch_ids: list[int] = field(default_factory=list)
    mention_id: int = 0
    analysis: Analysis | None = None
    lang_detected: bool = False


def match_input(draft: Draft, *, text: str, title: str | None, url: str | None) -> MatchInput:
    """The fields a query looks at, for a normalised draft."""
    author = draft.author
    return MatchInput(
        text=text,
        title=title or "",
        url=url or "",
        site=site_of(url),
        author_handle=(author.handle or "") if author else "",
        author_name=(author.name or "") if author else "",
        lang=draft.lang or "",
        source=draft.source_kind,
        country=draft.country or "",
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :meth:`Ingestor.prepare` found for a batch, one entry per draft.

    ``languages`` holds the detected language of drafts that had none (``None``
    where none could be told); ``analyses`` the analysis of drafts that match a
    watch (``None`` for the others: an unmatched item is stored, not analysed).
    """

    languages: list[str | None]
    analyses: list[Analysis | None]
    model: str = ""


class Ingestor:
    """Ingests batches for one workspace; caches source ids between batches.

    With an ``analyzer``, call :meth:`prepare` on a batch *before* opening the
    write transaction (analysis can take seconds; the database stays free
    meanwhile), then pass its result to :meth:`ingest_batch`.
    """

    def __init__(
        self, workspace_id: int, matcher: WatchMatcher, *, analyzer: Analyzer | None = None
    ) -> None:
        self.workspace_id = workspace_id
        self.matcher = matcher
        self.analyzer = analyzer
        self._sources: dict[tuple[str, str], int] = {}
        self._model = ""

    def prepare(self, drafts: Sequence[Draft]) -> Prepared | None:
        """Detect languages and analyse the drafts that match a watch (no database access)."""
        if self.analyzer is None or not drafts:
            return None
        from flocon.analysis.language import UNDETERMINED

        texts = [normalize_text(d.text) for d in drafts]
        detected = self.analyzer.language.run(texts, [d.lang for d in drafts])
        languages: list[str | None] = [
            None if d.lang or lang == UNDETERMINED else lang
            for d, lang in zip(drafts, detected, strict=True)
        ]
        relevant = []
        for index, (draft, text) in enumerate(zip(drafts, texts, strict=True)):
            if not text:
                continue
            lang = draft.lang or languages[index]
            title = normalize_text(draft.title) if draft.title else None
            url = draft.url.strip() if draft.url else None
            probe = replace(draft, lang=lang) if lang != draft.lang else draft
            if self.matcher.match(match_input(probe, text=text, title=title, url=url)):
                relevant.append(index)
        analyses: list[Analysis | None] = [None] * len(drafts)
        found = self.analyzer.analyze(
            [texts[i] for i in relevant], languages=[detected[i] for i in relevant]
        )
        for index, analysis in zip(relevant, found, strict=True):
            analyses[index] = analysis
        return Prepared(languages=languages, analyses=analyses, model=self.analyzer.model_name)

    def ingest_batch(
        self, conn: Connection, drafts: Sequence[Draft], prepared: Prepared | None = None
    ) -> IngestCounts:
        """Store a batch inside the caller's write transaction.

        Rejections carry the draft's index in ``drafts``. ``prepared`` comes from
        :meth:`prepare` on the same drafts.
        """
        counts = IngestCounts()
        if prepared is not None:
            drafts = [
                replace(d, lang=lang) if lang else d
                for d, lang in zip(drafts, prepared.languages, strict=True)
            ]
        items = self._normalise(drafts, counts)
        if prepared is not None:
            self._model = prepared.model
            for item in items:
                item.analysis = prepared.analyses[item.index]
                item.lang_detected = prepared.languages[item.index] is not None
        items = self._skip_stored(conn, items, counts)
        self._mark_url_duplicates(conn, items)
        self._mark_near_duplicates(conn, items)
        for item in items:
            item.watch_ids = self.matcher.match(
                match_input(item.draft, text=item.text, title=item.title, url=item.url)
            )
        self._store(conn, items)
        for item in items:
            if item.duplicate_reason is not None:
                counts.duplicate += 1
            elif item.watch_ids:
                counts.new += 1
            else:
                counts.unmatched += 1
        return counts

    # -- steps -------------------------------------------------------------

    def _normalise(self, drafts: Sequence[Draft], counts: IngestCounts) -> list[_Item]:
        items: list[_Item] = []
        for index, draft in enumerate(drafts):
            text = normalize_text(draft.text)
            if not text:
                counts.rejected.append((index, "text is empty once HTML and spaces are removed"))
                continue
            title = normalize_text(draft.title) if draft.title else None
            url = draft.url.strip() if draft.url else None
            canonical = canonical_url(url) if url else None
            external_id = draft.external_id or dedup.content_id(
                text=text,
                url=canonical or url,
                author=(draft.author.handle or draft.author.name) if draft.author else None,
                published_at=draft.published_at,
                title=title,
            )
            items.append(
                _Item(
                    index=index,
                    draft=draft,
                    text=text,
                    title=title or None,
                    url=url,
                    canonical=canonical,
                    site=site_of(canonical or url),
                    external_id=external_id,
                )
            )
        return items

    def _source_id(self, conn: Connection, kind: str, name: str) -> int:
        key = (kind, name)
        if key not in self._sources:
            self._sources[key] = q.source_id(conn, self.workspace_id, kind, name)
        return self._sources[key]

    def _skip_stored(
        self, conn: Connection, items: list[_Item], counts: IngestCounts
    ) -> list[_Item]:
        by_source: dict[int, list[_Item]] = {}
        for item in items:
            item.source_id = self._source_id(conn, item.draft.source_kind, item.draft.source_name)
            by_source.setdefault(item.source_id, []).append(item)
        kept: list[_Item] = []
        for source, group in by_source.items():
            stored = q.existing_external_ids(conn, source, [i.external_id for i in group])
            seen: set[str] = set()
            for item in group:
                if item.external_id in stored or item.external_id in seen:
                    counts.duplicate += 1
                    counts.already_stored += 1
                    continue
                seen.add(item.external_id)
                kept.append(item)
        kept.sort(key=lambda i: i.index)
        return kept

    def _mark_url_duplicates(self, conn: Connection, items: list[_Item]) -> None:
        urls = sorted({i.canonical for i in items if i.canonical})
        stored = q.originals_by_url(conn, self.workspace_id, urls)
        first: dict[str, _Item] = {}
        for item in items:
            if not item.canonical:
                continue
            if item.canonical in stored:
                item.duplicate_of = stored[item.canonical]
                item.duplicate_reason = "url"
            elif item.canonical in first:
                item.duplicate_of_item = first[item.canonical]
                item.duplicate_reason = "url"
            else:
                first[item.canonical] = item

    def _mark_near_duplicates(self, conn: Connection, items: list[_Item]) -> None:
        keyed: list[tuple[_Item, list[int]]] = []
        for item in items:
            if item.duplicate_reason is not None:
                continue
            item.signature = dedup.signature(item.text)
            if item.signature is not None:
                keyed.append((item, dedup.band_keys(item.signature)))
        if not keyed:
            return
        stored = q.band_candidates(conn, self.workspace_id, [k for _, ks in keyed for k in ks])
        stored_sigs = q.signatures(conn, {m for ids in stored.values() for m in ids})
        decoded = {m: dedup.Signature.from_bytes(b) for m, b in stored_sigs.items()}
        batch_bands: dict[int, list[_Item]] = {}
        for item, keys in keyed:
            assert item.signature is not None
            best: tuple[float, int | None, _Item | None] = (0.0, None, None)
            for mid in sorted({m for k in keys for m in stored.get(k, ())}):
                sim = dedup.similarity(item.signature, decoded[mid]) if mid in decoded else 0.0
                if sim > best[0]:
                    best = (sim, mid, None)
            for other in _unique(o for k in keys for o in batch_bands.get(k, ())):
                assert other.signature is not None
                sim = dedup.similarity(item.signature, other.signature)
                if sim > best[0]:
                    best = (sim, None, other)
            if best[0] >= dedup.NEAR_DUPLICATE_THRESHOLD:
                item.duplicate_of, item.duplicate_of_item = best[1], best[2]
                item.duplicate_reason = "near"
                continue
            for k in keys:
                batch_bands.setdefault(k, []).append(item)

    def _store(self, conn: Connection, items: list[_Item]) -> None:
        now = datetime.now(UTC)
        authors = self._authors(conn, items)
        parents = self._parents(conn, items)
        first_pass = [i for i in items if i.duplicate_of_item is None]
        second_pass = [i for i in items if i.duplicate_of_item is not None]
        for group in (first_pass, second_pass):
            for item in group:
                if item.duplicate_of_item is not None:
                    item.duplicate_of = item.duplicate_of_item.mention_id
            rows = [self._row(i, now, authors, parents) for i in group]
            for item, mention_id in zip(group, q.insert_mentions(conn, rows), strict=True):
                item.mention_id = mention_id
        wq.link(conn, ((i.mention_id, w) for i in items for w in i.watch_ids))
        q.insert_bands(
            conn,
            self.workspace_id,
            (
                (k, i.mention_id)
                for i in items
                if i.signature is not None and i.duplicate_reason is None
                for k in dedup.band_keys(i.signature)
            ),
        )
        self._adopt_orphans(conn, items)

    def _authors(self, conn: Connection, items: list[_Item]) -> dict[tuple[str, str], int]:
        by_platform: dict[str, dict[str, q.AuthorSeen]] = {}
        for item in items:
            author = item.draft.author
            key = _author_key(item)
            if author is None or key is None:
                continue
            seen = by_platform.setdefault(item.draft.source_kind, {})
            before = seen.get(key)
            seen[key] = q.AuthorSeen(
                key=key,
                handle=author.handle or (before.handle if before else None),
                name=author.name or (before.name if before else None),
                followers=author.followers
                if author.followers is not None
                else (before.followers if before else None),
            )
        ids: dict[tuple[str, str], int] = {}
        for platform, seen in by_platform.items():
            for key, author_id in q.author_ids(conn, self.workspace_id, platform, seen).items():
                ids[(platform, key)] = author_id
        return ids

    def _parents(self, conn: Connection, items: list[_Item]) -> dict[tuple[int, str], int]:
        """(source id, parent external id) → stored parent id, for items replying to one."""
        wanted: dict[int, set[str]] = {}
        for item in items:
            if item.draft.parent_external_id:
                wanted.setdefault(item.source_id, set()).add(item.draft.parent_external_id)
        found: dict[tuple[int, str], int] = {}
        for source, ext_ids in wanted.items():
            for ext_id, mention_id in q.ids_by_external_id(conn, source, sorted(ext_ids)).items():
                found[(source, ext_id)] = mention_id
        return found

    def _row(
        self,
        item: _Item,
        now: datetime,
        authors: dict[tuple[str, str], int],
        parents: dict[tuple[int, str], int],
    ) -> dict[str, Any]:
        draft = item.draft
        author = draft.author
        key = _author_key(item)
        parent_ext = draft.parent_external_id
        return {
            "workspace_id": self.workspace_id,
            "source_id": item.source_id,
            "external_id": item.external_id,
            "text": item.text,
            "title": item.title,
            "url": item.url,
            "canonical_url": item.canonical,
            "site": item.site,
            "author_id": authors.get((draft.source_kind, key)) if key else None,
            "author_handle": author.handle if author else None,
            "author_name": author.name if author else None,
            "published_at": draft.published_at,
            "collected_at": now,
            "occurred_at": draft.published_at or now,
            "lang": draft.lang,
            "country": draft.country,
            "parent_external_id": parent_ext,
            "parent_id": parents.get((item.source_id, parent_ext)) if parent_ext else None,
            "likes": draft.likes,
            "shares": draft.shares,
            "replies": draft.replies,
            "duplicate_of": item.duplicate_of,
            "duplicate_reason": item.duplicate_reason,
            "signature": item.signature.to_bytes()
            if item.signature is not None and item.duplicate_reason is None
            else None,
            "search_text": search_text(item.title, item.text),
            "fts_config": fts_config(draft.lang),
            "lang_detected": item.lang_detected,
            **_analysis_columns(item.analysis, now, self._model),
        }

    def _adopt_orphans(self, conn: Connection, items: list[_Item]) -> None:
        """Link replies stored before their parent (in this batch or earlier) to it."""
        by_source: dict[int, dict[str, int]] = {}
        for item in items:
            by_source.setdefault(item.source_id, {})[item.external_id] = item.mention_id
        for source, new_ids in by_source.items():
            q.adopt_children(conn, source, new_ids)


_ANALYSIS_COLUMNS = (
    "sentiment",
    "sentiment_score",
    "sentiment_confidence",
    "needs_answer",
    "needs_answer_score",
    "analyzed_at",
    "analysis_model",
)


def _analysis_columns(analysis: Analysis | None, now: datetime, model: str) -> dict[str, Any]:
    if analysis is None:
        return dict.fromkeys(_ANALYSIS_COLUMNS)
    return {
        "sentiment": analysis.sentiment,
        "sentiment_score": analysis.sentiment_score,
        "sentiment_confidence": analysis.sentiment_confidence,
        "needs_answer": analysis.needs_answer,
        "needs_answer_score": analysis.needs_answer_score,
        "analyzed_at": now,
        "analysis_model": model,
    }


def _author_key(item: _Item) -> str | None:
    author = item.draft.author
    if author is None:
        return None
    return (author.handle or author.name or "").strip().lstrip("@").lower() or None


def _unique(values: Iterable[_Item]) -> list[_Item]:
    seen: set[int] = set()
    result: list[_Item] = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            result.append(value)
    return result


def match_input_from_row(row: q.MatchRow) -> MatchInput:
    """The fields a query looks at, for a stored mention."""
    return MatchInput(
        text=row.text,
        title=row.title,
        url=row.url,
        site=row.site,
        author_handle=row.author_handle,
        author_name=row.author_name,
        lang=row.lang,
        source=row.source_kind,
        country=row.country,
    )
