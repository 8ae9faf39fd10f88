"""URL helpers: hiding secrets before a URL reaches a message or a log line."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

# Query parameters whose value is a secret: exact names, then name fragments.
_SECRET_NAMES = frozenset(
    {"code", "sig", "signature", "auth", "pass", "pwd", "session", "sessionid", "jwt"}
)
_SECRET_FRAGMENTS = ("token", "secret", "key", "password", "passwd", "credential", "apikey")
_MASK = "***"
_FALLBACK = re.compile(
    r"(?i)((?:[a-z0-9_.-]*(?:token|secret|key|password|passwd|sig|signature|code|auth))=)[^&#\s]*"
)


def is_secret_name(name: str) -> bool:
    """True for a query parameter or header name whose value must never be shown."""
    name = name.strip().lower().replace("-", "_")
    return name in _SECRET_NAMES or any(fragment in name for fragment in _SECRET_FRAGMENTS)


def redact_url(url: str) -> str:
    """``url`` with its password and secret-looking query values replaced by ``***``.

    ``https://u:pw@h/p?access_token=abc&q=x`` → ``https://u:***@h/p?access_token=***&q=x``.
    """
    try:
        parts = urlsplit(url)
        netloc = _redact_netloc(parts)
    except ValueError:
        return _FALLBACK.sub(rf"\1{_MASK}", url.split("@")[-1])
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_netloc(parts: SplitResult) -> str:
    if "@" not in parts.netloc:
        return parts.netloc
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    return f"{user}:{_MASK}@{hostport}" if has_password else f"{_MASK}@{hostport}"


def _redact_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={_MASK}" if equals and is_secret_name(name) else pair
