"""KPIs computed from the simulators' ground truth instead of from InfluxDB.

The ground truth (`simulators.groundtruth`) says what really happened — each served
ticket with its wait and service time, each absence of an officer, each meeting and ghost
booking, each device that was offline, each threshold excursion. This module turns those
lines into the same facts the KPI domains compute from InfluxDB and runs them through the
same aggregator, so the two sides differ only in where the facts came from.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from analytics.kpis import meeting_rooms, service_centre
from analytics.kpis.aggregate import Aggregator, KpiValue
from analytics.kpis.facts import office_sessions
from analytics.kpis.intervals import Interval, merge, subtract
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import DAY_WINDOWS, PROVINCE_TZ, day_bounds
from twins.kinds import DeviceKind
from twins.registry import Registry

WALK_S = (20.0, 90.0)
"""A served citizen walks up to the desk this long after the call (simulators/devices/queueing)."""


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def truth_tickets(
    lines: list[dict[str, Any]], sectors: dict[str, str], walk_s: float
) -> list[service_centre.TicketFact]:
    """Tickets from the ground truth; a served ticket's call is put ``walk_s`` before its
    service started (the truth does not say when it was called)."""
    tickets: list[service_centre.TicketFact] = []
    for line in lines:
        what, details = line["what"], line["details"]
        site = line["site"]
        sector = sectors[site]
        if what == "ticket_served":
            issued = epoch(line["start"])
            started = issued + details["wait_s"]
            tickets.append(
                service_centre.TicketFact(
                    site, sector, details["ticket"], issued_at=issued, counter=line["device"],
                    first_call=started - walk_s, started=started, finished=epoch(line["end"]),
                    service_s=details["service_s"],
                )
            )  # fmt: skip
        elif what == "no_show":
            end = epoch(line["end"])
            tickets.append(
                service_centre.TicketFact(
                    site, sector, details["ticket"], issued_at=epoch(line["start"]),
                    counter=line["device"], first_call=end - 180.0, no_show_at=end,
                )
            )  # fmt: skip
        elif what == "unserved":
            for n in range(details["tickets"]):
                tickets.append(
                    service_centre.TicketFact(site, sector, f"U{n}", issued_at=epoch(line["start"]))
                )
    return tickets


def truth_counters(
    lines: list[dict[str, Any]], registry: Registry, scheduled: list[Interval]
) -> list[service_centre.CounterFact]:
    absent: dict[str, list[Interval]] = defaultdict(list)
    busy: dict[str, list[Interval]] = defaultdict(list)
    for line in lines:
        if line["what"] == "officer_absent":
            absent[line["device"]].append((epoch(line["start"]), epoch(line["end"])))
        elif line["what"] == "ticket_served":
            end = epoch(line["end"])
            busy[line["device"]].append((end - line["details"]["service_s"], end))
    return [
        service_centre.CounterFact(
            str(d.thing_id), d.site_id, d.sector.value, scheduled,
            subtract(scheduled, absent[str(d.thing_id)]), merge(busy[str(d.thing_id)]),
        )
        for d in registry
        if d.kind is DeviceKind.COUNTER
    ]  # fmt: skip


def _on_the_hour(t: float) -> float:
    """The booking's start: the simulators book on the hour and people arrive −5…+12 min."""
    return round(t / 3600) * 3600


