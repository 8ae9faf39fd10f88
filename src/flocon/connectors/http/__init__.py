"""The shared HTTP client of flocon: connectors get one and never build their own.

See docs/http.md for what it does for users; the parts live in:
``config`` (:class:`HttpConfig`), ``client`` (:class:`HttpClient`: retries, redirects,
limits), ``guard`` (the SSRF guard), ``body`` (size cap and decompression),
``response`` (:class:`HttpResponse`) and ``urls`` (redaction of secrets).
"""

from __future__ import annotations

from flocon.connectors.http.client import HttpClient, build_http_client
from flocon.connectors.http.config import HttpConfig
from flocon.connectors.http.failures import parse_retry_after
from flocon.connectors.http.guard import Resolver, is_public
from flocon.connectors.http.response import HttpResponse
from flocon.connectors.http.urls import redact_url

__all__ = [
    "HttpClient",
    "HttpConfig",
    "HttpResponse",
    "Resolver",
    "build_http_client",
    "is_public",
    "parse_retry_after",
    "redact_url",
]
