"""Meeting rooms: bookings from the work schedule, and what really happens in the room.

Each working day a room gets a few bookings (``meetings.bookings_per_day``) on the hour,
titled from the province's usual meetings. With a calendar (``DeviceContext.calendar``)
the day's bookings are written into the room's CalDAV calendar when the day begins, as the
e-office would, and the room reports only what it senses; without one its booking panel
announces each booking's start and end itself. Most meetings happen: people arrive a
little early or late, the paperless session is opened on the panel when the meeting
starts and closed when it ends, often late. Some bookings are ghosts — nobody comes — and
some days a room is used without a booking. The occupancy sensor counts people; CO₂
follows occupancy.

Ground truth: ``room_occupied`` (with the booking, if any), ``ghost_booking`` and
``unbooked_use`` intervals.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from datetime import date, time

from pydantic import BaseModel

from simulators.calendar import ScenarioBooking
from simulators.devices.base import DeviceContext, SimDevice
from simulators.schedule import at, days_from, midnight_after, office_day
from twins.calendars import calendar_name
from twins.kinds import DeviceKind
from twins.payloads import (
    BookingEnded,
    BookingStarted,
    DeviceState,
    MeetingRoomTelemetry,
    SessionEnded,
    SessionStarted,
)
from twins.topics import Channel

MINUTE = 60.0
SLOTS = (8, 9, 10, 14, 15, 16)
"""Hours at which meetings are booked."""

Action = Callable[[float], None]


class MeetingRoom(SimDevice):
    kind = DeviceKind.MEETING_ROOM

    def __init__(self, context: DeviceContext) -> None:
        super().__init__(context)
        self.capacity = int(context.device.attributes.get("capacity", 20))
        self.occupancy = 0
        self.co2 = 420.0
        self.co2_at = self.clock.start
        self.settings = context.scenario.meetings

    def state(self) -> DeviceState:
        return DeviceState(
            firmware="citytwin-sim 1.0", report_interval_s=self.interval, capacity=self.capacity
        )

    def sample(self, t: float) -> BaseModel:
        # CO₂ approaches 420 ppm + 35 ppm per person with a 20-minute time constant
        target = 420 + 35 * self.occupancy
        self.co2 += (target - self.co2) * (1 - math.exp(-max(0.0, t - self.co2_at) / 1200))
        self.co2_at = t
        co2 = round(max(0.0, self.co2 + self.rng.gauss(0, 5)), 1)
        return MeetingRoomTelemetry(occupancy=self.occupancy, co2_ppm=co2)

    def _people(self, t: float, count: int) -> None:
        self.sample(t)  # settle CO₂ up to the change
        self.occupancy = count

    async def behave(self) -> None:
        tz = self.clock.tz
        for day in days_from(self.clock.start, tz):
            office = office_day(self.context.scenario.office, day, tz)
            if office is not None:
                actions = self._day_plan(day)
                while actions:
                    t, _, action = heapq.heappop(actions)
                    if t < self.clock.start:
                        continue
                    await self.clock.sleep_until(t)
                    action(t)
            await self.clock.sleep_until(midnight_after(day, tz))

    def _day_plan(self, day: date) -> list[tuple[float, int, Action]]:
        rng = self.rng
        tz = self.clock.tz
        low, high = self.settings.bookings_per_day
        hours = sorted(rng.sample(SLOTS, min(len(SLOTS), rng.randint(low, high))))
        free = [hour for hour in SLOTS if hour not in hours]
        plan: list[tuple[float, int, Action]] = []
        order = itertools.count()

        def later(t: float, action: Action) -> None:
            heapq.heappush(plan, (t, next(order), action))

        for index, hour in enumerate(hours):
            start = at(day, time(hour), tz)
            end = start + rng.choice((45, 60, 60, 90)) * MINUTE
            booking = f"BK-{day:%Y%m%d}-{self.thing_id.name}-{index + 1}"
            title = rng.choice(self.settings.titles)
            attendees = rng.randint(min(4, self.capacity), self.capacity)
            self._book(booking, title, start, end, attendees, later)
            if rng.random() < self.settings.ghost:
                later(end, self._record("ghost_booking", start, {"booking": booking}))
                continue
            arrive = start + rng.uniform(-5, 12) * MINUTE
            leave = end + rng.gauss(5, 8) * MINUTE
            leave = max(leave, arrive + 15 * MINUTE)
            people = max(1, min(self.capacity, attendees + rng.randint(-3, 1)))
            later(arrive, self._meeting_starts(booking, people))
            later(leave, self._meeting_ends(booking, arrive, people))
        if free and rng.random() < self.settings.unbooked_use:
            hour = rng.choice(free)
            arrive = at(day, time(hour), tz) + rng.uniform(0, 20) * MINUTE
            leave = arrive + rng.uniform(20, 50) * MINUTE
            people = rng.randint(2, min(6, self.capacity))
            later(arrive, lambda t: self._people(t, people))
            later(leave, self._unbooked_ends(arrive, people))
        return plan

    def _book(
        self,
        booking: str,
        title: str,
        start: float,
        end: float,
        attendees: int,
        later: Callable[[float, Action], None],
    ) -> None:
        writer = self.context.calendar
        if writer is None:
            later(start, self._announce_start(booking, title, attendees))
            later(end, self._announce_end(booking))
            return
        device = self.context.device
        writer.book(
            ScenarioBooking(
                calendar=calendar_name(device),
                room_label=device.label or str(self.thing_id),
                booking=booking,
                title=title,
                start=start,
                end=end,
                attendees=attendees,
            )
        )

    def _announce_start(self, booking: str, title: str, attendees: int) -> Action:
        def action(t: float) -> None:
            body = BookingStarted(
                type="booking_started", booking=booking, title=title, attendees=attendees
            )
            self.emit(Channel.EVENT, body, t)

        return action

    def _announce_end(self, booking: str) -> Action:
        def action(t: float) -> None:
            self.emit(Channel.EVENT, BookingEnded(type="booking_ended", booking=booking), t)

        return action

    def _record(self, what: str, start: float, details: dict[str, object]) -> Action:
        def action(t: float) -> None:
            self.truth.interval(what, self.thing_id, start, t, details)

        return action

    def _meeting_starts(self, booking: str, people: int) -> Action:
        def action(t: float) -> None:
            self._people(t, people)
            self.emit(Channel.EVENT, SessionStarted(type="session_started", booking=booking), t)

        return action

    def _meeting_ends(self, booking: str, arrive: float, people: int) -> Action:
        def action(t: float) -> None:
            self._people(t, 0)
            documents = self.rng.randint(1, 12)
            self.emit(
                Channel.EVENT,
                SessionEnded(type="session_ended", booking=booking, documents=documents),
                t,
            )
            details = {"booking": booking, "people": people, "documents": documents}
            self.truth.interval("room_occupied", self.thing_id, arrive, t, details)

        return action

    def _unbooked_ends(self, arrive: float, people: int) -> Action:
        def action(t: float) -> None:
            self._people(t, 0)
            self.truth.interval("unbooked_use", self.thing_id, arrive, t, {"people": people})
            self.truth.interval("room_occupied", self.thing_id, arrive, t, {"people": people})

        return action
