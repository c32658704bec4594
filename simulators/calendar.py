"""The scenario's room bookings, written into the rooms' CalDAV calendars as an e-office would.

A meeting room books its day when the day begins (in simulated time) and hands each
booking to the run's one `BookingWriter`; the writer ``PUT``s it as a VEVENT (``UID`` the
booking id, ``SUMMARY`` the title, ``X-CITYTWIN-ATTENDEES``, ``X-CITYTWIN-PAPERLESS``)
into ``{base}/{calendar_name(room)}/`` — the calendar ``citytwin calendar`` follows — and
creates the calendar (``MKCALENDAR``) when it is missing. The calendar sync turns it into
the room's ``booking`` feature and points, which the KPIs and the room rules read; the
room itself reports only what it can sense (occupancy, CO₂, the paperless session).

Writing a booking again overwrites it (the same ``UID``, the same resource), so a
scenario replayed on the same day changes nothing. A calendar server that does not answer
yet (``citytwin up`` starts Radicale beside the simulators) is tried again with the shared
backoff, ``ATTEMPTS`` times; a booking that still cannot be written is logged and counted
in ``failed`` (and the next ones are tried once until one gets through), and the run goes
on. The ``caldav`` client is synchronous: each write runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import caldav
import icalendar
import requests
from caldav.elements import dav
from caldav.lib import error as dav_errors

from twins.backoff import Backoff

logger = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
"""Bookings waiting to be written (a province's rooms book a few a day each)."""
ATTEMPTS = 6
"""Tries of one booking while the server does not answer (about 15 s in all)."""


@dataclass(slots=True, frozen=True)
class CalendarAccount:
    """Where the rooms' calendars are (``{base_url}{calendar}/``) and the login there."""

    base_url: str
    username: str
    password: str
    timeout: int = 10


@dataclass(slots=True, frozen=True)
class ScenarioBooking:
    """One booking a simulated room made, in simulated epoch seconds."""

    calendar: str
    room_label: str
    booking: str
    title: str
    start: float
    end: float
    attendees: int
    paperless: bool = True

    def ics(self) -> bytes:
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//citytwin simulators//vi")
        calendar.add("version", "2.0")
        event = icalendar.Event()
        event.add("uid", self.booking)
        event.add("dtstamp", _utc(self.start))  # a function of the booking: rewrites match
        event.add("dtstart", _utc(self.start))
        event.add("dtend", _utc(self.end))
        event.add("summary", self.title)
        event.add("x-citytwin-attendees", str(self.attendees))
        event.add("x-citytwin-paperless", "TRUE" if self.paperless else "FALSE")
        calendar.add_component(event)
        ics: bytes = calendar.to_ical()
        return ics


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(round(seconds), UTC)


class BookingWriter:
    """Writes the rooms' bookings in the order they were made (run as one task)."""

    def __init__(self, account: CalendarAccount) -> None:
        self.account = account
        self._queue: asyncio.Queue[ScenarioBooking | None] = asyncio.Queue(QUEUE_SIZE)
        self._client = caldav.DAVClient(
            url=account.base_url, username=account.username, password=account.password,
            timeout=account.timeout,
        )  # fmt: skip
        self._ready: set[str] = set()
        self._down = False
        """The last booking found the server away for good: the next are tried once."""
        self.written = 0
        self.failed = 0

    def book(self, booking: ScenarioBooking) -> None:
        """Queue ``booking``; a full queue drops it with a warning (the run goes on)."""
        try:
            self._queue.put_nowait(booking)
        except asyncio.QueueFull:
            self.failed += 1
            logger.warning("booking %s of %s dropped: too many waiting", booking.booking,
                           booking.calendar)  # fmt: skip

    def finish(self) -> None:
        """``run`` returns once what was booked before is written."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        try:
            while (booking := await self._queue.get()) is not None:
                backoff = Backoff(first=0.5, maximum=8.0)
                attempts = 1 if self._down else ATTEMPTS
                for attempt in range(1, attempts + 1):
                    if await asyncio.to_thread(self._write, booking, attempt == attempts):
                        break
                    await asyncio.sleep(backoff.next_delay())
        finally:
            self._client.close()

    def _write(self, booking: ScenarioBooking, last: bool) -> bool:
        """True when done (written, or refused for good); False: try again."""
        url = f"{self.account.base_url.rstrip('/')}/{booking.calendar}/"
        try:
            if booking.calendar not in self._ready:
                self._ensure(url, booking.room_label)
                self._ready.add(booking.calendar)
            caldav.Calendar(client=self._client, url=url).save_event(booking.ics().decode())
        except requests.ConnectionError as exc:
            if not last:
                logger.info("calendar %s does not answer yet: %s", url, exc)
                return False
            self._down = True
            self._failed(booking, url, exc)
        except (dav_errors.DAVError, requests.RequestException) as exc:
            self._failed(booking, url, exc)
        else:
            self.written += 1
            self._down = False
        return True

    def _failed(self, booking: ScenarioBooking, url: str, exc: Exception) -> None:
        self.failed += 1
        logger.warning("booking %s not written into calendar %s: %s", booking.booking, url, exc)

    def _ensure(self, url: str, label: str) -> None:
        calendar = caldav.Calendar(client=self._client, url=url)
        try:
            calendar.get_properties([dav.DisplayName()])
            return
        except dav_errors.NotFoundError:
            pass
        home, cal_id = url.rstrip("/").rsplit("/", 1)
        try:
            caldav.CalendarSet(client=self._client, url=home + "/").make_calendar(
                name=label, cal_id=cal_id
            )
            logger.info("created calendar %s for room %s", url, label)
        except dav_errors.DAVError:  # the calendar sync made it meanwhile
            calendar.get_properties([dav.DisplayName()])
