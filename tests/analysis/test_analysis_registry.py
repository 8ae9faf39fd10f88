"""Every analyzer in the registry is documented and tested (STYLE.md §4)."""

from __future__ import annotations

from pathlib import Path

from flocon.analysis.analyzer import ANALYZERS

ROOT = Path(__file__).resolve().parents[2]


def test_every_analyzer_has_a_docs_section() -> None:
    doc = (ROOT / "docs" / "analysis.md").read_text("utf-8")
    for name in ANALYZERS:
        assert f"### {name}\n" in doc, f"docs/analysis.md lacks a '### {name}' section"


def test_every_shipped_model_file_is_in_the_package() -> None:
    from flocon.analysis import models

    for name in (
        models.SENTIMENT_FAST,
        models.SENTIMENT_ACCURATE,
        models.NEEDS_ANSWER_FAST,
        models.NEEDS_ANSWER_ACCURATE,
    ):
        path = models.shipped_path(name)
        assert path.is_file(), path
        assert path.stat().st_size < 60 * 2**20


def test_every_setting_is_documented() -> None:
    from flocon.settings import Settings

    doc = (ROOT / "docs" / "settings.md").read_text("utf-8")
    missing = [n for n in Settings.model_fields if f"`FLOCON_{n.upper()}`" not in doc]
    assert not missing, f"docs/settings.md lacks {missing}"
