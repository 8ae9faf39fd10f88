"""The first minutes of a new user, in a real browser: first-run owner creation, signing out and
in again, the dashboard, a drill-down from a chart to the mentions behind it, a watch edited
with a syntax error shown at its position, then the interface in French."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

EMAIL = "chloe@flocon.example"
PASSWORD = "first run password"
DASHBOARD = re.compile(r"/w/default/dashboard$")

#: A point of a chart that has drill-down links and a value: its position on the screen.
FIND_CHART_POINT = """
() => {
  const charts = (window.flocon && window.flocon.charts) || {};
  for (const id of Object.keys(charts)) {
    const chart = charts[id];
    const island = document.getElementById(id + "-data");
    const spec = island ? JSON.parse(island.textContent) : null;
    if (!spec || !spec.links) { continue; }
    chart.canvas.scrollIntoView({block: "center"});
    const box = chart.canvas.getBoundingClientRect();
    // Index interaction (lines, bars) answers with the first dataset: pick its points.
    const datasets = spec.type === "doughnut" ? chart.data.datasets.map((_, i) => i) : [0];
    for (const d of datasets) {
      const meta = chart.getDatasetMeta(d);
      if (meta.hidden) { continue; }
      for (let i = meta.data.length - 1; i >= 0; i--) {
        const value = chart.data.datasets[d].data[i];
        const link = Array.isArray(spec.links[d]) ? spec.links[d][i] : spec.links[i];
        if (!value || !link) { continue; }
        const point = meta.data[i].tooltipPosition();
        return {chart: id, link: link, x: box.left + point.x, y: box.top + point.y};
      }
    }
  }
  return null;
}
"""


def _drill_down(page: Page) -> str:
    """Click a point of a dashboard chart; returns the link it should open."""
    page.wait_for_load_state("load")
    charts = page.locator("canvas[data-chart]")
    expect(charts.first).to_be_visible()
    expect(page.locator("canvas[data-chart]:not([data-rendered])")).to_have_count(0)
    point: dict[str, Any] | None = page.evaluate(FIND_CHART_POINT)
    assert point is not None, "no dashboard chart has a drill-down link on a non-empty point"
    page.mouse.click(point["x"], point["y"])
    return str(point["link"])


def test_first_run_sign_in_dashboard_drill_down_watch_error_then_french(
    first_run_server: Any,
    open_tab: Callable[..., Page],
    probe: Any,
    shoot: Callable[[Page, str], Any],
) -> None:
    page = open_tab(first_run_server)

    # First run: the site opens on the page that creates the owner.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to flocon")
    page.locator("#email").fill(EMAIL)
    page.locator("#name").fill("Chloé")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password2").fill(PASSWORD)
    shoot(page, "flow-1-first-run")
    page.get_by_role("button", name="Create the owner").click()
    expect(page).to_have_url(DASHBOARD)

    # Sign out, then in again through the login form.
    page.locator("#logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    shoot(page, "flow-2-sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()

    # The dashboard.
    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#logout")).to_contain_text(EMAIL)
    shoot(page, "flow-3-dashboard")

    # Drill down: a chart point opens the mentions behind it.
    link = _drill_down(page)
    expect(page).to_have_url(re.compile(re.escape(link) + "$"))
    assert "/w/default/mentions" in page.url
    expect(page.locator(".mention").first).to_be_visible()
    shoot(page, "flow-4-drill-down")

    # A watch edited with a syntax error: the error is shown, with its position, as one types.
    page.goto("/w/default/watches")
    page.get_by_role("link", name="Acme", exact=True).first.click()
    page.wait_for_url("**/watches/Acme/edit")  # loaded: htmx listens to the field now
    query = page.get_by_label("Query", exact=True)
    expect(query).to_have_value("acme")
    query.fill("acme AND (globex")
    error = page.get_by_role("alert").filter(has_text="unbalanced parenthesis")
    expect(error).to_be_visible()
    expect(error).to_contain_text("position 9")
    # A caret under the open parenthesis, below the line that holds it.
    line, pointer = error.locator("pre").inner_text().splitlines()[:2]
    assert line == "acme AND (globex"
    assert pointer.index("^") == line.index("(") == 9
    shoot(page, "flow-5-watch-syntax-error")

    # French, from the language buttons of the header.
    page.get_by_role("button", name="FR", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Tableau de bord")).to_be_visible()
    expect(nav.get_by_role("link", name="Veilles")).to_be_visible()
    expect(page.locator("#logout")).to_contain_text("Se déconnecter")
    shoot(page, "flow-6-french")

    assert probe.dialogs == []
    assert probe.page_errors == []
    assert probe.csp_violations(page) == []
