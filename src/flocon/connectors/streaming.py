"""Long-lived reads for real-time connectors: Server-Sent Events and WebSockets, behind the SSRF guard.

:class:`~flocon.connectors.http.HttpClient` reads whole bodies under a total timeout;
a stream never ends, so the real-time connectors open their connections here, from
the same :class:`~flocon.connectors.http.HttpConfig` and through the same address guard
(:mod:`flocon.connectors.http.guard`): every host is resolved, refused if any address
is private (unless the settings allow it), and connected to at the checked addresses.

* :func:`open_sse` opens a ``text/event-stream`` response
  (:class:`SseParser` is the pure line parser);
* :func:`open_websocket` opens a ``websockets`` client connection.

Errors are the connector error tree: :class:`~flocon.errors.BlockedAddress`,
:class:`~flocon.errors.AuthFailed` (401/403), :class:`~flocon.errors.FetchError`
(network, other statuses, a dropped connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpcore
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from flocon.connectors.base import FetchResult
from flocon.connectors.http import HttpClient, redact_url
from flocon.connectors.http.failures import network_problem, status_error
from flocon.connectors.http.guard import (
    AddressPolicy,
    GuardedBackend,
    GuardedTransport,
    PrivateAddressError,
    normalize_host,
    system_resolver,
)
from flocon.domain.models import Draft
from flocon.errors import BlockedAddress, FetchError, ResponseTooLarge

__all__ = [
    "Reconnects",
    "SseEvent",
    "SseParser",
    "StreamItem",
    "batches",
    "open_sse",
    "open_websocket",
]

logger = logging.getLogger(__name__)

#: How long a stream may stay silent (no byte, no heartbeat) before it counts as dropped.
IDLE_TIMEOUT_S: Final = 90.0
#: The longest SSE line or WebSocket message accepted.
MAX_MESSAGE_BYTES: Final = 2**20
_ALLOW_PRIVATE_HINT: Final = "set FLOCON_ALLOW_PRIVATE_ADDRESSES=true to allow self-hosted sources"


def _policy(http: HttpClient) -> AddressPolicy:
    return AddressPolicy.build(
        allow_private=http.config.allow_private_addresses,
        allowed_hosts=http.config.allowed_hosts,
    )


# --------------------------------------------------------------------------- Server-Sent Events


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its type (``message`` when unnamed) and data lines joined by \\n."""

    event: str
    data: str
    id: str | None = None


@dataclass(slots=True)
class SseParser:
    """The event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html),
    one line at a time; pure. Comment lines (``:heartbeat``) are counted in ``comments``."""

    comments: int = 0
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> SseEvent | None:
        """The event that a blank ``line`` completes, else None."""
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


@contextlib.asynccontextmanager
async def open_sse(
    http: HttpClient,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    source: str,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> AsyncIterator[AsyncIterator[SseEvent]]:
    """Open a GET ``url`` answered with an event stream; the body yields its events.

    The connection is open (and its status checked) when the ``async with`` body starts,
    so a caller can read what it missed elsewhere without missing new events. The end
    of the stream raises :class:`FetchError`, as a dropped connection does: a stream is
    never meant to end. Redirects are followed, each hop checked by the guard
    (credentials are not sent to another host).
    """
    config = http.config
    shown = redact_url(url)
    timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s, read=idle_timeout_s)
    client = httpx.AsyncClient(
        transport=GuardedTransport(_policy(http), system_resolver),
        follow_redirects=True,
        max_redirects=config.max_redirects,
        trust_env=False,
        timeout=timeout,
        headers={
            "User-Agent": config.user_agent,
            "Accept": "text/event-stream",
            "Accept-Encoding": "identity",
            "Cache-Control": "no-cache",
        },
    )
    try:
        async with client:
            request = client.build_request("GET", url, headers=headers, params=params)
            response = await client.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    raise status_error(response.status_code, shown, 1, None)
                yield _events(response, shown, source)
            finally:
                await response.aclose()
    except PrivateAddressError as exc:
        raise BlockedAddress(
            f"refused to stream {shown}: {exc}; {_ALLOW_PRIVATE_HINT}", url=shown, source=source
        ) from None
    except httpx.TooManyRedirects:
        raise FetchError(f"too many redirects opening {shown}", url=shown, source=source) from None
    except httpx.TransportError as exc:
        problem = network_problem(exc, httpx.URL(url), config)
        raise FetchError(
            f"the stream {shown} dropped: {problem}", url=shown, source=source
        ) from exc


async def _events(response: httpx.Response, shown: str, source: str) -> AsyncIterator[SseEvent]:
    parser = SseParser()
    async for line in _lines(response.aiter_raw(), shown):
        event = parser.feed(line)
        if event is not None:
            yield event
    raise FetchError(f"the stream {shown} was closed by the server", url=shown, source=source)


