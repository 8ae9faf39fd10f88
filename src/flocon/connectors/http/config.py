"""How the shared HTTP client behaves: :class:`HttpConfig`, built from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flocon.settings import Settings


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Limits and policies of :class:`~flocon.connectors.http.HttpClient`.

    ``timeout_s`` bounds one request from connecting to the last body byte (each
    retry and each redirect hop gets its own); ``max_bytes`` bounds the body after
    decompression; ``retries`` is the number of *extra* attempts on 5xx, 429 and
    network errors. ``allowed_hosts`` are host names or IP addresses that may be
    reached even when private. ``per_host_limit`` caps concurrent requests per host.
    """

    timeout_s: float = _default("http_timeout_s")
    connect_timeout_s: float = _default("http_connect_timeout_s")
    max_bytes: int = _default("http_max_bytes")
    retries: int = _default("http_retries")
    user_agent: str = _default("http_user_agent")
    allow_private_addresses: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    max_redirects: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 300.0
    per_host_limit: int = 2

    def __post_init__(self) -> None:
        for name in ("timeout_s", "connect_timeout_s", "max_bytes", "per_host_limit"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HttpConfig.{name} must be positive")
        for name in ("retries", "max_redirects", "backoff_base_s", "backoff_max_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"HttpConfig.{name} must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpConfig:
        return cls(
            timeout_s=settings.http_timeout_s,
            connect_timeout_s=settings.http_connect_timeout_s,
            max_bytes=settings.http_max_bytes,
            retries=settings.http_retries,
            user_agent=settings.http_user_agent,
            allow_private_addresses=settings.allow_private_addresses,
        )
