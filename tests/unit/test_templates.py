"""Saved-reply templates (flocon.domain.templates): syntax, errors and rendering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flocon.domain.templates import (
    TEMPLATE_VARIABLES,
    render_template,
    template_variables,
    validate_template,
)
from flocon.errors import FloconError, TemplateError

VALUES = {
    "author": "@camille",
    "brand": "Voltéo",
    "case_link": "https://flocon.example/c/42",
    "case_id": "C-42",
    "agent": "Inès",
    "watch": "Voltéo FR",
}


def test_renders_variables() -> None:
    text = "Bonjour {author}, toutes nos excuses. Dossier : {case_link} — {agent}, {brand}"
    assert render_template(text, VALUES) == (
        "Bonjour @camille, toutes nos excuses. Dossier : https://flocon.example/c/42 — Inès, Voltéo"
    )


def test_doubled_braces_are_literal() -> None:
    assert render_template("{{author}} is {author} }}", VALUES) == "{author} is @camille }"


def test_text_without_variables_is_unchanged() -> None:
    assert render_template("Merci ! 😊", {}) == "Merci ! 😊"


def test_values_are_inserted_verbatim() -> None:
    assert render_template("Hi {author}", {"author": "{brand} {{x}}"}) == "Hi {brand} {{x}}"


def test_extra_values_are_ignored() -> None:
    assert render_template("Hi {author}", {**VALUES, "unused": "x"}) == "Hi @camille"


def test_empty_value_renders_empty() -> None:
    assert render_template("Hi {author}!", {"author": ""}) == "Hi !"


def test_missing_values_are_all_listed_at_the_first_use() -> None:
    with pytest.raises(TemplateError) as err:
        render_template("Hi {author}, {brand} here. {case_link} {author}", {"brand": "B"})
    assert err.value.position == 3
    assert err.value.reason == "no value for author, case_link"


def test_variables_in_first_use_order_without_repeats() -> None:
    assert template_variables("{brand}: hi {author}, {brand} {{agent}}") == ["brand", "author"]


def test_known_variables() -> None:
    assert set(TEMPLATE_VARIABLES) >= {"author", "brand", "case_link", "agent", "watch"}
    for name in TEMPLATE_VARIABLES:
        validate_template(f"{{{name}}}")


def test_template_error_is_a_flocon_error() -> None:
    assert issubclass(TemplateError, FloconError)


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("Hi {autor}!", 3, "unknown variable 'autor' (did you mean 'author'?)"),
        ("Hi {Brand}", 3, "unknown variable 'Brand' (did you mean 'brand'?)"),
        ("Hi {author", 3, "'{' is never closed"),
        ("Hi {auth{or}", 3, "'{' is never closed"),
        ("Hi author}", 9, "'}' without an opening '{'"),
        ("Hi {}", 3, "empty variable"),
        ("{author.__class__}", 0, "unknown variable 'author.__class__'"),
        ("{0}", 0, "unknown variable '0'"),
        ("{author!r}", 0, "unknown variable 'author!r'"),
        ("ok {author} {xyzzy}", 12, "unknown variable 'xyzzy'; known variables: author"),
    ],
)
def test_malformed_templates_raise_with_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(TemplateError) as err:
        validate_template(text)
    assert err.value.position == position
    assert err.value.reason.startswith(reason)


def test_the_message_carries_the_position() -> None:
    with pytest.raises(TemplateError, match=r"^position 3: unknown variable"):
        render_template("Hi {nom}", VALUES)


def test_malformed_template_is_refused_even_with_all_values() -> None:
    with pytest.raises(TemplateError):
        render_template("Hi {author}}", VALUES)


_plain = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20)


@given(st.lists(st.one_of(_plain, st.sampled_from(TEMPLATE_VARIABLES)), max_size=8))
def test_rendering_is_the_concatenation_of_parts(parts: list[str]) -> None:
    template = "".join(f"{{{p}}}" if p in TEMPLATE_VARIABLES else p for p in parts)
    expected = "".join(VALUES[p] if p in TEMPLATE_VARIABLES else p for p in parts)
    assert render_template(template, VALUES) == expected


@given(st.text(max_size=40))
def test_any_text_renders_or_raises_a_template_error(text: str) -> None:
    try:
        rendered = render_template(text, VALUES)
    except TemplateError as err:
        assert 0 <= err.position < len(text)
    else:
        assert isinstance(rendered, str)


@given(st.text(max_size=40))
def test_escaping_braces_gives_the_text_back(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}")
    assert render_template(escaped, {}) == text
    assert template_variables(escaped) == []
