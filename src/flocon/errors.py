"""The exception tree of flocon: every error a user can meet has a type here."""

from __future__ import annotations


class FloconError(Exception):
    """Base class of every error flocon raises on purpose."""


class ConfigError(FloconError):
    """A setting is missing or invalid."""


class NotFound(FloconError):
    """A named object (workspace, watch...) does not exist."""


class AlreadyExists(FloconError):
    """A named object with the same name already exists."""


class QuerySyntaxError(FloconError):
    """A boolean query could not be parsed.

    ``position`` is the 0-based character offset where the problem was found,
    ``reason`` a short sentence a user understands.
    """

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason


class ImportFormatError(FloconError):
    """A whole input file cannot be read (unknown format, missing required column)."""


class ConnectorError(FloconError):
    """A source could not be read. ``retryable`` tells the scheduler whether to try again."""

    retryable = True

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.url = url


class FetchError(ConnectorError):
    """The network or the server failed (timeout, refused connection, 5xx after retries)."""


class RateLimited(ConnectorError):
    """The platform asked us to slow down; ``retry_after`` is in seconds (None: unknown)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        source: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, source=source, url=url)
        self.retry_after = retry_after


class AuthFailed(ConnectorError):
    """Credentials are missing, wrong or expired (401/403): a person must fix them."""

    retryable = False


class SourceGone(ConnectorError):
    """The target does not exist any more (404/410)."""

    retryable = False


class BlockedAddress(ConnectorError):
    """The URL resolves to a private, loopback, link-local or metadata address (SSRF guard)."""

    retryable = False


class DisallowedByRobots(ConnectorError):
    """The site's robots.txt does not let flocon read this address."""

    retryable = False


class ResponseTooLarge(ConnectorError):
    """The body (after decompression) is larger than the configured cap."""

    retryable = False


class ParseError(ConnectorError):
    """A fetched payload could not be parsed."""

    retryable = False


class PostRejected(ConnectorError):
    """A platform refused a reply or a moderation action for what it says or where it goes
    (text too long, thread locked, comments closed, duplicate): retrying the same request
    cannot help, a person must change the text or give up."""

    retryable = False


class TemplateError(FloconError):
    """A saved-reply template is malformed, or a value it needs is missing.

    ``position`` is the 0-based character offset of the problem in the template,
    ``reason`` a short sentence a user understands.
    """

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason
