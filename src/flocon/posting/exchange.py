"""One request of a posting connector and the error an agent reads when it fails.

Every posting connector sends its requests through :func:`send`: the shared client
handles the network, ``Retry-After`` and the SSRF guard; this module turns each
refusal into the right :class:`~flocon.errors.ConnectorError` with a sentence that
names the platform and what it said, never a secret.

Client errors (4xx but 429) come back here instead of being raised by the client, so
that the platform's own words reach the agent. Server errors on a write that is not
idempotent come back too: the client would retry them, and a 502 after the platform
saved the reply would then publish it twice. They become a retryable
:class:`~flocon.errors.FetchError` that asks the agent to check the thread first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flocon.connectors.http import HttpClient, HttpResponse, parse_retry_after, redact_url
from flocon.errors import (
    AuthFailed,
    ConnectorError,
    FetchError,
    ParseError,
    PostRejected,
    RateLimited,
    SourceGone,
)

CLIENT_ERRORS: frozenset[int] = frozenset(range(400, 500)) - {429}
SERVER_ERRORS: frozenset[int] = frozenset(range(500, 600))

#: Reads the platform's own explanation out of an error response (None: nothing usable).
Explain = Callable[[HttpResponse], "str | None"]
Kind = Literal["rejected", "rate_limited", "gone", "auth"]
#: Says what an error response means when its status alone would mislead (a 403 for
#: "comments are closed" is a refusal of the content, not of the credentials).
Classify = Callable[[HttpResponse], "Kind | None"]


def _by_status(_response: HttpResponse) -> Kind | None:
    return None


@dataclass(frozen=True, slots=True)
class Platform:
    """How one platform names itself and explains its errors."""

    name: str
    label: str
    explain: Explain
    classify: Classify = _by_status


@dataclass(frozen=True, slots=True)
class Step:
    """What a request does, for messages: ``doing`` ("the reply"), ``subject`` (what a
    404 means is missing: "the status to reply to"); whether it ``writes`` something on
    the platform, and whether repeating it is harmless (``idempotent``: reads, and writes
    with an idempotency key), which lets the client retry it after a server error."""

    doing: str
    subject: str
    writes: bool
    idempotent: bool


async def send(
    http: HttpClient,
    platform: Platform,
    step: Step,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Send one GET, POST or PUT; return a response below 400, raise a clear error otherwise."""
    accept = CLIENT_ERRORS if step.idempotent else CLIENT_ERRORS | SERVER_ERRORS
    try:
        if method == "GET":
            response = await http.get(url, headers=headers, params=params, accept_statuses=accept)
        elif method == "PUT":
            response = await http.put(
                url, json=json, data=data, headers=headers, accept_statuses=accept
            )
        else:
            response = await http.post(
                url, json=json, data=data, headers=headers, accept_statuses=accept
            )
    except RateLimited as exc:
        wait = f" (it asks to wait {_duration(exc.retry_after)})" if exc.retry_after else ""
        raise RateLimited(
            f"{platform.label} is limiting how often flocon may send {step.doing}{wait}; "
            "try again later",
            retry_after=exc.retry_after,
            source=platform.name,
            url=exc.url,
        ) from exc
    except FetchError as exc:
        raise FetchError(
            f"{platform.label} could not be reached for {step.doing}: {exc}",
            source=platform.name,
            url=exc.url,
        ) from exc
    if response.status >= 400:
        raise refusal(platform, step, response)
    return response


def refusal(platform: Platform, step: Step, response: HttpResponse) -> ConnectorError:
    """The error of a response with status 400 or more, in the platform's own words."""
    status, shown = response.status, redact_url(response.url)
    said = platform.explain(response)
    detail = f": {said}" if said else ""
    kind = platform.classify(response)
    if kind == "rejected":
        return PostRejected(
            f"{platform.label} refused {step.doing}{detail or f' (error {status})'}",
            source=platform.name,
            url=shown,
        )
    if kind == "rate_limited":
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(
            f"{platform.label} is limiting how often flocon may send {step.doing}{detail}",
            retry_after=retry_after,
            source=platform.name,
            url=shown,
        )
    if kind == "auth" and status not in (401, 403):
        return AuthFailed(
            f"{platform.label} refused {step.doing}{detail}; check the account in flocon",
            source=platform.name,
            url=shown,
        )
    if kind == "gone" or status in (404, 410):
        return SourceGone(
            f"{platform.label} cannot find {step.subject} ({status}{detail}): "
            "it was deleted or the account cannot see it",
            source=platform.name,
            url=shown,
        )
    if status == 401:
        return AuthFailed(
            f"{platform.label} did not accept the account's credentials (401{detail}); "
            "reconnect the account in flocon",
            source=platform.name,
            url=shown,
        )
    if status == 403:
        return AuthFailed(
            f"{platform.label} refused {step.doing} (403 forbidden"
            f"{detail or ': the account lacks a permission'})",
            source=platform.name,
            url=shown,
        )
    if status >= 500:
        return FetchError(
            f"{platform.label} failed with server error {status} while taking {step.doing}; "
            "it may have been saved anyway, so check the thread before retrying",
            source=platform.name,
            url=shown,
        )
    return PostRejected(
        f"{platform.label} refused {step.doing}{detail or f' (error {status})'}",
        source=platform.name,
        url=shown,
    )


def body(platform: Platform, step: Step, response: HttpResponse) -> Any:
    """The JSON of a successful response; a clear :class:`ParseError` when it is not JSON."""
    try:
        return response.json()
    except ParseError as exc:
        after = (
            "; it may have been saved, so check the thread before posting again"
            if step.writes
            else ""
        )
        raise ParseError(
            f"{platform.label} answered {step.doing} with something that is not JSON{after}",
            source=platform.name,
            url=redact_url(response.url),
        ) from exc


def unexpected(platform: Platform, step: Step, response: HttpResponse, what: str) -> ParseError:
    """The error of a JSON answer that lacks ``what`` (an id, a list of posts...)."""
    after = "; it may have been saved, so check the thread" if step.writes else ""
    return ParseError(
        f"{platform.label} answered {step.doing} without {what}{after}",
        source=platform.name,
        url=redact_url(response.url),
    )


def json_message(response: HttpResponse, *keys: str) -> str | None:
    """The first non-empty string among ``keys`` of a JSON object body, or None."""
    try:
        data = response.json()
    except ParseError:
        return None
    if not isinstance(data, Mapping):
        return None
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return short(value)
    return None


def short(text: str, limit: int = 300) -> str:
    """``text`` on one line and at most ``limit`` characters, for a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"
