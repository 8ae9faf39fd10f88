"""The one HTTP client every connector uses: limits, retries, redirects and the SSRF guard.

Each hop of a request runs under a total timeout, takes one of the host's
politeness slots, and reads at most ``max_bytes`` of decompressed body. 5xx, 429
and network errors are retried with exponential back-off and full jitter (or the
server's ``Retry-After``); redirects are followed by hand so that each hop goes
through the address guard of :mod:`flocon.connectors.http.guard`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Self

import httpx

from flocon.connectors.http.body import ACCEPT_ENCODING, describe_size, read_body
from flocon.connectors.http.config import HttpConfig
from flocon.connectors.http.failures import (
    RETRYABLE,
    UNSENT,
    TotalTimeout,
    after_attempts,
    bad_certificate,
    duration,
    network_problem,
    parse_retry_after,
    status_error,
)
from flocon.connectors.http.guard import (
    AddressPolicy,
    GuardedTransport,
    PrivateAddressError,
    Resolver,
    normalize_host,
    system_resolver,
)
from flocon.connectors.http.response import HttpResponse
from flocon.connectors.http.urls import is_secret_name, redact_url
from flocon.errors import (
    BlockedAddress,
    FetchError,
    RateLimited,
    ResponseTooLarge,
)
from flocon.settings import Settings

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_ALLOW_PRIVATE_HINT = "set FLOCON_ALLOW_PRIVATE_ADDRESSES=true to allow self-hosted sources"


@dataclass(frozen=True, slots=True)
class _Payload:
    """What a request sends: a JSON value, a form, or nothing."""

    json: Any = None
    data: Mapping[str, str] | None = None


_NO_PAYLOAD = _Payload()


class HttpClient:
    """Shared async HTTP client; use it as ``async with build_http_client(settings) as http``.

    ``resolver`` replaces DNS (tests), ``sleep`` replaces :func:`asyncio.sleep` between
    retries (tests measure the waits instead of waiting).
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        resolver: Resolver | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self._sleep: Sleep = sleep or asyncio.sleep
        self._random = random.Random()
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        policy = AddressPolicy.build(
            allow_private=config.allow_private_addresses, allowed_hosts=config.allowed_hosts
        )
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(policy, resolver or system_resolver),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # No cookie jar shared between sources: cookies live for one redirect chain.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def host_semaphore(self, host: str) -> asyncio.Semaphore:
        """The politeness slots of ``host``: at most ``per_host_limit`` requests at once."""
        key = normalize_host(host)
        semaphore = self._semaphores.get(key)
        if semaphore is None:
            semaphore = self._semaphores[key] = asyncio.Semaphore(self.config.per_host_limit)
        return semaphore

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        accept_statuses: Collection[int] = (),
    ) -> HttpResponse:
        """GET ``url``; statuses in ``accept_statuses`` are returned instead of raised."""
        return await self._request(
            "GET", url, headers=headers, params=params, payload=_NO_PAYLOAD, accept=accept_statuses
        )

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        accept_statuses: Collection[int] = (),
    ) -> HttpResponse:
        """POST a JSON value or a form (OAuth token requests). Network errors are retried
        only when the request cannot have reached the server."""
        return await self._request(
            "POST",
            url,
            headers=headers,
            params=None,
            payload=_Payload(json, data),
            accept=accept_statuses,
        )

    async def put(
        self,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        accept_statuses: Collection[int] = (),
    ) -> HttpResponse:
        """PUT a JSON value or a form (posting connectors: Discourse's unhide)."""
        return await self._request(
            "PUT",
            url,
            headers=headers,
            params=None,
            payload=_Payload(json, data),
            accept=accept_statuses,
        )

    # -- one request: its redirect chain -------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        payload: _Payload,
        accept: Collection[int],
    ) -> HttpResponse:
        start = redact_url(url)
        current = _parse_url(url, start)
        if params:
            current = current.copy_merge_params(params)
        sent_headers = httpx.Headers(headers or {})
        sent_headers.pop("accept-encoding", None)  # the body reader decodes gzip/deflate only
        jar = httpx.Cookies()
        for _ in range(self.config.max_redirects + 1):
            response = await self._with_retries(
                method, current, sent_headers, payload, accept, jar, start
            )
            if response.status not in _REDIRECTS or response.status in accept:
                return response
            target = _redirect_target(current, response, start)
            logger.debug(
                "%s redirects (%d) to %s",
                redact_url(str(current)),
                response.status,
                redact_url(str(target)),
            )
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, payload = "GET", _NO_PAYLOAD
            if not _same_origin(current, target):
                sent_headers = httpx.Headers(
                    {k: v for k, v in sent_headers.items() if not _is_credential_header(k)}
                )
            current = target
        raise FetchError(
            f"too many redirects (more than {self.config.max_redirects}) starting from {start}",
            url=start,
        )

    # -- one hop: its attempts ------------------------------------------------------------

    async def _with_retries(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        payload: _Payload,
        accept: Collection[int],
        jar: httpx.Cookies,
        start: str,
    ) -> HttpResponse:
        shown = redact_url(str(url))
        via = "" if shown == start else f" (redirected from {start})"
        retries = self.config.retries
        attempt = 0
        while True:
            try:
                response = await self._exchange(method, url, headers, payload, accept, jar, shown)
            except PrivateAddressError as exc:
                raise BlockedAddress(
                    f"refused to fetch {shown}{via}: {exc}; {_ALLOW_PRIVATE_HINT}", url=shown
                ) from None
            except (*RETRYABLE, TotalTimeout) as exc:
                retry = (method in _IDEMPOTENT or isinstance(exc, UNSENT)) and not bad_certificate(
                    exc
                )
                if retry and attempt < retries:
                    await self._pause(attempt, None, shown, network_problem(exc, url, self.config))
                    attempt += 1
                    continue
                raise FetchError(
                    network_problem(exc, url, self.config) + after_attempts(attempt + 1), url=shown
                ) from exc
            except httpx.HTTPError as exc:  # a request flocon cannot send (bad header...)
                raise FetchError(f"could not fetch {shown} ({exc})", url=shown) from exc
            status = response.status
            if status < 400 or status in accept:
                return response
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if retry_after is not None and retry_after > self.config.max_retry_after_s:
                    raise RateLimited(
                        f"{shown} asks flocon to wait {duration(retry_after)} before trying again",
                        retry_after=retry_after,
                        url=shown,
                    )
            if (status == 429 or (status >= 500 and status != 501)) and attempt < retries:
                await self._pause(attempt, retry_after, shown, f"status {status}")
                attempt += 1
                continue
            raise status_error(status, shown, attempt + 1, retry_after)

    async def _pause(self, attempt: int, retry_after: float | None, shown: str, why: str) -> None:
        if retry_after is None:  # exponential back-off with full jitter
            ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
            delay = self._random.uniform(0, ceiling)
        else:
            delay = retry_after
        logger.info(
            "%s failed (%s); attempt %d of %d in %.1f s",
            shown,
            why,
            attempt + 2,
            self.config.retries + 1,
            delay,
        )
        await self._sleep(delay)

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        payload: _Payload,
        accept: Collection[int],
        jar: httpx.Cookies,
        shown: str,
    ) -> HttpResponse:
        """One request and its body, under the total timeout, in one of the host's slots."""
        async with self.host_semaphore(url.host):
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    request = self._client.build_request(
                        method, url, headers=headers, json=payload.json, data=payload.data
                    )
                    jar.set_cookie_header(request)
                    response = await self._client.send(request, stream=True)
                    try:
                        jar.extract_cookies(response)
                        return await self._read(method, url, response, accept, shown)
                    finally:
                        await response.aclose()
            except TimeoutError as exc:
                raise TotalTimeout from exc

    async def _read(
        self,
        method: str,
        url: httpx.URL,
        response: httpx.Response,
        accept: Collection[int],
        shown: str,
    ) -> HttpResponse:
        status = response.status_code
        is_redirect = status in _REDIRECTS and "location" in response.headers
        content = b""
        if status in accept or (status < 400 and not is_redirect):
            limit = self.config.max_bytes
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(
                    f"the response of {shown} is {describe_size(int(declared))}, "
                    f"more than the {describe_size(limit)} limit",
                    url=shown,
                )
            content = await read_body(
                response.aiter_raw(),
                content_encoding=response.headers.get("content-encoding"),
                max_bytes=limit,
                url=shown,
            )
        logger.debug("%s %s -> %d (%d bytes)", method, shown, status, len(content))
        return HttpResponse(url=str(url), status=status, headers=response.headers, content=content)


