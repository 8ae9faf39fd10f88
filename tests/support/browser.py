"""Pieces the browser tests share: explicit settings for a served database, and signing in
through the login form."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from flocon.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TIMEOUT_MS = 10_000


def browser_settings(database: Path, **overrides: Any) -> Settings:
    """Explicit settings, whatever the environment of the session says."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "sentiment_profile": "fast",
        "secret_key": Fernet.generate_key().decode(),
        "model_dir": database.parent / "models",
        "smtp_host": "",
        "web_base_url": "",
        "web_secure_cookies": False,
        "languages": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def signed_in_state(
    browser: Browser, base_url: str, email: str, password: str, workspace: str
) -> dict[str, Any]:
    """The cookies of ``email`` after signing in once through the login form."""
    context = browser.new_context(base_url=base_url, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto("/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(f"**/w/{workspace}/dashboard")
        return dict(context.storage_state())
    finally:
        context.close()
