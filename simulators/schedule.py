"""Working days and office sessions in simulated time (epoch seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from simulators.scenario import OfficeHours


@dataclass(slots=True, frozen=True)
class OfficeDay:
    """One working day: morning and afternoon sessions, as epoch seconds."""

    day: date
    opens: float
    lunch_starts: float
    lunch_ends: float
    closes: float

    @property
    def sessions(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return (self.opens, self.lunch_starts), (self.lunch_ends, self.closes)

    def in_session(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.sessions)


def at(day: date, moment: time, tz: timezone) -> float:
    return datetime.combine(day, moment, tz).timestamp()


def office_day(office: OfficeHours, day: date, tz: timezone) -> OfficeDay | None:
    """The sessions of ``day``, or None when the office is closed that day."""
    if day.weekday() not in {weekday.number for weekday in office.days}:
        return None
    return OfficeDay(
        day,
        at(day, office.opens, tz),
        at(day, office.lunch_starts, tz),
        at(day, office.lunch_ends, tz),
        at(day, office.closes, tz),
    )


def days_from(t: float, tz: timezone) -> Iterator[date]:
    """The calendar day of ``t`` and every day after it."""
    day = datetime.fromtimestamp(t, tz).date()
    while True:
        yield day
        day += timedelta(days=1)


def midnight_after(day: date, tz: timezone) -> float:
    return at(day + timedelta(days=1), time(0, 0), tz)


def hour_of_day(t: float, tz: timezone) -> float:
    """Local hour of the day as a float (13.5 is 13:30)."""
    moment = datetime.fromtimestamp(t, tz)
    return moment.hour + moment.minute / 60 + moment.second / 3600