async def _lines(chunks: AsyncIterator[bytes], shown: str) -> AsyncIterator[str]:
    """Lines of a byte stream (LF or CRLF), each at most :data:`MAX_MESSAGE_BYTES`."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.removesuffix(b"\r").decode("utf-8", errors="replace")
        if len(buffer) > MAX_MESSAGE_BYTES:
            raise ResponseTooLarge(
                f"the stream {shown} sent a line of more than {MAX_MESSAGE_BYTES} bytes", url=shown
            )


# --------------------------------------------------------------------------- WebSockets


async def open_websocket(
    http: HttpClient, url: str, *, source: str, open_timeout_s: float | None = None
) -> ClientConnection:
    """A WebSocket connection to ``url`` (``wss://``; ``ws://`` only where private
    addresses are allowed), opened at an address the guard checked. Close it after use."""
    config = http.config
    shown = redact_url(url)
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("ws", "wss") or not host:
        raise BlockedAddress(f"refused to open {shown}: not a ws(s):// address", url=shown)
    policy = _policy(http)
    if parts.scheme == "ws" and not (
        policy.allow_private or normalize_host(host) in policy.allowed_hosts
    ):
        raise BlockedAddress(
            f"refused to open {shown}: unencrypted ws:// is only for self-hosted services; "
            f"use wss:// or {_ALLOW_PRIVATE_HINT}",
            url=shown,
            source=source,
        )
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise FetchError(f"{shown} has an invalid port", url=shown, source=source) from None
    timeout = open_timeout_s if open_timeout_s is not None else config.connect_timeout_s
    try:
        addresses = await GuardedBackend(policy, system_resolver).resolve(host, port, timeout)
    except PrivateAddressError as exc:
        raise BlockedAddress(
            f"refused to open {shown}: {exc}; {_ALLOW_PRIVATE_HINT}", url=shown, source=source
        ) from None
    except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
        raise FetchError(f"cannot open {shown}: {exc}", url=shown, source=source) from exc
    problem = "no address"
    for address in addresses:
        try:
            return await connect(
                url,
                host=address,
                port=port,
                proxy=None,
                open_timeout=timeout,
                user_agent_header=config.user_agent,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
            )
        except InvalidStatus as exc:
            raise status_error(exc.response.status_code, shown, 1, None) from None
        except (OSError, TimeoutError, InvalidHandshake, asyncio.IncompleteReadError) as exc:
            logger.debug("opening %s at %s failed: %s", shown, address, exc)
            problem = str(exc) or type(exc).__name__
    raise FetchError(f"cannot open {shown} ({problem})", url=shown, source=source)


# --------------------------------------------------------------------------- batches


@dataclass(frozen=True, slots=True)
class StreamItem:
    """What one message of a stream gave: a draft (None: progress only) and the cursor after it."""

    draft: Draft | None
    cursor: dict[str, Any]


async def batches(
    items: AsyncGenerator[StreamItem, None],
    *,
    cursor: Mapping[str, Any],
    max_seconds: float | None,
    max_items: int | None,
    idle_yield_s: float | None = None,
    until: float | None = None,
) -> AsyncIterator[FetchResult]:
    """Group a connector's stream items into batches, each with the cursor to store with it.

    A batch closes after ``max_seconds`` (None: no time bound) or ``max_items`` drafts;
    a batch without a draft is yielded only if the cursor moved, or when ``idle_yield_s``
    passed since the last one (a sign of life; 0: always). At ``until`` (event loop
    time) the last batch is yielded and iteration ends. Drafts are deduplicated by id
    within a batch. ``items`` is read by a task, so a silent stream still closes batches
    on time; it is cancelled when iteration stops.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[StreamItem | BaseException | None] = asyncio.Queue(maxsize=1000)

    async def pump() -> None:
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    await queue.put(item)
        except Exception as exc:
            await queue.put(exc)
        else:
            await queue.put(None)

    task = asyncio.create_task(pump())
    current = dict(cursor)
    last_yield = loop.time()
    try:
        while True:
            start = loop.time()
            close_at = min(
                start + max_seconds if max_seconds is not None else math.inf,
                until if until is not None else math.inf,
            )
            found: dict[str, Draft] = {}
            moved = False
            ended: BaseException | None = None
            finished = False
            while max_items is None or len(found) < max_items:
                remaining = close_at - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(None if math.isinf(remaining) else remaining):
                        got = await queue.get()
                except TimeoutError:
                    break
                if got is None or isinstance(got, BaseException):
                    ended, finished = (got if isinstance(got, BaseException) else None), True
                    break
                if got.draft is not None:
                    found.setdefault(got.draft.external_id or "", got.draft)
                if got.cursor != current:
                    current, moved = got.cursor, True
            now = loop.time()
            idle = idle_yield_s is not None and now - last_yield >= idle_yield_s
            if found or moved or idle or (finished and ended is None):
                last_yield = now
                yield FetchResult(list(found.values()), dict(current), note=f"{len(found)} items")
            if ended is not None:
                raise ended
            if finished or (until is not None and now >= until):
                return
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Reconnects:
    """When to reopen a dropped stream: after a growing pause, at most ``tries`` times in a
    row (then the error goes up to the runner). A message, or a connection that stayed
    open ``healthy_s``, starts the count again."""

    def __init__(
        self, *, first_s: float, max_s: float = 60.0, tries: int = 5, healthy_s: float = 60.0
    ) -> None:
        self._first_s = first_s
        self._max_s = max_s
        self._tries = tries
        self._healthy_s = healthy_s
        self._failures = 0
        self._opened_at: float | None = None

    def opened(self) -> None:
        self._opened_at = asyncio.get_running_loop().time()

    def received(self) -> None:
        """A message arrived: the connection works, start counting again."""
        self._failures = 0

    async def after(self, error: Exception, *, what: str) -> None:
        """Wait before reconnecting after ``error``, or raise it when it keeps happening."""
        now = asyncio.get_running_loop().time()
        if self._opened_at is not None and now - self._opened_at >= self._healthy_s:
            self._failures = 0
        self._opened_at = None
        self._failures += 1
        if self._failures > self._tries:
            raise error
        delay = min(self._max_s, self._first_s * 2 ** (self._failures - 1))
        logger.warning("%s: %s; reconnecting in %.1f s", what, error, delay)
        await asyncio.sleep(delay)
