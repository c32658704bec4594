"""Calendar objects a server may hand over that are no bookings: each refused with a
message naming the calendar and the object (Radicale itself refuses them on PUT, so
they are fed here as an external server would serve them)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.calendar.bookings import bookings_of
from ingest.calendar.errors import CalendarDataError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = (datetime(2026, 12, 1, tzinfo=TZ), datetime(2026, 12, 15, tzinfo=TZ))
WHERE = "calendar https://eoffice.example/cal/room-01/, object /cal/room-01/x.ics"


def _object(*event: str) -> str:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", "BEGIN:VEVENT", *event, "END:VEVENT",
         "END:VCALENDAR", ""]
    )  # fmt: skip


def test_a_garbage_object_is_refused_naming_the_calendar_and_object() -> None:
    with pytest.raises(CalendarDataError, match="not iCalendar data") as raised:
        bookings_of("this is no calendar\r\n", where=WHERE, window=WINDOW, tz=TZ)
    assert str(raised.value).startswith(WHERE)


def test_an_event_without_dtstart_is_refused_naming_its_uid() -> None:
    text = _object("UID:no-start@eoffice", "DTSTAMP:20261201T000000Z", "SUMMARY:Họp")
    with pytest.raises(CalendarDataError, match="event no-start@eoffice has no DTSTART"):
        bookings_of(text, where=WHERE, window=WINDOW, tz=TZ)


def test_a_floating_all_day_booking_is_read_in_the_province_time_zone() -> None:
    text = _object(
        "UID:hoi-nghi@eoffice", "DTSTAMP:20261201T000000Z", "DTSTART;VALUE=DATE:20261209",
        "DTEND;VALUE=DATE:20261210", "SUMMARY:Hội nghị", "X-CITYTWIN-PAPERLESS:TRUE",
    )  # fmt: skip
    [booking] = bookings_of(text, where=WHERE, window=WINDOW, tz=TZ)
    assert booking.as_twin()["start"] == "2026-12-08T17:00:00Z"
    assert booking.as_twin()["end"] == "2026-12-09T17:00:00Z"
    assert booking.paperless is True
    assert booking.attendees == 0
