"""Intrusion into restricted zones; ghost bookings and unbooked use of meeting rooms."""

from __future__ import annotations

from analytics.rules.ruleset import DEFAULTS
from tests.analytics.rules.feed import MINUTE, Device, engine_for, local, presence
from twins.events import NormalizedEvent
from twins.kinds import DeviceKind, Sector
from twins.payloads import (
    BookingEnded,
    BookingStarted,
    MeetingRoomTelemetry,
    SessionStarted,
)
from twins.zones import ZoneType

THAIBINH = DEFAULTS / "thaibinh"
GATE = "thaibinh.school03:cam-gate-01"
ROOM = "thaibinh.ubnd:room-02"


def test_an_intruder_at_night_in_a_restricted_zone() -> None:
    run = engine_for(THAIBINH)
    run.feed(
        presence(GATE, "yard", ZoneType.RESTRICTED, True, local("22:10:04"), people=1),
        presence(GATE, "yard", ZoneType.RESTRICTED, True, local("22:12:00"), people=2),
        presence(GATE, "yard", ZoneType.RESTRICTED, False, local("22:25:10")),
    )
    run.finish()
    assert run.of("intrusion") == [
        (True, local("22:10:04"), GATE, "yard"),
        (False, local("22:25:10"), GATE, "yard"),
    ]
    raised = run.signals[0]
    assert raised.severity.label == "critical"
    assert raised.key.zone == "yard"
    assert "xâm nhập khu vực cấm 'yard'" in raised.message_vi


def test_people_in_a_zone_outside_its_hours_and_at_a_desk_are_no_intrusion() -> None:
    run = engine_for(THAIBINH)
    run.feed(
        presence(GATE, "yard", ZoneType.RESTRICTED, True, local("10:00"), watched=False),
        presence(GATE, "yard", ZoneType.RESTRICTED, False, local("10:05"), watched=False),
        presence(GATE, "porter", ZoneType.DESK, True, local("22:00")),
    )
    run.finish()
    assert run.of("intrusion") == []


def test_two_zones_of_one_camera_are_two_alerts() -> None:
    run = engine_for(THAIBINH)
    run.feed(
        presence(GATE, "yard", ZoneType.RESTRICTED, True, local("23:00")),
        presence(GATE, "store", ZoneType.RESTRICTED, True, local("23:01")),
        presence(GATE, "yard", ZoneType.RESTRICTED, False, local("23:02")),
    )
    run.finish()
    assert run.of("intrusion") == [
        (True, local("23:00"), GATE, "yard"),
        (True, local("23:01"), GATE, "store"),
        (False, local("23:02"), GATE, "yard"),
    ]


class Room:
    """A meeting room: bookings from the panel, occupancy every minute."""

    def __init__(self) -> None:
        self.device = Device(ROOM, DeviceKind.MEETING_ROOM, Sector.GOVERNMENT_OFFICE)
        self.people = 0

    def minutes(self, start: str, end: str) -> list[NormalizedEvent]:
        t, stop = local(start), local(end)
        out: list[NormalizedEvent] = []
        while t < stop:
            out.append(self.device.telemetry(MeetingRoomTelemetry(occupancy=self.people), t))
            t += MINUTE
        return out

    def booking(self, hhmm: str, booking: str) -> NormalizedEvent:
        body = BookingStarted(
            type="booking_started", booking=booking, title="Giao ban tuần", attendees=12
        )
        return self.device.event(body, local(hhmm))

    def ends(self, hhmm: str, booking: str) -> NormalizedEvent:
        return self.device.event(BookingEnded(type="booking_ended", booking=booking), local(hhmm))


def test_a_ghost_booking() -> None:
    run = engine_for(THAIBINH)
    room = Room()
    run.feed(*room.minutes("08:30", "09:00"))
    run.feed(room.booking("09:00", "BK-1"), *room.minutes("09:00", "10:00"))
    run.feed(room.ends("10:00", "BK-1"), *room.minutes("10:00", "10:10"))
    run.finish()
    assert run.of("ghost-booking") == [
        (True, local("09:15"), ROOM, ""),
        (False, local("10:00"), ROOM, ""),
    ]
    raised = run.signals[0]
    assert raised.details["booking"] == "BK-1"
    assert "phòng được đặt cho 'Giao ban tuần' từ 09:00 nhưng không có ai" in raised.message_vi
    assert run.of("unbooked-use") == []


def test_a_meeting_that_happens_is_neither_ghost_nor_unbooked() -> None:
    run = engine_for(THAIBINH)
    room = Room()
    run.feed(*room.minutes("08:40", "08:56"))
    room.people = 11  # early arrivals at 08:56, four minutes before the booking
    run.feed(*room.minutes("08:56", "09:00"))
    run.feed(room.booking("09:00", "BK-2"))
    session = SessionStarted(type="session_started", booking="BK-2")
    run.feed(room.device.event(session, local("09:01")))
    run.feed(*room.minutes("09:00", "10:00"), room.ends("10:00", "BK-2"))
    run.feed(*room.minutes("10:00", "10:20"))  # the meeting overruns by 20 minutes
    room.people = 0
    run.feed(*room.minutes("10:20", "10:40"))
    run.finish()
    assert run.of("ghost-booking") == []
    assert run.of("unbooked-use") == []


def test_people_arriving_late_clear_the_ghost() -> None:
    run = engine_for(THAIBINH)
    room = Room()
    run.feed(room.booking("14:00", "BK-3"), *room.minutes("14:00", "14:20"))
    room.people = 6
    run.feed(*room.minutes("14:20", "14:30"))
    run.finish()
    assert run.of("ghost-booking") == [
        (True, local("14:15"), ROOM, ""),
        (False, local("14:20"), ROOM, ""),
    ]


def test_a_room_used_without_a_booking() -> None:
    run = engine_for(THAIBINH)
    room = Room()
    run.feed(*room.minutes("15:00", "15:07"))
    room.people = 4
    run.feed(*room.minutes("15:07", "15:40"))
    room.people = 0
    run.feed(*room.minutes("15:40", "15:50"))
    run.finish()
    assert run.of("unbooked-use") == [
        (True, local("15:22"), ROOM, ""),
        (False, local("15:40"), ROOM, ""),
    ]
    assert run.signals[0].details["people"] == 4


def test_a_short_unbooked_visit_raises_nothing() -> None:
    run = engine_for(THAIBINH)
    room = Room()
    room.people = 2
    run.feed(*room.minutes("16:00", "16:10"))
    room.people = 0
    run.feed(*room.minutes("16:10", "16:20"))
    run.finish()
    assert run.of("unbooked-use") == []
