"""A full day of the province's KPIs recomputed from InfluxDB: how long it takes.

    .venv/bin/python benchmarks/kpi_bench.py [--runs 3]

1. Writes one 24-hour day of the ``thaibinh`` scenario's 178 devices into a real InfluxDB,
   as ingest writes it (``ingest.mapping.line_of``): every camera report (30 s), sensor
   report (60 s, a water level crossing its limit), counter and kiosk telemetry, the
   service centre's and reception rooms' tickets (about the scenario's arrival rates),
   officers' logins, breaks and logouts, bookings and paperless sessions, alert
   transitions. About 430,000 points.
2. Baselines, same run: one InfluxQL scan counting every point of that day
   (``SELECT count(seq) FROM /.*/``) — the floor of anything that looks at the whole day —
   and reading every point of it (``SELECT seq FROM /.*/``), what a recompute that took
   the raw points would at least cost.
3. ``KpiEngine.recompute_day`` for the province, ``--runs`` times: read, compute and write
   every 15-minute, hourly and daily window of every KPI and scope.

Prints its figures. Not a test: nothing is asserted (aim: ≤ 30 s for the recompute).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.kpis.engine import KpiEngine
from analytics.kpis.influx import KpiInflux
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import PROVINCE_TZ, Window, day_bounds
from ingest.mapping import DeviceContext, line_of
from simulators.scenario import load_scenario
from tests.services import start_influx
from twins.kinds import REPORT_INTERVAL_SECONDS, DeviceKind
from twins.payloads import (
    BookingEnded,
    BookingStarted,
    BreakEnded,
    BreakStarted,
    CameraTelemetry,
    CounterTelemetry,
    DeviceMessage,
    DeviceState,
    KioskTelemetry,
    MeetingRoomTelemetry,
    OfficerLogin,
    OfficerLogout,
    SensorTelemetry,
    ServiceFinished,
    ServiceStarted,
    SessionEnded,
    SessionStarted,
    TicketCalled,
    TicketIssued,
)
from twins.registry import RegisteredDevice, Registry
from twins.topics import Channel

DAY = date(2026, 12, 2)


class DayWriter:
    """Line-protocol points of one simulated day, as ingest would write them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.seq: dict[str, int] = {}
        self.contexts: dict[str, DeviceContext] = {}

    def add(self, device: RegisteredDevice, channel: Channel, data: BaseModel, t: float) -> None:
        thing = str(device.thing_id)
        context = self.contexts.get(thing)
        if context is None:
            context = self.contexts[thing] = DeviceContext.of(device)
        seq = self.seq.get(thing, 0) + 1
        self.seq[thing] = seq
        message = DeviceMessage(device.thing_id, device.kind, channel, int(t * 1000), seq, data)
        line = line_of(context, message, int(t * 1000))
        if line is not None:
            self.lines.append(line)


def at(hour: float) -> float:
    base = datetime.combine(DAY, dtime(0, 0), PROVINCE_TZ).timestamp()
    return base + hour * 3600


