"""The period a report covers: an ISO week (Monday to Sunday) or a calendar month, in
Asia/Ho_Chi_Minh, as the KPI engine's `week` and `month` windows are.

Without a start date the report covers the last *complete* period: on a Wednesday, the
week that ended on Sunday — an evaluation of a week still running would change tomorrow.
A start date picks the period that holds it (any day of the week or month), so
``--start 2026-11-25`` is ISO week 2026-W48; a period that has not begun is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from analytics.kpis.windows import (
    PROVINCE_TZ,
    Window,
    day_start,
    days_of,
    local_day,
    previous_start,
    window_end,
    window_start,
)
from analytics.report.errors import ReportInputError


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"

    @property
    def window(self) -> Window:
        return Window.WEEK if self is PeriodKind.WEEK else Window.MONTH

    @classmethod
    def parse(cls, text: str) -> PeriodKind:
        try:
            return cls(text.strip().lower())
        except ValueError:
            accepted = ", ".join(kind.value for kind in cls)
            raise ReportInputError(
                f"--period {text!r} is not a period (one of: {accepted})"
            ) from None


@dataclass(slots=True, frozen=True)
class Period:
    """One week or month: ``[start, end)`` in epoch seconds, local midnights."""

    kind: PeriodKind
    start: float
    end: float

    @property
    def window(self) -> Window:
        return self.kind.window

    @property
    def first_day(self) -> date:
        return local_day(self.start, PROVINCE_TZ)

    @property
    def last_day(self) -> date:
        return local_day(self.end - 1, PROVINCE_TZ)

    @property
    def days(self) -> list[date]:
        return days_of(self.start, self.end, PROVINCE_TZ)

    @property
    def label(self) -> str:
        """``2026-W48`` or ``2026-11``: the period in file names and titles."""
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day:%Y-%m}"

    def previous(self) -> Period:
        """The period before, for the trend."""
        start = previous_start(self.start, self.window, PROVINCE_TZ)
        return Period(self.kind, start, self.start)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment.timestamp() < self.end


def period_holding(kind: PeriodKind, day: date) -> Period:
    """The week or month that holds ``day``."""
    start = window_start(day_start(day, PROVINCE_TZ), kind.window, PROVINCE_TZ)
    return Period(kind, start, window_end(start, kind.window, PROVINCE_TZ))


def last_complete(kind: PeriodKind, now: float) -> Period:
    """The last week or month that has ended by ``now``."""
    running = window_start(now, kind.window, PROVINCE_TZ)
    return period_holding(kind, local_day(running - 1, PROVINCE_TZ))


def choose_period(kind: PeriodKind, start: date | None, now: float) -> Period:
    """The period of ``--start`` (or the last complete one); ReportInputError for a period
    that has not begun by ``now``."""
    if start is None:
        return last_complete(kind, now)
    period = period_holding(kind, start)
    if period.start > now:
        today = local_day(now, PROVINCE_TZ)
        raise ReportInputError(
            f"--start {start.isoformat()}: the {kind.value} {period.label} has not begun"
            f" (today is {today.isoformat()} in Asia/Ho_Chi_Minh)"
        )
    return period


def parse_start(text: str) -> date:
    """``2026-11-23`` → a date; ReportInputError naming the value otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportInputError(
            f"--start {text!r} is not a date (YYYY-MM-DD, e.g. 2026-11-23)"
        ) from None
