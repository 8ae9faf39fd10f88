"""What can go wrong with a request, in words a community manager understands.

Which failures are worth another attempt, how long a server asks us to wait
(``Retry-After``), and the error raised for each status or network problem. Every
message names the URL with its secrets hidden (see :func:`redact_url`).
"""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from flocon.connectors.http.config import HttpConfig
from flocon.connectors.http.urls import redact_url
from flocon.errors import AuthFailed, ConnectorError, FetchError, RateLimited, SourceGone

# Network errors worth another attempt; the first three mean the request was never sent.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
RETRYABLE = (
    *UNSENT,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


_SECONDS = re.compile(r"\d+(\.\d+)?")


class TotalTimeout(Exception):
    """One hop took longer than ``timeout_s`` from start to last body byte."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def bad_certificate(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def network_problem(exc: Exception, url: httpx.URL, config: HttpConfig) -> str:
    """A sentence saying what went wrong on the wire, for people."""
    shown, host = redact_url(str(url)), url.host
    if isinstance(exc, TotalTimeout):
        return f"{shown} did not answer in full within {config.timeout_s:g} s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect to {host} within {config.connect_timeout_s:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"{shown} stopped answering (nothing for {config.timeout_s:g} s)"
    if bad_certificate(exc):
        return (
            f"the security certificate of {host} could not be verified ({exc}); "
            "flocon only fetches over verified connections"
        )
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {host} ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection to {host} broke in the middle of the response ({exc})"
    return f"the connection to {host} was interrupted ({exc})"


def status_error(
    status: int, shown: str, attempts: int, retry_after: float | None
) -> ConnectorError:
    if status == 429:
        return RateLimited(
            f"{shown} is limiting how often flocon may ask (status 429{after_attempts(attempts)})",
            retry_after=retry_after,
            url=shown,
        )
    if status == 401:
        return AuthFailed(
            f"{shown} refused access (401 unauthorized): the credentials are missing, "
            "wrong or expired",
            url=shown,
        )
    if status == 403:
        return AuthFailed(
            f"{shown} refused access (403 forbidden): the credentials are wrong, expired "
            "or lack a permission",
            url=shown,
        )
    if status == 404:
        return SourceGone(f"{shown} was not found (404)", url=shown)
    if status == 410:
        return SourceGone(f"{shown} is gone for good (410)", url=shown)
    if status >= 500:
        return FetchError(
            f"server error {status}{after_attempts(attempts)} fetching {shown}", url=shown
        )
    reason = httpx.codes.get_reason_phrase(status) or "client error"
    return FetchError(f"{shown} answered with error {status} ({reason.lower()})", url=shown)


def after_attempts(n: int) -> str:
    return f" after {n} attempts" if n > 1 else ""


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"