def truth_rooms(
    lines: list[dict[str, Any]],
    registry: Registry,
    scheduled: list[Interval],
    settings: KpiSettings,
) -> list[meeting_rooms.RoomFact]:
    rooms: list[meeting_rooms.RoomFact] = []
    for device in registry:
        if device.kind is not DeviceKind.MEETING_ROOM:
            continue
        thing = str(device.thing_id)
        bookings: list[meeting_rooms.BookingFact] = []
        meetings: list[meeting_rooms.MeetingFact] = []
        mine = [line for line in lines if line["device"] == thing]
        for line in mine:
            if line["what"] == "room_occupied" and hidden_use(line, mine):
                continue
            start, end = epoch(line["start"]), epoch(line["end"])
            details = line["details"]
            if line["what"] == "ghost_booking":
                bookings.append(meeting_rooms.BookingFact(start, end, realised=False, ghost=True))
            people = None if zeroed(line, mine) else details.get("people")
            if line["what"] == "room_occupied" and "booking" in details:
                booked_at = _on_the_hour(start)
                bookings.append(
                    meeting_rooms.BookingFact(booked_at, booked_at, realised=True, ghost=False)
                )
                on_time = start <= booked_at + settings.on_time_minutes * 60
                meetings.append(
                    meeting_rooms.MeetingFact(
                        start, end, True, on_time, people, True, details["documents"]
                    )
                )
            elif line["what"] == "room_occupied":
                meetings.append(
                    meeting_rooms.MeetingFact(
                        start, end, False, None, details["people"], False, None
                    )
                )
        capacity = device.attributes.get("capacity")
        assert isinstance(capacity, int)
        rooms.append(
            meeting_rooms.RoomFact(
                thing, device.site_id, device.sector.value, float(capacity), scheduled,
                bookings, meetings,
            )
        )  # fmt: skip
    return rooms


def hidden_use(line: dict[str, Any], room_lines: list[dict[str, Any]]) -> bool:
    """Whether an unbooked use overlaps another meeting in the room: the simulated room
    keeps one occupancy count and sets it, not adds to it, when people come or go
    (``simulators/devices/meeting_room.py``), so its sensor cannot show such a use."""
    if "booking" in line["details"]:
        return False
    start, end = epoch(line["start"]), epoch(line["end"])
    return any(
        other is not line
        and other["what"] == "room_occupied"
        and epoch(other["start"]) < end
        and start < epoch(other["end"])
        for other in room_lines
    )


def zeroed(line: dict[str, Any], room_lines: list[dict[str, Any]]) -> bool:
    """Whether another meeting ended inside this one: the simulated room then counts 0
    people for the rest of it (its count is set, not decreased), so its sensor never
    shows this meeting's people on their own."""
    start, end = epoch(line["start"]), epoch(line["end"])
    return any(
        other is not line
        and other["what"] == "room_occupied"
        and epoch(other["start"]) <= start < epoch(other["end"]) < end
        for other in room_lines
    )


def truth_kpis(
    lines: list[dict[str, Any]],
    registry: Registry,
    day: date,
    settings: KpiSettings,
    *,
    walk_s: float = WALK_S[0],
) -> dict[tuple[str, str, str, float], float]:
    """The service-centre and room KPIs of ``day`` from the ground truth, by
    (kpi, scope, window, start)."""
    scheduled = office_sessions(settings.office, day, PROVINCE_TZ)
    sectors = {d.site_id: d.sector.value for d in registry}
    counters = truth_counters(lines, registry, scheduled)
    begin, end = day_bounds(day, PROVINCE_TZ)
    agg = Aggregator(begin, end, DAY_WINDOWS)
    service_centre.contribute(
        truth_tickets(lines, sectors, walk_s), counters,
        {c.counter: c.sector for c in counters}, agg, settings,
    )  # fmt: skip
    meeting_rooms.contribute(truth_rooms(lines, registry, scheduled, settings), agg)
    return {_key(value): value.value for value in agg.results() if not value.part}


def excursion_hours(lines: list[dict[str, Any]], thing: str, a: float, b: float) -> float:
    """Hours of the threshold excursions of ``thing`` inside ``[a, b)``."""
    spans = [
        (epoch(line["start"]), epoch(line["end"]))
        for line in lines
        if line["what"] == "threshold" and line["device"] == thing and line["end"]
    ]
    inside = [(max(s, a), min(e, b)) for s, e in spans if min(e, b) > max(s, a)]
    return sum(e - s for s, e in merge(inside)) / 3600


def offline(lines: list[dict[str, Any]], thing: str, until: float) -> list[Interval]:
    """When ``thing`` was switched off (a died device), not when only its network was cut:
    a device buffers its reports through an outage and sends them afterwards."""
    found: list[Interval] = []
    for line in lines:
        if line["what"] != "device_offline" or line["device"] != thing:
            continue
        if line["details"].get("incident") != "device_dies":
            continue
        found.append((epoch(line["start"]), epoch(line["end"]) if line["end"] else until))
    return found


def _key(value: KpiValue) -> tuple[str, str, str, float]:
    return (value.kpi, value.scope, value.window.value, value.start)
