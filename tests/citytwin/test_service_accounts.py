"""Each citytwin service's broker account may publish what the service publishes and
nothing else (MQTT 5: PUBACK 0x87 *Not authorized* for the rest)."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from citytwin.accounts import ServiceRole
from tests.services import Broker, stop_client

TIMEOUT = 10.0
DEVICE = "citytwin/thaibinh.hcc/counter-07"
PLATFORM = "citytwin/$platform"

ALLOWED = {
    ServiceRole.INGEST: [
        f"{PLATFORM}/deadletter/thaibinh.hcc/counter-07",
        f"{PLATFORM}/events/counter/thaibinh.hcc/counter-07",
    ],
    ServiceRole.HTTP: [f"{DEVICE}/telemetry", f"{DEVICE}/event", f"{DEVICE}/state"],
    ServiceRole.ANALYTICS: [f"{PLATFORM}/alerts/officer_absent/thaibinh.hcc/counter-07"],
    ServiceRole.VIDEO: [
        f"{PLATFORM}/video/presence/thaibinh.hcc/cam-desk-01",
        f"{PLATFORM}/video/health/thaibinh.hcc/cam-desk-01",
    ],
    ServiceRole.PROBE: [],
}
EVERY_TOPIC = sorted(
    {topic for topics in ALLOWED.values() for topic in topics}
    | {f"{DEVICE}/status", f"{DEVICE}/cmd", f"{DEVICE}/cmd/ack", "citytwin/other", "other"}
)


def publish_outcomes(broker: Broker, role: ServiceRole, topics: list[str]) -> dict[str, str]:
    """Publish once with QoS 1 on each topic as a new account of ``role``; the PUBACK
    reason of each."""
    account = broker.account(role)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(account.username, account.password)
    reasons: dict[int, str] = {}
    done = threading.Event()

    def on_publish(_c: mqtt.Client, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        # "No matching subscribers" (0x10) is a success too
        reasons[mid] = str(reason) if reason.is_failure else "accepted"
        if len(reasons) == len(topics):
            done.set()

    client.on_publish = on_publish
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        mids = {client.publish(topic, b"{}", qos=1).mid: topic for topic in topics}
        assert done.wait(TIMEOUT), "not every PUBACK came"
    finally:
        stop_client(client)
    return {mids[mid]: reason for mid, reason in reasons.items()}


@pytest.mark.parametrize("role", list(ServiceRole))
def test_a_service_account_publishes_only_what_its_service_does(
    broker: Broker, role: ServiceRole
) -> None:
    outcomes = publish_outcomes(broker, role, EVERY_TOPIC)
    allowed = sorted(topic for topic, reason in outcomes.items() if reason == "accepted")
    assert allowed == sorted(ALLOWED[role])
    refused = {reason for topic, reason in outcomes.items() if topic not in ALLOWED[role]}
    assert refused == {"Not authorized"}
