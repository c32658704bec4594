"""The room KPIs read the bookings the calendar sync wrote: a cancelled booking does not
count, and a room with calendar bookings ignores what its panel announced."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from analytics.kpis.engine import KpiEngine, read_values
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import Window, day_bounds
from ingest.calendar.bookings import Booking
from ingest.calendar.points import booking_line, booking_series
from ingest.mapping import DeviceContext, line_of
from tests.analytics.kpis.conftest import kpi_client
from twins.payloads import BookingStarted, DeviceMessage, MeetingRoomTelemetry
from twins.registry import Registry, RegistrySpec
from twins.thing_id import ThingId
from twins.topics import Channel

VN = timezone(timedelta(hours=7))
DAY = date(2026, 12, 2)
SITE = "thaibinh.ubnd"
ROOM = f"{SITE}:room-01"

REGISTRY = Registry(
    RegistrySpec.model_validate(
        {
            "sites": [
                {
                    "id": SITE,
                    "name": "Văn phòng UBND tỉnh Thái Bình",
                    "sector": "public_administration",
                    "devices": [
                        {"name": "room-01", "kind": "meeting_room", "attributes": {"capacity": 20}}
                    ],
                }
            ]
        }
    )
)


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY.isoformat()}T{hhmm}:00").replace(tzinfo=VN)


def booking(uid: str, start: str, end: str) -> Booking:
    return Booking(uid, "Họp", at(start), at(end), "Văn phòng UBND tỉnh", 10, True)


@pytest.mark.asyncio
async def test_room_kpis_count_the_calendar_bookings_that_stand(
    kpi_client_args: dict[str, str],
) -> None:
    device = next(iter(REGISTRY))
    series = booking_series(device)
    context = DeviceContext.of(device)
    lines = [
        booking_line(series, booking("held@eoffice", "08:00", "09:00"), cancelled=False),
        booking_line(series, booking("ghost@eoffice", "14:00", "15:00"), cancelled=False),
        booking_line(series, booking("cancelled@eoffice", "10:00", "11:00"), cancelled=True),
    ]
    seq = 0

    def device_line(channel: Channel, data: MeetingRoomTelemetry | BookingStarted, t: str) -> str:
        nonlocal seq
        seq += 1
        ms = int(at(t).timestamp() * 1000)
        message = DeviceMessage(ThingId.parse(ROOM), device.kind, channel, ms, seq, data)
        found = line_of(context, message, ms)
        assert found is not None
        return found

    # people in the room from 08:02 to 08:50; nobody in the afternoon
    for minute in range(2, 51):
        t = f"08:{minute:02d}"
        lines.append(device_line(Channel.TELEMETRY, MeetingRoomTelemetry(occupancy=8), t))
    # the panel still announces a booking of its own: the calendar's stand instead
    panel = BookingStarted(type="booking_started", booking="BK-1", title="x", attendees=3)
    lines.append(device_line(Channel.EVENT, panel, "16:00"))

    async with kpi_client(kpi_client_args) as client:
        await client.write(lines)
        evening = at("20:00").timestamp()
        engine = KpiEngine(client, REGISTRY, KpiSettings(), clock=lambda: evening)
        await engine.recompute_day(DAY, periods=False)
        found = await read_values(
            client, window=Window.DAY, start=day_bounds(DAY)[0], scope=f"room:{ROOM}"
        )
    day = {v.kpi: v for v in found if not v.part}
    assert day["booking_realisation"].value == pytest.approx(50.0)
    assert day["ghost_booking_rate"].value == pytest.approx(50.0)
