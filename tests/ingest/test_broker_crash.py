"""What a killed broker loses: Mosquitto acknowledges a QoS 1 message once it is in memory
and saves its memory every ``Autosave.every`` changes, so a SIGKILL loses at most that many
acknowledged messages — not a whole backlog."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from citytwin.broker import Autosave
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, count_points, wait_until
from tests.services import Broker, Influx


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_killed_broker_loses_at_most_one_autosave_window_of_a_backlog(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    window = Autosave().every
    backlog = 4 * window + window // 2  # ends between two saves
    site = make_site([("pm-01", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False)  # its persistent session now exists
    ingest.stop()
    device = Device(broker, f"{site.namespace}:pm-01")
    infos = [device.send("telemetry", {"noise_dba": 40.0 + i % 10}) for i in range(backlog)]
    for info in infos:
        info.wait_for_publish(30)  # acknowledged: queued by the broker for ingest
    device.close()
    broker.managed.stop(signal.SIGKILL)
    broker.managed.start()
    ingest.start()
    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") >= backlog - window,
        f"at least {backlog - window:,} of the {backlog:,} acknowledged messages",
        timeout=60,
    )
