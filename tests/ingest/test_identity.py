"""A client id belongs to its account: a device connecting with ingest's client id neither
takes ingest's session over nor makes it lose a message."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citytwin.provisioning import load_device_credentials
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, count_points, wait_until
from tests.services import Broker, Influx, stop_client

pytestmark = pytest.mark.timeout(120)


def impostor(broker: Broker, thing_id: str, client_id: str) -> tuple[mqtt.Client, threading.Event]:
    """A device that connects with its own credentials but ``client_id``, with a clean
    start, and reconnects whenever it is disconnected (as paho does by default)."""
    creds = load_device_credentials(broker.paths)[thing_id]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(creds.username, creds.password)
    client.reconnect_delay_set(0, 1)
    connected = threading.Event()

    def on_connect(*_args: Any) -> None:
        connected.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, clean_start=True)
    client.loop_start()
    assert connected.wait(10), "the impostor got no CONNACK"
    return client, connected


def test_a_device_with_ingests_client_id_neither_disconnects_ingest_nor_costs_a_message(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor"), ("pm-02", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False)
    ingest_id = ingest.runtime["mqtt_username"]
    hostile, _ = impostor(broker, f"{site.namespace}:pm-01", client_id=ingest_id)
    neighbour = Device(broker, f"{site.namespace}:pm-02")
    infos = [neighbour.send("telemetry", {"noise_dba": 40.0}) for _ in range(2000)]
    for info in infos:
        info.wait_for_publish(30)
    wait_until(
        lambda: count_points(influx, site.database, "sensor_telemetry") >= 2000,
        "the neighbour's 2,000 points",
        timeout=60,
    )
    assert count_points(influx, site.database, "sensor_telemetry") == 2000
    assert "lost the MQTT connection" not in ingest.tail()
    assert "disconnected" not in ingest.tail()
    stop_client(hostile)
    neighbour.close()
