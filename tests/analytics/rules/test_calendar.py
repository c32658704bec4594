"""Office calendars: weekly hours with the lunch break, Tết and other public holidays,
make-up working Saturdays and extra days off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.rules.calendar import Calendar, CalendarSpec
from analytics.rules.config import CalendarFile
from tests.analytics.rules.feed import local, ms, write
from twins.yaml_source import YamlModelError, load_yaml_model


def thaibinh(**overrides: object) -> Calendar:
    spec = CalendarSpec.model_validate({"hours": ["07:30-11:45", "13:30-17:00"], **overrides})
    return Calendar("office", spec)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("07:29", False),
        ("07:30", True),
        ("11:44", True),
        ("11:45", False),  # lunch
        ("12:30", False),
        ("13:30", True),
        ("16:59", True),
        ("17:00", False),
        ("2026-12-05 09:00", False),  # Saturday
        ("2026-12-06 09:00", False),  # Sunday
    ],
)
def test_a_working_day_has_its_sessions_and_its_lunch_break(moment: str, open_: bool) -> None:
    assert thaibinh().is_open(local(moment)) is open_


def test_tet_closes_the_office_for_the_whole_holiday() -> None:
    calendar = thaibinh()
    # Tết Bính Ngọ: New Year's Eve on Monday 16 February 2026, then four days
    for day in ("2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"):
        assert not calendar.is_open(local(f"{day} 09:00")), day
        assert "Tết" in (calendar.holiday(dt.date.fromisoformat(day)) or ""), day
    assert calendar.is_open(local("2026-02-13 09:00"))  # the Friday before
    assert calendar.is_open(local("2026-02-23 09:00"))  # the Monday after


def test_national_day_and_a_holiday_named_in_vietnamese() -> None:
    calendar = thaibinh()
    assert not calendar.is_open(local("2026-09-02 09:00"))
    assert calendar.holiday(dt.date(2026, 9, 2)) == "Quốc khánh"


def test_a_make_up_saturday_works_and_an_extra_day_off_does_not() -> None:
    calendar = thaibinh(
        working_days=[
            {"date": "2026-12-05", "note": "làm bù"},
            {"date": "2026-12-12", "hours": ["08:00-11:00"]},
        ],
        days_off=[{"date": "2026-12-02", "note": "nghỉ bù"}],
    )
    assert calendar.is_open(local("2026-12-05 09:00"))
    assert not calendar.is_open(local("2026-12-05 12:00"))  # its lunch break too
    assert calendar.is_open(local("2026-12-12 10:59"))
    assert not calendar.is_open(local("2026-12-12 11:00"))  # its own, shorter hours
    assert not calendar.is_open(local("2026-12-02 09:00"))
    assert calendar.is_open(local("2026-12-03 09:00"))


def test_a_working_day_on_a_public_holiday_overrides_it() -> None:
    calendar = thaibinh(working_days=[{"date": "2026-02-20"}])
    assert calendar.is_open(local("2026-02-20 09:00"))


def test_saturday_mornings_as_their_own_weekday() -> None:
    calendar = thaibinh(weekdays={"sat": ["07:30-11:30"]})
    assert calendar.is_open(local("2026-12-05 08:00"))
    assert not calendar.is_open(local("2026-12-05 14:00"))
    assert not calendar.is_open(local("2026-12-06 08:00"))


def test_instants_in_any_offset_are_judged_in_local_time() -> None:
    calendar = thaibinh()
    # 02:00 UTC is 09:00 in Hà Nội; 05:00 UTC is 12:00, lunch
    assert calendar.is_open(dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    assert not calendar.is_open(dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.UTC))
    assert calendar.is_open_ms(ms(local("10:00")))
    with pytest.raises(ValueError, match="no UTC offset"):
        calendar.is_open(dt.datetime(2026, 12, 2, 9, 0))


def test_no_public_holidays_when_switched_off() -> None:
    assert thaibinh(public_holidays=None).is_open(local("2026-02-17 09:00"))


def test_next_change_finds_the_next_opening_or_closing() -> None:
    calendar = thaibinh()
    assert calendar.next_change_ms(ms(local("11:00"))) == ms(local("11:45"))
    assert calendar.next_change_ms(ms(local("11:45"))) == ms(local("13:30"))
    # Friday evening: the next change is Monday's opening
    assert calendar.next_change_ms(ms(local("2026-12-04 17:30"))) == ms(local("2026-12-07 07:30"))
    # before Tết: the Friday closing, then the Monday after the holiday
    assert calendar.next_change_ms(ms(local("2026-02-13 17:00"))) == ms(local("2026-02-23 07:30"))


def test_calendar_file_errors_name_the_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "calendars.yaml",
        """\
calendars:
  office:
    hours: ["07:30-11:45", "13:30-17:00"]
    timezone: Asia/Hanoi_City
  reception:
    hours: ["7h30-11:30"]
    public_holidays: XX
    working_days:
      - {date: "the 31st"}
""",
    )
    with pytest.raises(YamlModelError) as caught:
        load_yaml_model(path, CalendarFile)
    problems = caught.value.problems
    assert (
        f"{path}:4: calendars.office.timezone: unknown time zone 'Asia/Hanoi_City'" in (problems[0])
    )
    assert any(
        p.startswith(f"{path}:6: calendars.reception.hours[0]: '7h30-11:30' is not a session")
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{path}:7: calendars.reception.public_holidays:") and "'XX'" in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{path}:9: calendars.reception.working_days[0].date:") for p in problems
    )


def test_overlapping_sessions_are_refused() -> None:
    with pytest.raises(ValueError, match="must be in order and not overlap"):
        CalendarSpec.model_validate({"hours": ["07:30-12:00", "11:30-17:00"]})
    with pytest.raises(ValueError, match="ends before it starts"):
        CalendarSpec.model_validate({"hours": ["17:00-07:30"]})
