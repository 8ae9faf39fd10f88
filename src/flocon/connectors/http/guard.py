"""The SSRF guard: which addresses flocon may connect to, enforced where sockets are opened.

:class:`GuardedTransport` is an httpx transport over an ``httpcore`` connection pool
whose network backend resolves each host itself, refuses the connection if *any*
address is private (loopback, link-local, CGNAT, multicast, reserved, cloud
metadata...), then connects to the very addresses it checked. A DNS answer cannot
change between the check and the connection (no rebinding), and every redirect hop
to a new host opens a new, checked connection. The ``Host`` header and the TLS
server name stay the original host name, so certificates are verified as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

logger = logging.getLogger(__name__)

#: ``resolver(host, port)`` returns the IP addresses of ``host`` as strings.
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateAddressError(Exception):
    """Raised by the network backend when ``host`` resolves to a refused ``address``.

    Internal: :class:`~flocon.connectors.http.HttpClient` turns it into
    :class:`~flocon.errors.BlockedAddress` with the URL in the message.
    """

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to a private address ({address})")
        self.host = host
        self.address = address


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a global unicast address that is not a metadata endpoint."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return not (
        address in METADATA_ADDRESSES
        or not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot or IPv6 brackets; IP literals in canonical form."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which hosts and addresses may be reached.

    ``allowed_hosts`` holds host names (matched against the URL's host) and IP
    addresses (matched against each resolved address); both are always allowed.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def build(cls, *, allow_private: bool, allowed_hosts: Iterable[str]) -> AddressPolicy:
        return cls(allow_private, frozenset(normalize_host(h) for h in allowed_hosts))

    def refused_address(self, host: str, addresses: Iterable[str]) -> str | None:
        """The first address that may not be reached, or None when all may."""
        if normalize_host(host) in self.allowed_hosts:
            return None
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                return text
            if str(address) in self.allowed_hosts:
                continue
            # Cloud metadata endpoints stay refused even when private addresses are allowed.
            if address in METADATA_ADDRESSES or (not self.allow_private and not is_public(address)):
                return str(address)
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address against the policy, then connect to a checked address."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses of ``host`` (itself for an IP literal), checked against the policy."""
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await self._resolver(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"looking up {host} timed out") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot look up {host} ({exc})") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot look up {host} (no address)")
        refused = self._policy.refused_address(host, addresses)
        if refused is not None:
            logger.warning("refused to connect to %s: it resolves to %s", host, refused)
            raise PrivateAddressError(host, refused)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve(host, port, timeout)
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                logger.debug("connecting to %s (%s) failed: %s", host, address, exc)
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never used by flocon's HTTP client")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore errors as httpx errors, the most specific first (subclasses before bases).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with _httpx_errors():
                await aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 transport with verified TLS whose every connection goes through the guard."""

    def __init__(
        self, policy: AddressPolicy, resolver: Resolver, *, limits: httpx.Limits | None = None
    ) -> None:
        limits = limits or httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=True, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._pool.aclose()
