"""No holes, no doubles: K numbered messages survive broker restarts, InfluxDB outages and
ingest crashes, and InfluxDB ends up holding exactly K points."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, count_points, influx_rows, wait_until
from tests.services import Broker, Influx

DEVICES = 4
PER_DEVICE = 600


@contextmanager
def publishing(
    broker: Broker, site: Site, seconds: float, per_device: int = PER_DEVICE
) -> Iterator[threading.Event]:
    """Publish ``per_device`` numbered messages from each device over ``seconds``; the
    context exits once every message has its PUBACK."""
    devices = [Device(broker, str(device.thing_id)) for device in site.registry]
    done = threading.Event()

    def run() -> None:
        start = int(time.time() * 1000)
        for seq in range(1, per_device + 1):
            for device in devices:
                device.send("telemetry", {"water_level_cm": float(seq)}, seq=seq, ts=start + seq)
            time.sleep(seconds / per_device)
        done.set()

    thread = threading.Thread(target=run, name="publisher")
    thread.start()
    try:
        yield done
    finally:
        thread.join(seconds + 60)
        wait_until(
            lambda: all(device.acked >= per_device for device in devices),
            "every PUBACK",
            timeout=60,
        )
        for device in devices:
            device.close()


def assert_exactly_once(influx: Influx, site: Site) -> None:
    total = DEVICES * PER_DEVICE
    try:
        wait_until(
            lambda: count_points(influx, site.database, "sensor_telemetry") >= total,
            f"{total} points in InfluxDB",
            timeout=60,
        )
    except AssertionError:
        rows = influx_rows(
            influx,
            site.database,
            'SELECT count(seq), min(seq), max(seq) FROM "sensor_telemetry" GROUP BY "device"',
        )
        raise AssertionError(f"points per device: {rows}") from None
    time.sleep(1.0)  # anything doubled or late would show now
    assert count_points(influx, site.database, "sensor_telemetry") == total
    rows = influx_rows(
        influx,
        site.database,
        'SELECT count(seq), min(seq), max(seq) FROM "sensor_telemetry" GROUP BY "device"',
    )
    assert [(r["count"], r["min"], r["max"]) for r in rows] == [
        (PER_DEVICE, 1, PER_DEVICE)
    ] * DEVICES


def sensors(make_site: Callable[..., Site]) -> Site:
    return make_site([(f"noise-{i}", "sensor") for i in range(DEVICES)], twins=False)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_mosquitto_restart_loses_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = sensors(make_site)
    ingest = make_ingest(site, twins=False)
    with publishing(broker, site, seconds=6) as done:
        time.sleep(2)
        broker.managed.restart()
        assert not done.is_set(), "the broker restarted after publishing ended"
    assert_exactly_once(influx, site)
    assert ingest.process is not None
    assert ingest.process.poll() is None


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_influxdb_down_for_30_seconds_loses_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = sensors(make_site)
    ingest = make_ingest(site, twins=False, write_retries=1, retry_backoff_seconds=0.1)
    with publishing(broker, site, seconds=10):
        time.sleep(2)
        influx.managed.stop()
        try:
            wait_until(
                lambda: (ingest.metric("citytwin_ingest_points_spooled_total") or 0) > 0,
                "points to be spooled while InfluxDB is down",
            )
            time.sleep(30 - 2)
        finally:
            influx.managed.start()
    assert_exactly_once(influx, site)
    wait_until(lambda: ingest.metric("citytwin_ingest_spool_bytes") == 0, "the spool to drain")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ingest_killed_and_restarted_loses_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = sensors(make_site)
    ingest = make_ingest(site, twins=False)
    with publishing(broker, site, seconds=6) as done:
        time.sleep(2)
        ingest.kill()
        time.sleep(1)
        ingest.start()
        assert not done.is_set(), "ingest restarted after publishing ended"
    assert_exactly_once(influx, site)
