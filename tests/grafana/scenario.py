"""A short simulated morning in InfluxDB, as the boards' queries find it in production.

The smoke scenario (one service centre with every device kind, given a district and
coordinates here, and a citizen-reception room beside it) runs at high speed through the
real broker and ingest into the real InfluxDB, with the real ``citytwin analytics``
process taking ingest's events: its rules open and resolve alerts, its escalation raises
those nobody acknowledged (deadlines of a second here), an operator acknowledges and
resolves through the alert store as the HTTP API does, and its KPI engine writes ``kpi``
from InfluxDB — alert and KPI panels read what the live process wrote. Ingest writes its
own health and the broker's figures (``platform``) every second, analytics its own. The camera hub's
encoders write stream health and presence (``camera_stream``, ``camera_presence``) for
the scenario's cameras. The 1-minute rollups are what the continuous query ingest
creates writes every minute; the scenario's morning lies in the past, so its statement is
run once over that range.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from analytics.alerts.errors import IllegalTransitionError
from analytics.alerts.export import InfluxPointWriter
from analytics.alerts.model import AlertKey, AlertSignal, AlertState, RuleType, Severity
from analytics.alerts.records import Alert
from analytics.kpis.windows import PROVINCE_TZ, day_bounds, local_day
from analytics.presence.camera import SampleResult, ZoneReading
from analytics.rules.ruleset import DEFAULTS
from citytwin.accounts import ServiceRole
from citytwin.report_desk import ALERT_RULE, SECTOR
from simulators.runner import run_scenario
from simulators.scenario import Scenario, load_scenario, scenario_path
from tests.analytics.service.support import AnalyticsProcess, StoreReader
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import IngestProcess, create_twins, wait_until
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
    not_closed: dict[str, int]
    """Alerts of each site the live process left open or acknowledged, by its store."""


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
        f'  - {{what: device_dies, device: "{reception_of(site)}:env-01", at: "10:30"}}\n'
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


def run_morning(broker: Broker, influx: Influx, twins: TwinService, tmp: Path) -> Morning:
    database = "boards" + str(time.time_ns())[-10:]
    site = "boards.hcc"
    reception = reception_of(site)
    scenario = _scenario(tmp, site)
    registry = Registry(scenario.registry_spec())
    credentials = provision(broker, scenario)
    registry_path = tmp / "registry.yaml"
    registry_path.write_text(
        yaml.safe_dump(scenario.registry_spec().model_dump(mode="json", exclude_none=True)),
        encoding="utf-8",
    )
    with twins.client() as client:
        create_twins(client, registry)
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
    analytics = _analytics(
        broker, influx, twins, database, registry, registry_path, [site, reception], tmp
    )
    ingest.start()
    reader: StoreReader | None = None
    try:
        analytics.start()
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
        reader = StoreReader(tmp / "var")
        try:
            _operate(reader, site, reception)
            _citizen_report(reader, site, summary.sim_start + timedelta(minutes=20))
            _wait_for_analytics(influx, database, [site, reception])
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nanalytics log:\n{analytics.tail()}") from exc
    finally:
        if reader is not None:
            reader.close()
        analytics.stop()
        ingest.stop()
        asyncio.run(forget_statuses(broker, registry))
    # the store once the process stopped (it exported its last transitions on the way out)
    reader = StoreReader(tmp / "var")
    not_closed = {where: len(_active(reader, where)) for where in (site, reception)}
    reader.close()
    start, end = summary.sim_start.timestamp(), summary.sim_end.timestamp()
    _video(influx, database, registry, start, end)
    _rollup(influx, database, start, end)
    # from the province's midnight of the simulated day (its day KPIs start there) to now
    # (what ingest stamps with its own clock, statuses and sequence checks, is of now)
    midnight = day_bounds(local_day(start, PROVINCE_TZ), PROVINCE_TZ)[0]
    return Morning(
        database, site, scenario, registry, int(midnight * 1000), int(time.time() * 1000),
        not_closed,
    )  # fmt: skip


RULES_SITES = ('"thaibinh.*"', "thaibinh.flood")
ESCALATION = {"INFO": "PT1S", "WARNING": "PT1S", "MAJOR": "PT1S", "CRITICAL": "PT1S"}
"""Deadlines of a second: an alert nobody acknowledged escalates within the test."""
ANALYTICS_WAIT = 150.0
"""How long the live process may take: its KPI engine recomputes the simulated day, its
week and its month while events come, which took over a minute on a loaded machine."""


def _rules(tmp: Path) -> Path:
    """The bundled Thái Bình rules, for the test's sites."""
    directory = tmp / "rules"
    directory.mkdir()
    for path in sorted((DEFAULTS / "thaibinh").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for pattern in RULES_SITES:
            text = text.replace(f"site: {pattern}", 'site: "boards.*"')
        (directory / path.name).write_text(text, encoding="utf-8")
    return directory


def _analytics(
    broker: Broker, influx: Influx, twins: TwinService, database: str, registry: Registry,
    registry_path: Path, sites: list[str], tmp: Path,
) -> AnalyticsProcess:  # fmt: skip
    """``citytwin analytics`` for the sites, escalating after a second, KPIs every second."""
    site = Site(sites[0], registry, registry_path, database)
    process = AnalyticsProcess.configured(
        broker,
        influx,
        twins,
        site,
        tmp,
        _rules(tmp),
        "boards" + str(time.time_ns())[-6:],
        platform_seconds=1,
    )
    process.env["CITYTWIN_ANALYTICS__SITES"] = json.dumps(sites)
    process.env["CITYTWIN_KPIS__RECOMPUTE_SECONDS"] = "1"
    for severity, deadline in ESCALATION.items():
        process.env[f"CITYTWIN_ALERTS__ESCALATION__{severity}"] = deadline
    return process


def _active(reader: StoreReader, site: str) -> list[Alert]:
    return list(asyncio.run(reader.lifecycle.active_alerts(site)))


def _acknowledge_escalated(reader: StoreReader, where: str) -> Alert | None:
    """Acknowledge one open alert of ``where`` that escalated; None while there is none (or
    the one chosen resolved itself meanwhile, as an officer who came back does)."""
    for alert in _active(reader, where):
        if alert.state is AlertState.OPEN and alert.escalation_level >= 1:
            with contextlib.suppress(IllegalTransitionError):
                return reader.acknowledge(alert.id, "operator-lan")
    return None


def _operate(reader: StoreReader, site: str, reception: str) -> None:
    """An operator acknowledges, at each site, an alert that escalated because nobody had;
    the reception's is then resolved by hand (its sensor stays dead)."""
    for where in (site, reception):
        acknowledged = wait_until(
            lambda where=where: _acknowledge_escalated(reader, where),
            f"an escalated alert at {where} to acknowledge",
            timeout=ANALYTICS_WAIT,
        )
        if where == reception:
            with contextlib.suppress(IllegalTransitionError):  # it resolved itself meanwhile
                asyncio.run(reader.lifecycle.resolve(acknowledged.id, actor="operator-lan"))


def _citizen_report(reader: StoreReader, site: str, at: datetime) -> None:
    """A citizen's report of a broken street light, its alert raised on the store as the
    HTTP app's intake raises it (`citytwin.report_desk`); the live process exports it and
    counts it in ``citizen_reports``."""
    signal = AlertSignal(
        key=AlertKey(rule=ALERT_RULE, device="reports:citizen-app.boards-1"),
        rule_type=RuleType.CITIZEN_REPORT,
        active=True,
        at=at,
        severity=Severity.WARNING,
        site=site,
        sector=SECTOR,
        message_vi="Phản ánh của người dân: Chiếu sáng — đèn đường hỏng",
        message_en="Citizen report: Street lighting — a broken street light",
        details={"report": "reports:citizen-app.boards-1", "category": "lighting"},
    )
    asyncio.run(reader.lifecycle.apply(signal))


def _series(influx: Influx, database: str, query: str) -> int:
    result: Any = influx.query(database, query)
    return len(result["results"][0].get("series", []))


def _wait_for_analytics(influx: Influx, database: str, sites: list[str]) -> None:
    """Until the alert points of every transition and each site's alert KPIs are in."""
    for state in ("open", "escalated", "acknowledged", "resolved"):
        query = f'SELECT count("alert_id") FROM "alert" WHERE "state" = \'{state}\' GROUP BY "site"'
        wait_until(
            lambda query=query: _series(influx, database, query) >= len(sites),
            f"{state} alert points at every site",
            timeout=ANALYTICS_WAIT,
        )
    wait_until(
        lambda: (
            _series(
                influx,
                database,
                'SELECT count("value") FROM "kpi" WHERE "kpi" = \'citizen_reports\'',
            )
            >= 1
        ),
        "the citizen report counted in its KPI",
        timeout=ANALYTICS_WAIT,
    )
    for kpi in ("alert_mtta", "alert_mttr"):
        query = (
            f'SELECT count("value") FROM "kpi" WHERE "kpi" = \'{kpi}\''
            ' AND "window" = \'15m\' AND "scope" =~ /^site:/ GROUP BY "scope"'
        )
        wait_until(
            lambda query=query: _series(influx, database, query) >= len(sites),
            f"{kpi} of every site",
            timeout=ANALYTICS_WAIT,
        )


def _video(influx: Influx, database: str, registry: Registry, start: float, end: float) -> None:
    """What the camera hub's encoders write (no video runs in this scenario)."""

    async def write() -> None:
        user, password = influx.username, influx.password
        async with InfluxPointWriter(influx.url, database, username=user, password=password) as w:
            await w.write(_video_points(registry, start, end))

    asyncio.run(write())


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
