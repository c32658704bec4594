"""Room bookings from a real Radicale into a room's twin and InfluxDB.

Bookings are written into Radicale over CalDAV as an e-office would (``PUT`` of an
``.ics``, ``DELETE``); the sync runs one round at a time (``poll_once``) against the
real twin service and InfluxDB, with the clock fixed on a Monday morning.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from citytwin.status import calendar_component
from ingest.calendar.status import CalendarState
from ingest.calendar.sync import CalendarConnection, CalendarSync
from ingest.influx import InfluxV1Client
from ingest.registry_file import RegistryFile
from tests.ingest.conftest import TwinService
from tests.ingest.support import create_twins, influx_rows, write_registry
from tests.services import Influx, Radicale

pytestmark = pytest.mark.timeout(120)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=TZ).timestamp()
"""Monday 7 December 2026, 08:00 in Thái Bình."""


def vevent(uid: str, start: str, end: str, *extra: str, summary: str = "Giao ban tuần") -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//e-office//vi",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261201T000000Z",
        f"DTSTART;TZID=Asia/Ho_Chi_Minh:{start}",
        f"DTEND;TZID=Asia/Ho_Chi_Minh:{end}",
        f"SUMMARY:{summary}",
        *extra,
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines)


@dataclass
class Room:
    """One meeting room: its twin, its calendar on Radicale, the sync that follows it."""

    thing: str
    calendar_url: str
    radicale: Radicale
    twins: TwinService
    influx: Influx
    database: str
    registry_path: Path
    status_path: Path
    http: httpx.Client

    def put(self, name: str, ics: str) -> None:
        response = self.http.put(
            f"{self.calendar_url}{name}.ics",
            content=ics.encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert response.status_code in {201, 204}, response.text

    def delete(self, name: str) -> None:
        assert self.http.delete(f"{self.calendar_url}{name}.ics").status_code in {200, 204}

    @contextlib.asynccontextmanager
    async def follow(self) -> AsyncIterator[CalendarSync]:
        """A sync of this room's calendar, polled by the test with ``poll_once``."""
        connection = CalendarConnection(
            self.radicale.home, self.radicale.username, self.radicale.password
        )
        async with InfluxV1Client(
            self.influx.url,
            self.database,
            username=self.influx.username,
            password=self.influx.password,
        ) as influx:
            sync = CalendarSync(
                connection,
                self.twins.client(),
                influx,
                RegistryFile(self.registry_path),
                self.status_path,
                tz=TZ,
                window_days=7,
                now=lambda: NOW,
            )
            try:
                yield sync
            finally:
                sync.close()

    def booking(self) -> dict[str, Any]:
        with self.twins.client() as client:
            feature: dict[str, Any] = client.get(self.thing, "features/booking/properties")
        return feature

    def schedule(self) -> list[tuple[str, str, str]]:
        return [(b["booking"], b["start"], b["end"]) for b in self.booking()["schedule"]]

    def points(self) -> list[dict[str, Any]]:
        return influx_rows(
            self.influx,
            self.database,
            "SELECT booking, title, cancelled, attendees, paperless, organiser_unit, end_ms"
            " FROM booking ORDER BY time",
        )


@pytest.fixture
def room(
    radicale: Radicale,
    twin_service: TwinService,
    influx: Influx,
    database: str,
    tmp_path: Path,
    unique_name: str,
) -> Iterator[Room]:
    namespace = f"thaibinh.{unique_name}"
    registry_path = tmp_path / "registry.yaml"
    registry = write_registry(registry_path, namespace, [("room-01", "meeting_room")])
    with twin_service.client() as client:
        create_twins(client, registry)
    with httpx.Client(auth=(radicale.username, radicale.password), timeout=10) as http:
        yield Room(
            f"{namespace}:room-01",
            f"{radicale.home}{namespace}--room-01/",
            radicale,
            twin_service,
            influx,
            database,
            registry_path,
            tmp_path / "calendar-status.json",
            http,
        )


