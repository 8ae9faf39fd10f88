"""Fixtures of the posting tests (helpers in helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.server import LocalHTTPServer
from posting.helpers import Platform


@pytest.fixture
def platform() -> Iterator[Platform]:
    """A local server on 127.0.0.1 playing the platform, and a client allowed to reach it."""
    with LocalHTTPServer() as server:
        yield Platform(server)
