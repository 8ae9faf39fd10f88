"""Business hours of a workspace and the SLA clock that runs only while they are open.

:class:`BusinessHours` says when a workspace is open: a time zone, open intervals
per weekday, and holidays. :func:`business_seconds` measures the open time
between two instants (first response time, resolution time);
:func:`add_business_seconds` gives the instant a target expires (the due time).
:class:`SlaPolicy` holds the targets per priority.

Definitions and choices:

* **Wall-clock opening.** An instant is open when the clock on the office wall
  (the workspace's time zone) shows a time inside an open interval of that day's
  weekday, and that local date is not a holiday. So a 09:00–18:00 day lasts nine
  hours on every day of the year; a 00:00–24:00 day lasts 23 hours when clocks
  go forward (Europe/Paris: last Sunday of March) and 25 hours when they go back
  (last Sunday of October); an interval inside the skipped hour is never open, one
  inside the repeated hour is open twice.
* **Intervals stay within their day.** ``"22:00-06:00"`` is refused: write
  ``"22:00-24:00"`` on one day and ``"00:00-06:00"`` on the next; the two join
  without a gap. ``24:00`` is only an end. In :class:`BusinessHours`, an end of
  ``time(0)`` means the end of the day (24:00).
* A week must open at least once (otherwise no due time would ever come).
* Instants in and out are timezone-aware; any zone is accepted in, UTC comes out.
  A naive datetime raises :class:`ValueError`. Durations are whole seconds
  (:func:`business_seconds` rounds down).
* SLA targets are **business** durations: with the default 24/7 hours, a 72 h
  target is three days; with 09:00–18:00 on weekdays it is eight working days.

Everything here is pure; time zones come from :mod:`zoneinfo` (the system's
database, or the ``tzdata`` package where the system has none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flocon.errors import ConfigError

__all__ = [
    "DAY_NAMES",
    "PRIORITIES",
    "BusinessHours",
    "SlaPolicy",
    "add_business_seconds",
    "business_seconds",
    "is_open",
]

#: Weekday keys of the JSON form, Monday first (``datetime.weekday()`` order).
DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Case priorities, lowest first.
PRIORITIES: Final = ("low", "normal", "high", "urgent")

_MIDNIGHT: Final = time(0)
_DAY: Final = timedelta(days=1)
_SECOND: Final = timedelta(seconds=1)

Interval = tuple[time, time]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"unknown time zone {name!r} (an IANA name such as 'Europe/Paris')"
        ) from exc


def _offset(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _bounds(interval: Interval) -> tuple[timedelta, timedelta]:
    """``interval`` as offsets from the start of its day (an end of 00:00 is 24 h)."""
    start, end = interval
    return _offset(start), _DAY if end == _MIDNIGHT else _offset(end)


def _format_time(t: time, *, end: bool = False) -> str:
    if end and t == _MIDNIGHT:
        return "24:00"
    text = f"{t.hour:02d}:{t.minute:02d}"
    if t.second or t.microsecond:
        text += f":{t.second:02d}"
    if t.microsecond:
        text += f".{t.microsecond:06d}"
    return text


@dataclass(frozen=True)
class BusinessHours:
    """When a workspace is open; see the module docstring for the exact meaning.

    ``week`` maps a weekday (0 = Monday) to its open intervals ``(start, end)`` in
    local wall time; an absent weekday is closed; an ``end`` of ``time(0)`` is
    24:00. Intervals are sorted and checked (no overlap, none across midnight,
    at least one in the week) when the object is made; invalid ones raise
    :class:`~flocon.errors.ConfigError`.
    """

    timezone: str
    week: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        _zone(self.timezone)
        unknown = sorted(set(self.week) - set(range(7)))
        if unknown:
            raise ConfigError(f"weekdays are 0 (Monday) to 6 (Sunday), not {unknown}")
        week = {day: _checked_day(day, self.week.get(day, ())) for day in range(7)}
        if not any(week.values()):
            raise ConfigError("business hours must open at least once a week")
        object.__setattr__(self, "week", MappingProxyType(week))
        holidays = frozenset(self.holidays)
        if any(isinstance(day, datetime) or not isinstance(day, date) for day in holidays):
            raise ConfigError("holidays are dates (local days), not datetimes")
        object.__setattr__(self, "holidays", holidays)

    def __hash__(self) -> int:
        return hash((self.timezone, tuple(self.week.items()), self.holidays))

    @classmethod
    def always(cls) -> BusinessHours:
        """Open all the time (the default of a workspace)."""
        return cls("UTC", dict.fromkeys(range(7), ((_MIDNIGHT, _MIDNIGHT),)))

    @property
    def always_open(self) -> bool:
        """True when every instant is open (every day 00:00–24:00, no holiday)."""
        return not self.holidays and all(
            intervals == ((_MIDNIGHT, _MIDNIGHT),) for intervals in self.week.values()
        )

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> BusinessHours:
        """Read the JSON form::

            {"timezone": "Europe/Paris",
             "week": {"mon": ["09:00-12:30", "13:30-18:00"], ..., "sat": [], "sun": []},
             "holidays": ["2026-12-25"]}

        ``timezone`` and ``week`` are required; a weekday left out of ``week`` is
        closed; ``holidays`` is optional. Raises :class:`~flocon.errors.ConfigError`
        naming the faulty entry.
        """
        if not isinstance(spec, Mapping):
            raise ConfigError("business hours must be a JSON object")
        unknown = sorted(set(spec) - {"timezone", "week", "holidays"})
        if unknown:
            raise ConfigError(f"unknown business hours key(s): {', '.join(map(str, unknown))}")
        timezone = spec.get("timezone")
        if not isinstance(timezone, str):
            raise ConfigError(
                "business hours need a 'timezone' (an IANA name such as 'Europe/Paris')"
            )
        week_spec = spec.get("week")
        if not isinstance(week_spec, Mapping):
            raise ConfigError("business hours need a 'week' object (keys mon ... sun)")
        week: dict[int, tuple[Interval, ...]] = {}
        for key, intervals in week_spec.items():
            if key not in DAY_NAMES:
                raise ConfigError(f"week: unknown day {key!r} (use {', '.join(DAY_NAMES)})")
            if not isinstance(intervals, list):
                raise ConfigError(f"week.{key}: a list of 'HH:MM-HH:MM' intervals is expected")
            week[DAY_NAMES.index(key)] = tuple(
                _parse_interval(item, f"week.{key}[{i}]") for i, item in enumerate(intervals)
            )
        holidays_spec = spec.get("holidays", [])
        if not isinstance(holidays_spec, list):
            raise ConfigError("holidays: a list of 'YYYY-MM-DD' dates is expected")
        holidays = frozenset(
            _parse_date(item, f"holidays[{i}]") for i, item in enumerate(holidays_spec)
        )
        return cls(timezone, week, holidays)

    def to_json(self) -> dict[str, Any]:
        """The JSON form read by :meth:`parse` (every weekday listed, holidays sorted)."""
        return {
            "timezone": self.timezone,
            "week": {
                name: [
                    f"{_format_time(start)}-{_format_time(end, end=True)}"
                    for start, end in self.week[day]
                ]
                for day, name in enumerate(DAY_NAMES)
            },
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
        }


def _checked_day(day: int, intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    name = DAY_NAMES[day]
    for start, end in intervals:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigError(f"{name}: interval times are local wall times, without a zone")
        if end != _MIDNIGHT and end <= start:
            raise ConfigError(
                f"{name}: {_format_time(start)}-{_format_time(end, end=True)} "
                + (
                    "is empty"
                    if end == start
                    else "crosses midnight; split it at 24:00 and go on the next day from 00:00"
                )
            )
    ordered = tuple(sorted(intervals))
    for previous, current in pairwise(ordered):
        if _bounds(current)[0] < _bounds(previous)[1]:
            raise ConfigError(
                f"{name}: intervals {_format_time(previous[0])}-"
                f"{_format_time(previous[1], end=True)} and {_format_time(current[0])}-"
                f"{_format_time(current[1], end=True)} overlap"
            )
    return ordered


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _parse_time(text: str, where: str, *, end: bool) -> time:
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"{where}: {text!r} is not a time (HH:MM)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if end and (hour, minute, second) == (24, 0, 0):
        return _MIDNIGHT
    if hour > 23 or minute > 59 or second > 59:
        raise ConfigError(
            f"{where}: {text!r} is not a time of day"
            + (" (24:00 is only allowed as an end)" if hour == 24 else "")
        )
    return time(hour, minute, second)


def _parse_interval(item: object, where: str) -> Interval:
    if not isinstance(item, str) or item.count("-") != 1:
        raise ConfigError(f"{where}: {item!r} is not an interval 'HH:MM-HH:MM'")
    start_text, end_text = item.split("-")
    start = _parse_time(start_text, where, end=False)
    end = _parse_time(end_text, where, end=True)
    if end != _MIDNIGHT and end <= start:
        problem = "is empty" if end == start else "crosses midnight"
        raise ConfigError(
            f"{where}: {item!r} {problem}; an interval ends on its own day"
            " (split '22:00-06:00' into '22:00-24:00' and '00:00-06:00' the next day)"
        )
    return start, end


def _parse_date(item: object, where: str) -> date:
    if not isinstance(item, str):
        raise ConfigError(f"{where}: {item!r} is not a date 'YYYY-MM-DD'")
    try:
        return date.fromisoformat(item)
    except ValueError as exc:
        raise ConfigError(f"{where}: {item!r} is not a date 'YYYY-MM-DD'") from exc


# --------------------------------------------------------------------------- the clock


def _utc(moment: datetime, name: str) -> datetime:
    """``moment`` as a naive UTC datetime (the internal form)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _utc_offset(zone: ZoneInfo, naive_utc: datetime) -> timedelta:
    offset = naive_utc.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always gives one
    return offset


