"""What a room calendar's VEVENTs mean as bookings.

One calendar object (an ``.ics`` resource) holds one event, possibly recurring with its
overridden instances; ``recurring-ical-events`` expands it over the sync window. Each
occurrence becomes a ``Booking``:

==================  ==========================================================
booking field       iCalendar (RFC 5545)
==================  ==========================================================
``booking``         ``UID``; an occurrence of a recurring event adds ``/`` and its
                    ``RECURRENCE-ID`` (the original start, UTC ``YYYYMMDDTHHMMSSZ``)
``title``           ``SUMMARY`` (empty when missing)
``start``/``end``   ``DTSTART``/``DTEND`` (or ``DURATION``); floating times and dates
                    are read in the calendar's time zone (Asia/Ho_Chi_Minh)
``organiser_unit``  ``X-CITYTWIN-UNIT``, else the ``CN`` of ``ORGANIZER``
``attendees``       ``X-CITYTWIN-ATTENDEES`` (an integer), else the number of ``ATTENDEE``
``paperless``       ``X-CITYTWIN-PAPERLESS:TRUE``, or ``PAPERLESS`` in ``CATEGORIES``
==================  ==========================================================

An occurrence with ``STATUS:CANCELLED`` is no booking (it is followed as a cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

import icalendar
import recurring_ical_events

from ingest.calendar.errors import CalendarDataError

PAPERLESS_CATEGORY = "PAPERLESS"


@dataclass(slots=True, frozen=True)
class Booking:
    """One booked occurrence in one room."""

    booking: str
    title: str
    start: datetime
    end: datetime
    organiser_unit: str | None
    attendees: int
    paperless: bool

    def as_twin(self) -> dict[str, Any]:
        """The booking as the twin's ``booking`` feature holds it (times RFC 3339 UTC)."""
        return {
            "booking": self.booking,
            "title": self.title,
            "start": _rfc3339(self.start),
            "end": _rfc3339(self.end),
            "organiserUnit": self.organiser_unit,
            "attendees": self.attendees,
            "paperless": self.paperless,
        }

    @classmethod
    def from_twin(cls, value: dict[str, Any]) -> Booking:
        """Back from ``as_twin`` (raises ``KeyError``, ``ValueError``, ``TypeError``)."""
        return cls(
            booking=str(value["booking"]),
            title=str(value.get("title") or ""),
            start=datetime.fromisoformat(value["start"]),
            end=datetime.fromisoformat(value["end"]),
            organiser_unit=value.get("organiserUnit"),
            attendees=int(value.get("attendees") or 0),
            paperless=bool(value.get("paperless")),
        )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bookings_of(
    text: str, *, where: str, window: tuple[datetime, datetime], tz: tzinfo
) -> list[Booking]:
    """The bookings of one calendar object over ``window``.

    ``where`` names the calendar and object in errors. Raises ``CalendarDataError``.
    """
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise CalendarDataError(f"{where}: not iCalendar data: {exc}") from exc
    events = list(calendar.walk("VEVENT"))
    if not events:
        raise CalendarDataError(f"{where}: no VEVENT in the object")
    recurring = False
    for event in events:
        uid = str(event.get("UID", "")) or "(no UID)"
        if event.get("DTSTART") is None:
            raise CalendarDataError(f"{where}: event {uid} has no DTSTART")
        recurring = recurring or "RRULE" in event or "RECURRENCE-ID" in event
    try:
        occurrences = recurring_ical_events.of(calendar).between(*window)
    except Exception as exc:  # the library's errors have no common base; name the object
        raise CalendarDataError(f"{where}: cannot expand the events: {exc}") from exc
    bookings = []
    for occurrence in occurrences:
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        bookings.append(_booking(occurrence, recurring, where, tz))
    return bookings


def _booking(event: Any, recurring: bool, where: str, tz: tzinfo) -> Booking:
    uid = str(event.get("UID", ""))
    if not uid:
        raise CalendarDataError(f"{where}: an event has no UID")
    start = _moment(event["DTSTART"].dt, tz)
    end = _moment(event["DTEND"].dt, tz) if "DTEND" in event else start
    booking = uid
    if recurring:
        original = event.get("RECURRENCE-ID")
        first = _moment(original.dt, tz) if original is not None else start
        booking = f"{uid}/{first.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return Booking(
        booking=booking,
        title=str(event.get("SUMMARY", "")),
        start=start,
        end=max(end, start),
        organiser_unit=_organiser_unit(event),
        attendees=_attendees(event, where),
        paperless=_paperless(event),
    )


def _moment(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


def _organiser_unit(event: Any) -> str | None:
    unit = event.get("X-CITYTWIN-UNIT")
    if unit:
        return str(unit)
    organiser = event.get("ORGANIZER")
    if organiser is not None:
        name = organiser.params.get("CN")
        if name:
            return str(name)
    return None


def _attendees(event: Any, where: str) -> int:
    given = event.get("X-CITYTWIN-ATTENDEES")
    if given is not None:
        try:
            count = int(str(given))
        except ValueError:
            raise CalendarDataError(
                f"{where}: X-CITYTWIN-ATTENDEES {str(given)!r} is not a whole number"
            ) from None
        if count < 0:
            raise CalendarDataError(f"{where}: X-CITYTWIN-ATTENDEES {count} is negative")
        return count
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return 0
    return len(attendees) if isinstance(attendees, list) else 1


def _paperless(event: Any) -> bool:
    flag = event.get("X-CITYTWIN-PAPERLESS")
    if flag is not None:
        return str(flag).strip().upper() in {"TRUE", "YES", "1"}
    categories = event.get("CATEGORIES")
    if categories is None:
        return False
    lists = categories if isinstance(categories, list) else [categories]
    return any(
        str(category).strip().upper() == PAPERLESS_CATEGORY
        for item in lists
        for category in item.cats
    )
