"""Use cases on workspaces."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from flocon.domain.models import Workspace
from flocon.errors import FloconError
from flocon.storage.engine import read, write
from flocon.storage.queries import workspaces as q

DEFAULT = "default"
_NAME = re.compile(r"^[\w][\w .\-]{0,99}$", re.UNICODE)


def list_workspaces(engine: Engine) -> list[Workspace]:
    with read(engine) as conn:
        return q.list_all(conn)


def get_workspace(engine: Engine, name: str) -> Workspace:
    with read(engine) as conn:
        return q.get_by_name(conn, name)


def add_workspace(engine: Engine, name: str) -> Workspace:
    name = name.strip()
    if not _NAME.match(name):
        raise FloconError(
            f"invalid workspace name {name!r}: use letters, digits, spaces, '.', '-' or '_' "
            "(at most 100 characters)"
        )
    with write(engine) as conn:
        return q.create(conn, name)


def remove_workspace(engine: Engine, name: str) -> None:
    if name == DEFAULT:
        raise FloconError("the default workspace cannot be removed")
    with write(engine) as conn:
        q.remove(conn, q.get_by_name(conn, name).id)
