"""SQL for reading alerts page by page (keyset on detected_at, id, newest first) with their
watch's name and who acknowledged or resolved them when, and one delivery of a workspace.

The detectors' own reads and writes stay in :mod:`flocon.storage.queries.alerts`; this module
only serves the lists of the web app and the REST API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from flocon.errors import NotFound
from flocon.storage.queries.alerts import AlertRow, DeliveryRow
from flocon.storage.queries.alerts import _alert as alert_row
from flocon.storage.queries.alerts import _delivery as delivery_row
from flocon.storage.tables import alerts, deliveries, watches


@dataclass(frozen=True, slots=True)
class ListedAlert:
    """An alert with its watch's name (None: a workspace alert such as ``source_down``)."""

    alert: AlertRow
    watch: str | None
    acked_at: datetime | None
    resolved_at: datetime | None


def _select() -> Select[Any]:
    return select(alerts, watches.c.name.label("watch_name")).outerjoin(
        watches, watches.c.id == alerts.c.watch_id
    )


def _listed(row: Any) -> ListedAlert:
    return ListedAlert(
        alert=alert_row(row),
        watch=row.watch_name,
        acked_at=row.acked_at,
        resolved_at=row.resolved_at,
    )


def page_alerts(
    conn: Connection,
    workspace_id: int,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    severities: Sequence[str] = (),
    watch_id: int | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[ListedAlert]:
    """Alerts newest first (detected_at, then id), at most ``limit``, after the keyset
    position ``after`` (the last alert of the previous page)."""
    stmt = _select().where(alerts.c.workspace_id == workspace_id)
    if statuses:
        stmt = stmt.where(alerts.c.status.in_(list(statuses)))
    if kinds:
        stmt = stmt.where(alerts.c.kind.in_(list(kinds)))
    if severities:
        stmt = stmt.where(alerts.c.severity.in_(list(severities)))
    if watch_id is not None:
        stmt = stmt.where(alerts.c.watch_id == watch_id)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(
                alerts.c.detected_at < at,
                and_(alerts.c.detected_at == at, alerts.c.id < last_id),
            )
        )
    stmt = stmt.order_by(alerts.c.detected_at.desc(), alerts.c.id.desc()).limit(limit)
    return [_listed(r) for r in conn.execute(stmt)]


def get_alert(conn: Connection, workspace_id: int, alert_id: int) -> ListedAlert:
    """One alert of the workspace; :class:`NotFound` otherwise (another workspace's too)."""
    row = conn.execute(
        _select().where(alerts.c.id == alert_id, alerts.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id} in this workspace")
    return _listed(row)


def get_delivery(conn: Connection, workspace_id: int, delivery_id: int) -> DeliveryRow:
    """One delivery of the workspace; :class:`NotFound` otherwise."""
    row = conn.execute(
        select(deliveries).where(
            deliveries.c.id == delivery_id, deliveries.c.workspace_id == workspace_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id} in this workspace")
    return delivery_row(row)
