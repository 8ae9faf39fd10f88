"""Business hours, the business-time clock and SLA targets (flocon.domain.business_hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flocon.domain.business_hours import (
    PRIORITIES,
    BusinessHours,
    SlaPolicy,
    add_business_seconds,
    business_seconds,
    is_open,
)
from flocon.errors import ConfigError

H = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def paris(spec_week: dict[str, list[str]], holidays: list[str] | None = None) -> BusinessHours:
    return BusinessHours.parse(
        {"timezone": "Europe/Paris", "week": spec_week, "holidays": holidays or []}
    )


OFFICE = paris({key: ["09:00-12:30", "13:30-18:00"] for key in WEEKDAYS}, ["2026-12-25"])
FULL_DAYS_PARIS = paris(
    {key: ["00:00-24:00"] for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- parse / to_json


def test_parse_reads_the_json_form() -> None:
    assert OFFICE.timezone == "Europe/Paris"
    assert OFFICE.week[0] == ((time(9), time(12, 30)), (time(13, 30), time(18)))
    assert OFFICE.week[5] == ()
    assert OFFICE.holidays == frozenset({date(2026, 12, 25)})


def test_to_json_round_trips() -> None:
    spec = OFFICE.to_json()
    assert spec["week"]["mon"] == ["09:00-12:30", "13:30-18:00"]
    assert spec["week"]["sun"] == []
    assert BusinessHours.parse(spec) == OFFICE


def test_24_00_is_the_end_of_the_day() -> None:
    hours = paris({"mon": ["18:00-24:00"]})
    assert hours.week[0] == ((time(18), time(0)),)
    assert hours.to_json()["week"]["mon"] == ["18:00-24:00"]


def test_intervals_are_sorted() -> None:
    hours = paris({"mon": ["14:00-18:00", "09:00-12:00"]})
    assert hours.week[0] == ((time(9), time(12)), (time(14), time(18)))


def test_always_is_open_all_the_time() -> None:
    hours = BusinessHours.always()
    assert hours.always_open
    assert BusinessHours.parse(hours.to_json()) == hours
    assert not OFFICE.always_open


def test_equal_hours_hash_alike() -> None:
    assert hash(BusinessHours.parse(OFFICE.to_json())) == hash(OFFICE)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"week": {"mon": ["09:00-18:00"]}}, "need a 'timezone'"),
        ({"timezone": "Mars/Olympus", "week": {"mon": ["09:00-18:00"]}}, "unknown time zone"),
        ({"timezone": "UTC"}, "need a 'week'"),
        ({"timezone": "UTC", "week": {"monday": ["09:00-18:00"]}}, "unknown day 'monday'"),
        ({"timezone": "UTC", "week": {"mon": "09:00-18:00"}}, "week.mon: a list"),
        ({"timezone": "UTC", "week": {"mon": ["9h-18h"]}}, "week.mon[0]: '9h' is not a time"),
        ({"timezone": "UTC", "week": {"mon": ["09:00-25:00"]}}, "not a time of day"),
        ({"timezone": "UTC", "week": {"mon": ["24:00-24:00"]}}, "only allowed as an end"),
        ({"timezone": "UTC", "week": {"mon": ["22:00-06:00"]}}, "crosses midnight"),
        ({"timezone": "UTC", "week": {"mon": ["09:00-09:00"]}}, "is empty"),
        ({"timezone": "UTC", "week": {"mon": ["09:00-13:00", "12:00-18:00"]}}, "overlap"),
        ({"timezone": "UTC", "week": {"mon": []}}, "open at least once"),
        ({"timezone": "UTC", "week": {}, "extra": 1}, "unknown business hours key"),
        (
            {"timezone": "UTC", "week": {"mon": ["09:00-18:00"]}, "holidays": ["25/12/2026"]},
            "holidays[0]",
        ),
        (["not", "a", "mapping"], "JSON object"),
    ],
)
def test_bad_specs_raise_config_error(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        BusinessHours.parse(spec)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="mon: 22:00-06:00 crosses midnight"):
        BusinessHours("UTC", {0: ((time(22), time(6)),)})
    with pytest.raises(ConfigError, match="weekdays are 0"):
        BusinessHours("UTC", {7: ((time(9), time(17)),)})
    with pytest.raises(ConfigError, match="not datetimes"):
        BusinessHours("UTC", {0: ((time(9), time(17)),)}, frozenset({datetime(2026, 1, 1)}))


def test_adjacent_intervals_across_midnight_join() -> None:
    night = BusinessHours.parse(
        {"timezone": "UTC", "week": {"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]}}
    )
    # Monday 2026-01-05 21:00 to Tuesday 07:00: the whole 22:00-06:00 shift.
    assert business_seconds(night, utc(2026, 1, 5, 21), utc(2026, 1, 6, 7)) == 8 * H
    assert add_business_seconds(night, utc(2026, 1, 5, 23), 2 * H) == utc(2026, 1, 6, 1)


# --------------------------------------------------------------------------- business_seconds


def test_counts_only_open_time() -> None:
    # Monday 2026-01-05 08:00 Paris (07:00Z) to 19:00 (18:00Z): 3.5 h + 4.5 h.
    assert business_seconds(OFFICE, utc(2026, 1, 5, 7), utc(2026, 1, 5, 18)) == 8 * H


def test_a_weekend_counts_nothing() -> None:
    assert business_seconds(OFFICE, utc(2026, 1, 3, 0), utc(2026, 1, 5, 0)) == 0


def test_a_holiday_counts_nothing() -> None:
    assert business_seconds(OFFICE, utc(2026, 12, 24, 23), utc(2026, 12, 25, 23)) == 0


def test_a_whole_week_of_the_office() -> None:
    assert business_seconds(OFFICE, utc(2026, 1, 5), utc(2026, 1, 12)) == 5 * 8 * H


def test_lunch_break_is_skipped() -> None:
    # 12:00 to 14:00 Paris in January (UTC+1): 30 min before, 30 min after lunch.
    assert business_seconds(OFFICE, utc(2026, 1, 5, 11), utc(2026, 1, 5, 13)) == H


def test_always_counts_real_time() -> None:
    start = utc(2026, 3, 1)
    assert (
        business_seconds(BusinessHours.always(), start, start + timedelta(days=40)) == 40 * 24 * H
    )


def test_seconds_round_down() -> None:
    start = utc(2026, 1, 5, 9)
    assert business_seconds(BusinessHours.always(), start, start + timedelta(seconds=1.9)) == 1


def test_empty_range_is_zero() -> None:
    assert business_seconds(OFFICE, utc(2026, 1, 5, 10), utc(2026, 1, 5, 10)) == 0


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before start"):
        business_seconds(OFFICE, utc(2026, 1, 5, 10), utc(2026, 1, 5, 9))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds(OFFICE, datetime(2026, 1, 5, 10), utc(2026, 1, 5, 11))


def test_any_aware_zone_is_accepted() -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2026, 1, 5, 10, tzinfo=plus_two)  # 08:00Z = 09:00 Paris
    assert business_seconds(OFFICE, start, start + timedelta(hours=1)) == H


# --------------------------------------------------------------------------- DST (Europe/Paris)

# 2026: clocks go forward on Sunday 29 March at 02:00 (to 03:00), back on Sunday
# 25 October at 03:00 (to 02:00).


def test_spring_forward_day_has_23_hours() -> None:
    start = utc(2026, 3, 28, 23)  # Sunday 00:00 CET
    end = utc(2026, 3, 29, 22)  # Monday 00:00 CEST
    assert business_seconds(FULL_DAYS_PARIS, start, end) == 23 * H


def test_fall_back_day_has_25_hours() -> None:
    start = utc(2026, 10, 24, 22)  # Sunday 00:00 CEST
    end = utc(2026, 10, 25, 23)  # Monday 00:00 CET
    assert business_seconds(FULL_DAYS_PARIS, start, end) == 25 * H


def test_office_hours_last_nine_hours_on_both_sides_of_a_change() -> None:
    hours = paris({key: ["09:00-18:00"] for key in ("fri", "mon")})
    assert business_seconds(hours, utc(2026, 3, 27), utc(2026, 3, 28)) == 9 * H  # CET
    assert business_seconds(hours, utc(2026, 3, 30), utc(2026, 3, 31)) == 9 * H  # CEST


def test_interval_in_the_skipped_hour_opens_only_for_its_existing_part() -> None:
    hours = paris({"sun": ["01:30-02:30"]})  # 02:00-03:00 does not exist that day
    assert business_seconds(hours, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 30 * 60


def test_interval_in_the_repeated_hour_is_open_twice() -> None:
    hours = paris({"sun": ["00:00-02:30"]})  # 02:00-02:30 happens twice
    assert business_seconds(hours, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == 3 * H


def test_due_time_across_the_spring_change() -> None:
    hours = paris({key: ["09:00-18:00"] for key in WEEKDAYS})
    # Friday 27 March 17:00 CET (16:00Z), 3 h: 1 h on Friday, 2 h from Monday 09:00 CEST.
    assert add_business_seconds(hours, utc(2026, 3, 27, 16), 3 * H) == utc(2026, 3, 30, 9)


def test_due_time_across_the_autumn_change() -> None:
    hours = paris({key: ["09:00-18:00"] for key in WEEKDAYS})
    # Friday 23 October 17:00 CEST (15:00Z), 3 h: Monday 11:00 CET is 10:00Z.
    assert add_business_seconds(hours, utc(2026, 10, 23, 15), 3 * H) == utc(2026, 10, 26, 10)


# --------------------------------------------------------------------------- add_business_seconds


def test_due_time_inside_the_same_interval() -> None:
    assert add_business_seconds(OFFICE, utc(2026, 1, 5, 8), 30 * 60) == utc(2026, 1, 5, 8, 30)


def test_due_time_at_closing_time_stays_at_closing_time() -> None:
    # Monday 17:00 Paris (16:00Z) + 1 h = 18:00 Paris, not Tuesday 09:00.
    assert add_business_seconds(OFFICE, utc(2026, 1, 5, 16), H) == utc(2026, 1, 5, 17)


def test_due_time_from_closed_time_starts_at_opening() -> None:
    # Saturday: the clock starts on Monday 09:00 Paris (08:00Z).
    assert add_business_seconds(OFFICE, utc(2026, 1, 3, 12), 60) == utc(2026, 1, 5, 8, 1)


def test_due_time_skips_the_holiday() -> None:
    # Thursday 24 December 17:30 Paris; Friday 25 is a holiday: Monday 28 09:30.
    assert add_business_seconds(OFFICE, utc(2026, 12, 24, 16, 30), H) == utc(2026, 12, 28, 8, 30)


def test_zero_seconds_is_the_start() -> None:
    assert add_business_seconds(OFFICE, utc(2026, 1, 3, 12), 0) == utc(2026, 1, 3, 12)


def test_negative_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_seconds(OFFICE, utc(2026, 1, 5), -1)


def test_result_is_utc() -> None:
    start = datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=5)))
    assert add_business_seconds(OFFICE, start, 60).tzinfo is UTC


_starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
_hours = st.sampled_from(
    [
        OFFICE,
        FULL_DAYS_PARIS,
        paris({"sun": ["00:00-02:30"], "wed": ["01:30-02:30", "23:00-24:00"]}),
        BusinessHours.parse({"timezone": "America/New_York", "week": {"sat": ["10:00-14:00"]}}),
        BusinessHours.parse({"timezone": "Australia/Lord_Howe", "week": {"sun": ["00:00-24:00"]}}),
    ]
)


@settings(max_examples=150, deadline=None)
@given(_hours, _starts, st.integers(min_value=0, max_value=30 * 24 * H))
def test_add_then_measure_gives_the_seconds_back(
    hours: BusinessHours, start: datetime, seconds: int
) -> None:
    due = add_business_seconds(hours, start, seconds)
    assert due >= start
    assert business_seconds(hours, start, due) == seconds


@settings(max_examples=150, deadline=None)
@given(
    _hours, _starts, st.integers(min_value=0, max_value=20 * 24 * H), st.integers(0, 20 * 24 * H)
)
def test_business_seconds_add_up_over_consecutive_ranges(
    hours: BusinessHours, start: datetime, first: int, second: int
) -> None:
    start = start.replace(microsecond=0)  # whole seconds: rounding down is then exact
    middle = start + timedelta(seconds=first)
    end = middle + timedelta(seconds=second)
    whole = business_seconds(hours, start, end)
    assert whole == business_seconds(hours, start, middle) + business_seconds(hours, middle, end)
    assert whole <= first + second


@settings(max_examples=100, deadline=None)
@given(_hours, _starts)
def test_an_open_instant_counts_its_next_second(hours: BusinessHours, start: datetime) -> None:
    start = start.replace(microsecond=0)
    assert is_open(hours, start) == (
        business_seconds(hours, start, start + timedelta(seconds=1)) == 1
    )


# --------------------------------------------------------------------------- is_open


def test_is_open() -> None:
    assert is_open(OFFICE, utc(2026, 1, 5, 8))  # Monday 09:00 Paris
    assert not is_open(OFFICE, utc(2026, 1, 5, 7, 59))
    assert not is_open(OFFICE, utc(2026, 1, 5, 11, 45))  # lunch
    assert not is_open(OFFICE, utc(2026, 12, 25, 10))  # holiday


# --------------------------------------------------------------------------- SLA policy


def test_default_targets() -> None:
    policy = SlaPolicy.default()
    assert dict(policy.first_response_s) == {
        "low": 24 * H,
        "normal": 8 * H,
        "high": 4 * H,
        "urgent": H,
    }
    assert dict(policy.resolution_s) == {
        "low": 7 * 24 * H,
        "normal": 72 * H,
        "high": 24 * H,
        "urgent": 8 * H,
    }


def test_sla_json_round_trips() -> None:
    policy = SlaPolicy.default()
    assert list(policy.to_json()["first_response_s"]) == list(PRIORITIES)
    assert SlaPolicy.parse(policy.to_json()) == policy


def test_null_is_no_target() -> None:
    spec = SlaPolicy.default().to_json()
    spec["resolution_s"]["low"] = None
    policy = SlaPolicy.parse(spec)
    assert policy.resolution_s["low"] is None
    assert policy.due_at(OFFICE, kind="resolution", priority="low", since=utc(2026, 1, 5)) is None


def test_due_at_uses_business_time() -> None:
    policy = SlaPolicy.default()
    # Urgent case opened on Christmas Eve at 18:30 Paris: first response due Monday 10:00.
    due = policy.due_at(
        OFFICE, kind="first_response", priority="urgent", since=utc(2026, 12, 24, 17, 30)
    )
    assert due == utc(2026, 12, 28, 9)


def test_due_at_refuses_an_unknown_priority() -> None:
    with pytest.raises(ValueError, match="unknown priority 'critical'"):
        SlaPolicy.default().due_at(
            OFFICE, kind="resolution", priority="critical", since=utc(2026, 1, 5)
        )


def _sla_spec(**changes: Any) -> dict[str, Any]:
    spec = SlaPolicy.default().to_json()
    for key, value in changes.items():
        kind, priority = key.split("__")
        spec[kind][priority] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_sla_spec(first_response_s__low=0), "not a positive number"),
        (_sla_spec(first_response_s__low=-5), "not a positive number"),
        (_sla_spec(first_response_s__low=1.5), "not a positive number"),
        (_sla_spec(first_response_s__low=True), "not a positive number"),
        (_sla_spec(first_response_s__low="1h"), "not a positive number"),
        (_sla_spec(first_response_s__urgent=9 * H), "longer than the resolution target"),
        ({"first_response_s": {}}, "missing SLA key"),
        ({**SlaPolicy.default().to_json(), "pause": True}, "unknown SLA key"),
        ({"first_response_s": [], "resolution_s": {}}, "an object of priority"),
    ],
)
def test_bad_sla_specs_raise_config_error(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SlaPolicy.parse(spec)


def test_every_priority_must_be_given() -> None:
    spec = SlaPolicy.default().to_json()
    del spec["first_response_s"]["high"]
    with pytest.raises(ConfigError, match="no target for high"):
        SlaPolicy.parse(spec)
    spec = SlaPolicy.default().to_json()
    spec["resolution_s"]["critical"] = 60
    with pytest.raises(ConfigError, match="unknown priority"):
        SlaPolicy.parse(spec)
