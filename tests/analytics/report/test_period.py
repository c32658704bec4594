"""The period of a report: ISO weeks and calendar months in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from analytics.kpis.windows import PROVINCE_TZ
from analytics.report.errors import ReportInputError
from analytics.report.period import PeriodKind, choose_period, parse_start


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=PROVINCE_TZ).timestamp()


def test_the_default_is_the_last_complete_week_and_month() -> None:
    wednesday = _at(2026, 12, 2, 9, 0)
    week = choose_period(PeriodKind.WEEK, None, wednesday)
    assert (week.first_day, week.last_day, week.label) == (
        date(2026, 11, 23), date(2026, 11, 29), "2026-W48",
    )  # fmt: skip
    month = choose_period(PeriodKind.MONTH, None, wednesday)
    assert (month.first_day, month.last_day, month.label) == (
        date(2026, 11, 1), date(2026, 11, 30), "2026-11",
    )  # fmt: skip


def test_periods_follow_the_local_calendar_not_utc() -> None:
    # 00:30 on Monday 30 November in Thái Bình is still Sunday in UTC: the week has ended
    week = choose_period(PeriodKind.WEEK, None, _at(2026, 11, 30, 0, 30))
    assert week.label == "2026-W48"
    assert datetime.fromtimestamp(week.start, PROVINCE_TZ) == datetime(
        2026, 11, 23, tzinfo=PROVINCE_TZ
    )


def test_a_start_date_picks_the_period_that_holds_it() -> None:
    now = _at(2026, 12, 4, 12, 0)
    assert choose_period(PeriodKind.WEEK, date(2026, 11, 26), now).label == "2026-W48"
    assert choose_period(PeriodKind.WEEK, date(2027, 1, 1), _at(2027, 1, 2)).label == "2026-W53"
    february = choose_period(PeriodKind.MONTH, date(2028, 2, 10), _at(2028, 3, 1))
    assert february.last_day == date(2028, 2, 29)
    assert february.previous().label == "2028-01"
    assert february.previous().last_day == date(2028, 1, 31)
    running = choose_period(PeriodKind.WEEK, date(2026, 12, 4), now)  # this week, so far
    assert running.label == "2026-W49"


def test_bad_periods_and_dates_are_refused_with_the_value() -> None:
    with pytest.raises(ReportInputError, match=r"--period 'fortnight' is not a period"):
        PeriodKind.parse("fortnight")
    with pytest.raises(ReportInputError, match=r"--start '23/11/2026' is not a date"):
        parse_start("23/11/2026")
    with pytest.raises(ReportInputError, match=r"the week 2026-W50 has not begun"):
        choose_period(PeriodKind.WEEK, date(2026, 12, 8), _at(2026, 12, 4))
