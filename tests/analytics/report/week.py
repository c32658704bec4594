"""A week of a service centre, stored the way the platform stores it.

ISO week 2026-W48 (Monday 23 – Sunday 29 November) at ``thaibinh.hcc``:

- alerts through the real lifecycle into a SQLite store, exported to InfluxDB's ``alert``
  measurement by the real exporter, and the KPI engine run over the week — so the alert
  KPIs on the report are the engine's, and the response times are the store's;
- service-centre KPIs written as `kpi` points the way the engine writes them (the counter
  events behind them would take a simulated week to produce): the week and each of its
  days, and the week before for the trend.

Every day: an officer absent (major) at 08:00 local, acknowledged after 3 + d minutes and
resolved after 20 + 5d minutes (d = 0 … 6); an intrusion (critical) at 14:00 acknowledged
after 3 minutes and resolved after 45 (Wednesday's as a false alarm). On Sunday at 10:00 a
camera goes offline (warning) and nobody answers it before the week ends.

So: 15 alerts; 14 acknowledged, mean (42 + 21) / 14 = 4.5 min (target 5: green); 14
resolved, mean (245 + 315) / 14 = 40 min (target 30: red); 1 false alarm of 14 resolved
= 7.1 % (target 5 %: red); the offline alert lasts 14 h to the end of the week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from analytics.alerts.export import AlertPointExporter, InfluxPointWriter
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey, AlertSignal, RuleType, Severity
from analytics.alerts.store import AlertStore
from analytics.kpis.aggregate import KpiValue
from analytics.kpis.engine import KpiEngine, line_of
from analytics.kpis.influx import KpiInflux
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import PROVINCE_TZ, Window, day_start
from tests.analytics.alerts.support import FakeClock
from tests.services import Influx
from twins.registry import Registry, RegistrySpec

SITE = "thaibinh.hcc"
SITE_NAME = "Trung tâm Phục vụ hành chính công tỉnh Thái Bình"
QUIET_SITE = "thaibinh.env.kienxuong"
MONDAY = date(2026, 11, 23)
DAYS = [MONDAY + timedelta(days=d) for d in range(7)]
WEEK_START = day_start(MONDAY)
PREVIOUS_WEEK_START = day_start(MONDAY - timedelta(days=7))
WEEK_END = day_start(MONDAY + timedelta(days=7))

REGISTRY = f"""\
sites:
  - id: {SITE}
    name: {SITE_NAME}
    sector: public_administration
  - id: {QUIET_SITE}
    name: Trạm quan trắc Kiến Xương
    sector: environment
"""

WAITING_DAILY = [11.5, 12.0, 13.5, 12.5, 13.0, 12.0, 12.3]
"""waiting_time_mean of each day (min); the week's is 12.4 (target ≤ 15: green) against
14.0 the week before (improving)."""
WEEK_KPIS = {  # kpi: (this week, the week before)
    "waiting_time_mean": (12.4, 14.0),
    "officer_availability": (88.0, 91.0),  # ≥ 95 %, amber down to 90.25: red, worsening
    "sla_called_within_target": (76.0, 76.0),  # ≥ 80 %, amber down to 72: amber, steady
}


@dataclass(slots=True, frozen=True)
class StoredWeek:
    database: str
    alerts_url: str
    registry: Path


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), PROVINCE_TZ).astimezone(UTC)


def _signal(key: AlertKey, kind: RuleType, severity: Severity, at: datetime) -> AlertSignal:
    return AlertSignal(
        key=key, rule_type=kind, active=True, at=at, severity=severity, site=SITE,
        sector="public_administration", message_vi=f"Sự cố {kind.value} tại {key.device}",
        message_en=f"{kind.value} at {key.device}", details={},
    )  # fmt: skip


async def _alerts(lifecycle: AlertLifecycle, clock: FakeClock) -> None:
    async def raise_and_answer(
        signal: AlertSignal, ack: float | None, resolve: float | None, false: bool = False
    ) -> None:
        clock.now = signal.at + timedelta(seconds=5)
        applied = await lifecycle.apply(signal)
        assert applied.alert is not None
        if ack is not None:
            clock.now = signal.at + timedelta(minutes=ack)
            await lifecycle.acknowledge(applied.alert.id, actor="operator-1")
        if resolve is not None:
            clock.now = signal.at + timedelta(minutes=resolve)
            await lifecycle.resolve(applied.alert.id, actor="operator-1", false_alarm=false)

    desk = AlertKey("hcc-desk-absence", f"{SITE}/cam-03", "desk-2")
    door = AlertKey("hcc-night-door", f"{SITE}/cam-07", "door")
    for d, day in enumerate(DAYS):
        absent = _signal(desk, RuleType.OFFICER_ABSENCE, Severity.MAJOR, local(day, 8))
        await raise_and_answer(absent, 3 + d, 20 + 5 * d)
        intrusion = _signal(door, RuleType.INTRUSION, Severity.CRITICAL, local(day, 14))
        await raise_and_answer(intrusion, 3, 45, false=day.weekday() == 2)
    camera = AlertKey("hcc-camera-offline", f"{SITE}/cam-11")
    await raise_and_answer(
        _signal(camera, RuleType.OFFLINE, Severity.WARNING, local(DAYS[6], 10)), None, None
    )


def _service_points() -> list[str]:
    scope = f"site:{SITE}"
    points = [
        KpiValue("waiting_time_mean", scope, Window.DAY, day_start(day), value, value * 40, 40)
        for day, value in zip(DAYS, WAITING_DAILY, strict=True)
    ]
    for kpi, (now, before) in WEEK_KPIS.items():
        points.append(KpiValue(kpi, scope, Window.WEEK, WEEK_START, now, now * 10, 10))
        points.append(KpiValue(kpi, scope, Window.WEEK, PREVIOUS_WEEK_START, before, before, 1))
    return [line_of(point) for point in points]


async def store_week(influx: Influx, database: str, directory: Path) -> StoredWeek:
    """The week above in ``database`` and a SQLite alert store under ``directory``."""
    registry = directory / "sites.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    alerts_url = f"sqlite:///{directory / 'alerts.db'}"
    clock = FakeClock()
    async with await AlertStore.connect(alerts_url) as store:
        await _alerts(AlertLifecycle(store, clock=clock), clock)
        writer = InfluxPointWriter(
            influx.url, database, username=influx.username, password=influx.password
        )
        async with writer:
            await AlertPointExporter(store, writer).export_pending()
    client = KpiInflux(influx.url, database, username=influx.username, password=influx.password)
    async with client:
        engine = KpiEngine(
            client, Registry(RegistrySpec()), KpiSettings(), clock=lambda: WEEK_END + 3600
        )
        for day in DAYS:
            await engine.recompute_day(day, periods=False)
        await engine.recompute_period(Window.WEEK, WEEK_START)
        await client.write(_service_points())
    return StoredWeek(database, alerts_url, registry)
