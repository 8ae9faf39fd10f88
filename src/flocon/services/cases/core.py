"""Cases: create one from a mention, read the inbox riskiest first, change status, priority
and assignee (refused when someone changed the case meanwhile), notes with @mentions, tags,
and who else has the case open.

Every change is a named use case owning its transaction; it writes the case's timeline
(``case_events``) and the workspace's audit log in that transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine

from flocon.errors import ConfigError, NotFound
from flocon.services import accounts
from flocon.services.accounts.common import acting_user
from flocon.services.cases import risk as risk_model
from flocon.services.cases import timing
from flocon.services.cases.common import (
    ACTIVE,
    NOTE_MAX_CHARS,
    ORIGINS,
    PRESENCE_SECONDS,
    PRIORITIES,
    SCOPES,
    STATUSES,
    TRANSITIONS,
    BadTransition,
    Case,
    CaseConflict,
    CaseDetail,
    CaseExists,
    CasePage,
    Presence,
)
from flocon.services.tags import normalise_tag
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as aq
from flocon.storage.queries import cases as q
from flocon.storage.queries import watches as wq
from flocon.storage.queries import workspaces as wsq
from flocon.storage.queries.accounts import User

#: Roles that can hold a case.
ASSIGNABLE_ROLE: Final = "agent"
TITLE_CHARS: Final = 280
PAGE_MAX: Final = 200
_MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this field as it is" (None means "clear it" for the assignee).
UNSET: Final = _Unset()


def _now(now: datetime | None) -> datetime:
    return now.astimezone(UTC) if now is not None else datetime.now(UTC)


def _who(conn: Connection, actor: User | str) -> tuple[int | None, str]:
    user = acting_user(conn, actor)
    if user is not None:
        return user.id, user.email
    return None, str(actor)


def _audit(
    conn: Connection,
    ws_id: int,
    actor: User | str,
    action: str,
    case_id: int,
    details: dict[str, Any],
    now: datetime,
) -> None:
    accounts.record(
        conn,
        workspace_id=ws_id,
        actor=actor,
        action=action,
        object_type="case",
        object_id=case_id,
        details=details,
        now=now,
    )


def present(
    conn: Connection, row: q.CaseRow, now: datetime, *, tags: list[str] | None = None
) -> Case:
    """The public record of a stored case at ``now`` (``tags``: already read, for lists)."""
    active = row.status in ACTIVE
    answered = row.first_response_at is not None
    waiting = risk_model.waiting_factor(row.created_at, answered=answered, active=active, now=now)
    value, shown = risk_model.score(row.risk_factors, waiting)

    def seconds(end: datetime | None) -> int | None:
        return None if end is None else max(0, int((end - row.created_at).total_seconds()))

    return Case(
        row=row,
        tags=tuple(tags if tags is not None else q.tags(conn, [row.id]).get(row.id, [])),
        risk=value,
        risk_factors=shown,
        waiting_seconds=(
            max(0, int((now - row.created_at).total_seconds())) if active and not answered else None
        ),
        first_response_seconds=seconds(row.first_response_at),
        resolution_seconds=seconds(row.resolved_at) if row.status == "resolved" else None,
        first_response_overdue=(
            active
            and not answered
            and row.first_response_due_at is not None
            and now > row.first_response_due_at
        ),
        resolution_overdue=(
            active and row.resolution_due_at is not None and now > row.resolution_due_at
        ),
    )


def _check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{what} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _assignee(conn: Connection, ws_id: int, assignee: int | str | None) -> User | None:
    """The member a case may be given to (agent or above), by id or e-mail."""
    if assignee is None:
        return None
    user: User | None
    if isinstance(assignee, int):
        try:
            user = aq.get_user(conn, assignee)
        except NotFound:
            user = None
    else:
        user = aq.find_user(conn, assignee.strip().lower())
    role = aq.role(conn, user.id, ws_id) if user is not None and user.is_active else None
    if user is None or role is None:
        raise NotFound(f"no member {assignee!r} in this workspace")
    if not accounts.role_at_least(role, ASSIGNABLE_ROLE):
        raise ConfigError(f"{user.email} is a {role}: only agents and above can hold a case")
    return user


def _load(conn: Connection, ws_id: int, case_id: int) -> q.CaseRow:
    row = q.get_case(conn, ws_id, case_id)
    if row is None:
        raise NotFound(f"no case #{case_id} in this workspace")
    return row


def create_case(
    engine: Engine,
    workspace: str,
    *,
    mention_id: int,
    actor: User | str,
    origin: str = "manual",
    priority: str = "normal",
    scope: str = "mention",
    assignee: int | str | None = None,
    now: datetime | None = None,
) -> Case:
    """Open a case on a mention of the workspace (one case per mention: CaseExists names it)."""
    _check_choice(origin, ORIGINS, "origin")
    _check_choice(priority, PRIORITIES, "priority")
    _check_choice(scope, SCOPES, "scope")
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return create_in(
            conn,
            ws.id,
            mention_id=mention_id,
            actor=actor,
            origin=origin,
            priority=priority,
            scope=scope,
            assignee=assignee,
            now=at,
        )


def create_in(
    conn: Connection,
    ws_id: int,
    *,
    mention_id: int,
    actor: User | str,
    origin: str,
    priority: str,
    scope: str,
    assignee: int | str | None,
    now: datetime,
) -> Case:
    """:func:`create_case` inside the caller's transaction (rules run it during ingest)."""
    facts = q.mention_facts(conn, ws_id, mention_id)
    if facts is None:
        raise NotFound(f"no mention #{mention_id} in this workspace")
    existing = q.case_for_mention(conn, ws_id, mention_id)
    if existing is not None:
        raise CaseExists(existing)
    holder = _assignee(conn, ws_id, assignee)
    user_id, name = _who(conn, actor)
    snowball = q.snowball_score(conn, ws_id, mention_id)
    influence = (
        q.influence_score(conn, ws_id, facts.author_id) if facts.author_id is not None else None
    )
    factors = risk_model.static_factors(facts, snowball=snowball, influence=influence)
    static, _ = risk_model.score(factors, 0.0)
    due = timing.due_times(conn, ws_id, priority=priority, start=now)
    title = (facts.title + " — " if facts.title else "") + facts.text
    case_id = q.insert_case(
        conn,
        {
            "workspace_id": ws_id,
            "mention_id": mention_id,
            "scope": scope,
            "status": "open" if holder is not None else "new",
            "priority": priority,
            "assignee_id": holder.id if holder is not None else None,
            "watch_id": facts.watch_id,
            "channel": facts.source_kind,
            "lang": facts.lang,
            "origin": origin,
            "title": title[:TITLE_CHARS],
            "risk": static,
            "risk_factors": factors,
            "created_at": now,
            "created_by": name,
            "updated_at": now,
            "first_response_due_at": due.first_response,
            "resolution_due_at": due.resolution,
        },
    )
    details: dict[str, Any] = {"mention_id": mention_id, "origin": origin, "priority": priority}
    if holder is not None:
        details["assignee"] = holder.email
    q.insert_event(
        conn, case_id, at=now, user_id=user_id, actor=name, kind="created", details=details
    )
    _audit(conn, ws_id, actor, "case.create", case_id, details, now)
    return present(conn, _load(conn, ws_id, case_id), now)


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """The inbox's filters. ``view``: "mine", "unassigned", "overdue" or "mentioning" (cases
    whose notes @mention the viewer) — the saved views;
    ``statuses`` defaults to the active ones (new, open, waiting)."""

    statuses: tuple[str, ...] = ACTIVE
    assignee: str | None = None
    watch: str | None = None
    priorities: tuple[str, ...] = ()
    channel: str | None = None
    lang: str | None = None
    tag: str | None = None
    view: str | None = None


