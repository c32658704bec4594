"""One day of InfluxDB, read into the facts the KPI domains work from.

The queries follow what ingest writes (docs/ingest.md): events are read point by point
(a province's day is a few thousand tickets), telemetry counted per 15 minutes by InfluxDB
itself, sensor values only where they pass a release level, occupancy point by point
(six rooms), and the alert store's transitions. The registry says which devices were
expected: a counter whose officer never logged in, a sensor that sent nothing, still count.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from analytics.kpis import devices as reporting
from analytics.kpis import meeting_rooms, operations, service_centre
from analytics.kpis.facts import EventRow, office_sessions
from analytics.kpis.influx import KpiInflux, Series, quote_ident
from analytics.kpis.intervals import Interval
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import PROVINCE_TZ, day_bounds
from twins.kinds import REPORT_INTERVAL_SECONDS, DeviceKind
from twins.registry import Registry

logger = logging.getLogger(__name__)

_TAGS = {"namespace", "device", "site", "sector", "kind", "type", "time"}


@dataclass(slots=True)
class DayInputs:
    """The facts of one day (or of the part of it up to ``end``)."""

    day: date
    begin: float
    end: float
    tickets: list[service_centre.TicketFact] = field(default_factory=list)
    counters: list[service_centre.CounterFact] = field(default_factory=list)
    sectors: dict[str, str] = field(default_factory=dict)
    rooms: list[meeting_rooms.RoomFact] = field(default_factory=list)
    devices: list[reporting.ReportingDevice] = field(default_factory=list)
    buckets: list[reporting.ReportBucket] = field(default_factory=list)
    above: dict[str, list[Interval]] = field(default_factory=dict)
    alerts: list[operations.AlertTransition] = field(default_factory=list)
    rows_read: int = 0


def _between(begin: float, end: float) -> str:
    return f"time >= {int(begin * 1000)}ms AND time < {int(end * 1000)}ms"


def _thing(row: dict[str, Any], tags: dict[str, str]) -> str:
    namespace = tags.get("namespace") or row.get("namespace") or row.get("site") or ""
    device = tags.get("device") or row.get("device") or ""
    return f"{namespace}:{device}"


def _events(series: list[Series]) -> list[EventRow]:
    rows: list[EventRow] = []
    for one in series:
        for row in one.rows():
            fields = {k: v for k, v in row.items() if k not in _TAGS and v is not None}
            rows.append(
                EventRow(
                    t=row["time"] / 1000,
                    thing=_thing(row, one.tags),
                    site=str(row.get("site") or ""),
                    sector=str(row.get("sector") or ""),
                    type=str(row.get("type") or ""),
                    fields=fields,
                )
            )
    return rows


async def load_day(
    client: KpiInflux,
    registry: Registry,
    day: date,
    settings: KpiSettings,
    *,
    until: float | None = None,
) -> DayInputs:
    """Read ``day`` (up to ``until``, for the day in progress) from InfluxDB."""
    begin, end = day_bounds(day, PROVINCE_TZ)
    if until is not None:
        end = max(begin, min(end, until))
    inputs = DayInputs(day, begin, end)
    when = _between(begin, end)
    release = settings.release_fraction
    queries = {
        "counter": f"SELECT * FROM counter_event WHERE {when}",
        "kiosk": f"SELECT * FROM kiosk_event WHERE {when}",
        "room": f"SELECT * FROM meeting_room_event WHERE {when}",
        "bookings": f"SELECT * FROM booking WHERE cancelled = false AND {when}",
        "occupancy": (
            f"SELECT occupancy FROM meeting_room_telemetry WHERE {when} GROUP BY namespace, device"
        ),
        "capacity": "SELECT last(capacity) FROM meeting_room_state GROUP BY namespace, device",
        "cameras": (
            f"SELECT count(fps), sum(fps) FROM camera_telemetry WHERE fps > 0 AND {when}"
            " GROUP BY time(15m), namespace, device fill(none)"
        ),
        "sensors": (
            f"SELECT count(seq) FROM sensor_telemetry WHERE {when}"
            " GROUP BY time(15m), namespace, device fill(none)"
        ),
        "alerts": f"SELECT * FROM alert WHERE {when}",
    }
    for name, limit in settings.limits.items():
        queries[f"above:{name}"] = (
            f"SELECT {quote_ident(name)} FROM sensor_telemetry WHERE"
            f" {quote_ident(name)} > {limit * release!r} AND {when} GROUP BY namespace, device"
        )
    answers = dict(
        zip(
            queries, await asyncio.gather(*(client.query(q) for q in queries.values())), strict=True
        )
    )
    inputs.rows_read = sum(len(s.values) for found in answers.values() for s in found)
    scheduled = office_sessions(settings.office, day, PROVINCE_TZ)
    _service_centre(inputs, registry, answers, scheduled, settings)
    _rooms(inputs, registry, answers, scheduled, settings)
    _devices(inputs, registry, answers, settings)
    _alerts(inputs, answers["alerts"])
    return inputs


def _service_centre(
    inputs: DayInputs,
    registry: Registry,
    answers: dict[str, list[Series]],
    scheduled: list[Interval],
    settings: KpiSettings,
) -> None:
    counter_rows = _events(answers["counter"])
    inputs.tickets = service_centre.tickets_from_events(_events(answers["kiosk"]), counter_rows)
    by_counter: dict[str, list[EventRow]] = defaultdict(list)
    for row in counter_rows:
        by_counter[row.thing].append(row)
    where: dict[str, tuple[str, str]] = {
        str(d.thing_id): (d.site_id, d.sector.value)
        for d in registry
        if d.kind is DeviceKind.COUNTER
    }
    for thing, rows in by_counter.items():
        where.setdefault(thing, (rows[0].site, rows[0].sector))
    for thing, (site, sector) in where.items():
        rows = by_counter.get(thing, [])
        inputs.sectors[thing] = sector
        inputs.counters.append(
            service_centre.CounterFact(
                thing,
                site,
                sector,
                scheduled,
                service_centre.presence_from_events(
                    rows, scheduled, settings.login_grace_seconds, inputs.end
                ),
                service_centre.busy_from_events(rows, inputs.end),
            )
        )


_ANNOUNCED = {"booking_started", "booking_ended"}


def _calendar_bookings(series: list[Series], until: float) -> dict[str, list[EventRow]]:
    """The bookings the calendar sync wrote (``ingest/calendar``, measurement ``booking``)
    as the ``booking_started``/``booking_ended`` rows a room's panel would have sent; a
    room with any takes its bookings of the day from them alone."""
    found: dict[str, list[EventRow]] = defaultdict(list)
    for row in _events(series):
        booking = row.text("booking")
        end_ms = row.number("end_ms")
        if booking is None or end_ms is None:
            continue
        fields: dict[str, object] = {"booking": booking, "title": row.text("title") or ""}
        found[row.thing].append(EventRow(row.t, row.thing, row.site, row.sector,
                                         "booking_started", fields))  # fmt: skip
        if end_ms / 1000 <= until:
            found[row.thing].append(EventRow(end_ms / 1000, row.thing, row.site, row.sector,
                                             "booking_ended", {"booking": booking}))  # fmt: skip
    return found


def _rooms(
    inputs: DayInputs,
    registry: Registry,
    answers: dict[str, list[Series]],
    scheduled: list[Interval],
    settings: KpiSettings,
) -> None:
    events: dict[str, list[EventRow]] = defaultdict(list)
    calendar = _calendar_bookings(answers["bookings"], inputs.end)
    for event in _events(answers["room"]):
        if event.thing in calendar and event.type in _ANNOUNCED:
            continue  # the room's calendar says what was booked, not its panel
        events[event.thing].append(event)
    for thing, rows in calendar.items():
        events[thing].extend(rows)
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for series in answers["occupancy"]:
        thing = _thing({}, series.tags)
        samples[thing].extend(
            (row[0] / 1000, float(row[1])) for row in series.values if row[1] is not None
        )
    capacity: dict[str, float] = {}
    for series in answers["capacity"]:
        for row in series.values:
            if row[1] is not None:
                capacity[_thing({}, series.tags)] = float(row[1])
    where: dict[str, tuple[str, str, float | None]] = {}
    for device in registry:
        if device.kind is DeviceKind.MEETING_ROOM:
            declared = device.attributes.get("capacity")
            fallback = float(declared) if isinstance(declared, int | float) else None
            where[str(device.thing_id)] = (device.site_id, device.sector.value, fallback)
    for thing, found in events.items():
        where.setdefault(thing, (found[0].site, found[0].sector, None))
    for thing, (site, sector, fallback) in where.items():
        inputs.rooms.append(
            meeting_rooms.room_from_events(
                thing,
                site,
                sector,
                capacity.get(thing, fallback),
                scheduled,
                events.get(thing, []),
                samples.get(thing, []),
                settings,
                inputs.end,
            )
        )


def _devices(
    inputs: DayInputs, registry: Registry, answers: dict[str, list[Series]], settings: KpiSettings
) -> None:
    for device in registry:
        if device.kind in (DeviceKind.CAMERA, DeviceKind.SENSOR):
            inputs.devices.append(
                reporting.ReportingDevice(
                    str(device.thing_id),
                    device.kind.value,
                    device.site_id,
                    device.sector.value,
                    REPORT_INTERVAL_SECONDS[device.kind],
                    (inputs.begin, inputs.end),
                )
            )
    for name in ("cameras", "sensors"):
        for series in answers[name]:
            thing = _thing({}, series.tags)
            for row in series.values:
                if row[1]:
                    fps = float(row[2]) if name == "cameras" and row[2] is not None else 0.0
                    inputs.buckets.append(
                        reporting.ReportBucket(thing, row[0] / 1000, float(row[1]), fps)
                    )
    interval = REPORT_INTERVAL_SECONDS[DeviceKind.SENSOR]
    for name, limit in settings.limits.items():
        for series in answers[f"above:{name}"]:
            thing = _thing({}, series.tags)
            samples = [
                (row[0] / 1000, float(row[1])) for row in series.values if row[1] is not None
            ]
            found = reporting.excursions(
                samples, limit, limit * settings.release_fraction, interval
            )
            if found:
                inputs.above.setdefault(thing, []).extend(found)


def _alerts(inputs: DayInputs, series: list[Series]) -> None:
    for one in series:
        for row in one.rows():
            opened = row.get("opened_at")
            inputs.alerts.append(
                operations.AlertTransition(
                    t=row["time"] / 1000,
                    state=str(row.get("state") or ""),
                    rule_type=str(row.get("rule_type") or ""),
                    severity=str(row.get("severity") or ""),
                    site=str(row.get("site") or ""),
                    sector=str(row.get("sector") or ""),
                    opened_at=float(opened) if isinstance(opened, int | float) else None,
                    false_alarm=row.get("false_alarm") is True,
                    category=str(row.get("category") or ""),
                )
            )
