"""Every page and API route of a workspace is guarded: without a session it sends to the
login page (pages) or answers 401 (API); a member of another workspace gets 404 (as if the
workspace did not exist), whatever the method. Routes are read from the app itself, so a new
route is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
FILLERS = {"ws": "default", "id": "1", "name": "Acme", "token": "x" * 20}


def _flatten(routes: list[Any]) -> list[tuple[set[str], str]]:
    """(methods, path) of every endpoint, through included routers (whose shape depends on
    the FastAPI version)."""
    found: list[tuple[set[str], str]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((set(route.methods), route.path))
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                found.append((set(context.methods or ()), context.path))
    return found


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    found = set()
    for methods, path in _flatten(list(app.routes)):
        if "{ws}" not in path:
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    return sorted(found)


def _url(path: str, ws: str) -> str:
    return PARAM.sub(lambda m: ws if m.group(1) == "ws" else FILLERS.get(m.group(1), "1"), path)


def test_the_app_has_workspace_routes(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) > 60
    paths = {p for _, p in routes}
    assert "/w/{ws}/dashboard" in paths
    assert "/api/v1/workspaces/{ws}/mentions" in paths


def test_without_a_session_nothing_is_served(
    app: FastAPI, client: TestClient, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("route guards do not depend on the database")
    problems = []
    for method, path in _routes(app):
        url = _url(path, "default")
        response = client.request(method, url)
        if path.startswith("/api/"):
            ok = response.status_code == 401
        else:
            ok = response.status_code in (303, 403) and (
                response.status_code == 403
                or response.headers.get("location", "").startswith("/login")
            )
        if not ok:
            problems.append(f"{method} {url}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_a_member_of_another_workspace_gets_404_everywhere(
    app: FastAPI,
    client: TestClient,
    make_member: Callable[..., Any],
    sign_in: Callable[..., str],
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("route guards do not depend on the database")
    make_member("owner", workspace="default")
    stranger = make_member("owner", workspace="other")
    token = sign_in(client, stranger)
    problems = []
    for method, path in _routes(app):
        url = _url(path, "default")
        headers = {"X-CSRF-Token": token}
        response = client.request(method, url, headers=headers)
        if response.status_code != 404:
            problems.append(f"{method} {url}: {response.status_code}")
    assert not problems, "\n".join(problems)