def _constant_until(zone: ZoneInfo, moment: datetime, offset: timedelta) -> datetime:
    """The first instant after ``moment``, at most a day later, where ``offset`` changes.

    Zones change offsets on whole seconds and never twice within a day, so checking
    the end of the day then bisecting on seconds finds the change exactly.
    """
    low = moment.replace(microsecond=0)
    high = low + _DAY
    if _utc_offset(zone, high) == offset:
        return high
    while high - low > _SECOND:
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if _utc_offset(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return high


def _open_wall(
    hours: BusinessHours, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals of naive wall time within ``[start, end)``, in order."""
    day = start.date()
    while day <= end.date():
        if day not in hours.holidays:
            midnight = datetime.combine(day, _MIDNIGHT)
            for interval in hours.week[day.weekday()]:
                low, high = _bounds(interval)
                a, b = max(start, midnight + low), min(end, midnight + high)
                if a < b:
                    yield a, b
        day += _DAY


def _segments(hours: BusinessHours, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals of naive UTC time from ``start`` on, in order, without end."""
    zone = _zone(hours.timezone)
    cursor = start
    while True:
        offset = _utc_offset(zone, cursor)
        until = _constant_until(zone, cursor, offset)
        for a, b in _open_wall(hours, cursor + offset, until + offset):
            yield a - offset, b - offset
        cursor = until


def business_seconds(hours: BusinessHours, start: datetime, end: datetime) -> int:
    """Open seconds between ``start`` and ``end`` (whole seconds, rounded down).

    Raises :class:`ValueError` when ``end`` is before ``start`` or either is naive.
    """
    a, b = _utc(start, "start"), _utc(end, "end")
    if b < a:
        raise ValueError("end is before start")
    if hours.always_open:
        return (b - a) // _SECOND
    total = timedelta()
    for low, high in _segments(hours, a):
        if low >= b:
            break
        total += min(high, b) - low
    return total // _SECOND


def add_business_seconds(hours: BusinessHours, start: datetime, seconds: int) -> datetime:
    """The instant (UTC) when ``seconds`` of open time have passed since ``start``: a due time.

    ``seconds=0`` gives ``start`` itself; a target that runs out exactly at closing
    time is due at closing time, not at the next opening.
    """
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    a = _utc(start, "start")
    remaining = timedelta(seconds=seconds)
    if hours.always_open or not remaining:
        return (a + remaining).replace(tzinfo=UTC)
    for low, high in _segments(hours, a):
        if high - low >= remaining:
            return (low + remaining).replace(tzinfo=UTC)
        remaining -= high - low
    raise AssertionError("unreachable: business hours open every week")  # pragma: no cover


def is_open(hours: BusinessHours, moment: datetime) -> bool:
    """Whether ``moment`` falls in business hours."""
    _utc(moment, "moment")
    wall = moment.astimezone(_zone(hours.timezone)).replace(tzinfo=None)
    if wall.date() in hours.holidays:
        return False
    offset = wall - datetime.combine(wall.date(), _MIDNIGHT)
    return any(low <= offset < high for low, high in map(_bounds, hours.week[wall.weekday()]))


# --------------------------------------------------------------------------- SLA targets

_HOUR: Final = 3600


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority, in business seconds; ``None`` is no target.

    Both mappings hold exactly the keys of :data:`PRIORITIES`; a first-response
    target may not be longer than the resolution target of the same priority.
    """

    first_response_s: Mapping[str, int | None]
    resolution_s: Mapping[str, int | None]

    def __post_init__(self) -> None:
        first = _checked_targets(self.first_response_s, "first_response_s")
        resolution = _checked_targets(self.resolution_s, "resolution_s")
        for priority in PRIORITIES:
            f, r = first[priority], resolution[priority]
            if f is not None and r is not None and f > r:
                raise ConfigError(
                    f"{priority}: the first response target ({f} s) is longer than the"
                    f" resolution target ({r} s)"
                )
        object.__setattr__(self, "first_response_s", MappingProxyType(first))
        object.__setattr__(self, "resolution_s", MappingProxyType(resolution))

    def __hash__(self) -> int:
        return hash((tuple(self.first_response_s.items()), tuple(self.resolution_s.items())))

    @classmethod
    def default(cls) -> SlaPolicy:
        """urgent 1 h / 8 h, high 4 h / 24 h, normal 8 h / 72 h, low 24 h / 7 days (business time)."""
        return cls(
            first_response_s={
                "low": 24 * _HOUR,
                "normal": 8 * _HOUR,
                "high": 4 * _HOUR,
                "urgent": 1 * _HOUR,
            },
            resolution_s={
                "low": 7 * 24 * _HOUR,
                "normal": 72 * _HOUR,
                "high": 24 * _HOUR,
                "urgent": 8 * _HOUR,
            },
        )

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> SlaPolicy:
        """Read ``{"first_response_s": {"low": 86400, ..., "urgent": 3600}, "resolution_s": {...}}``.

        Every priority must be given in both objects (``null``: no target).
        """
        if not isinstance(spec, Mapping):
            raise ConfigError("an SLA policy must be a JSON object")
        keys = {"first_response_s", "resolution_s"}
        unknown = sorted(set(spec) - keys)
        if unknown:
            raise ConfigError(f"unknown SLA key(s): {', '.join(map(str, unknown))}")
        missing = sorted(keys - set(spec))
        if missing:
            raise ConfigError(f"missing SLA key(s): {', '.join(missing)}")
        first, resolution = spec["first_response_s"], spec["resolution_s"]
        for name, value in (("first_response_s", first), ("resolution_s", resolution)):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{name}: an object of priority → seconds is expected")
        return cls(dict(first), dict(resolution))

    def to_json(self) -> dict[str, Any]:
        """The JSON form read by :meth:`parse`."""
        return {
            "first_response_s": {p: self.first_response_s[p] for p in PRIORITIES},
            "resolution_s": {p: self.resolution_s[p] for p in PRIORITIES},
        }

    def due_at(
        self,
        hours: BusinessHours,
        *,
        kind: Literal["first_response", "resolution"],
        priority: str,
        since: datetime,
    ) -> datetime | None:
        """When the ``kind`` target of a case of ``priority`` opened at ``since`` expires (UTC).

        ``None`` when the policy sets no target for that priority.
        """
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r} (one of {', '.join(PRIORITIES)})")
        targets = self.first_response_s if kind == "first_response" else self.resolution_s
        seconds = targets[priority]
        return None if seconds is None else add_business_seconds(hours, since, seconds)


def _checked_targets(targets: Mapping[str, object], name: str) -> dict[str, int | None]:
    unknown = sorted(set(targets) - set(PRIORITIES))
    if unknown:
        raise ConfigError(f"{name}: unknown priority {unknown} (use {', '.join(PRIORITIES)})")
    missing = [p for p in PRIORITIES if p not in targets]
    if missing:
        raise ConfigError(f"{name}: no target for {', '.join(missing)} (null means no target)")
    checked: dict[str, int | None] = {}
    for priority in PRIORITIES:
        value = targets[priority]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ):
            raise ConfigError(f"{name}.{priority}: {value!r} is not a positive number of seconds")
        checked[priority] = value
    return checked
