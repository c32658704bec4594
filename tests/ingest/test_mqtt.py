"""ingest's own MQTT reader: packets split over socket reads, bursts beyond its backlog."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from citytwin.accounts import BrokerAccount, ServiceRole, role_acl
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, Watcher, count_points, wait_until
from tests.services import Broker, Influx

pytestmark = pytest.mark.timeout(120)


def test_a_packet_larger_than_one_read_and_a_burst_past_the_backlog_lose_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    # small batches, one in flight: ingest falls behind, stops reading the socket at 1,000
    # waiting messages (with more already read into its buffer) and resumes later
    ingest = make_ingest(site, twins=False, batch_size=20, max_batches_in_flight=1)
    device = Device(broker, f"{site.namespace}:pm-01")
    now = int(time.time() * 1000)
    infos = [
        device.send("telemetry", {"noise_dba": 50.0 + i % 10}, ts=now - 5000 + i // 10)
        for i in range(2500)
    ]
    # 250 kB (the broker's limit is 256 KiB), amid a burst: it straddles socket reads
    huge = orjson.dumps({"seq": 100_000, "data": {"noise_dba": 1.0}, "pad": "x" * 250_000})
    infos.append(device.publish("telemetry", huge))
    infos += [
        device.send("telemetry", {"noise_dba": 50.0 + i % 10}, ts=now - 4000 + i // 10)
        for i in range(2500)
    ]
    for info in infos:
        info.wait_for_publish(30)

    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") == 5000,
        "5,000 points",
        timeout=60,
    )
    letters = wait_until(lambda: watcher.json(), "the dead letter of the 250 kB message")
    assert [body["reason"] for _, body in letters] == ["too_large"]
    letter = letters[0][1]
    assert letter["payload_bytes"] == len(huge)
    assert letter["truncated"] is True
    assert letter["payload"] == huge[:4096].decode()
    assert ingest.metric("citytwin_ingest_accepted_total") == 5000
    device.close()
    watcher.close()


def test_a_binary_payload_near_the_broker_limit_is_dead_lettered_and_ingest_goes_on(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    """Base64 makes 200 kB into 270 kB: whole in a dead letter, over the broker's limit."""
    site = make_site([("pm-01", "sensor"), ("pm-02", "sensor")], twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    ingest = make_ingest(site, twins=False)
    hostile = Device(broker, f"{site.namespace}:pm-01")
    neighbour = Device(broker, f"{site.namespace}:pm-02")
    hostile.publish("telemetry", bytes(range(256)) * 800).wait_for_publish(10)
    letters = wait_until(lambda: watcher.json(), "the dead letter of the binary payload")
    assert letters[0][1]["payload_encoding"] == "base64"
    assert letters[0][1]["payload_bytes"] == 204_800
    for seq in range(1, 21):
        neighbour.send("telemetry", {"noise_dba": 40.0}, seq=seq).wait_for_publish(10)
    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") == 20,
        "the neighbour's 20 points",
    )
    assert "oversize" not in ingest.tail()
    hostile.close()
    neighbour.close()
    watcher.close()


def test_ingest_refused_at_first_connects_once_its_password_is_provisioned(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    late = f"ingest-late-{site.database}"
    account = {"mqtt_username": late, "mqtt_password": "late-secret-for-tests"}
    ingest = make_ingest(site, twins=False, wait_ready=False, runtime_overrides=account)
    wait_until(lambda: "refused" in ingest.tail(), "the broker to refuse ingest's CONNECT")

    broker.accounts.append(
        BrokerAccount(late, account["mqtt_password"], role_acl(ServiceRole.INGEST))
    )
    broker.provision(site.registry)
    wait_until(lambda: ingest.metric("citytwin_ingest_ready") == 1.0, "ingest to connect")
    device = Device(broker, f"{site.namespace}:pm-01")
    device.send("telemetry", {"noise_dba": 45.0}).wait_for_publish(10)
    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") == 1,
        "the point sent after ingest connected",
    )
    device.close()
