"""Tags and mutes: the labels a team puts on mentions, and the authors and sites it hides.

Bulk actions of the mentions page. Ids that are not mentions of the workspace are ignored
(never touched), and each action returns how many mentions it changed. A mute hides an
author's or a site's mentions from lists and top lists; nothing is deleted, and volume
charts (read from the rollups) still count them.

Every change is written to the audit log (flocon.services.accounts.record) in its own
transaction. Values are normalised here, once, so that filters and mutes compare like with like:
a tag is stripped, lower-cased, its inner spaces collapsed (1 to 50 characters, no control
characters); an author is its key as ingest stores it (handle or name, lower case, no
``@``); a site is a host in lower case without ``www.`` (an address gives its host).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy import Connection, Engine

from flocon.domain.normalize import site_of
from flocon.errors import ConfigError, NotFound
from flocon.services import accounts
from flocon.storage.engine import read, write
from flocon.storage.queries import tags as q
from flocon.storage.queries import workspaces as wsq

__all__ = [
    "MAX_IDS",
    "TAG_MAX_CHARS",
    "Mute",
    "MuteKind",
    "author_key",
    "list_mutes",
    "list_tags",
    "mute",
    "normalise_tag",
    "site_key",
    "tag_mentions",
    "unmute",
    "untag_mentions",
]

TAG_MAX_CHARS: Final = 50
#: The most mentions one bulk action may name.
MAX_IDS: Final = 10_000
_VALUE_MAX_CHARS: Final = 300
#: Mention ids listed in an audit entry (the count is always there).
_AUDIT_IDS: Final = 200

MuteKind = Literal["author", "site"]


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in value)


def normalise_tag(tag: str) -> str:
    """The stored form of a tag; ConfigError when it cannot be one."""
    value = tag.strip()
    if _has_control(value):
        raise ConfigError("a tag may not hold control characters")
    value = " ".join(value.split()).lower()
    if not 1 <= len(value) <= TAG_MAX_CHARS:
        raise ConfigError(f"a tag must have between 1 and {TAG_MAX_CHARS} characters")
    return value


def author_key(value: str) -> str:
    """An author's key as ingest stores it: handle (or name), lower case, without ``@``."""
    key = value.strip().lstrip("@").strip().lower()
    if not key or len(key) > _VALUE_MAX_CHARS or _has_control(key):
        raise ConfigError(
            f"an author must be a handle or name of 1 to {_VALUE_MAX_CHARS} characters"
        )
    return key


def site_key(value: str) -> str:
    """A site as mentions store it: its host, lower case, without ``www.``."""
    raw = value.strip()
    if "://" in raw:
        host = site_of(raw)
    else:
        host = raw.split("/", 1)[0].lower().rstrip(".").removeprefix("www.")
    if (
        not host
        or len(host) > _VALUE_MAX_CHARS
        or _has_control(host)
        or any(c.isspace() for c in host)
    ):
        raise ConfigError(f"{value!r} is not a site: give a host such as example.com")
    return host


def _ids(ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if len(wanted) > MAX_IDS:
        raise ConfigError(f"at most {MAX_IDS} mentions at once")
    return wanted


def _audit(
    conn: Connection,
    workspace_id: int,
    actor: str,
    action: str,
    ids: Sequence[int],
    details: Mapping[str, object],
    now: datetime,
) -> None:
    """An audit entry for a bulk action on mentions (the first ids, and how many)."""
    accounts.record(
        conn,
        workspace_id=workspace_id,
        actor=actor,
        action=action,
        object_type="mention",
        object_id=ids[0] if len(ids) == 1 else None,
        details={**details, "mentions": len(ids), "ids": list(ids[:_AUDIT_IDS])},
        now=now,
    )


def tag_mentions(
    engine: Engine, workspace: str, ids: Iterable[int], tag: str, *, actor: str
) -> int:
    """Put ``tag`` on the mentions ``ids``; returns how many did not carry it yet."""
    value = normalise_tag(tag)
    wanted = _ids(ids)
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        mine = q.in_workspace(conn, ws.id, wanted)
        done = q.add_tag(conn, ws.id, mine, value, by=actor, now=now)
        if done:
            _audit(conn, ws.id, actor, "mention.tag", mine, {"tag": value, "tagged": done}, now)
        return done


def untag_mentions(
    engine: Engine, workspace: str, ids: Iterable[int], tag: str, *, actor: str
) -> int:
    """Take ``tag`` off the mentions ``ids``; returns how many carried it."""
    value = normalise_tag(tag)
    wanted = _ids(ids)
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        mine = q.in_workspace(conn, ws.id, wanted)
        done = q.remove_tag(conn, ws.id, mine, value)
        if done:
            details = {"tag": value, "untagged": done}
            _audit(conn, ws.id, actor, "mention.untag", mine, details, now)
        return done


def list_tags(engine: Engine, workspace: str) -> list[tuple[str, int]]:
    """The workspace's tags with their number of mentions, most used first."""
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        return q.tag_counts(conn, ws.id)


@dataclass(frozen=True, slots=True)
class Mute:
    kind: MuteKind
    value: str
    created_at: datetime
    created_by: str | None


def _key(kind: str, value: str) -> str:
    if kind == "author":
        return author_key(value)
    if kind == "site":
        return site_key(value)
    raise ConfigError(f"one mutes an author or a site, not {kind!r}")


def mute(engine: Engine, workspace: str, *, kind: MuteKind, value: str, actor: str) -> None:
    """Hide an author's or a site's mentions (a site's subdomains too); muting twice is
    harmless."""
    key = _key(kind, value)
    now = datetime.now(UTC)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        if q.add_mute(conn, ws.id, kind, key, by=actor, now=now):
            accounts.record(
                conn,
                workspace_id=ws.id,
                actor=actor,
                action="mute.add",
                object_type=kind,
                object_id=key,
                now=now,
            )


def unmute(engine: Engine, workspace: str, *, kind: MuteKind, value: str, actor: str) -> None:
    """Show an author's or a site's mentions again; NotFound when it was not muted."""
    key = _key(kind, value)
    with write(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        if not q.remove_mute(conn, ws.id, kind, key):
            raise NotFound(f"{kind} {key!r} is not muted")
        accounts.record(
            conn,
            workspace_id=ws.id,
            actor=actor,
            action="mute.remove",
            object_type=kind,
            object_id=key,
        )


def list_mutes(engine: Engine, workspace: str) -> list[Mute]:
    with read(engine) as conn:
        ws = wsq.get_by_name(conn, workspace)
        rows = q.list_mutes(conn, ws.id)
    return [
        Mute(
            kind="author" if r.kind == "author" else "site",
            value=r.value,
            created_at=r.created_at,
            created_by=r.created_by,
        )
        for r in rows
    ]