def build_http_client(settings: Settings) -> HttpClient:
    """The client the entry points hand to connectors."""
    return HttpClient(HttpConfig.from_settings(settings))


def _parse_url(url: str, shown: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise FetchError(f"{shown} is not a valid web address", url=shown) from None
    _check_scheme(parsed, shown, shown)
    return parsed


def _check_scheme(url: httpx.URL, shown: str, start: str) -> None:
    if url.scheme not in ("http", "https"):
        what = f"fetch {shown}" if shown == start else f"follow {start} to {shown}"
        raise BlockedAddress(
            f"refused to {what}: only http:// and https:// addresses can be fetched",
            url=start,
        )
    if not url.host:
        raise FetchError(f"{shown} is not a valid web address (no host name)", url=start)


def _redirect_target(current: httpx.URL, response: HttpResponse, start: str) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise FetchError(
            f"{redact_url(str(current))} answered {response.status} (moved) without saying where",
            url=start,
        )
    try:
        target = current.join(location.strip())
    except httpx.InvalidURL:
        raise FetchError(
            f"{start} redirects to an invalid address ({redact_url(location)})", url=start
        ) from None
    _check_scheme(target, redact_url(str(target)), start)
    return target


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    upgrade = a.scheme == "http" and b.scheme == "https" and b.port in (None, 443)
    same_port = a.port == b.port or (upgrade and a.port in (None, 80))
    return a.host == b.host and same_port and (a.scheme == b.scheme or upgrade)


def _is_credential_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("authorization", "proxy-authorization", "cookie") or is_secret_name(lowered)
