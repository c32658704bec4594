"""Office calendars: when a counter is expected to be staffed and a queue watched.

A Vietnamese public office works Monday to Friday, 07:30–11:30 and 13:30–17:00 (a long
lunch break), is closed on the public holidays — Tết Nguyên Đán is five to seven days —
and moves days around them: a Saturday becomes a make-up working day (*ngày làm bù*) when
a holiday bridge is given, and the province adds days off of its own. A calendar file
says all of that in local time (``Asia/Ho_Chi_Minh``)::

    calendars:
      office:
        days: [mon, tue, wed, thu, fri]
        hours: ["07:30-11:45", "13:30-17:00"]      # the gap is the lunch break
        weekdays: {sat: ["07:30-11:30"]}            # a weekday with other hours
        public_holidays: VN                         # from the `holidays` package
        working_days: [{date: 2026-02-28, note: "làm bù Tết"}]
        days_off: [{date: 2026-02-23, note: "nghỉ bù"}]

The order of precedence on a day is: ``days_off`` > ``working_days`` > public holidays >
``weekdays`` > ``days``. Public holidays come from the maintained ``holidays`` package
(Vietnam's list follows the Labour Code, with Tết computed from the lunar calendar);
what the government decides each year on top of it goes into ``working_days`` and
``days_off``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from twins.kinds import Weekday

logger = logging.getLogger(__name__)

SITE_TIMEZONE = "Asia/Ho_Chi_Minh"
_SEARCH_DAYS = 400
"""How far ahead `Calendar.next_change` looks for an opening or a closing."""


def _parse_span(value: Any) -> Any:
    """``"07:30-11:45"`` → ``(07:30, 11:45)``; anything else is left to pydantic."""
    if not isinstance(value, str):
        return value
    start, sep, end = value.partition("-")
    try:
        if not sep:
            raise ValueError
        span = (dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not a session like '07:30-11:45'") from None
    if not span[0] < span[1]:
        raise ValueError(f"session {value!r} ends before it starts")
    return span


Span = Annotated[tuple[dt.time, dt.time], BeforeValidator(_parse_span)]
"""One session of a working day, written ``"HH:MM-HH:MM"`` in local time."""


def _check_sessions(spans: list[tuple[dt.time, dt.time]]) -> list[tuple[dt.time, dt.time]]:
    for before, after in itertools.pairwise(spans):
        if not before[1] <= after[0]:
            raise ValueError(
                f"sessions must be in order and not overlap:"
                f" {before[0]:%H:%M}-{before[1]:%H:%M} then {after[0]:%H:%M}-{after[1]:%H:%M}"
            )
    return spans


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingDay(_Section):
    """A day the office works although its weekday or a holiday says otherwise."""

    date: dt.date = Field(description="Local date, e.g. 2026-02-28.")
    hours: list[Span] | None = Field(
        default=None, description="Sessions of that day; the calendar's `hours` when absent."
    )
    note: str = Field(default="", description="Why, e.g. 'làm bù Tết'.")

    @field_validator("hours")
    @classmethod
    def _ordered(
        cls, value: list[tuple[dt.time, dt.time]] | None
    ) -> list[tuple[dt.time, dt.time]] | None:
        return None if value is None else _check_sessions(value)


class DayOff(_Section):
    """A day the office is closed although it would work."""

    date: dt.date = Field(description="Local date.")
    note: str = Field(default="", description="Why, e.g. 'nghỉ bù'.")


_WORKWEEK = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
_OFFICE_HOURS = [(dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0))]


class CalendarSpec(_Section):
    """One named calendar of a calendar file."""

    timezone: str = Field(default=SITE_TIMEZONE, description="IANA zone of the local times.")
    days: tuple[Weekday, ...] = Field(default=_WORKWEEK, description="Working weekdays.")
    hours: list[Span] = Field(
        default_factory=lambda: list(_OFFICE_HOURS),
        min_length=1,
        description="Sessions of a working day; the gaps are breaks (lunch).",
    )
    weekdays: dict[Weekday, list[Span]] = Field(
        default_factory=dict,
        description="Weekdays with their own sessions (e.g. Saturday mornings); open on them.",
    )
    public_holidays: str | None = Field(
        default="VN", description="Country code of the `holidays` package; null for none."
    )
    working_days: list[WorkingDay] = Field(
        default_factory=list, description="Make-up working days (ngày làm bù), working Saturdays."
    )
    days_off: list[DayOff] = Field(default_factory=list, description="Extra days off.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Asia/Ho_Chi_Minh')") from None
        return value

    @field_validator("public_holidays")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and value not in holidays.list_supported_countries():
            raise ValueError(f"the holidays package has no country {value!r} (Vietnam is 'VN')")
        return value

    @field_validator("hours")
    @classmethod
    def _ordered_hours(cls, value: list[tuple[dt.time, dt.time]]) -> list[tuple[dt.time, dt.time]]:
        return _check_sessions(value)

    @field_validator("weekdays")
    @classmethod
    def _ordered_weekdays(
        cls, value: dict[Weekday, list[tuple[dt.time, dt.time]]]
    ) -> dict[Weekday, list[tuple[dt.time, dt.time]]]:
        for spans in value.values():
            _check_sessions(spans)
        return value


Sessions = tuple[tuple[dt.time, dt.time], ...]


class Calendar:
    """A `CalendarSpec` ready for questions: is the office open at this instant?"""

    def __init__(self, name: str, spec: CalendarSpec) -> None:
        self.name = name
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self._holidays: holidays.HolidayBase | None = (
            holidays.country_holidays(spec.public_holidays, language="vi")
            if spec.public_holidays
            else None
        )
        self._working = {day.date: day for day in spec.working_days}
        self._off = {day.date: day for day in spec.days_off}
        self._cache: dict[dt.date, Sessions] = {}

    def holiday(self, day: dt.date) -> str | None:
        """The name (Vietnamese) of the public holiday on ``day``, if it is one."""
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def sessions_on(self, day: dt.date) -> Sessions:
        """The working sessions of the local date ``day`` (empty on a closed day)."""
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._sessions(day)
        return cached

    def _sessions(self, day: dt.date) -> Sessions:
        spec = self.spec
        if day in self._off:
            return ()
        working = self._working.get(day)
        if working is not None:
            return tuple(working.hours if working.hours is not None else spec.hours)
        if self.holiday(day) is not None:
            return ()
        weekday = Weekday.of(day.weekday())
        if weekday in spec.weekdays:
            return tuple(spec.weekdays[weekday])
        return tuple(spec.hours) if weekday in spec.days else ()

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self.sessions_on(day))

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` (an aware instant) falls in a working session of its local day."""
        if at.tzinfo is None:
            raise ValueError(f"calendar {self.name!r}: {at.isoformat()} has no UTC offset")
        local = at.astimezone(self.tz)
        now = local.time()
        return any(start <= now < end for start, end in self.sessions_on(local.date()))

    def is_open_ms(self, ts_ms: int) -> bool:
        """`is_open` of an epoch-millisecond event time."""
        return self.is_open(dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC))

    def next_change_ms(self, ts_ms: int) -> int | None:
        """The first session boundary (opening or closing) strictly after ``ts_ms``."""
        local = dt.datetime.fromtimestamp(ts_ms / 1000, self.tz)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            for start, end in self.sessions_on(day):
                for moment in (start, end):
                    edge = int(dt.datetime.combine(day, moment, self.tz).timestamp() * 1000)
                    if edge > ts_ms:
                        return edge
            day += dt.timedelta(days=1)
        return None
