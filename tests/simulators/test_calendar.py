"""The scenario's room bookings go into the rooms' calendars on a real Radicale, and the
rooms' own messages no longer announce them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import pytest

from ingest.calendar.bookings import Booking, bookings_of
from simulators.calendar import CalendarAccount
from simulators.runner import run_scenario
from tests.services import Broker, Radicale, start_radicale
from tests.simulators.conftest import provision, recording, smoke_scenario
from twins.calendars import calendar_name
from twins.kinds import DeviceKind
from twins.registry import Registry

pytestmark = pytest.mark.timeout(120)

SPEED = 600.0
DURATION_S = 4.0  # 07:20 → about 08:00 of the scenario's day
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = start_radicale(tmp_path / "radicale")
    yield server
    server.managed.stop()


def calendar_bookings(radicale: Radicale, calendar: str, day: datetime) -> list[Booking]:
    """The bookings of one calendar as ``citytwin calendar`` reads them."""
    with caldav.DAVClient(
        url=radicale.home, username=radicale.username, password=radicale.password
    ) as client:
        objects = caldav.Calendar(client=client, url=f"{radicale.home}{calendar}/").objects()
        window = (day - timedelta(days=1), day + timedelta(days=2))
        found: list[Booking] = []
        for obj in objects:
            obj.load()
            found += bookings_of(str(obj.data), where=calendar, window=window, tz=TZ)
    return sorted(found, key=lambda booking: booking.start)


@pytest.mark.asyncio
async def test_a_room_books_its_day_in_its_calendar_and_its_panel_stays_quiet(
    broker: Broker, radicale: Radicale, tmp_path: Path, namespace: str
) -> None:
    scenario = smoke_scenario(tmp_path, namespace)
    credentials = provision(broker, scenario)
    registry = Registry(scenario.registry_spec())
    (room,) = [device for device in registry if device.kind is DeviceKind.MEETING_ROOM]
    account = CalendarAccount(radicale.home, radicale.username, radicale.password)
    async with recording(broker, f"citytwin/{namespace}") as recorder:
        summary = await run_scenario(
            scenario,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            credentials=credentials,
            speed=SPEED,
            duration_s=DURATION_S,
            ground_truth_path=tmp_path / "ground-truth.jsonl",
            video=False,
            calendar=account,
        )
    room_events = [
        message.payload
        for message in recorder.messages
        if message.topic.value.endswith(f"/{room.thing_id.name}/event")
    ]
    assert not [p for p in room_events if isinstance(p, bytes) and b"booking_" in p]

    day = summary.sim_start.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    bookings = await asyncio.to_thread(calendar_bookings, radicale, calendar_name(room), day)
    low, high = scenario.meetings.bookings_per_day
    assert low <= len(bookings) <= high
    assert summary.bookings_written == len(bookings)
    assert summary.bookings_failed == 0
    for index, booking in enumerate(bookings, start=1):
        assert booking.booking == f"BK-{day:%Y%m%d}-{room.thing_id.name}-{index}"
        assert booking.title in scenario.meetings.titles
        assert booking.start.astimezone(TZ).date() == day.date()
        assert booking.start.astimezone(TZ).minute == 0  # booked on the hour
        assert booking.end > booking.start
        assert booking.attendees >= 1
        assert booking.paperless
