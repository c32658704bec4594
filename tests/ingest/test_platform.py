"""Ingest writes its own health and the broker's $SYS figures to InfluxDB (``platform``),
where the platform board reads them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ingest.platform import BrokerFigures, parse_sys_value
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, influx_rows, wait_until
from tests.services import Broker, Influx

pytestmark = pytest.mark.timeout(120)


def _sum(influx: Influx, database: str, query: str) -> float:
    rows = influx_rows(influx, database, query)
    return float(rows[0]["sum"]) if rows and rows[0]["sum"] is not None else 0.0


def test_ingest_reports_messages_dead_letters_and_the_broker_to_influxdb(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False, platform_seconds=0.5)
    device = Device(broker, f"{site.namespace}:pm-01")
    for seq in range(1, 6):
        device.send("telemetry", {"noise_dba": 40.0 + seq}, seq=seq).wait_for_publish(10)
    device.publish("telemetry", b"{noise").wait_for_publish(10)
    device.publish("telemetry", b"{noise").wait_for_publish(10)
    db = site.database
    taken = 'SELECT sum("messages") FROM "platform" WHERE "source" = \'ingest\''
    wait_until(lambda: _sum(influx, db, taken) >= 7, "7 messages in the platform points")
    refused = (
        'SELECT sum("deadletters") FROM "platform" WHERE "source" = \'ingest\''
        " AND \"reason\" = 'not_json'"
    )
    wait_until(lambda: _sum(influx, db, refused) == 2, "2 not_json dead letters")
    written = 'SELECT sum("points_written") FROM "platform" WHERE "source" = \'ingest\''
    wait_until(lambda: _sum(influx, db, written) >= 5, "the 5 points written, reported")
    # the worker's totals are the sum of its per-reason points (one query: one moment)
    # — other tests' devices on the shared broker are unknown to it, so there are more
    result = influx.query(
        db,
        'SELECT sum("deadletters") FROM "platform" WHERE "source" = \'ingest\' GROUP BY "reason"',
    )
    by_reason = {
        series["tags"]["reason"]: series["values"][0][1]
        for series in result["results"][0]["series"]  # type: ignore[index]
    }
    assert by_reason.pop("") == sum(by_reason.values())
    assert by_reason["not_json"] == 2
    [latest] = influx_rows(
        influx,
        db,
        'SELECT last("mqtt_connected"), last("spool_bytes") FROM "platform"'
        " WHERE \"source\" = 'ingest'",
    )
    assert (latest["last"], latest["last_1"]) == (1, 0)

    more = iter(range(100, 10_000))

    def broker_rates() -> list[dict[str, object]]:
        # the device keeps publishing: a rate is what the broker received between two of
        # its figures, 2 s apart here
        device.send("telemetry", {"noise_dba": 40.0}, seq=next(more)).wait_for_publish(10)
        return influx_rows(
            influx,
            db,
            'SELECT "clients_connected", "messages_received_per_s" FROM "platform"'
            ' WHERE "source" = \'broker\' AND "messages_received_per_s" > 0',
        )

    [row, *_] = wait_until(broker_rates, "the broker's $SYS figures as rates")
    assert isinstance(row["clients_connected"], int)
    assert row["clients_connected"] >= 2  # ingest and the device at least
    device.close()
    ingest.stop()


def test_broker_totals_become_rates_between_two_figures_and_survive_a_restart() -> None:
    figures = BrokerFigures()
    assert figures.observe("$SYS/broker/publish/messages/received", b"100", 10.0)
    assert figures.observe("$SYS/broker/clients/connected", b"7", 10.0)
    assert figures.fields() == [("clients_connected", 7)]  # one total: no rate yet
    figures.observe("$SYS/broker/publish/messages/received", b"400", 20.0)
    assert dict(figures.fields())["messages_received_per_s"] == 30.0
    assert "messages_received_per_s" not in dict(figures.fields())  # nothing new since
    figures.observe("$SYS/broker/publish/messages/received", b"50", 30.0)  # restarted
    assert dict(figures.fields())["messages_received_per_s"] == 5.0


def test_a_broker_figure_that_is_not_a_number_is_left_out() -> None:
    figures = BrokerFigures()
    assert not figures.observe("$SYS/broker/clients/connected", b"many", 1.0)
    assert not figures.observe("$SYS/broker/uptime", b"12 seconds", 1.0)
    assert figures.fields() == []
    assert parse_sys_value(b"-3") is None
    assert parse_sys_value(b" 12\n") == 12.0
