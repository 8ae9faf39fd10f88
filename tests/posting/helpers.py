"""Helpers of the posting tests: a local server playing the platform, and a client for it.

The server is the connector tests' :class:`LocalHTTPServer`; the client may reach
127.0.0.1, retries twice and records its back-off waits instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from connectors.server import LocalHTTPServer, RecordedRequest, Reply
from flocon.connectors.http import HttpClient, HttpConfig
from flocon.posting import PostingAccount

T = TypeVar("T")


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON answer, as the platforms send them."""
    return Reply(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def sent_json(request: RecordedRequest) -> Any:
    return json.loads(request.body)


def sent_form(request: RecordedRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


@dataclass
class Platform:
    """The local server and a way to run a posting call against it."""

    server: LocalHTTPServer
    waits: list[float] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.url(path)

    def account(self, platform: str, **credentials: str) -> PostingAccount:
        return PostingAccount(platform, self.server.url("/").rstrip("/"), credentials)

    def run(self, call: Callable[[HttpClient], Awaitable[T]]) -> T:
        async def sleep(seconds: float) -> None:
            self.waits.append(seconds)

        async def go() -> T:
            config = HttpConfig(allowed_hosts=frozenset({"127.0.0.1"}), retries=2)
            async with HttpClient(config, sleep=sleep) as http:
                return await call(http)

        return asyncio.run(go())

    def requests(self, path: str) -> list[RecordedRequest]:
        return self.server.requests_to(path)
