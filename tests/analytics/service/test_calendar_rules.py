"""The room rules judge the bookings of the rooms' calendars, end to end.

Bookings are written into a real Radicale over CalDAV as an e-office would, the calendar
sync writes them into the real InfluxDB, the rooms' occupancy goes through the real
broker and ingest, and the analytics process raises its alerts into its store: a booking
nobody comes to is a ghost booking, a cancelled one is nothing, a room used without a
booking is unbooked use — and a room without a calendar is still judged by its panel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from analytics.alerts.model import AlertKey
from analytics.alerts.records import Alert
from ingest.calendar.sync import CalendarConnection, CalendarSync
from ingest.influx import InfluxV1Client
from ingest.registry_file import RegistryFile
from tests.analytics.service.support import StoreReader, analytics_runtime, in_process
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, wait_until
from tests.services import Broker, Influx, Radicale, start_radicale

pytestmark = pytest.mark.timeout(180)

MINUTE = 60_000
ROOM_RULES = """\
site: "thaibinh.*"
kind: meeting_room
rules:
  - {id: ghost-booking, type: ghost_booking, grace_minutes: 15, severity: info}
  - {id: unbooked-use, type: unbooked_use, min_minutes: 15, severity: info}
"""


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = start_radicale(tmp_path / "radicale")
    yield server
    server.managed.stop()


def vevent(uid: str, start_ms: int, end_ms: int, *extra: str) -> str:
    def stamp(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//e-office//vi", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20261201T000000Z", f"DTSTART:{stamp(start_ms)}",
        f"DTEND:{stamp(end_ms)}", "SUMMARY:Giao ban tuần", "X-CITYTWIN-ATTENDEES:8",
        *extra, "END:VEVENT", "END:VCALENDAR", "",
    ]  # fmt: skip
    return "\r\n".join(lines)


async def sync_calendars(
    radicale: Radicale, influx: Influx, twins: TwinService, site: Site, tmp_path: Path,
    bookings: dict[str, list[str]],
) -> None:  # fmt: skip
    """Each room's calendar objects written in turn, one sync round after each step."""
    connection = CalendarConnection(radicale.home, radicale.username, radicale.password)
    async with InfluxV1Client(
        influx.url, site.database, username=influx.username, password=influx.password
    ) as client:
        sync = CalendarSync(
            connection, twins.client(), client, RegistryFile(site.registry_path),
            tmp_path / "calendar-status.json", tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        )  # fmt: skip
        try:
            await sync.poll_once()  # creates the rooms' calendars
            steps = max(len(versions) for versions in bookings.values())
            async with httpx.AsyncClient(
                auth=(radicale.username, radicale.password), timeout=10
            ) as http:
                for step in range(steps):
                    for room, versions in bookings.items():
                        if step < len(versions):
                            url = f"{radicale.home}{site.namespace}--{room}/booking.ics"
                            response = await http.put(
                                url, content=versions[step].encode(),
                                headers={"Content-Type": "text/calendar; charset=utf-8"},
                            )  # fmt: skip
                            assert response.status_code in {201, 204}, response.text
                    await sync.poll_once()
        finally:
            sync.close()


def test_ghost_bookings_and_unbooked_use_are_judged_from_the_rooms_calendars(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    radicale: Radicale,
    tmp_path: Path,
) -> None:
    rooms = ["room-ghost", "room-cancel", "room-free", "room-panel"]
    site = make_site([(room, "meeting_room") for room in rooms])
    thing = {room: f"{site.namespace}:{room}" for room in rooms}
    make_ingest(site)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "meeting_rooms.yaml").write_text(ROOM_RULES, encoding="utf-8")

    t0 = (int(time.time()) // 60 * 60 - 3 * 3600) * 1000
    start, end = t0 + 10 * MINUTE, t0 + 70 * MINUTE
    booked = vevent("giao-ban@eoffice", start, end)
    asyncio.run(
        sync_calendars(
            radicale,
            influx,
            twin_service,
            site,
            tmp_path,
            {
                "room-ghost": [booked],
                # booked, then cancelled in the e-office before it began
                "room-cancel": [
                    vevent("hop-huy@eoffice", start, end),
                    vevent("hop-huy@eoffice", start, end, "STATUS:CANCELLED"),
                ],
                # a booking of another day: the room has a calendar, nothing booked now
                "room-free": [vevent("hom-sau@eoffice", t0 + 30 * 3600_000, t0 + 31 * 3600_000)],
            },
        )
    )

    state_dir = tmp_path / "var"
    runtime = analytics_runtime(broker, influx, twin_service, site, state_dir, rules_dir)
    devices = {room: Device(broker, thing[room]) for room in rooms}
    with in_process(runtime):
        reader = StoreReader(state_dir)
        try:
            for minute in range(0, 101, 2):
                ts = t0 + minute * MINUTE
                if ts == start:
                    # the panels announce a booking: only the one without a calendar counts
                    for room in ("room-panel", "room-ghost"):
                        announced = {"type": "booking_started", "booking": "PANEL-1",
                                     "title": "Họp", "attendees": 5}  # fmt: skip
                        devices[room].send("event", announced, ts=ts)
                for room in rooms:
                    people = 3 if room == "room-free" and 20 <= minute < 60 else 0
                    devices[room].send("telemetry", {"occupancy": people, "co2_ppm": 430.0}, ts=ts)
                if ts == end:
                    ended = {"type": "booking_ended", "booking": "PANEL-1"}
                    for room in ("room-panel", "room-ghost"):
                        devices[room].send("event", ended, ts=ts)

            def alerts(rule: str, room: str) -> list[Alert]:
                return list(reader.alerts_of(AlertKey(rule, thing[room])))

            (ghost,) = wait_until(lambda: alerts("ghost-booking", "room-ghost"), "the ghost")
            assert ghost.details["booking"] == "giao-ban@eoffice"
            assert ghost.details["title"] == "Giao ban tuần"
            assert ghost.details["attendees"] == 8
            opened = round(ghost.opened_at.timestamp() * 1000)
            assert opened == start + 15 * MINUTE
            (panel,) = wait_until(lambda: alerts("ghost-booking", "room-panel"), "panel ghost")
            assert panel.details["booking"] == "PANEL-1"
            (unbooked,) = wait_until(lambda: alerts("unbooked-use", "room-free"), "unbooked use")
            opened = round(unbooked.opened_at.timestamp() * 1000)
            assert opened == t0 + 35 * MINUTE  # 15 minutes after the run's first sample
            # the last sample (minute 100) is past every deadline of the cancelled booking
            wait_until(
                lambda: alerts("ghost-booking", "room-ghost")[0].resolved_at,
                "the ghost resolved at the booking's end",
            )
            assert alerts("ghost-booking", "room-cancel") == []
            assert alerts("unbooked-use", "room-cancel") == []
            assert alerts("unbooked-use", "room-ghost") == []
            assert len(alerts("ghost-booking", "room-ghost")) == 1  # the panel's gave way
        finally:
            reader.close()
            for device in devices.values():
                device.close()
