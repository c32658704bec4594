"""The room calendars' bookings into the rules, as the events a booking panel would send.

The calendar sync (``ingest/calendar``) writes each booked occurrence as a ``booking``
point at its start, and rewrites it with ``cancelled = true`` when the booking is
cancelled, moved or deleted. The room rules (``ghost_booking``, ``unbooked_use``) judge a
booking by its start and end in event time. So this module reads the points of the days
around the rules' event time (again every ``poll_seconds`` of wall time) and hands the
pipeline, before each input, the ``booking_started`` and ``booking_ended`` events whose
time that input reaches: the engine sees them in event-time order with the room's
occupancy, exactly as it sees a panel's, at ×1 as at ×60.

A booking cancelled before its start is never started; one cancelled while it runs ends
at the time the cancellation is seen. A room whose calendar has bookings (any point,
standing or cancelled, in the days read) is judged from its calendar alone: its panel's
own ``booking_started``/``booking_ended`` are dropped (`replaces`). A room with no
calendar keeps its panel's. InfluxDB away keeps the bookings last read.

The events are not written anywhere: the calendar is their record, and a restarted process
reads it again. On the first input after a start, the bookings that ended before it are
taken as past (their outcome was judged before the restart).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.errors import InfluxError
from ingest.influx import InfluxV1Client
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind, Sector

logger = logging.getLogger(__name__)

MEASUREMENT = "booking"
DAY_MS = 86_400_000
PANEL_TYPES = frozenset({"booking_started", "booking_ended"})


@dataclass(slots=True)
class _Booking:
    thing: str
    site: str
    sector: Sector
    booking: str
    title: str
    attendees: int
    start_ms: int
    end_ms: int
    standing: bool
    started: bool = False
    ended: bool = False


class CalendarBookings:
    """The bookings of the rooms' calendars, handed over as event time reaches them."""

    def __init__(
        self,
        influx: InfluxV1Client,
        *,
        sites: Sequence[str] = (),
        poll_seconds: float = 5.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._influx = influx
        self._sites = list(sites)
        self.poll_seconds = poll_seconds
        self._wall = wall
        self._bookings: dict[tuple[str, str], _Booking] = {}
        self.rooms: set[str] = set()
        """Rooms with a calendar: their panel's booking events give way to it."""
        self._read_at: float | None = None
        self._read_span: tuple[int, int] | None = None
        self._first_ms: int | None = None
        self._next_ms: int | None = None
        """The earliest start or end not handed over (None: to be looked for)."""
        self.handed_over = 0

    def replaces(self, event: NormalizedEvent) -> bool:
        """Whether ``event`` is a panel's booking announcement of a room with a calendar."""
        return (
            event.kind is DeviceKind.MEETING_ROOM
            and event.channel is EventChannel.EVENT
            and event.data.get("type") in PANEL_TYPES
            and event.thing_id in self.rooms
        )

    async def due(self, until_ms: int) -> list[NormalizedEvent]:
        """The booking starts and ends at or before ``until_ms`` not handed over yet, in
        time order (reads the calendar points again when they are old)."""
        await self._refresh(until_ms)
        if self._next_ms is not None and until_ms < self._next_ms:
            return []  # the common case: nothing due before the next start or end
        if self._first_ms is None:
            self._first_ms = until_ms
            for entry in self._bookings.values():
                if entry.end_ms < until_ms:
                    entry.started = entry.ended = True
        events: list[NormalizedEvent] = []
        for entry in self._bookings.values():
            if entry.ended:
                continue
            if not entry.started:
                if not entry.standing:
                    continue  # cancelled before it began: never a booking
                if entry.start_ms > until_ms:
                    continue
                entry.started = True
                events.append(self._event(entry, "booking_started", entry.start_ms))
            if not entry.standing:  # cancelled while it ran: over now
                entry.ended = True
                events.append(self._event(entry, "booking_ended", max(entry.start_ms, until_ms)))
            elif entry.end_ms <= until_ms:
                entry.ended = True
                events.append(self._event(entry, "booking_ended", entry.end_ms))
        self._next_ms = min(
            (
                entry.end_ms if entry.started else entry.start_ms
                for entry in self._bookings.values()
                if not entry.ended and (entry.started or entry.standing)
            ),
            default=None,
        )
        if self._next_ms is None:
            self._next_ms = self._read_span[1] if self._read_span is not None else None
        # at one instant a booking ends before the next one starts
        events.sort(key=lambda e: (e.ts, e.thing_id, e.data["type"] != "booking_ended"))
        self.handed_over += len(events)
        return events

    def _event(self, entry: _Booking, kind: str, ts: int) -> NormalizedEvent:
        data: dict[str, Any] = {"type": kind, "booking": entry.booking}
        if kind == "booking_started":
            data |= {"title": entry.title, "attendees": entry.attendees}
        return NormalizedEvent(
            thing_id=entry.thing,
            kind=DeviceKind.MEETING_ROOM,
            site=entry.site,
            sector=entry.sector,
            channel=EventChannel.EVENT,
            ts=ts,
            ts_source=TsSource.DEVICE,
            data=data,
        )

    async def _refresh(self, around_ms: int) -> None:
        now = self._wall()
        span = self._read_span
        fresh = self._read_at is not None and now - self._read_at < self.poll_seconds
        inside = span is not None and span[0] <= around_ms - DAY_MS // 2 and around_ms < span[1]
        if fresh and inside:
            return
        begin, end = around_ms - DAY_MS, around_ms + 2 * DAY_MS
        where = f"time >= {begin}ms AND time < {end}ms"
        if self._sites:
            where += " AND (" + " OR ".join(f"namespace = '{s}'" for s in self._sites) + ")"
        try:
            body = await self._influx.query(f"SELECT * FROM {MEASUREMENT} WHERE {where}")
        except InfluxError as exc:
            logger.warning("room bookings not read again, the last ones stay: %s", exc)
            self._read_at = now
            return
        self._read_at, self._read_span = now, (begin, end)
        for row in _rows(body):
            self._take(row)
        self._next_ms = None  # a booking read may be due (or cancelled) now

    def _take(self, row: dict[str, Any]) -> None:
        try:
            thing = f"{row['namespace']}:{row['device']}"
            booking = str(row["booking"])
            start_ms, end_ms = int(row["time"]), int(row["end_ms"])
            standing = not bool(row.get("cancelled"))
            sector = Sector(row["sector"])
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("a booking point is unreadable (%r): %s", exc, row)
            return
        self.rooms.add(thing)
        key = (thing, booking)
        known = self._bookings.get(key)
        if known is not None and not standing and known.standing and known.start_ms != start_ms:
            return  # the old point of a moved booking: the booking itself stands
        if known is not None and known.started:
            known.end_ms, known.standing = end_ms, standing
            return
        self._bookings[key] = _Booking(
            thing=thing,
            site=str(row.get("site") or row["namespace"]),
            sector=sector,
            booking=booking,
            title=str(row.get("title") or ""),
            attendees=int(row.get("attendees") or 0),
            start_ms=start_ms,
            end_ms=max(start_ms, end_ms),
            standing=standing,
        )


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for result in body.get("results", []):
        for series in result.get("series", []):
            columns = series["columns"]
            tags = series.get("tags", {})
            for values in series.get("values", []):
                rows.append({**tags, **dict(zip(columns, values, strict=True))})
    return rows
