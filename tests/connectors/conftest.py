"""Fixtures of the connector tests: a local HTTP server (see server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server import LocalHTTPServer


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A server on 127.0.0.1; register routes, fetch ``http_server.url(path)``."""
    with LocalHTTPServer() as server:
        yield server
