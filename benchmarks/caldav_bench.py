"""Sync lag of the room calendars: a booking changed in CalDAV → the room's twin updated.

    .venv/bin/python benchmarks/caldav_bench.py [--rounds 60] [--events 20]

A real Radicale, a real InfluxDB and the embedded twin service (uvicorn in a thread); one
meeting room whose calendar holds ``--events`` bookings of the current week (one of them
recurring daily). Each round moves one booking (a ``PUT`` of its ``.ics``, as an e-office
does), runs one sync round and reads the twin until it shows the new start: the lag
measured is change → twin updated, without the wait for the next poll (add half of
``calendar.poll_seconds`` on average, 5 s by default). Also an idle round (nothing
changed: the sync-token says so).

Baseline in the same run: a bare CalDAV ``GET`` of the changed object from the same
Radicale — the least any client pays to see the change.

Prints its figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.calendar.sync import CalendarConnection, CalendarSync
from ingest.influx import InfluxV1Client
from ingest.registry_file import RegistryFile
from tests.services import free_port, serve_in_thread, start_influx, start_radicale
from twins.client import DittoClient
from twins.definitions import thing_for_device
from twins.registry import Registry
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NAMESPACE = "thaibinh.bench"


def ics(uid: str, start: datetime, *extra: str) -> bytes:
    end = start + timedelta(hours=1)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//vi", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20261201T000000Z", f"DTSTART;TZID=Asia/Ho_Chi_Minh:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Asia/Ho_Chi_Minh:{end:%Y%m%dT%H%M%S}", "SUMMARY:Họp giao ban",
        "ATTENDEE:mailto:a@thaibinh.gov.vn", *extra, "END:VEVENT", "END:VCALENDAR", "",
    ]  # fmt: skip
    return "\r\n".join(lines).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(what: str, values: list[float]) -> str:
    return (
        f"{what:<40} p50 {percentile(values, 0.5) * 1000:7.1f} ms"
        f"  p95 {percentile(values, 0.95) * 1000:7.1f} ms  (n={len(values)})"
    )


async def bench(rounds: int, events: int, root: Path) -> None:
    radicale = start_radicale(root / "radicale")
    influx = start_influx(root / "influxdb")
    store = TwinStore.open(root / "twins.sqlite3")
    password = "bench-twin-password"
    app = create_twin_app(store, TwinSettings(password=SecretStr(password)), password)
    registry_path = root / "registry.yaml"
    spec = {
        "sites": [
            {
                "id": NAMESPACE,
                "name": "Trung tâm Phục vụ hành chính công",
                "sector": "public_administration",
                "devices": [{"name": "room-01", "kind": "meeting_room"}],
            }
        ]
    }
    registry_path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    thing = f"{NAMESPACE}:room-01"
    calendar_url = f"{radicale.home}{NAMESPACE}--room-01/"
    monday = datetime.now(TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    try:
        with serve_in_thread(app, free_port()) as twins_url:
            twins = DittoClient(twins_url, "citytwin", password)
            for device in Registry.load(registry_path):
                made = thing_for_device(device.thing_id, device.kind, device.site_id, device.sector)
                made.pop("policyId")
                twins.put_thing(made)
            influx.create_database("bench")
            async with InfluxV1Client(
                influx.url, "bench", username=influx.username, password=influx.password
            ) as client:
                sync = CalendarSync(
                    CalendarConnection(radicale.home, radicale.username, radicale.password),
                    twins,
                    client,
                    RegistryFile(registry_path),
                    root / "calendar-status.json",
                    tz=TZ,
                )
                await sync.poll_once()  # creates the calendar
                async with httpx.AsyncClient(
                    auth=(radicale.username, radicale.password), timeout=10
                ) as http:
                    for index in range(events):
                        start = monday + timedelta(days=index % 5, hours=index // 5)
                        extra = ("RRULE:FREQ=DAILY;COUNT=5",) if index == 0 else ()
                        await http.put(
                            f"{calendar_url}b{index}.ics", content=ics(f"b{index}", start, *extra)
                        )
                    await sync.poll_once()
                    lags, idle, baseline = [], [], []
                    for n in range(rounds):
                        index = 1 + n % (events - 1)
                        start = monday + timedelta(days=index % 5, hours=9 + n % 8, minutes=n % 60)
                        body = ics(f"b{index}", start)
                        await http.put(f"{calendar_url}b{index}.ics", content=body)
                        changed = time.perf_counter()
                        await sync.poll_once()
                        wanted = start.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
                        while not _shows(twins, thing, f"b{index}", wanted):  # noqa: ASYNC110 - the twin is another server's state
                            await asyncio.sleep(0.001)
                        lags.append(time.perf_counter() - changed)
                        began = time.perf_counter()
                        await sync.poll_once()
                        idle.append(time.perf_counter() - began)
                        began = time.perf_counter()
                        (await http.get(f"{calendar_url}b{index}.ics")).raise_for_status()
                        baseline.append(time.perf_counter() - began)
                sync.close()
            twins.close()
    finally:
        store.close()
        radicale.managed.stop()
        influx.managed.stop()
    print(f"caldav_bench: {rounds} rounds, {events} bookings in one room's calendar")
    print(line("change → twin updated (one sync round)", lags))
    print(line("idle sync round (nothing changed)", idle))
    print(line("baseline: bare CalDAV GET of the object", baseline))
    ratio = statistics.median(lags) / statistics.median(baseline)
    print(f"lag / baseline at the median: {ratio:.1f}")


def _shows(twins: DittoClient, thing: str, booking: str, start: str) -> bool:
    schedule: list[dict[str, Any]] = twins.get(thing, "features/booking/properties/schedule")
    return any(b["booking"] == booking and b["start"] == start for b in schedule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caldav-bench-") as root:
        asyncio.run(bench(args.rounds, args.events, Path(root)))


if __name__ == "__main__":
    main()
