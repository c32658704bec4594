"""No holes, no doubles: K numbered messages survive broker restarts, InfluxDB outages and
ingest crashes, and InfluxDB ends up holding exactly K points."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, count_points, influx_rows, wait_until
from tests.services import Broker, Influx

DEVICES = 4
PER_DEVICE = 600


@dataclass
class Progress:
    """Where the publisher is: ``reached`` once seq ``fault_at`` is sent; it then keeps
    publishing ``HOLD_AFTER`` more and waits for ``resume`` (the fault is over)."""

    fault_at: int | None
    reached: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


HOLD_AFTER = 100
"""Messages per device published while the fault happens, before waiting for its end."""


@contextmanager
def publishing(
    broker: Broker,
    site: Site,
    seconds: float,
    per_device: int = PER_DEVICE,
    fault_at: int | None = None,
) -> Iterator[Progress]:
    """Publish ``per_device`` numbered messages from each device over ``seconds``; the
    context exits once every message has its PUBACK. With ``fault_at``, messages are
    published before, during and after the fault whatever the machine's speed."""
    devices = [Device(broker, str(device.thing_id)) for device in site.registry]
    progress = Progress(fault_at)

    def run() -> None:
        start = int(time.time() * 1000)
        for seq in range(1, per_device + 1):
            for device in devices:
                device.send("telemetry", {"water_level_cm": float(seq)}, seq=seq, ts=start + seq)
            if seq == fault_at:
                progress.reached.set()
            if fault_at is not None and seq == fault_at + HOLD_AFTER:
                progress.resume.wait(120)
            time.sleep(seconds / per_device)
        progress.done.set()

    thread = threading.Thread(target=run, name="publisher")
    thread.start()
    try:
        yield progress
    finally:
        progress.resume.set()
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
    with publishing(broker, site, seconds=6, fault_at=200) as progress:
        assert progress.reached.wait(60), "the publisher did not reach seq 200"
        broker.managed.restart()
        assert not progress.done.is_set()  # by construction: it waits for resume
        progress.resume.set()
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
    with publishing(broker, site, seconds=6, fault_at=200) as progress:
        assert progress.reached.wait(60), "the publisher did not reach seq 200"
        ingest.kill()
        ingest.start()
        assert not progress.done.is_set()  # by construction: it waits for resume
        progress.resume.set()
    assert_exactly_once(influx, site)
