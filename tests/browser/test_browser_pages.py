"""Every main page opens in the browser under flocon's Content Security Policy, without a script
error or a policy violation, and leaves a full-page screenshot in artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

#: name of the screenshot -> path of the page under /w/default
MAIN_PAGES = {
    "dashboard": "/dashboard",
    "mentions": "/mentions",
    "watches": "/watches",
    "watch-editor": "/watches/Acme/edit",
    "sources": "/sources",
    "alerts": "/alerts",
    "authors": "/authors",
    "settings": "/settings",
}


@pytest.mark.parametrize("name", list(MAIN_PAGES))
def test_main_page_renders_under_the_csp(
    name: str, owner_page: Page, probe: Any, shoot: Callable[[Page, str], Any]
) -> None:
    response = owner_page.goto(f"/w/default{MAIN_PAGES[name]}")
    assert response is not None
    assert response.status == 200, f"{name}: HTTP {response.status}"
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    owner_page.wait_for_load_state("networkidle")
    expect(owner_page.get_by_role("heading", level=1).first).to_be_visible()
    # The page's own scripts started: charts are drawn, htmx is there.
    expect(owner_page.locator("canvas[data-chart]:not([data-rendered])")).to_have_count(0)
    assert owner_page.evaluate("[typeof window.htmx, typeof window.flocon]") == ["object", "object"]
    shoot(owner_page, name)
    assert probe.csp_violations(owner_page) == []
    assert probe.page_errors == []
    assert probe.console_errors == []
    assert probe.dialogs == []
