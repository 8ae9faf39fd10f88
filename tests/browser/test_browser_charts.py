"""Charts in the browser: each one downloads as a PNG image and its data as CSV, the CSV holds
the same figures as the chart, and the keyboard reaches the navigation and the downloads."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _chart_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "canvas[data-chart]", "els => els.map(e => e.getAttribute('data-chart'))"
    )
    return ids


def test_every_dashboard_chart_downloads_as_png_and_csv(owner_page: Page, tmp_path: Path) -> None:
    owner_page.goto("/w/default/dashboard")
    owner_page.wait_for_selector("canvas[data-chart][data-rendered]")
    ids = _chart_ids(owner_page)
    assert "volume" in ids or len(ids) >= 2
    negatives = 0
    for chart in ids:
        with owner_page.expect_download() as png_info:
            owner_page.click(f'[data-chart-png="{chart}"]')
        png = Path(png_info.value.path()).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", chart
        assert png_info.value.suggested_filename == f"{chart}.png"

        with owner_page.expect_download() as csv_info:
            owner_page.click(f'[data-chart-csv="{chart}"]')
        text = Path(csv_info.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        spec = json.loads(owner_page.text_content(f"#{chart}-data") or "{}")
        assert rows[0][1:] == [d["label"] for d in spec["datasets"]], chart
        assert len(rows) == 1 + len(spec["labels"]), chart
        for i, row in enumerate(rows[1:]):
            for j, dataset in enumerate(spec["datasets"]):
                value = dataset["data"][i]
                if value is None:
                    assert row[1 + j] == "", (chart, i, j)
                else:
                    assert float(row[1 + j]) == pytest.approx(value), (chart, i, j)
                    negatives += value < 0
    # The seed has a bad day: negative figures come out as plain numbers a spreadsheet can sum.
    assert negatives > 0


def test_the_keyboard_reaches_the_navigation_first(owner_page: Page) -> None:
    owner_page.goto("/w/default/dashboard")
    owner_page.keyboard.press("Tab")
    first = owner_page.evaluate("document.activeElement.textContent.trim()")
    assert first == "Skip to content"
    owner_page.keyboard.press("Enter")
    assert owner_page.evaluate("document.activeElement.id") == "main"
    # Every download button is a real, focusable button with a name.
    names = owner_page.eval_on_selector_all(
        "[data-chart-png], [data-chart-csv]",
        "els => els.map(e => [e.tagName, e.textContent.trim(), e.tabIndex])",
    )
    assert names
    assert all(tag == "BUTTON" and text and index >= 0 for tag, text, index in names)
