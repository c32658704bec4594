"""Meeting-room KPIs: bookings from the e-office calendar against what the room saw.

A booking runs from ``booking_started`` to ``booking_ended``; a meeting is a paperless
session (``session_started`` → ``session_ended``) or an *unbooked use*: people counted by
the occupancy sensor outside every booking and session. The sensor reports once a minute,
so an unbooked use is dated from half a report interval before its first positive sample
to half one after its last. A booking is realised when its own session was opened or
people were in the room within ``ghost_grace_minutes`` of its start, and a ghost
otherwise: people who come later, or who belong to an overlapping booking, do not make a
booking held. A meeting's people are the most the sensor counted while no other meeting
was in the room (in an overlap the count belongs to neither); none counted, no figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analytics.kpis.aggregate import Aggregator
from analytics.kpis.facts import EventRow, device_chain
from analytics.kpis.intervals import Interval, intersect, merge, subtract
from analytics.kpis.settings import KpiSettings

ROOM_REPORT_S = 60.0


@dataclass(slots=True, frozen=True)
class BookingFact:
    start: float
    end: float
    realised: bool
    ghost: bool


@dataclass(slots=True, frozen=True)
class MeetingFact:
    """A meeting held: a paperless session, or an unbooked use."""

    start: float
    end: float
    booked: bool
    on_time: bool | None
    people: float | None
    paperless: bool
    documents: float | None


@dataclass(slots=True, frozen=True)
class RoomFact:
    room: str
    site: str
    sector: str
    capacity: float | None
    scheduled: list[Interval]
    bookings: list[BookingFact]
    meetings: list[MeetingFact]


def room_from_events(
    room: str,
    site: str,
    sector: str,
    capacity: float | None,
    scheduled: list[Interval],
    events: Iterable[EventRow],
    samples: list[tuple[float, float]],
    settings: KpiSettings,
    until: float,
) -> RoomFact:
    """One room's day from its events and its occupancy samples ``(t, people)``."""
    rows = sorted(events, key=lambda r: r.t)
    booked: dict[str, list[float]] = {}
    sessions: list[tuple[float, float, str | None, bool, float | None]] = []
    open_sessions: dict[str | None, tuple[float, bool]] = {}
    for row in rows:
        booking = row.text("booking")
        if row.type == "booking_started" and booking is not None:
            booked[booking] = [row.t, until]
        elif row.type == "booking_ended" and booking is not None and booking in booked:
            booked[booking][1] = row.t
        elif row.type == "session_started":
            paperless = row.fields.get("paperless", True) is not False
            open_sessions[booking] = (row.t, paperless)
        elif row.type == "session_ended":
            opened = open_sessions.pop(booking, None)
            if opened is not None:
                sessions.append((opened[0], row.t, booking, opened[1], row.number("documents")))
    for booking, (opened_at, paperless) in open_sessions.items():
        sessions.append((opened_at, until, booking, paperless, None))
    samples = sorted(samples)
    positive = [t for t, people in samples if people > 0]

    session_start = {booking: start for start, _, booking, _, _ in sessions if booking}
    grace = settings.ghost_grace_minutes * 60
    bookings: list[BookingFact] = []
    for booking, (start, end) in booked.items():
        session = session_start.get(booking)
        held = session is not None or any(start <= t < start + grace for t in positive)
        bookings.append(BookingFact(start, end, realised=held, ghost=not held))
    spans: list[tuple[float, float, bool, bool | None, bool, float | None]] = []
    for start, end, booking, paperless, documents in sessions:
        on_time = None
        if booking in booked:
            on_time = start <= booked[booking][0] + settings.on_time_minutes * 60
        spans.append((start, end, booking in booked, on_time, paperless, documents))
    covered = merge([*((b[0], b[1]) for b in booked.values()), *((s[0], s[1]) for s in sessions)])
    loose = [t for t in positive if not any(a <= t < b for a, b in covered)]
    for run in _runs(loose, 1.5 * ROOM_REPORT_S):
        if len(run) >= 2:
            start, end = run[0] - ROOM_REPORT_S / 2, run[-1] + ROOM_REPORT_S / 2
            spans.append((start, end, False, None, False, None))
    meetings: list[MeetingFact] = []
    for index, (start, end, is_booked, on_time, paperless, documents) in enumerate(spans):
        others = [(a, b) for i, (a, b, *_) in enumerate(spans) if i != index]
        own = subtract([(start, end)], others)
        counts = [people for t, people in samples if any(a <= t < b for a, b in own)]
        people = max(counts) if counts and max(counts) > 0 else None
        meetings.append(MeetingFact(start, end, is_booked, on_time, people, paperless, documents))
    return RoomFact(room, site, sector, capacity, scheduled, bookings, meetings)


def _runs(times: list[float], gap: float) -> list[list[float]]:
    runs: list[list[float]] = []
    for t in times:
        if runs and t - runs[-1][-1] <= gap:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def contribute(rooms: Iterable[RoomFact], agg: Aggregator) -> None:
    """Add the meeting-room KPIs of a day's rooms."""
    for room in rooms:
        chain = device_chain("room", room.room, room.site, room.sector)
        booked = merge((b.start, b.end) for b in room.bookings)
        occupied = merge((m.start, m.end) for m in room.meetings)
        for kpi, used in (("room_booked_utilisation", booked), ("room_occupancy_rate", occupied)):
            agg.spans(kpi, chain, room.scheduled, den_per_s=1.0)
            agg.spans(kpi, chain, intersect(used, room.scheduled), num_per_s=1.0)
        agg.spans("room_unbooked_use", chain, room.scheduled)
        for booking in room.bookings:
            agg.count("booking_realisation", chain, booking.start, float(booking.realised), 1.0)
            agg.count("ghost_booking_rate", chain, booking.start, float(booking.ghost), 1.0)
        for meeting in room.meetings:
            if not meeting.booked and not meeting.paperless:
                agg.count("room_unbooked_use", chain, meeting.start)
            if meeting.on_time is not None:
                agg.count("on_time_start", chain, meeting.start, float(meeting.on_time), 1.0)
            if meeting.people is not None and room.capacity:
                agg.value("seat_utilisation", chain, meeting.start, meeting.people / room.capacity)
            agg.count(
                "paperless_session_share", chain, meeting.start, float(meeting.paperless), 1.0
            )
            if meeting.documents is not None:
                agg.value("documents_per_session", chain, meeting.end, meeting.documents)