VIEWS: Final = ("mine", "unassigned", "overdue", "mentioning")


def _conditions(
    conn: Connection, ws_id: int, query: CaseQuery, viewer_id: int | None, now: datetime
) -> q.CaseConditions:
    for status in query.statuses:
        _check_choice(status, STATUSES, "status")
    for priority in query.priorities:
        _check_choice(priority, PRIORITIES, "priority")
    assignee_id: int | None = None
    unassigned = False
    if query.view is not None:
        _check_choice(query.view, VIEWS, "view")
    if query.view in ("mine", "mentioning") and viewer_id is None:
        raise ConfigError(f"'{query.view}' needs a signed-in member")
    if query.view == "mine" or query.assignee == "me":
        if viewer_id is None:
            raise ConfigError("'mine' needs a signed-in member")
        assignee_id = viewer_id
    elif query.view == "unassigned" or query.assignee == "none":
        unassigned = True
    elif query.assignee:
        found = aq.find_user(conn, query.assignee.strip().lower())
        assignee_id = found.id if found is not None else -1
    watch_id: int | None = None
    if query.watch:
        watch_id = wq.get_by_name(conn, ws_id, query.watch).id
    return q.CaseConditions(
        statuses=query.statuses or None,
        assignee_id=assignee_id,
        unassigned=unassigned,
        watch_id=watch_id,
        priorities=query.priorities or None,
        channel=query.channel or None,
        lang=query.lang or None,
        tag=normalise_tag(query.tag) if query.tag else None,
        overdue_at=now if query.view == "overdue" else None,
        mentioning=viewer_id if query.view == "mentioning" else None,
    )


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(cursor)
    except ValueError:
        raise ConfigError("this cursor is not one the inbox gave") from None
    if value < 0:
        raise ConfigError("this cursor is not one the inbox gave")
    return value


