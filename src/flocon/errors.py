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
    """A source could not be read."""

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.url = url


class ParseError(ConnectorError):
    """A fetched payload could not be parsed."""
