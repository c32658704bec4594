"""Calendar windows in the province's time zone: 15 minutes, hour, day, week, month.

Windows are calendar windows in Asia/Ho_Chi_Minh (UTC+07:00, no daylight saving since
1975), so a day is 00:00–24:00 local time, a week starts on Monday and a month on the 1st,
as operators and reports count them — not rolling 24-hour spans. A window is named by its
kind and its start (epoch seconds); the `kpi` points are stamped with that start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

PROVINCE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Window(StrEnum):
    """A window kind; the value is the `window` tag of `kpi` points."""

    QUARTER = "15m"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


FIXED_SECONDS: dict[Window, int] = {Window.QUARTER: 900, Window.HOUR: 3600}
"""Windows of a fixed length (the others follow the calendar)."""
DAY_WINDOWS = (Window.QUARTER, Window.HOUR, Window.DAY)
"""The windows a day's recompute writes."""
PERIOD_WINDOWS = (Window.WEEK, Window.MONTH)


def local_day(t: float, tz: tzinfo = PROVINCE_TZ) -> date:
    """The calendar day of ``t`` in ``tz``."""
    return datetime.fromtimestamp(t, tz).date()


def day_start(day: date, tz: tzinfo = PROVINCE_TZ) -> float:
    """Epoch seconds of local midnight starting ``day``."""
    return datetime.combine(day, time(0, 0), tz).timestamp()


def day_bounds(day: date, tz: tzinfo = PROVINCE_TZ) -> tuple[float, float]:
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def window_start(t: float, window: Window, tz: tzinfo = PROVINCE_TZ) -> float:
    """Start (epoch seconds) of the ``window`` that holds ``t``."""
    moment = datetime.fromtimestamp(t, tz)
    if window in FIXED_SECONDS:
        size = FIXED_SECONDS[window]
        offset = moment.utcoffset()
        shift = offset.total_seconds() if offset is not None else 0.0
        return t - ((t + shift) % size)
    day = moment.date()
    if window is Window.WEEK:
        day -= timedelta(days=day.weekday())
    elif window is Window.MONTH:
        day = day.replace(day=1)
    return day_start(day, tz)


def window_end(start: float, window: Window, tz: tzinfo = PROVINCE_TZ) -> float:
    """End (exclusive) of the window starting at ``start``."""
    if window in FIXED_SECONDS:
        return start + FIXED_SECONDS[window]
    day = local_day(start, tz)
    if window is Window.DAY:
        return day_start(day + timedelta(days=1), tz)
    if window is Window.WEEK:
        return day_start(day + timedelta(days=7), tz)
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day_start(following, tz)


def previous_start(start: float, window: Window, tz: tzinfo = PROVINCE_TZ) -> float:
    """Start of the window before the one starting at ``start`` (for trends)."""
    return window_start(start - 1, window, tz)


def starts_between(a: float, b: float, window: Window, tz: tzinfo = PROVINCE_TZ) -> Iterator[float]:
    """Starts of the windows that overlap ``[a, b)``."""
    start = window_start(a, window, tz)
    while start < b:
        yield start
        start = window_end(start, window, tz)


def days_of(start: float, end: float, tz: tzinfo = PROVINCE_TZ) -> list[date]:
    """The calendar days overlapping ``[start, end)``."""
    days: list[date] = []
    day = local_day(start, tz)
    while day_start(day, tz) < end:
        days.append(day)
        day += timedelta(days=1)
    return days
