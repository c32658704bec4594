"""The durable writer against a real InfluxDB: what is refused, what waits in the spool."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from citytwin.influxd import write_influxd_config
from citytwin.paths import StatePaths
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, count_points, wait_until
from tests.services import (
    Broker,
    Influx,
    ManagedProcess,
    create_influx_admin,
    free_port,
    program,
    wait_for_ping,
)

pytestmark = pytest.mark.timeout(180)


def influxql(influx: Influx, statement: str) -> None:
    influx.execute(statement)


def test_a_database_dropped_while_running_spools_and_loses_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False, write_retries=0, retry_backoff_seconds=0.1)
    device = Device(broker, f"{site.namespace}:pm-01")
    for _ in range(10):
        device.send("telemetry", {"noise_dba": 40.0}).wait_for_publish(10)
    wait_until(lambda: count_points(influx, site.database, "sensor_telemetry") == 10, "10 points")

    influxql(influx, f'DROP DATABASE "{site.database}"')
    for _ in range(10):
        device.send("telemetry", {"noise_dba": 41.0}).wait_for_publish(10)
    wait_until(
        lambda: (ingest.metric("citytwin_ingest_points_spooled_total") or 0) >= 1,
        "points to wait in the spool while the database is missing",
    )
    wait_until(lambda: "404" in ingest.tail(), "the 404 to be logged")
    assert f"{site.database!r}" in ingest.tail()

    influxql(influx, f'CREATE DATABASE "{site.database}" WITH NAME "raw"')
    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") == 10,
        "the 10 spooled points after the database is back",
    )
    wait_until(lambda: ingest.metric("citytwin_ingest_spool_bytes") == 0, "the spool to drain")
    assert (ingest.metric("citytwin_ingest_points_rejected_total") or 0) == 0
    device.close()


def test_a_backlog_waits_for_the_database_to_be_prepared(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    influx.managed.stop()
    try:
        # ingest is ready on MQTT while InfluxDB cannot be prepared yet
        ingest = make_ingest(site, twins=False, write_retries=0, retry_backoff_seconds=0.1)
        device = Device(broker, f"{site.namespace}:pm-01")
        for _ in range(20):
            device.send("telemetry", {"noise_dba": 40.0}).wait_for_publish(10)
        time.sleep(1.0)  # room for a consumer that does not wait to write (and spool)
    finally:
        influx.managed.start()
        wait_for_ping(influx.url)
    wait_until(lambda: count_points(influx, site.database, "sensor_telemetry") == 20, "20 points")
    assert (ingest.metric("citytwin_ingest_points_spooled_total") or 0) == 0
    assert (ingest.metric("citytwin_ingest_points_rejected_total") or 0) == 0
    device.close()


@pytest.fixture
def small_influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influx]:
    """An InfluxDB of its own that takes write bodies of at most 4,000 bytes."""
    paths = StatePaths(tmp_path_factory.mktemp("small-influx"))
    port = free_port()
    conf = write_influxd_config(paths, port)
    text = conf.read_text()
    assert "max-body-size = 25000000" in text
    conf.write_text(text.replace("max-body-size = 25000000", "max-body-size = 4000"))
    managed = ManagedProcess(
        "influxd", [program("influxd"), "-config", str(conf)], port, paths.root / "influxd.log"
    )
    managed.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ping(url)
        yield Influx(url, port, managed, password=create_influx_admin(url))
    finally:
        managed.stop()


def test_a_batch_too_large_for_influxdb_is_split_not_dropped(
    broker: Broker,
    small_influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    small_influx.create_database(site.database)
    ingest = make_ingest(
        site,
        twins=False,
        batch_seconds=1.0,
        gzip_level=0,  # the bound applies to the body as sent
        runtime_overrides={
            "influx_url": small_influx.url,
            "influx_username": small_influx.username,
            "influx_password": small_influx.password,
        },
    )
    device = Device(broker, f"{site.namespace}:pm-01")
    infos = [device.send("telemetry", {"noise_dba": 40.0 + i % 100}) for i in range(200)]
    for info in infos:
        info.wait_for_publish(10)
    wait_until(
        lambda: count_points(small_influx, site.database, "sensor_telemetry") == 200,
        "200 points written in smaller batches",
    )
    assert (ingest.metric("citytwin_ingest_points_rejected_total") or 0) == 0
    assert "too large (413)" in ingest.tail()
    device.close()
