"""Who is asking, and may they? The signed-in user of a request, the workspace it works in,
and role checks, as FastAPI dependencies shared by pages and the REST API.

Pages are signed in with the ``flocon_session`` cookie; the API also accepts
``Authorization: Bearer <token>`` (a workspace's API token). A workspace the user is not a
member of answers 404, exactly as one that does not exist, so its name does not leak; a role
too low answers 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine

from flocon.errors import FloconError, NotFound
from flocon.services import accounts
from flocon.settings import Settings
from flocon.storage.engine import write

SESSION_COOKIE = "flocon_session"


class LoginRequired(FloconError):
    """No valid session or token: pages redirect to the login page, the API answers 401."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request."""

    user: accounts.User
    csrf_token: str
    memberships: tuple[accounts.Membership, ...]
    token: accounts.TokenAuth | None = None

    def role_in(self, workspace: str) -> str | None:
        for m in self.memberships:
            if m.workspace == workspace:
                return m.role
        return None


@dataclass(frozen=True, slots=True)
class Ctx:
    """A request inside one workspace, with the viewer's role there."""

    viewer: Viewer
    workspace: str
    workspace_id: int
    role: str
    engine: Engine
    settings: Settings

    @property
    def actor(self) -> str:
        return self.viewer.user.email

    def can(self, needed: str) -> bool:
        return accounts.role_at_least(self.role, needed)

    def require(self, needed: str) -> None:
        if not self.can(needed):
            raise accounts.PermissionDenied(
                f"this needs the {needed} role or above; yours is {self.role}"
            )


def audit(
    ctx: Ctx,
    action: str,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Record a write made from a page or the API in the audit log, with the API token's id
    when one was used (never a secret in ``details``)."""
    entry = dict(details or {})
    if ctx.viewer.token is not None:
        entry["api_token_id"] = ctx.viewer.token.token_id
    with write(ctx.engine) as conn:
        accounts.record(
            conn,
            workspace_id=ctx.workspace_id,
            actor=ctx.viewer.user,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=entry,
        )


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def optional_viewer(request: Request) -> Viewer | None:
    """The viewer, or None when nobody is signed in (cached on the request)."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    engine = engine_of(request)
    viewer: Viewer | None = None
    secret = _bearer(request)
    if secret is not None:
        auth = accounts.authenticate_token(engine, secret)
        if auth is None:
            raise LoginRequired("this API token is unknown, revoked or expired")
        membership = accounts.Membership(
            workspace_id=auth.workspace_id, workspace=auth.workspace, role=auth.role
        )
        viewer = Viewer(user=auth.user, csrf_token="", memberships=(membership,), token=auth)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            info = accounts.session_info(engine, token)
            if info is not None:
                viewer = Viewer(
                    user=info.user,
                    csrf_token=info.csrf_token,
                    memberships=tuple(accounts.memberships(engine, info.user.id)),
                )
    request.state.viewer = viewer
    return viewer


def current_viewer(request: Request) -> Viewer:
    viewer = optional_viewer(request)
    if viewer is None:
        raise LoginRequired("sign in first")
    return viewer


def _ctx(request: Request, viewer: Viewer, membership: accounts.Membership, needed: str) -> Ctx:
    ctx = Ctx(
        viewer=viewer,
        workspace=membership.workspace,
        workspace_id=membership.workspace_id,
        role=membership.role,
        engine=engine_of(request),
        settings=settings_of(request),
    )
    ctx.require(needed)
    request.state.ctx = ctx
    return ctx


def _token_ctx(request: Request, workspace: str | None, needed: str) -> Ctx:
    """The :class:`Ctx` of the ``workspace`` named, or of the viewer's only workspace (the
    API token's one)."""
    viewer = current_viewer(request)
    if workspace:
        chosen = [m for m in viewer.memberships if m.workspace == workspace]
        if not chosen:
            raise NotFound(f"no workspace named {workspace!r}")
    else:
        chosen = list(viewer.memberships)
        if len(chosen) > 1:
            raise WorkspaceNeeded(
                "you are a member of several workspaces: name one with ?workspace=NAME"
            )
        if not chosen:
            raise NotFound("you are not a member of any workspace")
    return _ctx(request, viewer, chosen[0], needed)


def _path_ctx(request: Request, ws: str, needed: str) -> Ctx:
    """The :class:`Ctx` of workspace ``ws``; 404 when the viewer is not a member of it."""
    viewer = current_viewer(request)
    for m in viewer.memberships:
        if m.workspace == ws:
            return _ctx(request, viewer, m, needed)
    raise NotFound(f"no workspace named {ws!r}")


def token_workspace(needed: str = "viewer") -> Callable[[Request, str | None], Ctx]:
    """A dependency for routes without ``{ws}`` in their path (``/api/v1/cases``): the
    workspace of the API token, or the ``workspace`` query parameter, or the user's only
    workspace."""

    def dependency(request: Request, workspace: str | None = None) -> Ctx:
        return _token_ctx(request, workspace, needed)

    return dependency


class WorkspaceNeeded(FloconError):
    """A route without a workspace in its path, called by a member of several."""


def in_workspace(needed: str = "viewer") -> Callable[[Request, str], Ctx]:
    """A dependency giving the :class:`Ctx` of the ``{ws}`` path parameter, at least ``needed``."""

    def dependency(request: Request, ws: str) -> Ctx:
        return _path_ctx(request, ws, needed)

    return dependency


def path_or_token_workspace(needed: str = "viewer") -> Callable[[Request], Ctx]:
    """A dependency for a function served at two paths, ``/workspaces/{ws}/...`` and the same
    without ``{ws}``: the workspace of the ``ws`` path parameter when the path has one (as
    :func:`in_workspace`), else as :func:`token_workspace` (the ``workspace`` query parameter,
    or the API token's workspace). It declares neither parameter, so that each path documents
    only its own: give the routes ``openapi_extra=WS_PATH`` and ``WORKSPACE_QUERY``."""

    def dependency(request: Request) -> Ctx:
        ws = request.path_params.get("ws")
        if ws is not None:
            return _path_ctx(request, ws, needed)
        return _token_ctx(request, request.query_params.get("workspace"), needed)

    return dependency


def _parameter(name: str, where: str, description: str) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "name": name,
                "in": where,
                "required": where == "path",
                "schema": {"type": "string"},
                "description": description,
            }
        ]
    }


#: The OpenAPI parameters read by :func:`path_or_token_workspace`, one for each of its paths.
WS_PATH = _parameter("ws", "path", "The workspace.")
WORKSPACE_QUERY = _parameter(
    "workspace", "query", "The workspace, for a member of several (default: the token's)."
)


#: The dependencies most routes use.
as_viewer = in_workspace("viewer")
as_agent = in_workspace("agent")
as_manager = in_workspace("manager")
as_admin = in_workspace("admin")
as_owner = in_workspace("owner")
