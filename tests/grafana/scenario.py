"""A short simulated morning in InfluxDB, as the boards' queries find it in production.

The smoke scenario (one service centre with every device kind, given a district and
coordinates here) runs at high speed through the real broker and ingest into the real
InfluxDB. What other processes write is written through their own code: the KPI engine
recomputes the day from InfluxDB (``kpi``), alert transitions go through the alert
points' encoder and writer (``alert``), and the camera hub's encoders write stream health
and presence (``camera_stream``, ``camera_presence``) for the scenario's cameras. The
1-minute rollups are what the continuous query ingest creates writes every minute; the
scenario's morning lies in the past, so its statement is run once over that range.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from analytics.alerts.export import InfluxPointWriter
from analytics.alerts.points import AlertPoint
from analytics.kpis.engine import KpiEngine
from analytics.kpis.influx import KpiInflux
from analytics.kpis.settings import KpiSettings, OfficeCalendar
from analytics.kpis.windows import PROVINCE_TZ, day_bounds, local_day
from analytics.presence.camera import SampleResult, ZoneReading
from citytwin.accounts import ServiceRole
from simulators.runner import run_scenario
from simulators.scenario import Scenario, load_scenario, scenario_path
from tests.ingest.support import IngestProcess
from tests.services import Broker, Influx
from tests.simulators.conftest import forget_statuses, provision
from twins.kinds import DeviceKind
from twins.registry import Registry
from twins.zones import ZoneType
from video.health import influx_line as stream_line
from video.presence import influx_lines as presence_lines
from video.source import StreamHealth, StreamState

SPEED = 2400.0
DURATION_S = 6.0  # 07:20 → about 11:20 of the scenario's morning
DISTRICT = "Huyện Vũ Thư"
SITE_EXTRAS = "    district: Huyện Vũ Thư\n    lat: 20.43\n    lon: 106.30\n"


@dataclass
class Morning:
    """The database a scenario filled, and its time range."""

    database: str
    site: str
    """The service centre; its province also has a citizen-reception room."""
    scenario: Scenario
    registry: Registry
    from_ms: int
    to_ms: int


def reception_of(site: str) -> str:
    """The citizen-reception room the test adds next to the service centre ``site``."""
    return site.split(".")[0] + ".tiepdan"


def _scenario(tmp: Path, site: str) -> Scenario:
    text = scenario_path("smoke").read_text(encoding="utf-8").replace("smoke.hcc", site)
    text = text.replace(
        "    sector: public_administration\n", "    sector: public_administration\n" + SITE_EXTRAS
    )
    reception = (
        f"  - id: {reception_of(site)}\n    name: Phòng tiếp công dân (thử)\n"
        "    sector: citizen_reception\n"
        + SITE_EXTRAS
        + "    kiosks: 1\n    counters: 1\n    cameras: {counter_desk: 1}\n    meeting_rooms: 1\n"
        "    sensors:\n      - {count: 1, measures: [temperature, humidity, pm25, noise]}\n"
    )
    absent = (
        f'  - {{what: officer_absent, device: "{reception_of(site)}:counter-01",'
        ' at: "08:10", until: "08:30"}\n'
    )
    text = text.replace("incidents:\n", reception + "incidents:\n" + absent)
    text = text.replace("fault_profiles:\n", "fault_profiles:\n  gentle: {replayed_seq: 0.02}\n")
    path = tmp / "smoke.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def _stored(influx: Influx, database: str) -> int:
    result: Any = influx.query(database, 'SELECT count("seq") FROM /_(telemetry|event|state)$/')
    return sum(int(s["values"][0][1]) for s in result["results"][0].get("series", []))


def _wait_until_stored(influx: Influx, database: str, sent: int) -> None:
    last, still = -1, 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stored = _stored(influx, database)
        if stored >= sent:
            return
        still = still + 1 if stored == last else 0
        if still >= 6:
            return
        last = stored
        time.sleep(0.5)


def _alert_points(site: str, reception: str, start: float) -> list[str]:
    """An officer absence acknowledged and resolved, an intrusion escalated then resolved
    as a false alarm, a flood alert still open; at the reception room an officer absence,
    escalated, acknowledged and resolved."""
    lines = []
    history = 0

    def point(alert: str, rule: str, device: str, severity: str, state: str,
              opened: float, at: float, level: int = 0, false_alarm: bool = False,
              where: str = site) -> None:  # fmt: skip
        nonlocal history
        history += 1
        seconds = int(at)
        lines.append(
            AlertPoint(
                history_id=history, alert_id=alert, key=f"{rule}|{where}:{device}|",
                rule_type=rule, severity=severity, site=where,
                sector="public_administration" if where == site else "citizen_reception",
                device=device, state=state, opened_at=opened, false_alarm=false_alarm,
                escalation_level=level, time_ns=seconds * 1_000_000_000 + history,
            ).line()
        )  # fmt: skip

    absence, intrusion, flood = start + 1200, start + 300, start + 600
    point("a1", "officer_absence", "counter-01", "warning", "open", absence, absence)
    point("a1", "officer_absence", "counter-01", "warning", "acknowledged", absence, absence + 240)
    point("a1", "officer_absence", "counter-01", "warning", "resolved", absence, absence + 900)
    point("a2", "intrusion", "cam-gate-01", "major", "open", intrusion, intrusion)
    point("a2", "intrusion", "cam-gate-01", "critical", "escalated", intrusion, intrusion + 600, 1)
    point(
        "a2", "intrusion", "cam-gate-01", "critical", "acknowledged", intrusion, intrusion + 700, 1
    )
    point(
        "a2",
        "intrusion",
        "cam-gate-01",
        "critical",
        "resolved",
        intrusion,
        intrusion + 1500,
        1,
        True,
    )
    point("a3", "water_level", "flood-01", "major", "open", flood, flood)
    away = start + 3000
    for state, after, level in (("open", 0, 0), ("escalated", 600, 1), ("acknowledged", 660, 1),
                                ("resolved", 1800, 1)):  # fmt: skip
        point("a4", "officer_absence", "counter-01", "major" if level else "warning", state,
              away, away + after, level, where=reception)  # fmt: skip
    return lines


def _video_points(registry: Registry, start: float, end: float) -> list[str]:
    """A health point every 30 s and a presence sample every 30 s of each camera; the
    corridor camera's stream is down in the second half."""
    lines: list[str] = []
    cameras = [str(d.thing_id) for d in registry if d.kind is DeviceKind.CAMERA]
    t = start
    while t < end:
        for camera in cameras:
            down = "corridor" in camera and t > (start + end) / 2
            health = StreamHealth(
                StreamState.DOWN if down else StreamState.UP, start, 0.0 if down else 5.0,
                0.0 if down else 380.0, t - (60.0 if down else 0.2), None, "h264", 320, 240,
            )  # fmt: skip
            line = stream_line(camera, health, 1, t)
            if line:
                lines.append(line)
            people = int(t // 30) % 3
            readings = (
                ZoneReading("desk", ZoneType.DESK, people > 0, people, None, True),
                ZoneReading("door", ZoneType.RESTRICTED, False, 0, None, True),
            )
            lines += presence_lines(camera, SampleResult(t, readings, (), True, False))
        t += 30.0
    return lines


def _settings(scenario: Scenario) -> KpiSettings:
    office = scenario.office
    return KpiSettings(
        office=OfficeCalendar(
            days=tuple(office.days), opens=office.opens, lunch_starts=office.lunch_starts,
            lunch_ends=office.lunch_ends, closes=office.closes,
        )
    )  # fmt: skip


def run_morning(broker: Broker, influx: Influx, tmp: Path) -> Morning:
    database = "boards" + str(time.time_ns())[-10:]
    site = "boards.hcc"
    scenario = _scenario(tmp, site)
    registry = Registry(scenario.registry_spec())
    credentials = provision(broker, scenario)
    registry_path = tmp / "registry.yaml"
    registry_path.write_text(
        yaml.safe_dump(scenario.registry_spec().model_dump(mode="json", exclude_none=True)),
        encoding="utf-8",
    )
    influx.create_database(database)
    account = broker.account(ServiceRole.INGEST)
    ingest = IngestProcess(
        {
            "mqtt_host": broker.host, "mqtt_port": broker.port,
            "mqtt_username": account.username, "mqtt_password": account.password,
            "influx_url": influx.url, "influx_username": influx.username,
            "influx_password": influx.password, "influx_database": database,
            "twins_url": None, "twins_username": "", "twins_password": "",
            "registry_path": str(registry_path), "spool_dir": str(tmp / "spool"),
            "settings": {
                "session_expiry_seconds": 300, "batch_seconds": 0.05, "platform_seconds": 1.0,
            },
        },
        tmp,
    )  # fmt: skip
    ingest.start()
    try:
        summary = asyncio.run(
            run_scenario(
                scenario, mqtt_host=broker.host, mqtt_port=broker.port,
                credentials=credentials, speed=SPEED, duration_s=DURATION_S,
                ground_truth_path=tmp / "ground-truth.jsonl", video=False,
                faults="gentle",
            )
        )  # fmt: skip
        sent = sum(summary.by_channel.get(c, 0) for c in ("telemetry", "event", "state"))
        _wait_until_stored(influx, database, sent)
    finally:
        ingest.stop()
        asyncio.run(forget_statuses(broker, registry))
    start, end = summary.sim_start.timestamp(), summary.sim_end.timestamp()
    asyncio.run(_analytics(influx, database, registry, scenario, site, start, end))
    _rollup(influx, database, start, end)
    # from the province's midnight of the simulated day (its day KPIs start there) to now
    # (what ingest stamps with its own clock, statuses and sequence checks, is of now)
    midnight = day_bounds(local_day(start, PROVINCE_TZ), PROVINCE_TZ)[0]
    return Morning(
        database, site, scenario, registry, int(midnight * 1000), int(time.time() * 1000)
    )


async def _analytics(
    influx: Influx, database: str, registry: Registry, scenario: Scenario, site: str,
    start: float, end: float,
) -> None:  # fmt: skip
    user, password = influx.username, influx.password
    async with InfluxPointWriter(influx.url, database, username=user, password=password) as writer:
        await writer.write(_alert_points(site, reception_of(site), start))
        await writer.write(_video_points(registry, start, end))
    async with KpiInflux(influx.url, database, username=user, password=password) as client:
        await KpiEngine(client, registry, _settings(scenario)).recompute_day(
            local_day(start, PROVINCE_TZ), periods=False
        )


def _rollup(influx: Influx, database: str, start: float, end: float) -> None:
    """The continuous query's own statement over the morning (it runs for the last minute
    only, and the morning is in the past)."""
    first = datetime.fromtimestamp(start, UTC).replace(second=0, microsecond=0)
    last = datetime.fromtimestamp(end, UTC) + timedelta(minutes=1)
    influx.query(
        database,
        f'SELECT mean(*) INTO "{database}"."rollup_1m".:MEASUREMENT FROM "{database}"."raw"./.*/'
        f" WHERE time >= '{first.isoformat()}' AND time < '{last.isoformat()}'"
        " GROUP BY time(1m), *",
    )