def synthesise(registry: Registry, rng: random.Random) -> list[str]:
    out = DayWriter()
    begin, end = day_bounds(DAY, PROVINCE_TZ)
    for device in registry:
        interval = REPORT_INTERVAL_SECONDS[device.kind]
        t = begin + rng.uniform(0, interval)
        out.add(device, Channel.STATE, DeviceState(firmware="bench", capacity=20), begin)
        while t < end:
            hour = (t - begin) / 3600
            if device.kind is DeviceKind.CAMERA:
                data: BaseModel = CameraTelemetry(fps=5.0, bitrate_kbps=512.0)
            elif device.kind is DeviceKind.SENSOR:
                if device.thing_id.name.startswith("flood"):
                    level = 150 + 120 * math.sin(2 * math.pi * hour / 12.42)
                    data = SensorTelemetry(water_level_cm=round(level, 1))
                else:
                    data = SensorTelemetry(
                        temperature_c=23 + 4 * math.sin(2 * math.pi * (hour - 9) / 24),
                        humidity_pct=76.0,
                        pm25_ugm3=40 + 20 * math.exp(-((hour - 7.5) ** 2)),
                        noise_dba=55.0,
                    )
            elif device.kind is DeviceKind.COUNTER:
                data = CounterTelemetry(waiting=3, officer_present=True)
            elif device.kind is DeviceKind.KIOSK:
                data = KioskTelemetry(queue_length=3, paper_ok=True)
            else:
                data = MeetingRoomTelemetry(occupancy=8 if 9 <= hour < 10 else 0, co2_ppm=600.0)
            out.add(device, Channel.TELEMETRY, data, t)
            t += interval
    sites: dict[str, list[RegisteredDevice]] = {}
    for device in registry:
        sites.setdefault(device.site_id, []).append(device)
    for devices in sites.values():
        counters = [d for d in devices if d.kind is DeviceKind.COUNTER]
        kiosks = [d for d in devices if d.kind is DeviceKind.KIOSK] or counters[:1]
        for n, counter in enumerate(counters):
            for begin_h, end_h in ((7.5, 11.5), (13.5, 17.0)):
                out.add(
                    counter,
                    Channel.EVENT,
                    OfficerLogin(type="officer_login", officer="Lê Văn Nam"),
                    at(begin_h + rng.uniform(0, 0.1)),
                )
                t = at(begin_h + 0.12)
                number = 0
                while t < at(end_h):
                    number += 1
                    ticket = f"C{n:02d}{number:03d}"
                    issued = t - rng.uniform(60, 1800)
                    out.add(
                        kiosks[0],
                        Channel.EVENT,
                        TicketIssued(type="ticket_issued", ticket=ticket, service="land"),
                        issued,
                    )
                    out.add(
                        counter,
                        Channel.EVENT,
                        TicketCalled(type="ticket_called", ticket=ticket, service="land"),
                        t,
                    )
                    start = t + rng.uniform(20, 90)
                    out.add(
                        counter,
                        Channel.EVENT,
                        ServiceStarted(type="service_started", ticket=ticket, service="land"),
                        start,
                    )
                    length = rng.lognormvariate(math.log(480), 0.5)
                    out.add(
                        counter,
                        Channel.EVENT,
                        ServiceFinished(
                            type="service_finished",
                            ticket=ticket,
                            service="land",
                            duration_s=round(length, 1),
                        ),
                        start + length,
                    )
                    t = start + length + rng.uniform(10, 120)
                    if rng.random() < 0.03:
                        out.add(counter, Channel.EVENT, BreakStarted(type="break_started"), t)
                        t += rng.uniform(240, 720)
                        out.add(counter, Channel.EVENT, BreakEnded(type="break_ended"), t)
                out.add(
                    counter,
                    Channel.EVENT,
                    OfficerLogout(type="officer_logout", officer="Lê Văn Nam"),
                    t,
                )
        for room in (d for d in devices if d.kind is DeviceKind.MEETING_ROOM):
            booking = f"BK-{room.thing_id.name}-1"
            out.add(
                room,
                Channel.EVENT,
                BookingStarted(
                    type="booking_started", booking=booking, title="Giao ban tuần", attendees=8
                ),
                at(9),
            )
            out.add(
                room,
                Channel.EVENT,
                SessionStarted(type="session_started", booking=booking),
                at(9.02),
            )
            out.add(
                room, Channel.EVENT, BookingEnded(type="booking_ended", booking=booking), at(10)
            )
            out.add(
                room,
                Channel.EVENT,
                SessionEnded(type="session_ended", booking=booking, documents=4),
                at(9.98),
            )
    for i in range(200):
        t = at(rng.uniform(7, 17))
        opened = round(t * 1e9)
        tags = (
            "alert,rule_type=threshold,severity=major,site=thaibinh.flood,sector=environment"
            ",device=flood-01"
        )
        fields = f'alert_id="a{i}",key="k{i}",opened_at={t!r},false_alarm=false,escalation_level=0i'
        out.lines.append(f"{tags},state=open {fields} {opened}")
        out.lines.append(f"{tags},state=acknowledged {fields} {opened + 240 * 10**9}")
        out.lines.append(f"{tags},state=resolved {fields} {opened + 1800 * 10**9}")
    return out.lines


async def bench(runs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    server = start_influx(root / "influx")
    try:
        registry = Registry(load_scenario("thaibinh").registry_spec())
        started = time.perf_counter()
        lines = synthesise(registry, random.Random(2020))
        made = time.perf_counter() - started
        server.create_database("bench")
        async with KpiInflux(
            server.url, "bench", username=server.username, password=server.password, timeout=300
        ) as client:
            started = time.perf_counter()
            await client.write(lines, batch=10_000)
            wrote = time.perf_counter() - started
            print(
                f"day of {len(registry)} devices: {len(lines):,} points"
                f" (made in {made:.1f} s, written in {wrote:.1f} s,"
                f" {len(lines) / wrote:,.0f} points/s)"
            )
            begin, end = day_bounds(DAY, PROVINCE_TZ)
            when = f"time >= {int(begin * 1000)}ms AND time < {int(end * 1000)}ms"
            settings = KpiSettings()
            engine = KpiEngine(client, registry, settings, clock=lambda: end + 3600)
            for run in range(1, runs + 1):
                started = time.perf_counter()
                found = await client.query(f'SELECT count("seq") FROM /.*/ WHERE {when}')
                scan = time.perf_counter() - started
                counted = sum(int(s.values[0][1]) for s in found if s.values)
                started = time.perf_counter()
                every = await client.query(f'SELECT "seq" FROM /.*/ WHERE {when}')
                read_all = time.perf_counter() - started
                rows = sum(len(s.values) for s in every)
                started = time.perf_counter()
                report = await engine.recompute_day(DAY, periods=False)
                total = time.perf_counter() - started
                print(
                    f"run {run}: baseline scan of {counted:,} points {scan:.2f} s;"
                    f" recompute {total:.2f} s (read {report.read_s:.2f}, compute"
                    f" {report.compute_s:.2f}, write {report.write_s:.2f}) — {report.rows_read:,}"
                    f" rows read, {report.written:,} kpi points written;"
                    f" ratio to the scan {total / scan:.1f}; reading every point ({rows:,})"
                    f" {read_all:.2f} s, ratio {total / read_all:.2f}"
                )
            started = time.perf_counter()
            week = await engine.recompute_period(
                Window.WEEK,
                day_bounds(DAY - timedelta(days=DAY.weekday()), PROVINCE_TZ)[0],
            )
            print(
                f"week holding the day (one day of data): {time.perf_counter() - started:.2f} s,"
                f" {week.written:,} points"
            )
    finally:
        server.managed.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(bench(args.runs))


if __name__ == "__main__":
    main()