def list_cases(
    engine: Engine,
    workspace: str,
    query: CaseQuery | None = None,
    *,
    viewer_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> CasePage:
    """The inbox, riskiest first (then the longest waiting), filtered by ``query``."""
    at = _now(now)
    limit = max(1, min(limit, PAGE_MAX))
    start = _offset(cursor)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        flt = _conditions(conn, ws.id, query or CaseQuery(), viewer_id, at)
        rows = q.list_cases(conn, ws.id, flt)
        tags: dict[int, list[str]] = {}
        ids = [r.id for r in rows]
        for i in range(0, len(ids), 500):
            tags.update(q.tags(conn, ids[i : i + 500]))
        shown = [present(conn, r, at, tags=tags.get(r.id, [])) for r in rows]
    shown.sort(key=lambda c: (-c.risk, c.row.created_at, c.id))
    chunk = shown[start : start + limit]
    more = start + limit < len(shown)
    return CasePage(cases=chunk, total=len(shown), next_cursor=str(start + limit) if more else None)


def get_case(
    engine: Engine, workspace: str, case_id: int, *, now: datetime | None = None
) -> CaseDetail:
    at = _now(now)
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _load(conn, ws.id, case_id)
        mention = (
            q.mention_facts(conn, ws.id, row.mention_id) if row.mention_id is not None else None
        )
        since = at - timedelta(seconds=PRESENCE_SECONDS)
        return CaseDetail(
            case=present(conn, row, at),
            mention=mention,
            events=q.events(conn, case_id),
            notes=q.notes(conn, case_id),
            replies=q.replies(conn, case_id),
            presence=[Presence(*p) for p in q.presence(conn, case_id, since)],
        )


def update_case(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    status: str | _Unset = UNSET,
    priority: str | _Unset = UNSET,
    assignee: int | str | _Unset | None = UNSET,
    reason: str | None = None,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Change a case's status, priority or assignee in one step.

    ``version``: the version the caller saw; when someone changed the case since, nothing is
    written and :class:`CaseConflict` says so (the second of two agents assigning at once).
    Assigning a new case opens it; resolving sets ``resolved_at``; reopening clears it;
    ignoring needs a ``reason``.
    """
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        row = _load(conn, ws.id, case_id)
        if version is not None and version != row.version:
            raise CaseConflict(
                f"case #{case_id} was changed by someone else (version {row.version}, "
                f"you saw {version}): reload it",
                current_version=row.version,
            )
        values: dict[str, Any] = {}
        events: list[tuple[str, dict[str, Any]]] = []
        if not isinstance(assignee, _Unset):
            holder = _assignee(conn, ws.id, assignee)
            new_id = holder.id if holder is not None else None
            if new_id != row.assignee_id:
                values["assignee_id"] = new_id
                events.append(
                    ("assign", {"from": row.assignee, "to": holder.email if holder else None})
                )
                if holder is not None and row.status == "new" and isinstance(status, _Unset):
                    status = "open"
        if not isinstance(priority, _Unset):
            _check_choice(priority, PRIORITIES, "priority")
            if priority != row.priority:
                values["priority"] = priority
                due = timing.due_times(conn, ws.id, priority=priority, start=row.created_at)
                values["first_response_due_at"] = due.first_response
                values["resolution_due_at"] = due.resolution
                events.append(("priority", {"from": row.priority, "to": priority}))
        if not isinstance(status, _Unset) and status != row.status:
            _check_choice(status, STATUSES, "status")
            if status not in TRANSITIONS[row.status]:
                raise BadTransition(f"a {row.status} case cannot become {status}")
            details: dict[str, Any] = {"from": row.status, "to": status}
            if status == "ignored":
                if not reason or not reason.strip():
                    raise BadTransition("say why the case is ignored (a reason is required)")
                values["ignored_reason"] = reason.strip()[:1000]
                details["reason"] = values["ignored_reason"]
            if status == "resolved":
                values["resolved_at"] = at
            if row.status in ("resolved", "ignored"):
                values["resolved_at"] = None
                values["ignored_reason"] = None
            values["status"] = status
            events.append(("status", details))
        if not values:
            return present(conn, row, at)
        values["updated_at"] = at
        if not q.update_case(conn, case_id, values, expected_version=row.version):
            current = _load(conn, ws.id, case_id)
            raise CaseConflict(
                f"case #{case_id} was changed by someone else meanwhile: reload it",
                current_version=current.version,
            )
        user_id, name = _who(conn, actor)
        for kind, details in events:
            q.insert_event(
                conn, case_id, at=at, user_id=user_id, actor=name, kind=kind, details=details
            )
            _audit(conn, ws.id, actor, f"case.{kind}", case_id, details, at)
        return present(conn, _load(conn, ws.id, case_id), at)


def mentioned_members(conn: Connection, ws_id: int, text: str) -> list[User]:
    """Members named in ``text`` as ``@email`` or ``@local-part`` of their e-mail."""
    members = [user for user, _ in aq.members(conn, ws_id)]
    by_email = {u.email.lower(): u for u in members}
    by_local: dict[str, list[User]] = {}
    for u in members:
        by_local.setdefault(u.email.split("@", 1)[0].lower(), []).append(u)
    found: dict[int, User] = {}
    for match in _MENTION.finditer(text):
        token = match.group(1).rstrip(".").lower()
        user = by_email.get(token)
        if user is None and len(by_local.get(token, [])) == 1:
            user = by_local[token][0]
        if user is not None:
            found.setdefault(user.id, user)
    return list(found.values())


def add_note(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    text: str,
    now: datetime | None = None,
) -> q.NoteRow:
    """An internal note (never shown to the author); @mentioned teammates are recorded."""
    body = text.strip()
    if not body:
        raise ConfigError("a note needs some text")
    if len(body) > NOTE_MAX_CHARS:
        raise ConfigError(f"a note holds at most {NOTE_MAX_CHARS} characters")
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        _load(conn, ws.id, case_id)
        user_id, name = _who(conn, actor)
        mentioned = mentioned_members(conn, ws.id, body)
        note_id = q.insert_note(
            conn,
            case_id,
            user_id=user_id,
            author=name,
            text=body,
            mentioned=[u.id for u in mentioned],
            at=at,
        )
        details = {"note_id": note_id, "mentioned": [u.email for u in mentioned]}
        q.insert_event(
            conn, case_id, at=at, user_id=user_id, actor=name, kind="note", details=details
        )
        q.update_case(conn, case_id, {"updated_at": at}, bump=False)
        _audit(conn, ws.id, actor, "case.note", case_id, details, at)
        return next(n for n in q.notes(conn, case_id) if n.id == note_id)


def tag_case(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    actor: User | str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    now: datetime | None = None,
) -> Case:
    at = _now(now)
    added_tags = [normalise_tag(t) for t in add]
    removed_tags = [normalise_tag(t) for t in remove]
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        _load(conn, ws.id, case_id)
        added = q.add_tags(conn, ws.id, case_id, added_tags)
        removed = q.remove_tags(conn, case_id, removed_tags) if removed_tags else 0
        if added or removed:
            user_id, name = _who(conn, actor)
            details = {"added": added, "removed": removed_tags if removed else []}
            q.insert_event(
                conn, case_id, at=at, user_id=user_id, actor=name, kind="tag", details=details
            )
            q.update_case(conn, case_id, {"updated_at": at}, bump=False)
            _audit(conn, ws.id, actor, "case.tag", case_id, details, at)
        return present(conn, _load(conn, ws.id, case_id), at)


def see_case(
    engine: Engine,
    workspace: str,
    case_id: int,
    *,
    user_id: int,
    activity: str = "viewing",
    now: datetime | None = None,
) -> list[Presence]:
    """Record that ``user_id`` has the case open (or is replying: ``activity`` "replying"),
    and return the *other* teammates seen on it in the last two minutes: the collision
    warning."""
    _check_choice(activity, ("viewing", "replying"), "activity")
    at = _now(now)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        _load(conn, ws.id, case_id)
        q.set_presence(conn, case_id, user_id, activity, at)
        since = at - timedelta(seconds=PRESENCE_SECONDS)
        return [Presence(*p) for p in q.presence(conn, case_id, since) if p[0] != user_id]
