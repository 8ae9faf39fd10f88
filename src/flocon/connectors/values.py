"""Small checks shared by connectors: payload values and --option values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, overload
from urllib.parse import urlsplit

__all__ = [
    "as_datetime",
    "as_int",
    "as_str",
    "base_url_option",
    "check_options",
    "http_url",
    "int_map",
    "str_map",
]

# --------------------------------------------------------------------------- payload values


def as_str(value: Any) -> str | None:
    """``value`` stripped, if it is a non-empty string; None otherwise."""
    if isinstance(value, str) and (value := value.strip()):
        return value
    return None


def as_int(value: Any, *, digits: bool = False, floats: bool = False) -> int | None:
    """``value`` if it is an int (never a bool); None otherwise.

    ``digits``: a string of digits counts too; ``floats``: so does a whole float.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if digits and isinstance(value, str) and value.isdigit():
        return int(value)
    if floats and isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def http_url(value: Any) -> str | None:
    """``value`` stripped, if it is an http(s) URL with a host; None otherwise."""
    url = as_str(value)
    if url is None:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def as_datetime(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware UTC datetime (naive ones taken as UTC); else None."""
    text = as_str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def int_map(value: Any, *, digits: bool = False) -> dict[str, int]:
    """The string-keyed int entries of a mapping (see :func:`as_int`); {} if not one."""
    if not isinstance(value, Mapping):
        return {}
    pairs = ((k, as_int(v, digits=digits)) for k, v in value.items() if isinstance(k, str))
    return {k: v for k, v in pairs if v is not None}


def str_map(value: Any) -> dict[str, str]:
    """The string-keyed string entries of a mapping; {} if not one."""
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


# --------------------------------------------------------------------------- --option values


def check_options(
    options: Mapping[str, str],
    *,
    known: Iterable[str],
    ranges: Mapping[str, tuple[int, int]],
) -> dict[str, int]:
    """Refuse unknown option names, then check the whole-number ones.

    ``known`` are the other accepted names (listed first in the error message); returns
    the given whole-number options by name. Raises ValueError naming the bad one.
    """
    names = (*known, *ranges)
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (options: {', '.join(names)})")
    numbers: dict[str, int] = {}
    for name, (low, high) in ranges.items():
        if name not in options:
            continue
        raw = options[name].strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"option {name} must be a whole number from {low} to {high}")
        numbers[name] = int(raw)
    return numbers


@overload
def base_url_option(options: Mapping[str, str], name: str, default: str) -> str: ...
@overload
def base_url_option(options: Mapping[str, str], name: str, default: None = None) -> str | None: ...
def base_url_option(
    options: Mapping[str, str], name: str, default: str | None = None
) -> str | None:
    """Option ``name`` (else ``default``; None when both are missing) as an http(s) address
    without trailing slash; raises ValueError if it is not one."""
    raw = options.get(name, default)
    if raw is None:
        return None
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"option {name} must be an http(s) address (got {url!r})")
    return url
