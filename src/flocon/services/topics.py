"""Topics of a watch over a period: its themes and what drives its negativity.

Reads the watch's mentions (originals only: a repeated post would count twice) in
one read transaction, then runs :func:`flocon.analysis.topics.analyse_topics`
outside it. The words the watch's query requires (``keywords_from_queries``) are
left out of the phrases: every mention contains them, so they say nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from flocon.analysis.topics import TopicInput, TopicReport, analyse_topics
from flocon.domain.query.keywords import keywords_from_queries
from flocon.errors import ConfigError
from flocon.storage.engine import read
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import mention_watches, mentions

__all__ = ["DEFAULT_PERIOD", "MAX_MENTIONS", "WatchTopics", "watch_topics"]

DEFAULT_PERIOD = timedelta(days=30)
#: The most recent mentions of the period that are analysed (memory and time stay bounded).
MAX_MENTIONS = 50_000


@dataclass(frozen=True, slots=True)
class WatchTopics:
    workspace: str
    watch: str
    since: datetime
    until: datetime
    #: Words of the watch's query left out of the themes.
    excluded: tuple[str, ...]
    #: True when the period held more than ``MAX_MENTIONS`` mentions (the newest were read).
    truncated: bool
    report: TopicReport


def watch_topics(
    engine: Engine,
    workspace: str,
    watch: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
    examples: int = 3,
    max_mentions: int = MAX_MENTIONS,
) -> WatchTopics:
    """Themes and drivers of negativity of ``watch`` between ``since`` (included) and
    ``until`` (excluded); by default the last 30 days."""
    end = until or datetime.now(UTC)
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise ConfigError("the period is empty: --since must come before --until")
    if limit < 1 or examples < 0:
        raise ConfigError("the number of themes must be at least 1 and of examples at least 0")
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        found = wq.get_by_name(conn, ws.id, watch)
        stmt = (
            select(
                mentions.c.id,
                mentions.c.title,
                mentions.c.text,
                mentions.c.lang,
                mentions.c.sentiment,
            )
            .join(mention_watches, mention_watches.c.mention_id == mentions.c.id)
            .where(
                mention_watches.c.watch_id == found.id,
                mentions.c.workspace_id == ws.id,
                mentions.c.duplicate_of.is_(None),
                mentions.c.occurred_at >= start,
                mentions.c.occurred_at < end,
            )
            .order_by(mentions.c.occurred_at.desc(), mentions.c.id.desc())
            .limit(max_mentions + 1)
        )
        rows = conn.execute(stmt).all()
    truncated = len(rows) > max_mentions
    items = sorted(
        (
            TopicInput(
                id=r.id,
                text=f"{r.title}\n{r.text}" if r.title else r.text,
                lang=r.lang,
                sentiment=r.sentiment,
            )
            for r in rows[:max_mentions]
        ),
        key=lambda item: item.id,
    )
    excluded = tuple(keywords_from_queries([found.query]))
    report = analyse_topics(items, exclude=excluded, limit=limit, examples=examples)
    return WatchTopics(
        workspace=ws.name,
        watch=found.name,
        since=start,
        until=end,
        excluded=excluded,
        truncated=truncated,
        report=report,
    )
