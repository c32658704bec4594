"""The engine against the real InfluxDB: late events recompute the windows they belong to,
alert transitions become operations KPIs, bad settings are refused with their field."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from analytics.kpis import engine as engine_module
from analytics.kpis.engine import KpiEngine, read_values
from analytics.kpis.influx import KpiInflux
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import Window, day_bounds
from ingest.mapping import DeviceContext, line_of
from tests.analytics.kpis.conftest import kpi_client
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind, Sector
from twins.payloads import DeviceMessage, ServiceFinished, ServiceStarted, TicketIssued
from twins.registry import Registry, RegistrySpec
from twins.thing_id import ThingId
from twins.topics import Channel

VN = timezone(timedelta(hours=7))
DAY = date(2026, 12, 2)
SITE = "thaibinh.hcc"
COUNTER = f"{SITE}:counter-01"


def at(hhmm: str, day: date = DAY) -> float:
    return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}:00").replace(tzinfo=VN).timestamp()


REGISTRY = Registry(
    RegistrySpec.model_validate(
        {
            "sites": [
                {
                    "id": SITE,
                    "name": "Trung tâm Phục vụ hành chính công tỉnh Thái Bình",
                    "sector": "public_administration",
                    "devices": [
                        {"name": "counter-01", "kind": "counter"},
                        {"name": "kiosk-01", "kind": "kiosk"},
                    ],
                }
            ]
        }
    )
)


class Writer:
    """Points exactly as ingest writes them (`ingest.mapping.line_of`)."""

    def __init__(self) -> None:
        self.seq = 0
        self.contexts = {str(d.thing_id): DeviceContext.of(d) for d in REGISTRY}

    def line(self, thing: str, channel: Channel, data: BaseModel, t: float) -> str:
        self.seq += 1
        context = self.contexts[thing]
        message = DeviceMessage(
            ThingId.parse(thing), context.device.kind, channel, int(t * 1000), self.seq, data
        )
        found = line_of(context, message, int(t * 1000))
        assert found is not None
        return found

    def ticket(self, number: str, issued: str, started: str, finished: str) -> list[str]:
        start, end = at(started), at(finished)
        return [
            self.line(
                f"{SITE}:kiosk-01", Channel.EVENT,
                TicketIssued(type="ticket_issued", ticket=number, service="land"), at(issued),
            ),
            self.line(
                COUNTER, Channel.EVENT,
                ServiceStarted(type="service_started", ticket=number, service="land"), start,
            ),
            self.line(
                COUNTER, Channel.EVENT,
                ServiceFinished(
                    type="service_finished", ticket=number, service="land", duration_s=end - start
                ),
                end,
            ),
        ]  # fmt: skip


async def values(client: KpiInflux, window: Window, start: float, scope: str) -> dict[str, float]:
    found = await read_values(client, window=window, start=start, scope=scope)
    return {v.kpi: v.value for v in found if not v.part}


@pytest.mark.asyncio
async def test_a_late_event_recomputes_only_the_windows_it_belongs_to(
    kpi_client_args: dict[str, str],
) -> None:
    writer = Writer()
    scope = f"counter:{COUNTER}"
    async with kpi_client(kpi_client_args) as client:
        engine = KpiEngine(client, REGISTRY, KpiSettings(), clock=lambda: at("12:00") + 5 * 86_400)
        await client.write(
            writer.ticket("A001", "08:00", "08:10", "08:20")
            + writer.ticket("A002", "08:05", "08:20", "08:30")
        )
        engine.mark(at("08:20"))
        engine.mark(at("08:30"))
        (first,) = await engine.recompute_dirty()
        assert (await values(client, Window.HOUR, at("08:00"), scope))["tickets_served"] == 2
        assert not engine.dirty

        # an hour later the counter's buffered events of 09:xx arrive: their ts decides
        await client.write(writer.ticket("A003", "09:00", "09:05", "09:15"))
        late = NormalizedEvent(
            thing_id=COUNTER, kind=DeviceKind.COUNTER, site=SITE,
            sector=Sector.PUBLIC_ADMINISTRATION, channel=EventChannel.EVENT,
            ts=int(at("09:15") * 1000), ts_source=TsSource.DEVICE, seq=99,
            data={"type": "service_finished"},
        )  # fmt: skip
        engine.observe(late)
        assert engine.dirty == {DAY: {at("09:15")}}
        (second,) = await engine.recompute_dirty()

        hour9 = await values(client, Window.HOUR, at("09:00"), scope)
        assert hour9["tickets_served"] == 1
        assert hour9["waiting_time_mean"] == 5.0
        assert (await values(client, Window.QUARTER, at("09:15"), scope))["tickets_served"] == 1
        assert (await values(client, Window.HOUR, at("08:00"), scope))["tickets_served"] == 2
        day = await values(client, Window.DAY, day_bounds(DAY)[0], f"site:{SITE}")
        assert day["tickets_served"] == 3
        assert day["tickets_issued"] == 3
        assert day["waiting_time_mean"] == pytest.approx((10 + 15 + 5) / 3)
        # the week and month of a day that has ended are recomputed too
        week = await values(client, Window.WEEK, at("00:00", date(2026, 11, 30)), "province")
        assert week["tickets_served"] == 3
        month = await values(client, Window.MONTH, at("00:00", date(2026, 12, 1)), "province")
        assert month["waiting_time_median"] == 10.0
    assert second.written < first.written  # only the dirty quarter, its hour and the day


def alert_line(state: str, t: str, alert: str, rule: str, severity: str, **fields: Any) -> str:
    opened = fields.pop("opened_at", None)
    category = fields.pop("category", None)
    body = [f'alert_id="{alert}"', f'key="{rule}|{COUNTER}|"']
    if opened is not None:
        body.append(f"opened_at={at(opened)!r}")
    body.append(f"false_alarm={'true' if fields.get('false_alarm') else 'false'}")
    body.append(f"escalation_level={fields.get('level', 0)}i")
    tags = (
        f"alert,rule_type={rule},severity={severity},site={SITE},sector=public_administration"
        f",device=counter-01,state={state}"
    )
    if category is not None:
        tags += f",category={category}"
    return f"{tags} {','.join(body)} {round(at(t) * 1e9)}"


@pytest.mark.asyncio
async def test_alert_transitions_give_counts_mtta_mttr_escalations_and_false_alerts(
    kpi_client_args: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        alert_line("open", "10:00", "a1", "officer_absence", "major", opened_at="10:00"),
        alert_line("acknowledged", "10:04", "a1", "officer_absence", "major", opened_at="10:00"),
        alert_line("resolved", "10:30", "a1", "officer_absence", "major", opened_at="10:00"),
        alert_line("open", "10:10", "a2", "intrusion", "critical", opened_at="10:10"),
        alert_line("escalated", "10:20", "a2", "intrusion", "critical", opened_at="10:10", level=1),
        alert_line("acknowledged", "10:22", "a2", "intrusion", "critical", opened_at="10:10"),
        alert_line(
            "resolved", "10:40", "a2", "intrusion", "critical", opened_at="10:10", false_alarm=True
        ),
        alert_line("resolved", "10:50", "a3", "stuck", "warning"),  # no opened_at: unusable
    ]
    async with kpi_client(kpi_client_args) as client:
        await client.write(lines)
        engine = KpiEngine(client, REGISTRY, KpiSettings(), clock=lambda: at("23:00"))
        await engine.recompute_day(DAY, periods=False)
        found = await read_values(
            client, window=Window.HOUR, start=at("10:00"), scope=f"site:{SITE}"
        )
    by = {(v.kpi, v.part): v.value for v in found}
    assert by[("alerts_opened", "")] == 2
    assert by[("alerts_opened", "rule_type=intrusion")] == 1
    assert by[("alerts_opened", "severity=major")] == 1
    assert by[("alert_mtta", "")] == 8.0
    assert by[("alert_mtta", "severity=critical")] == 12.0
    assert by[("alert_mttr", "")] == 30.0
    assert by[("alert_escalations", "")] == 1
    assert by[("false_alert_share", "")] == 50.0
    assert by[("false_alert_share", "rule_type=officer_absence")] == 0.0
    assert ("alert_mttr", "rule_type=stuck") not in by
    assert f"of {SITE}/stuck skipped: state 'resolved' without opened_at" in caplog.text


@pytest.mark.asyncio
async def test_citizen_reports_count_by_category_and_time_their_first_response(
    kpi_client_args: dict[str, str],
) -> None:
    report = {"rule": "citizen_report", "severity": "warning"}
    lines = [
        alert_line("open", "09:00", "r1", **report, opened_at="09:00", category="road"),
        alert_line("acknowledged", "09:20", "r1", **report, opened_at="09:00", category="road"),
        alert_line("resolved", "09:50", "r1", **report, opened_at="09:00", category="road"),
        alert_line("open", "09:10", "r2", **report, opened_at="09:10", category="road"),
        alert_line("open", "09:30", "r3", **report, opened_at="09:30", category="flooding"),
        alert_line("open", "09:40", "a4", "officer_absence", "major", opened_at="09:40"),
    ]
    async with kpi_client(kpi_client_args) as client:
        await client.write(lines)
        engine = KpiEngine(client, REGISTRY, KpiSettings(), clock=lambda: at("23:00"))
        await engine.recompute_day(DAY, periods=False)
        found = await read_values(
            client, window=Window.HOUR, start=at("09:00"), scope=f"site:{SITE}"
        )
    by = {(v.kpi, v.part): v.value for v in found}
    assert by[("citizen_reports", "")] == 3
    assert by[("citizen_reports", "category=road")] == 2
    assert by[("citizen_reports", "category=flooding")] == 1
    assert by[("alerts_opened", "")] == 4
    assert by[("alert_mtta", "rule_type=citizen_report")] == 20.0
    assert by[("alert_mttr", "rule_type=citizen_report")] == 50.0


def test_settings_name_the_field_that_is_wrong() -> None:
    with pytest.raises(ValidationError, match="unknown sensor fields \\['pm10'\\]"):
        KpiSettings.model_validate({"limits": {"pm10": 50}})
    with pytest.raises(ValidationError, match="opens < lunch_starts"):
        KpiSettings.model_validate({"office": {"opens": "12:00"}})
    with pytest.raises(ValidationError, match=r"sla_minutes\s+Extra inputs"):
        KpiSettings.model_validate({"sla_minutes": 10})


@pytest.mark.asyncio
async def test_the_running_engine_recomputes_marked_windows_and_closes_the_day(
    kpi_client_args: dict[str, str],
) -> None:
    writer = Writer()
    now = [at("10:00")]
    async with kpi_client(kpi_client_args) as client:
        await client.write(writer.ticket("A001", "08:00", "08:10", "08:20"))
        settings = KpiSettings(recompute_seconds=0.05)
        engine = KpiEngine(client, REGISTRY, settings, clock=lambda: now[0])
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(engine.run(stop), name="kpi engine")
            engine.mark(at("08:20"))
            await until(lambda: not engine.dirty)
            day = await values(client, Window.DAY, day_bounds(DAY)[0], f"site:{SITE}")
            assert day["tickets_served"] == 1
            week_start = at("00:00", date(2026, 11, 30))
            assert not await values(client, Window.WEEK, week_start, "province")
            now[0] = at("00:10", DAY + timedelta(days=1))  # the day has ended
            for _ in range(400):
                if await values(client, Window.WEEK, week_start, "province"):
                    break
                await asyncio.sleep(0.05)
            stop.set()
        week = await values(client, Window.WEEK, week_start, "province")
    assert week["tickets_served"] == 1


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


@pytest.mark.asyncio
async def test_the_loop_serves_other_work_while_a_day_is_computed(
    kpi_client_args: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the analytics process runs its rules and notices on the loop the KPI engine awaits
    # on: while the day's KPIs are computed, a callback handed to the loop must run
    loop = asyncio.get_running_loop()
    served: list[bool] = []
    original = engine_module.compute

    def computing(*args: Any) -> Any:
        ran = threading.Event()
        loop.call_soon_threadsafe(ran.set)
        served.append(ran.wait(timeout=10.0))
        return original(*args)

    monkeypatch.setattr(engine_module, "compute", computing)
    writer = Writer()
    async with kpi_client(kpi_client_args) as client:
        await client.write(writer.ticket("A001", "08:00", "08:10", "08:20"))
        engine = KpiEngine(client, REGISTRY, KpiSettings(), clock=lambda: at("12:00"))
        await engine.recompute_day(DAY, periods=False)
        hour8 = await values(client, Window.HOUR, at("08:00"), f"counter:{COUNTER}")
    assert served == [True]
    assert hour8["tickets_served"] == 1
