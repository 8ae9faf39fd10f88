"""The connector registry: lookups, plugins, and every kind tested and documented."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flocon.connectors import registry
from flocon.connectors.base import FetchResult, SourceSpec
from flocon.connectors.registry import CONNECTORS, get_connector
from flocon.errors import FloconError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_plugins", None)


def _use_entry_points(monkeypatch: pytest.MonkeyPatch, *values: tuple[str, str]) -> None:
    points = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in values]

    def fake(*, group: str) -> list[EntryPoint]:
        assert group == "flocon.connectors"
        return points

    monkeypatch.setattr(registry, "entry_points", fake)


class _GopherConnector:
    kind: ClassVar[str] = "gopher"
    summary: ClassVar[str] = "a test plugin"

    def normalize_target(self, target: str, options: Mapping[str, str]) -> str:
        return target

    async def fetch(self, source: SourceSpec, http: Any) -> FetchResult:
        return FetchResult([], {})


def _not_a_connector() -> None: ...


# --------------------------------------------------------------------------- every kind


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_every_kind_has_a_test_module(kind: str) -> None:
    # The connector's module under flocon.connectors: "feeds", or "web" for the web/ package.
    module = type(CONNECTORS[kind]).__module__.split(".")[2]
    assert (ROOT / "tests" / "connectors" / f"test_{module}.py").is_file(), (
        f"connector {kind!r} ({module}.py) needs tests/connectors/test_{module}.py"
    )


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_every_kind_has_a_section_in_the_docs(kind: str) -> None:
    docs = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(kind)}$", docs, re.MULTILINE), (
        f"docs/sources.md needs a '## {kind}' section"
    )


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_every_kind_is_a_connector(kind: str) -> None:
    connector = CONNECTORS[kind]
    assert connector.kind == kind
    assert connector.summary
    assert inspect.iscoroutinefunction(connector.fetch)


# --------------------------------------------------------------------------- lookups


def test_get_connector_returns_the_builtin() -> None:
    assert get_connector("feed") is CONNECTORS["feed"]
    assert get_connector("hackernews") is CONNECTORS["hackernews"]


def test_unknown_kind_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_entry_points(monkeypatch)
    known = ", ".join(sorted(registry.CONNECTORS))
    with pytest.raises(FloconError, match=rf"unknown source kind 'rss' \(known: {known}\)"):
        get_connector("rss")


# --------------------------------------------------------------------------- plugins


def test_plugin_class_is_loaded_and_instantiated(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_entry_points(monkeypatch, ("gopher", f"{__name__}:_GopherConnector"))
    connector = get_connector("gopher")
    assert isinstance(connector, _GopherConnector)
    assert get_connector("gopher") is connector  # loaded once
    assert sorted(registry.all_connectors()) == sorted([*registry.CONNECTORS, "gopher"])


def test_plugin_cannot_replace_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_entry_points(monkeypatch, ("feed", f"{__name__}:_GopherConnector"))
    assert registry.all_connectors()["feed"] is CONNECTORS["feed"]


def test_plugin_that_fails_to_import_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_entry_points(monkeypatch, ("carrier-pigeon", "flocon_no_such_module:Connector"))
    with pytest.raises(FloconError, match=r"connector plugin 'carrier-pigeon'.*failed to load"):
        get_connector("carrier-pigeon")


def test_plugin_with_the_wrong_kind_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_entry_points(monkeypatch, ("carrier-pigeon", f"{__name__}:_not_a_connector"))
    with pytest.raises(FloconError, match="declares kind None"):
        get_connector("carrier-pigeon")
