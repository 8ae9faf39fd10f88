"""A local HTTP server for connector tests, on a loopback address, in a background thread.

Routes are registered per test; every request is recorded::

    http_server.route("/feed.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
    http_server.route_sequence("/flaky", [Reply(503), Reply(200, b"ok")])
    http_server.route_handler("/cond", lambda req: Reply(304) if req.headers.get("if-none-match") == '"v1"' else Reply(200, b"new", {"ETag": '"v1"'}))
    http_server.redirect("/old", "/new")
    ... fetch http_server.url("/feed.xml") ...
    assert http_server.requests[0].headers["user-agent"].startswith("flocon")

A :class:`Reply` can also misbehave: wait before answering (``delay``), stream
``chunks`` (a list, or a function returning a fresh iterator for each request, even
an endless generator; a bare generator is used up by the first request), lie about
``Content-Length``,
use chunked or close-delimited framing, or hang up after ``truncate_at`` bytes.
Unknown paths answer 404. ``LocalHTTPServer(tls=context)`` serves HTTPS with that
server-side :class:`ssl.SSLContext`. Waits happen on an event that :meth:`LocalHTTPServer.close`
sets, so a server that "never answers" still shuts down at once.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, Self
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass(frozen=True)
class Reply:
    """One response. ``framing`` defaults to ``length`` for ``body``, ``chunked`` for ``chunks``."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: Iterable[bytes] | Callable[[], Iterable[bytes]] | None = None
    chunk_delay: float = 0.0
    framing: Literal["length", "chunked", "close"] | None = None
    content_length: int | None = None
    truncate_at: int | None = None


@dataclass
class RecordedRequest:
    """A request the server received, and how its reply went."""

    method: str
    path: str
    headers: httpx.Headers
    body: bytes
    client_address: str
    bytes_sent: int = 0
    aborted: bool = False
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def wait_finished(self, timeout: float = 5.0) -> None:
        """Wait until the reply is sent or the client went away."""
        if not self.finished.wait(timeout):
            raise AssertionError(f"the reply to {self.method} {self.path} did not finish")


Handler = Callable[[RecordedRequest], Reply]


class LocalHTTPServer:
    """A threaded HTTP/1.1 server on ``host`` (any 127.x.y.z address on Linux), port chosen freely."""

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._routes: dict[str, Handler] = {}
        self._requests: list[RecordedRequest] = []
        self._sockets: set[socket.socket] = set()
        self._active = 0
        self.peak_concurrency = 0
        self._httpd = _Server((host, 0), _RequestHandler, self)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- routes ------------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def route(
        self,
        path: str,
        status: int = 200,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        *,
        delay: float = 0.0,
        **options: object,
    ) -> None:
        """Answer every request to ``path`` the same way (``options``: other Reply fields)."""
        reply = Reply(status, body, dict(headers or {}), delay, **options)  # type: ignore[arg-type]
        self.route_handler(path, lambda _request: reply)

    def route_sequence(self, path: str, replies: Sequence[Reply]) -> None:
        """Answer successive requests with ``replies`` in turn; the last one repeats."""
        if not replies:
            raise ValueError("route_sequence needs at least one reply")
        remaining = list(replies)

        def next_reply(_request: RecordedRequest) -> Reply:
            with self._lock:
                return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        self.route_handler(path, next_reply)

    def route_handler(self, path: str, handler: Handler) -> None:
        """Let ``handler`` build the reply from the request (conditional GET, auth checks...)."""
        with self._lock:
            self._routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.route(path, status, headers={"Location": location})

    # -- what happened -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == path]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Poll until ``count`` requests arrived (no fixed sleep)."""
        deadline = time.monotonic() + timeout
        while len(requests := self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} requests, got {len(requests)}")
            time.sleep(0.005)
        return requests

    # -- life cycle ----------------------------------------------------------------------

    def close(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # wake handlers blocked on idle keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- used by the handler thread ------------------------------------------------------

    def _record(self, request: RecordedRequest) -> Handler | None:
        with self._lock:
            self._requests.append(request)
            self._active += 1
            self.peak_concurrency = max(self.peak_concurrency, self._active)
            return self._routes.get(request.route)

    def _done(self, request: RecordedRequest) -> None:
        with self._lock:
            self._active -= 1
        request.finished.set()

    def _wait(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the server is closing meanwhile."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: LocalHTTPServer,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up are part of the tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        if self.server.owner.tls is not None:  # handshake here, in the handler's thread
            self.request.settimeout(5)
            self.request = self.server.owner.tls.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()
        with self.server.owner._lock:
            self.server.owner._sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._lock:
            self.server.owner._sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()
        if self.server.owner.tls is not None:
            self.connection.close()  # the TLS wrapper owns the socket now

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _dispatch(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=httpx.Headers(list(self.headers.items())),
            body=self.rfile.read(length) if length else b"",
            client_address=self.client_address[0],
        )
        handler = owner._record(request)
        try:
            reply = handler(request) if handler else Reply(404, b"no such route")
            self._send(reply, request)
        except OSError:
            request.aborted = True
            self.close_connection = True
        finally:
            owner._done(request)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _send(self, reply: Reply, request: RecordedRequest) -> None:
        owner = self.server.owner
        if not owner._wait(reply.delay):
            self.close_connection = True
            return
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        framing = reply.framing or ("chunked" if reply.chunks is not None else "length")
        self.send_response(reply.status)
        names = {name.lower() for name in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if framing == "length" and "content-length" not in names:
            declared = reply.content_length
            if declared is None:
                if reply.chunks is not None:
                    raise ValueError("Reply(chunks=..., framing='length') needs content_length")
                declared = len(body)
            self.send_header("Content-Length", str(declared))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif framing == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        chunks = reply.chunks() if callable(reply.chunks) else reply.chunks
        pieces = chunks if chunks is not None else [body]
        for index, piece in enumerate(pieces):
            if index and not owner._wait(reply.chunk_delay):
                self.close_connection = True
                return
            if reply.truncate_at is not None:
                piece = piece[: max(0, reply.truncate_at - request.bytes_sent)]
            if piece:
                if framing == "chunked":
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
                request.bytes_sent += len(piece)
            if reply.truncate_at is not None and request.bytes_sent >= reply.truncate_at:
                self.close_connection = True  # hang up mid-body
                return
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
