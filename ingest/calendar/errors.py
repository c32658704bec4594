"""Errors of the room calendars' sync.

CalendarError
├── CalendarUnreachableError   the CalDAV server did not answer, refused the login or the
│                              calendar (the room keeps its last known bookings; the
│                              calendar shows as degraded until a poll succeeds)
└── CalendarDataError          one calendar object cannot be read as bookings (garbage
                               iCalendar, a VEVENT without DTSTART, …): logged with the
                               calendar and the object, skipped; the rest is synced
"""

from __future__ import annotations


class CalendarError(Exception):
    """Base of every error of the calendar sync."""


class CalendarUnreachableError(CalendarError):
    """The CalDAV server or one calendar on it cannot be read now."""


class CalendarDataError(CalendarError):
    """A calendar object that is not valid booking data; the message names it."""
