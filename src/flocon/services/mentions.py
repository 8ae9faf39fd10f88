"""Reading stored mentions: filters and full-text search."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from flocon.domain.models import Mention
from flocon.domain.search import search_terms
from flocon.storage.engine import read
from flocon.storage.queries import mentions as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq


def list_mentions(
    engine: Engine,
    workspace: str,
    *,
    watch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    lang: str | None = None,
    limit: int = 50,
    include_unmatched: bool = False,
    include_duplicates: bool = True,
    sentiment: str | None = None,
    needs_answer: bool | None = None,
) -> list[Mention]:
    """Mentions newest first. Without ``watch``, only items that matched some watch,
    unless ``include_unmatched``."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        watch_id = wq.get_by_name(conn, ws.id, watch).id if watch else None
        flt = q.MentionFilter(
            workspace_id=ws.id,
            watch_id=watch_id,
            since=since,
            until=until,
            search=search,
            lang=lang.lower() if lang else None,
            include_unmatched=include_unmatched,
            include_duplicates=include_duplicates,
            limit=limit,
            sentiment=sentiment,
            needs_answer=needs_answer,
        )
        return q.list_mentions(conn, flt, search_terms(search) if search else [])
