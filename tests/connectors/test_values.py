"""The shared checks of payload values and --option values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flocon.connectors.values import (
    as_datetime,
    as_int,
    as_str,
    base_url_option,
    check_options,
    http_url,
    int_map,
    str_map,
)

RANGES = {"lookback_hours": (1, 720), "max_pages": (1, 10)}


def test_as_str_strips_and_refuses_blank_or_non_strings() -> None:
    assert as_str("  hi ") == "hi"
    assert as_str("   ") is None
    assert as_str(3) is None


def test_as_int_refuses_bools_and_accepts_strings_or_floats_on_request() -> None:
    assert as_int(7) == 7
    assert as_int(True) is None
    assert as_int("12") is None
    assert as_int("12", digits=True) == 12
    assert as_int("-1", digits=True) is None
    assert as_int(3.0) is None
    assert as_int(3.0, floats=True) == 3
    assert as_int(3.5, floats=True) is None


def test_http_url_wants_an_http_scheme_and_a_host() -> None:
    assert http_url(" https://example.org/a ") == "https://example.org/a"
    assert http_url("ftp://example.org/") is None
    assert http_url("https://") is None
    assert http_url(None) is None


def test_as_datetime_reads_iso_and_assumes_utc() -> None:
    assert as_datetime("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert as_datetime("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert as_datetime("yesterday") is None


def test_maps_keep_only_well_typed_entries() -> None:
    raw = {"a": 1, "b": "2", "c": True, 4: 5, "d": "x"}
    assert int_map(raw) == {"a": 1}
    assert int_map(raw, digits=True) == {"a": 1, "b": 2}
    assert str_map(raw) == {"b": "2", "d": "x"}
    assert int_map(["a"]) == {} and str_map(None) == {}


def test_check_options_returns_the_numbers_given() -> None:
    assert check_options(
        {"max_pages": " 3 ", "base_url": "x"}, known=("base_url",), ranges=RANGES
    ) == {"max_pages": 3}


def test_check_options_names_an_unknown_option_and_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown option") as excinfo:
        check_options({"zeta": "1", "alpha": "1"}, known=("base_url",), ranges=RANGES)
    assert str(excinfo.value) == (
        "unknown option 'alpha' (options: base_url, lookback_hours, max_pages)"
    )


@pytest.mark.parametrize("raw", ["0", "11", "two", "-1", ""])
def test_check_options_refuses_numbers_out_of_range(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^option max_pages must be a whole number from 1 to 10$"):
        check_options({"max_pages": raw}, known=(), ranges=RANGES)


def test_base_url_option_normalises_and_falls_back() -> None:
    assert (
        base_url_option({"service": " https://b.example/ "}, "service", "x") == "https://b.example"
    )
    assert base_url_option({}, "base_url", "https://a.example//") == "https://a.example"
    assert base_url_option({}, "base_url") is None
    with pytest.raises(ValueError, match="http") as excinfo:
        base_url_option({"auth_url": "ftp://x"}, "auth_url")
    assert str(excinfo.value) == "option auth_url must be an http(s) address (got 'ftp://x')"