def live(points: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(time, booking)`` of the points not cancelled."""
    return [(p["time"], p["booking"]) for p in points if not p["cancelled"]]


@pytest.mark.asyncio
async def test_a_booking_created_moved_and_cancelled_is_followed_by_the_twin_and_influxdb(
    room: Room,
) -> None:
    async with room.follow() as sync:
        status = await sync.poll_once()  # creates the room's calendar
        assert status.rooms[room.thing].state is CalendarState.OK
        assert room.booking()["schedule"] == []

        room.put(
            "giao-ban",
            vevent(
                "giao-ban@eoffice",
                "20261207T090000",
                "20261207T103000",
                'ORGANIZER;CN="Sở Thông tin và Truyền thông":mailto:stttt@thaibinh.gov.vn',
                "ATTENDEE:mailto:a@thaibinh.gov.vn",
                "ATTENDEE:mailto:b@thaibinh.gov.vn",
                "ATTENDEE:mailto:c@thaibinh.gov.vn",
                "CATEGORIES:PAPERLESS",
            ),
        )
        await sync.poll_once()
        booking = room.booking()
        assert booking["schedule"] == [
            {
                "booking": "giao-ban@eoffice",
                "title": "Giao ban tuần",
                "start": "2026-12-07T02:00:00Z",
                "end": "2026-12-07T03:30:00Z",
                "organiserUnit": "Sở Thông tin và Truyền thông",
                "attendees": 3,
                "paperless": True,
            }
        ]
        assert booking["next"] == booking["schedule"][0]
        assert booking["calendar"]["state"] == "ok"
        points = room.points()
        assert [(p["booking"], p["cancelled"], p["attendees"], p["paperless"]) for p in points] == [
            ("giao-ban@eoffice", False, 3, True)
        ]
        assert points[0]["organiser_unit"] == "Sở Thông tin và Truyền thông"

        # moved to the afternoon: the twin moves it, the morning point is cancelled
        room.put(
            "giao-ban",
            vevent(
                "giao-ban@eoffice", "20261207T140000", "20261207T150000",
                "X-CITYTWIN-ATTENDEES:12", "X-CITYTWIN-UNIT:Văn phòng UBND tỉnh",
            ),
        )  # fmt: skip
        await sync.poll_once()
        assert room.schedule() == [
            ("giao-ban@eoffice", "2026-12-07T07:00:00Z", "2026-12-07T08:00:00Z")
        ]
        assert room.booking()["schedule"][0]["attendees"] == 12
        assert room.booking()["schedule"][0]["organiserUnit"] == "Văn phòng UBND tỉnh"
        points = room.points()
        assert [(p["booking"], p["cancelled"]) for p in points] == [
            ("giao-ban@eoffice", True),
            ("giao-ban@eoffice", False),
        ]
        assert points[1]["time"] > points[0]["time"]

        # deleted in the e-office: gone from the twin, cancelled in InfluxDB
        room.delete("giao-ban")
        await sync.poll_once()
        assert room.booking()["schedule"] == []
        assert room.booking().get("next") is None  # a merge patch's null removes it
        assert live(room.points()) == []


@pytest.mark.asyncio
async def test_a_recurring_booking_is_expanded_and_an_instance_moved_or_cancelled(
    room: Room,
) -> None:
    async with room.follow() as sync:
        await sync.poll_once()
        series = vevent(
            "hop-so@eoffice", "20261207T150000", "20261207T160000", "RRULE:FREQ=DAILY;COUNT=4",
            summary="Họp sở",
        )  # fmt: skip
        room.put("hop-so", series)
        await sync.poll_once()
        assert [start for _, start, _ in room.schedule()] == [
            "2026-12-07T08:00:00Z",
            "2026-12-08T08:00:00Z",
            "2026-12-09T08:00:00Z",
            "2026-12-10T08:00:00Z",
        ]
        assert len(live(room.points())) == 4

        # Tuesday's meeting moves to 09:00, Wednesday's is cancelled
        tuesday = "\r\n".join(
            [
                "BEGIN:VEVENT", "UID:hop-so@eoffice", "DTSTAMP:20261201T000000Z",
                "RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20261208T150000",
                "DTSTART;TZID=Asia/Ho_Chi_Minh:20261208T090000",
                "DTEND;TZID=Asia/Ho_Chi_Minh:20261208T100000",
                "SUMMARY:Họp sở (dời sáng)", "END:VEVENT",
                "BEGIN:VEVENT", "UID:hop-so@eoffice", "DTSTAMP:20261201T000000Z",
                "RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20261209T150000",
                "DTSTART;TZID=Asia/Ho_Chi_Minh:20261209T150000",
                "DTEND;TZID=Asia/Ho_Chi_Minh:20261209T160000",
                "SUMMARY:Họp sở", "STATUS:CANCELLED", "END:VEVENT",
            ]
        )  # fmt: skip
        room.put("hop-so", series.replace("END:VCALENDAR", tuesday + "\r\nEND:VCALENDAR"))
        await sync.poll_once()
        schedule = room.booking()["schedule"]
        assert [(b["start"], b["title"]) for b in schedule] == [
            ("2026-12-07T08:00:00Z", "Họp sở"),
            ("2026-12-08T02:00:00Z", "Họp sở (dời sáng)"),
            ("2026-12-10T08:00:00Z", "Họp sở"),
        ]
        # the moved instance keeps its identity: the occurrence it replaces
        assert schedule[1]["booking"] == "hop-so@eoffice/20261208T080000Z"
        assert sorted(booking for _, booking in live(room.points())) == [
            "hop-so@eoffice/20261207T080000Z",
            "hop-so@eoffice/20261208T080000Z",
            "hop-so@eoffice/20261210T080000Z",
        ]


@pytest.mark.asyncio
async def test_an_unreachable_calendar_keeps_the_bookings_shows_degraded_and_recovers(
    room: Room,
) -> None:
    async with room.follow() as sync:
        await sync.poll_once()
        room.put("giao-ban", vevent("giao-ban@eoffice", "20261207T090000", "20261207T100000"))
        await sync.poll_once()
        before = room.schedule()
        assert len(before) == 1

        room.radicale.managed.stop()
        status = await sync.poll_once()
        assert status.rooms[room.thing].state is CalendarState.DEGRADED
        assert "does not answer" in (status.rooms[room.thing].reason or "")
        assert room.schedule() == before  # the last known bookings stay
        assert room.booking()["calendar"]["state"] == "degraded"
        component = calendar_component(room.status_path)
        assert not component.healthy
        assert room.thing in component.detail
        assert "does not answer" in component.detail

        room.radicale.managed.start()
        room.put("chi-bo", vevent("chi-bo@eoffice", "20261207T140000", "20261207T150000"))
        status = await sync.poll_once()
        assert status.rooms[room.thing].state is CalendarState.OK
        assert [b for b, _, _ in room.schedule()] == ["giao-ban@eoffice", "chi-bo@eoffice"]
        calendar = room.booking()["calendar"]
        assert calendar["state"] == "ok"
        assert calendar.get("reason") is None  # a merge patch's null removes it
        assert calendar_component(room.status_path).healthy


@pytest.mark.asyncio
async def test_bad_booking_data_is_logged_with_the_calendar_and_object_and_skipped(
    room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    async with room.follow() as sync:
        await sync.poll_once()
        room.put("giao-ban", vevent("giao-ban@eoffice", "20261207T090000", "20261207T100000"))
        room.put(
            "bad-count",
            vevent("bad-count@eoffice", "20261207T140000", "20261207T150000",
                   "X-CITYTWIN-ATTENDEES:mười"),
        )  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="ingest.calendar.sync"):
            status = await sync.poll_once()
        assert status.rooms[room.thing].state is CalendarState.OK
        assert room.schedule() == [
            ("giao-ban@eoffice", "2026-12-07T02:00:00Z", "2026-12-07T03:00:00Z")
        ]
        skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 1, skipped
        assert room.calendar_url in skipped[0]
        assert "bad-count.ics" in skipped[0]
        assert "X-CITYTWIN-ATTENDEES 'mười' is not a whole number" in skipped[0]


@pytest.mark.asyncio
async def test_a_booking_deleted_while_the_sync_was_down_is_cancelled_when_it_is_back(
    room: Room,
) -> None:
    async with room.follow() as sync:
        await sync.poll_once()
        room.put("giao-ban", vevent("giao-ban@eoffice", "20261207T090000", "20261207T100000"))
        await sync.poll_once()
    assert live(room.points()) != []
    room.delete("giao-ban")  # while no sync runs
    async with room.follow() as sync:
        await sync.poll_once()
    assert room.booking()["schedule"] == []
    assert live(room.points()) == []
