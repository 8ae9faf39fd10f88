"""Stored XSS, checked in the browser: mentions whose text, author (handle and name), URL and
source carry ``<script>``, ``onerror=``, ``javascript:`` and SVG payloads
(tests/fixtures/xss/mentions.jsonl) render inert on every page that shows collected content.

Inert is checked twice. With the Content Security Policy switched off in the browser, the
templates' escaping alone must hold: no dialog opens, the canary ``window.__xss`` that every
payload sets stays undefined, no element or attribute of a payload reaches the DOM, and no link
has a ``javascript:``-like target. With the policy on, the page reports no violation (a
violation would mean markup got through and only the policy stopped it).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CANARY = "__xss"

#: name -> (path under /w/default, whether the page must show a payload as text)
PAGES: dict[str, tuple[str, bool]] = {
    "dashboard": ("/dashboard", True),  # the open alerts name the payload authors
    "mentions": ("/mentions", True),
    "mention-search": ("/mentions?search=acme", True),
    "thread": ("/mentions/{xss-1}", True),
    "reply-in-thread": ("/mentions/{xss-6}", True),
    "watch-preview": ("/watches/Acme/edit", True),
    "alerts": ("/alerts", True),
    "alert": ("/alerts/{alert}", True),
    "authors": ("/authors", True),
    "author": ("/authors/{author}", True),
    "sources": ("/sources?all=1", True),
}

#: Everything on the page a payload could have planted, as a list of findings.
FIND_PLANTED = """
() => {
  const found = [];
  const navigating = ["href", "action", "formaction", "xlink:href"];
  const loading = {script: "src", iframe: "src", frame: "src", embed: "src", object: "data"};
  const safe = ["http:", "https:", "mailto:"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) { found.push(el.localName + "[" + name + "]"); }
      if (navigating.includes(name) || loading[el.localName] === name) {
        let protocol = "invalid:";
        try { protocol = new URL(attr.value, document.baseURI).protocol; } catch (e) { /* kept */ }
        if (!safe.includes(protocol)) {
          found.push(el.localName + "[" + name + "=" + attr.value.slice(0, 60) + "]");
        }
      }
    }
  }
  const planted = [
    'img[src="x"]', "iframe", "frame", "embed", "object", "math", "mglyph", "base",
    'meta[http-equiv="refresh" i]', "svg[onload]",
  ];
  for (const selector of planted) {
    if (document.querySelector(selector)) { found.push("element " + selector); }
  }
  for (const script of Array.from(document.scripts)) {
    const type = (script.getAttribute("type") || "").toLowerCase();
    if (type === "application/json") {
      try { JSON.parse(script.textContent); } catch (e) { found.push("broken JSON island #" + script.id); }
      continue;
    }
    const src = script.getAttribute("src");
    const url = src ? new URL(src, document.baseURI) : null;
    if (!url || url.origin !== location.origin || !url.pathname.startsWith("/static/")) {
      found.push("script " + (src || script.textContent.slice(0, 80)));
    }
  }
  return found;
}
"""


def _path(template: str, seed: Any) -> str:
    values = {"alert": seed.xss_alert_id, "author": seed.xss_author_id, **seed.mention_ids}
    for key, value in values.items():
        template = template.replace("{" + key + "}", str(value))
    return "/w/default" + template


def _open(page: Page, name: str, seed: Any) -> Any:
    response = page.goto(_path(PAGES[name][0], seed))
    assert response is not None
    assert response.status == 200, f"{name}: HTTP {response.status}"
    if name == "watch-preview":
        # The editor previews the stored mentions its query matches, as one types.
        page.get_by_label("Query", exact=True).fill("acme OR globex")
    page.wait_for_load_state("networkidle")
    return response


@pytest.mark.parametrize("name", list(PAGES))
def test_payloads_render_as_inert_text(
    name: str, owner_page_without_csp: Page, probe: Any, seed: Any
) -> None:
    page = owner_page_without_csp
    _open(page, name, seed)
    # Give what a payload could trigger by itself (focus, hover) a chance to run.
    page.mouse.move(5, 5)
    page.mouse.move(400, 300, steps=4)
    page.keyboard.press("Tab")
    assert probe.dialogs == []
    assert page.evaluate(f"typeof window.{CANARY}") == "undefined"
    assert page.evaluate(FIND_PLANTED) == []
    assert probe.page_errors == []
    if PAGES[name][1]:
        # The payloads are there, shown as the text they are.
        expect(page.locator("main")).to_contain_text(CANARY)


@pytest.mark.parametrize("name", list(PAGES))
def test_payload_pages_keep_the_csp_without_violation(
    name: str, owner_page: Page, probe: Any, seed: Any
) -> None:
    response = _open(owner_page, name, seed)
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert probe.csp_violations(owner_page) == []
    assert probe.page_errors == []
    assert probe.dialogs == []


PLANTED = (
    "<img src=x onerror=\"window.__xss=1;alert('planted')\">"
    '<a href="javascript:window.__xss=1">link</a><svg onload="window.__xss=1"></svg>'
)


def test_the_checks_see_a_payload_that_got_through(
    owner_page_without_csp: Page, probe: Any
) -> None:
    """The harness itself: markup that escaped the templates is found and runs here."""
    page = owner_page_without_csp
    page.goto("/password/forgot")
    page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", PLANTED
    )
    page.wait_for_function(f"window.{CANARY} === 1")
    assert probe.dialogs == ["alert: planted"]
    found = page.evaluate(FIND_PLANTED)
    assert {"img[onerror]", "svg[onload]", 'element img[src="x"]'} <= set(found)
    assert "a[href=javascript:window.__xss=1]" in found


def test_the_csp_stops_and_reports_a_payload_that_got_through(owner_page: Page, probe: Any) -> None:
    """The second line of defence: with the policy on, the same markup is blocked and reported."""
    owner_page.goto("/password/forgot")
    owner_page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", PLANTED
    )
    owner_page.wait_for_function("window.__cspViolations.length > 0")
    assert owner_page.evaluate(f"typeof window.{CANARY}") == "undefined"
    assert probe.dialogs == []
    assert any("script-src" in v for v in probe.csp_violations(owner_page))
