"""The room calendars' sync: CalDAV → the room twins' ``booking`` feature and InfluxDB.

Each poll, per meeting room of the registry: the room's calendar is asked for changes
(``source.RoomCalendar``); when it changed, or the sync window moved to a new day, its
objects are read again as bookings (``bookings.bookings_of``; an object that cannot be
read is logged with the calendar and the object and skipped, the rest is synced). What
differs from the bookings last written goes out: new and changed bookings as ``booking``
points, moved and vanished ones as their old point marked ``cancelled``, and the twin's
``booking`` feature (``schedule``, ``next``, ``calendar``) as one merge patch. A calendar
that cannot be read keeps its last known bookings and is marked degraded with the reason,
in the twin and in the status file ``citytwin status`` reads, until a poll succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import caldav

from ingest.calendar.bookings import Booking, bookings_of
from ingest.calendar.errors import CalendarDataError, CalendarUnreachableError
from ingest.calendar.points import booking_line, booking_series
from ingest.calendar.source import RoomCalendar
from ingest.calendar.status import CalendarState, RoomCalendarStatus, SyncStatus
from ingest.errors import InfluxError, InfluxRejectedError
from ingest.influx import InfluxV1Client
from ingest.registry_file import RegistryFile
from twins.calendars import calendar_name
from twins.client import DittoClient
from twins.errors import DittoError
from twins.kinds import DeviceKind
from twins.registry import RegisteredDevice

logger = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class CalendarConnection:
    """Where the calendars are and how the sync logs in."""

    base_url: str
    username: str
    password: str
    timeout: int = 10
    create_calendars: bool = True

    def client(self) -> caldav.DAVClient:
        return caldav.DAVClient(
            url=self.base_url, username=self.username, password=self.password,
            timeout=self.timeout,
        )  # fmt: skip


@dataclass(slots=True)
class _Room:
    device: RegisteredDevice
    calendar: RoomCalendar
    series: str
    bookings: dict[str, Booking] = field(default_factory=dict)
    twin: dict[str, Any] | None = None
    state: CalendarState = CalendarState.STARTING
    reason: str | None = None
    synced_at: float | None = None
    window_day: str = ""
    created: bool = False
    seeded: bool = False


class CalendarSync:
    """Follows every meeting room's calendar; ``poll_once`` is one round, ``run`` repeats it."""

    def __init__(
        self,
        connection: CalendarConnection,
        twins: DittoClient,
        influx: InfluxV1Client,
        registry: RegistryFile,
        status_path: Path,
        *,
        tz: tzinfo,
        window_days: int = 7,
        poll_seconds: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.connection = connection
        self.twins = twins
        self.influx = influx
        self.registry = registry
        self.status_path = status_path
        self.tz = tz
        self.window_days = window_days
        self.poll_seconds = poll_seconds
        self.now = now
        self._client = connection.client()
        self._rooms: dict[str, _Room] = {}

    def close(self) -> None:
        self._client.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)

    async def poll_once(self) -> SyncStatus:
        """One round over every room; returns (and writes) the status."""
        self._follow_registry()
        for room in list(self._rooms.values()):
            await self._sync_room(room)
        status = self.status()
        await asyncio.to_thread(status.write, self.status_path)
        return status

    def status(self) -> SyncStatus:
        return SyncStatus(
            base_url=self.connection.base_url,
            checked_at=self.now(),
            rooms={
                thing: RoomCalendarStatus(
                    calendar=room.calendar.url,
                    state=room.state,
                    reason=room.reason,
                    synced_at=room.synced_at,
                    bookings=len(room.bookings),
                )
                for thing, room in self._rooms.items()
            },
        )

    def _follow_registry(self) -> None:
        self.registry.refresh()  # the last good registry stays when the file breaks
        registry = self.registry.registry
        rooms = {
            str(device.thing_id): device
            for device in registry
            if device.kind is DeviceKind.MEETING_ROOM
        }
        for thing in set(self._rooms) - set(rooms):
            del self._rooms[thing]
        for thing, device in rooms.items():
            url = self.connection.base_url + calendar_name(device) + "/"
            known = self._rooms.get(thing)
            if known is not None and known.calendar.url == url:
                continue
            calendar = RoomCalendar(self._client, url, thing)
            self._rooms[thing] = _Room(device, calendar, booking_series(device))

    async def _sync_room(self, room: _Room) -> None:
        thing = str(room.device.thing_id)
        try:
            if not room.created and self.connection.create_calendars:
                label = room.device.label or thing
                if await asyncio.to_thread(room.calendar.ensure, label):
                    logger.info("created calendar %s for room %s", room.calendar.url, thing)
                room.created = True
            objects = await asyncio.to_thread(room.calendar.poll)
        except CalendarUnreachableError as exc:
            if room.state is not CalendarState.DEGRADED:
                logger.warning("room %s keeps its last bookings: %s", thing, exc)
            room.state, room.reason = CalendarState.DEGRADED, str(exc)
            await self._write_twin(room)
            return
        if room.state is CalendarState.DEGRADED:
            logger.info("calendar of room %s is reachable again", thing)
        room.state, room.reason = CalendarState.OK, None
        room.synced_at = self.now()
        if not room.seeded:
            room.bookings = await self._last_written(room)
            room.seeded = True
        window, day = self._window()
        if objects is not None or day != room.window_day:
            bookings = self._bookings(room, window)
            if await self._write_points(room, bookings):
                room.bookings = bookings
                room.window_day = day
        await self._write_twin(room)

    def _window(self) -> tuple[tuple[datetime, datetime], str]:
        today = datetime.fromtimestamp(self.now(), self.tz).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        span = timedelta(days=self.window_days)
        return (today - span, today + span + timedelta(days=1)), today.date().isoformat()

    def _bookings(self, room: _Room, window: tuple[datetime, datetime]) -> dict[str, Booking]:
        found: dict[str, Booking] = {}
        for href, text in sorted(room.calendar.objects.items()):
            where = f"calendar {room.calendar.url} (room {room.device.thing_id}), object {href}"
            try:
                for booking in bookings_of(text, where=where, window=window, tz=self.tz):
                    found[booking.booking] = booking
            except CalendarDataError as exc:
                logger.warning("skipped: %s", exc)
        return found

    async def _last_written(self, room: _Room) -> dict[str, Booking]:
        """The schedule in the twin: what an earlier run wrote, so that a booking deleted
        while the sync was down still gets its point cancelled."""
        thing = str(room.device.thing_id)
        path = "features/booking/properties/schedule"
        try:
            schedule = await asyncio.to_thread(self.twins.get, thing, path)
        except (DittoError, OSError) as exc:  # a fresh twin has an empty schedule
            logger.info("room %s: no schedule in its twin yet (%s)", thing, exc)
            return {}
        found: dict[str, Booking] = {}
        for value in schedule if isinstance(schedule, list) else []:
            try:
                booking = Booking.from_twin(value)
            except (KeyError, ValueError, TypeError) as exc:
                logger.warning("room %s: a booking of its twin is unreadable: %r", thing, exc)
                continue
            found[booking.booking] = booking
        return found

    async def _write_points(self, room: _Room, bookings: dict[str, Booking]) -> bool:
        lines = []
        for key, old in room.bookings.items():
            new = bookings.get(key)
            if new is None or new.start != old.start:
                lines.append(booking_line(room.series, old, cancelled=True))
        for key, new in bookings.items():
            if room.bookings.get(key) != new:
                lines.append(booking_line(room.series, new, cancelled=False))
        if not lines:
            return True
        body = self.influx.compress("\n".join(lines).encode())
        thing = room.device.thing_id
        try:
            await self.influx.write(body, policy=None)  # the database's default policy
        except InfluxRejectedError as exc:  # the same points would be refused again
            logger.error("bookings of room %s refused by InfluxDB: %s", thing, exc)
        except InfluxError as exc:  # tried again at the next poll: the diff is kept
            logger.warning("bookings of room %s not written to InfluxDB: %s", thing, exc)
            return False
        return True

    async def _write_twin(self, room: _Room) -> None:
        now = datetime.fromtimestamp(self.now(), UTC)
        ordered = sorted(room.bookings.values(), key=lambda b: (b.start, b.booking))
        upcoming = next((b for b in ordered if b.start > now), None)
        feature = {
            "schedule": [booking.as_twin() for booking in ordered],
            "next": upcoming.as_twin() if upcoming is not None else None,
            "calendar": {
                "url": room.calendar.url,
                "state": room.state.value,
                "reason": room.reason,
                "syncedAt": _rfc3339(room.synced_at),
            },
        }
        if feature == room.twin:
            return
        thing = str(room.device.thing_id)
        try:
            await asyncio.to_thread(self.twins.patch, thing, "features/booking/properties", feature)
        except (DittoError, OSError) as exc:  # written again at the next poll
            logger.warning("booking feature of room %s not written: %s", thing, exc)
            return
        room.twin = feature


def _rfc3339(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def run_sync(sync: CalendarSync, stop: asyncio.Event | None = None) -> None:
    """Run the sync until SIGTERM/SIGINT (or ``stop``, when given, is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        logger.info("following the room calendars at %s", sync.connection.base_url)
        await sync.run(stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        sync.close()
