"""Every alert transition becomes a point of measurement ``alert`` in a real InfluxDB,
through the history outbox: nothing lost while InfluxDB is away, nothing doubled by a
second export."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import update

from analytics.alerts.errors import AlertExportError
from analytics.alerts.export import AlertPointExporter, InfluxPointWriter
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey, RuleType, Severity
from analytics.alerts.settings import EscalationSettings
from analytics.alerts.tables import HistoryRow
from tests.analytics.alerts.support import DESK, T0, FakeClock, minutes, signal
from tests.services import Influx, free_port

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]


@pytest.fixture
def escalation() -> EscalationSettings:
    return EscalationSettings(major=timedelta(minutes=10))


@pytest_asyncio.fixture
async def writer(influx: Influx, database: str) -> AsyncIterator[InfluxPointWriter]:
    async with InfluxPointWriter(
        influx.url, database, username=influx.username, password=influx.password
    ) as opened:
        yield opened


def _points(influx: Influx, database: str) -> list[dict[str, Any]]:
    answer: Any = influx.query(database, "SELECT * FROM alert")
    series = answer["results"][0].get("series")
    if not series:
        return []
    columns = series[0]["columns"]
    return [dict(zip(columns, values, strict=True)) for values in series[0]["values"]]


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


async def test_each_transition_is_a_point_with_its_tags_and_fields(
    lifecycle: AlertLifecycle,
    clock: FakeClock,
    writer: InfluxPointWriter,
    influx: Influx,
    database: str,
) -> None:
    opened = await lifecycle.apply(signal(severity=Severity.MAJOR))
    assert opened.alert is not None
    alert_id = opened.alert.id
    clock.advance(minutes(10))
    await lifecycle.escalate_due()
    escalated_at = clock.now
    clock.advance(minutes(1))
    await lifecycle.acknowledge(alert_id, actor="operator-lan")
    acknowledged_at = clock.now
    await lifecycle.assign(alert_id, assignee="field-team-1", actor="operator-lan")  # no point
    clock.advance(minutes(4))
    await lifecycle.resolve(alert_id, actor="operator-lan", false_alarm=True)

    exporter = AlertPointExporter(lifecycle.store, writer)
    assert await exporter.export_pending() == 4
    assert await exporter.pending() == 0

    points = _points(influx, database)
    assert [
        (p["state"], p["severity"], p["escalation_level"], p["false_alarm"]) for p in points
    ] == [
        ("open", "major", 0, False),
        ("escalated", "critical", 1, False),
        ("acknowledged", "critical", 1, False),
        ("resolved", "critical", 1, True),
    ]
    assert [p["time"] for p in points] == [
        _ms(T0),
        _ms(escalated_at),
        _ms(acknowledged_at),
        _ms(clock.now),
    ]
    for point in points:
        assert point["alert_id"] == alert_id
        assert point["key"] == str(DESK)
        assert point["opened_at"] == T0.timestamp()
        assert (point["rule_type"], point["site"], point["device"]) == (
            "officer_absence",
            "thaibinh.hcc",
            DESK.device,
        )
        assert point["sector"] == "public-administration"


async def test_a_citizen_reports_alert_carries_its_category_as_a_tag(
    lifecycle: AlertLifecycle, writer: InfluxPointWriter, influx: Influx, database: str
) -> None:
    report = AlertKey(rule="citizen-report", device="reports:citizen-app.0f3a")
    await lifecycle.apply(
        signal(key=report, rule_type=RuleType.CITIZEN_REPORT, details={"category": "flooding"})
    )
    await lifecycle.apply(signal(details={"category": "not a report"}))
    await AlertPointExporter(lifecycle.store, writer).export_pending()
    by_type = {p["rule_type"]: p.get("category") for p in _points(influx, database)}
    assert by_type == {"citizen_report": "flooding", "officer_absence": None}


async def test_a_second_export_of_the_same_rows_doubles_nothing(
    lifecycle: AlertLifecycle, writer: InfluxPointWriter, influx: Influx, database: str
) -> None:
    await lifecycle.apply(signal())
    await lifecycle.apply(signal(active=False, at=T0 + minutes(3)))
    exporter = AlertPointExporter(lifecycle.store, writer)
    assert await exporter.export_pending() == 2
    # as after a crash between the write and the flag's commit
    await lifecycle.store.run(
        lambda session: session.execute(update(HistoryRow).values(point_pending=True))
    )
    assert await exporter.export_pending() == 2
    assert len(_points(influx, database)) == 2


async def test_two_zones_changing_at_the_same_instant_are_two_points(
    lifecycle: AlertLifecycle, writer: InfluxPointWriter, influx: Influx, database: str
) -> None:
    await lifecycle.apply(signal(key=DESK))
    await lifecycle.apply(signal(key=AlertKey(DESK.rule, DESK.device, "desk-3")))
    await AlertPointExporter(lifecycle.store, writer).export_pending()

    points = _points(influx, database)
    assert sorted(p["key"] for p in points) == sorted(
        [str(DESK), f"{DESK.rule}|{DESK.device}|desk-3"]
    )


async def test_tag_values_with_spaces_commas_and_equals_arrive_intact(
    lifecycle: AlertLifecycle, writer: InfluxPointWriter, influx: Influx, database: str
) -> None:
    odd = replace(signal(), sector='health, "hospitals" = 2')
    odd = replace(odd, key=AlertKey('rule "x"', "thaibinh.hcc/cam 03", "z=1,2"))
    await lifecycle.apply(odd)
    await AlertPointExporter(lifecycle.store, writer).export_pending()

    [point] = _points(influx, database)
    assert point["sector"] == 'health, "hospitals" = 2'
    assert point["device"] == "thaibinh.hcc/cam 03"
    assert point["key"] == 'rule "x"|thaibinh.hcc/cam 03|z=1,2'


async def test_points_wait_in_the_store_while_influxdb_is_unreachable(
    lifecycle: AlertLifecycle, writer: InfluxPointWriter, influx: Influx, database: str
) -> None:
    await lifecycle.apply(signal())
    port = free_port()
    async with InfluxPointWriter(f"http://127.0.0.1:{port}", database) as down:
        with pytest.raises(AlertExportError, match=f"InfluxDB http://127.0.0.1:{port} database"):
            await AlertPointExporter(lifecycle.store, down).export_pending()
    exporter = AlertPointExporter(lifecycle.store, writer)
    assert await exporter.pending() == 1
    assert await exporter.export_pending() == 1
    assert len(_points(influx, database)) == 1


async def test_a_refusal_names_the_database_and_the_status(
    lifecycle: AlertLifecycle, influx: Influx, unique_name: str
) -> None:
    await lifecycle.apply(signal())
    async with InfluxPointWriter(
        influx.url, unique_name, username=influx.username, password=influx.password
    ) as missing:
        exporter = AlertPointExporter(lifecycle.store, missing)
        with pytest.raises(
            AlertExportError,
            match=f"'{unique_name}': cannot write alert points: .* answered 404 .*does not exist",
        ):
            await exporter.export_pending()
        assert await exporter.pending() == 1


async def test_a_batch_influxdb_refuses_as_invalid_does_not_block_the_next(
    lifecycle: AlertLifecycle,
    writer: InfluxPointWriter,
    influx: Influx,
    database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # someone wrote escalation_level as a float into this shard first: a field type conflict
    await writer.write([f"alert,state=other escalation_level=1.5 {int(T0.timestamp() * 1e9)}"])
    await lifecycle.apply(signal())
    exporter = AlertPointExporter(lifecycle.store, writer)
    with caplog.at_level(logging.ERROR, logger="analytics.alerts.export"):
        assert await exporter.export_pending() == 1
    assert "alert points refused (400)" in caplog.text
    assert "field type conflict" in caplog.text
    assert await exporter.pending() == 0
