"""Data for tests, made through the real services: mentions imported from JSONL lines, members
of a workspace."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from flocon.errors import AlreadyExists
from flocon.services import accounts
from flocon.services import mentions as mentions_svc
from flocon.services import watches as watches_svc
from flocon.services import workspaces as workspaces_svc
from flocon.services.importing import import_stream
from flocon.settings import Settings

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "correct horse battery"


def import_lines(
    engine: Engine,
    settings: Settings,
    lines: Sequence[dict[str, Any]],
    *,
    workspace: str = "default",
    source: str = "mastodon:social.example",
    published_at: datetime | None = None,
) -> list[int]:
    """Import ``lines`` into ``workspace`` (created if needed, with the watch Acme: "acme")
    through :func:`import_stream`; their mention ids, in order.

    A line without ``id`` gets ``f"{workspace}-{i}"``, without ``source`` gets ``source``,
    without ``published_at`` gets ``published_at`` or, by default, one minute apart, the last
    one a minute before :data:`NOW`.
    """
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    with contextlib.suppress(AlreadyExists):
        watches_svc.add_watch(engine, workspace, name="Acme", query="acme")
    wanted = [str(line.get("id", f"{workspace}-{i}")) for i, line in enumerate(lines)]
    body = b"".join(
        json.dumps(
            {
                "id": wanted[i],
                "published_at": (
                    published_at or NOW - timedelta(minutes=len(lines) - i)
                ).isoformat(),
                "source": source,
                **line,
            }
        ).encode()
        + b"\n"
        for i, line in enumerate(lines)
    )
    report = import_stream(engine, workspace, io.BytesIO(body), fmt="jsonl", settings=settings)
    assert not report.rejected, report.rejected
    found = mentions_svc.list_mentions(
        engine, workspace, include_unmatched=True, include_muted=True, limit=500
    )
    by_external = {m.external_id: m.id for m in found}
    return [by_external[e] for e in wanted]


def member(
    engine: Engine,
    email: str,
    role: str = "agent",
    *,
    workspace: str = "default",
    password: str = PASSWORD,
) -> accounts.User:
    """The user ``email`` (created if needed), made a member of ``workspace`` (created if
    needed) with ``role``."""
    with contextlib.suppress(AlreadyExists):
        workspaces_svc.add_workspace(engine, workspace)
    user = accounts.find_user(engine, email) or accounts.create_user(
        engine, email=email, password=password
    )
    accounts.add_member(engine, workspace, email=email, role=role, actor="cli")
    return user
