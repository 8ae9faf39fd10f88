"""Reports on the team's work for a period: cases opened and resolved, first-response and
resolution times (median and 90th percentile) by agent, watch, channel and priority, and SLA
compliance; as records for pages and the API, and as CSV.

Attribution: a first response counts for the member who wrote the first reply (sent or
recorded); a resolution for the case's assignee when it was resolved (``unassigned``
otherwise). Times are wall-clock seconds from the case's opening; SLA compliance compares
with the due times, which follow business hours.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine, and_, func, or_, select

from flocon.errors import ConfigError
from flocon.storage.engine import read
from flocon.storage.queries import workspaces as wsq
from flocon.storage.tables import case_replies, cases, users, watches

DIMENSIONS: Final = ("agent", "watch", "channel", "priority")
CSV_COLUMNS: Final = (
    "dimension",
    "key",
    "opened",
    "resolved",
    "first_responses",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
    "first_response_sla_pct",
    "resolution_sla_pct",
)
UNASSIGNED: Final = "unassigned"
#: The watch key of cases whose mention matched no watch (or whose watch was removed).
NO_WATCH: Final = "(no watch)"
MAX_DAYS: Final = 366


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


@dataclass
class Figures:
    """The figures of one group (all cases, one agent, one channel or one priority)."""

    opened: int = 0
    resolved: int = 0
    first_response_s: list[float] = field(default_factory=list)
    resolution_s: list[float] = field(default_factory=list)
    first_response_met: int = 0
    first_response_due: int = 0
    resolution_met: int = 0
    resolution_due: int = 0

    @property
    def first_response_median_s(self) -> float | None:
        return percentile(self.first_response_s, 0.5)

    @property
    def first_response_p90_s(self) -> float | None:
        return percentile(self.first_response_s, 0.9)

    @property
    def resolution_median_s(self) -> float | None:
        return percentile(self.resolution_s, 0.5)

    @property
    def resolution_p90_s(self) -> float | None:
        return percentile(self.resolution_s, 0.9)

    @property
    def first_response_sla_pct(self) -> float | None:
        if not self.first_response_due:
            return None
        return round(100.0 * self.first_response_met / self.first_response_due, 1)

    @property
    def resolution_sla_pct(self) -> float | None:
        if not self.resolution_due:
            return None
        return round(100.0 * self.resolution_met / self.resolution_due, 1)


@dataclass
class TeamReport:
    since: datetime
    until: datetime
    total: Figures
    by: dict[str, dict[str, Figures]]

    def rows(self) -> Iterable[tuple[str, str, Figures]]:
        yield "all", "", self.total
        for dimension in DIMENSIONS:
            for key, figures in sorted(self.by[dimension].items()):
                yield dimension, key, figures


def _period(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = (until or now).astimezone(UTC)
    start = (since or end - timedelta(days=30)).astimezone(UTC)
    if start >= end:
        raise ConfigError("the period's start must come before its end")
    if end - start > timedelta(days=MAX_DAYS):
        raise ConfigError(f"a report covers at most {MAX_DAYS} days")
    return start, end


def team_report(
    engine: Engine,
    workspace: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> TeamReport:
    """The team's work between ``since`` and ``until`` (default: the last 30 days)."""
    start, end = _period(since, until, now or datetime.now(UTC))
    total = Figures()
    by: dict[str, dict[str, Figures]] = {d: {} for d in DIMENSIONS}

    def groups(agent: str | None, watch: str, channel: str, priority: str) -> list[Figures]:
        found = [total]
        for dimension, key in (
            ("agent", agent),
            ("watch", watch),
            ("channel", channel),
            ("priority", priority),
        ):
            if key is not None:
                found.append(by[dimension].setdefault(key or "", Figures()))
        return found

    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        first_reply = (
            select(
                case_replies.c.case_id,
                func.min(case_replies.c.id).label("reply_id"),
            )
            .where(case_replies.c.status.in_(["sent", "recorded"]))
            .group_by(case_replies.c.case_id)
            .subquery()
        )
        responder = (
            select(first_reply.c.case_id, case_replies.c.author)
            .join(case_replies, case_replies.c.id == first_reply.c.reply_id)
            .subquery()
        )
        rows = conn.execute(
            select(
                cases.c.id,
                cases.c.channel,
                cases.c.priority,
                cases.c.status,
                cases.c.created_at,
                cases.c.first_response_at,
                cases.c.resolved_at,
                cases.c.first_response_due_at,
                cases.c.resolution_due_at,
                users.c.email.label("assignee"),
                responder.c.author.label("responder"),
                watches.c.name.label("watch"),
            )
            .select_from(
                cases.outerjoin(users, users.c.id == cases.c.assignee_id)
                .outerjoin(responder, responder.c.case_id == cases.c.id)
                .outerjoin(watches, watches.c.id == cases.c.watch_id)
            )
            .where(
                cases.c.workspace_id == ws.id,
                or_(
                    and_(cases.c.created_at >= start, cases.c.created_at < end),
                    and_(cases.c.first_response_at >= start, cases.c.first_response_at < end),
                    and_(cases.c.resolved_at >= start, cases.c.resolved_at < end),
                ),
            )
        ).all()
    for r in rows:
        watch = r.watch or NO_WATCH
        if start <= r.created_at < end:
            for g in groups(None, watch, r.channel, r.priority):
                g.opened += 1
            agent_key = r.assignee or UNASSIGNED
            by["agent"].setdefault(agent_key, Figures()).opened += 1
        if r.first_response_at is not None and start <= r.first_response_at < end:
            seconds = (r.first_response_at - r.created_at).total_seconds()
            for g in groups(r.responder or UNASSIGNED, watch, r.channel, r.priority):
                g.first_response_s.append(seconds)
                if r.first_response_due_at is not None:
                    g.first_response_due += 1
                    g.first_response_met += r.first_response_at <= r.first_response_due_at
        elif (
            r.first_response_at is None
            and r.first_response_due_at is not None
            and r.first_response_due_at < end
            and r.status in ("new", "open", "waiting")
        ):
            # Still unanswered after its due time: a miss.
            for g in groups(r.assignee or UNASSIGNED, watch, r.channel, r.priority):
                g.first_response_due += 1
        if r.status == "resolved" and r.resolved_at is not None and start <= r.resolved_at < end:
            seconds = (r.resolved_at - r.created_at).total_seconds()
            for g in groups(r.assignee or UNASSIGNED, watch, r.channel, r.priority):
                g.resolved += 1
                g.resolution_s.append(seconds)
                if r.resolution_due_at is not None:
                    g.resolution_due += 1
                    g.resolution_met += r.resolved_at <= r.resolution_due_at
    return TeamReport(since=start, until=end, total=total, by=by)


def _cell(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}" if not value.is_integer() else str(int(value))
    return str(value)


def report_csv(report: TeamReport) -> str:
    """The report as CSV (one row per group), UTF-8, figures as plain numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for dimension, key, f in report.rows():
        writer.writerow(
            [
                dimension,
                key if key[:1] not in ("=", "+", "-", "@") else "'" + key,
                f.opened,
                f.resolved,
                len(f.first_response_s),
                _cell(f.first_response_median_s),
                _cell(f.first_response_p90_s),
                _cell(f.resolution_median_s),
                _cell(f.resolution_p90_s),
                _cell(f.first_response_sla_pct),
                _cell(f.resolution_sla_pct),
            ]
        )
    return out.getvalue()
