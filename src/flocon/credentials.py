"""Encryption of source credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from the ``FLOCON_SECRET_KEY`` setting; when it is empty, a key is
created once in the data directory (``secret.key``, readable by its owner only), so
a lone user never thinks about it. Losing the key means re-entering credentials,
nothing else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from flocon.errors import ConfigError
from flocon.settings import Settings, default_data_dir


def _key(settings: Settings, key_file: Path | None = None) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = key_file or default_data_dir() / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return path.read_bytes().strip()


class CredentialBox:
    """Seals and opens the credentials of sources."""

    def __init__(self, settings: Settings, *, key_file: Path | None = None) -> None:
        try:
            self._fernet = Fernet(_key(settings, key_file))
        except ValueError as exc:
            raise ConfigError(
                "FLOCON_SECRET_KEY is not a valid key (32 url-safe base64-encoded bytes)"
            ) from exc

    def seal(self, values: Mapping[str, str]) -> str | None:
        if not values:
            return None
        return self._fernet.encrypt(json.dumps(dict(values), sort_keys=True).encode()).decode()

    def open(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ConfigError(
                "stored credentials cannot be decrypted with the current secret key: "
                "set them again with `flocon source edit ID --credential key=value`"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}
