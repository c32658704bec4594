"""Device identity on the real broker: own topics only, wrong passwords refused, revocation."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from citytwin.paths import StatePaths
from citytwin.provisioning import load_device_credentials, reload_broker
from tests.services import Broker, stop_client
from twins.registry import Registry, RegistrySpec

PUBLISH_TIMEOUT = 10.0


def registry_of(namespace: str, *names: str) -> Registry:
    return Registry(
        RegistrySpec.model_validate(
            {
                "sites": [
                    {
                        "id": namespace,
                        "name": "Trung tâm Phục vụ hành chính công",
                        "sector": "public_administration",
                        "devices": [{"name": name, "kind": "counter"} for name in names],
                    }
                ]
            }
        )
    )


class Watcher:
    """A client with full rights that records every message under a prefix."""

    def __init__(self, broker: Broker, prefix: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        account = broker.account()
        self.client.username_pw_set(account.username, account.password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"{prefix}/#", qos=1)
        self.client.loop_start()
        assert self.subscribed.wait(PUBLISH_TIMEOUT)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.messages.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, count: int) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def close(self) -> None:
        stop_client(self.client)


def connect_device(broker: Broker, username: str, password: str) -> tuple[mqtt.Client, str]:
    """Connect as a device; returns the client and the CONNACK reason as text."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    outcome: dict[str, ReasonCode] = {}
    connected = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        outcome["reason"] = reason
        connected.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(PUBLISH_TIMEOUT), "no CONNACK from the broker"
    return client, str(outcome["reason"])


def test_device_publishes_on_its_own_telemetry_topic(broker: Broker, unique_name: str) -> None:
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01"))
    creds = load_device_credentials(broker.paths)[f"{namespace}:counter-01"]
    watcher = Watcher(broker, f"citytwin/{namespace}")
    device, reason = connect_device(broker, creds.username, creds.password)
    assert reason == "Success"
    device.publish(
        f"citytwin/{namespace}/counter-01/telemetry", b'{"seq":1}', qos=1
    ).wait_for_publish(PUBLISH_TIMEOUT)
    assert watcher.wait_for(1) == [(f"citytwin/{namespace}/counter-01/telemetry", b'{"seq":1}')]
    stop_client(device)
    watcher.close()


def test_publishing_to_another_devices_topic_is_dropped(broker: Broker, unique_name: str) -> None:
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01", "counter-02"))
    creds = load_device_credentials(broker.paths)[f"{namespace}:counter-01"]
    watcher = Watcher(broker, f"citytwin/{namespace}")
    device, _ = connect_device(broker, creds.username, creds.password)
    forged = device.publish(f"citytwin/{namespace}/counter-02/telemetry", b"forged", qos=1)
    forged.wait_for_publish(PUBLISH_TIMEOUT)
    # a message on its own topic afterwards proves the forged one had its chance to arrive
    device.publish(f"citytwin/{namespace}/counter-01/telemetry", b"own", qos=1).wait_for_publish(
        PUBLISH_TIMEOUT
    )
    seen = watcher.wait_for(1)
    time.sleep(0.2)
    assert [payload for _, payload in watcher.messages] == [b"own"], seen
    stop_client(device)
    watcher.close()


def test_wrong_password_is_refused(broker: Broker, unique_name: str) -> None:
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01"))
    creds = load_device_credentials(broker.paths)[f"{namespace}:counter-01"]
    device, reason = connect_device(broker, creds.username, creds.password + "x")
    assert reason in {"Bad user name or password", "Not authorized"}
    stop_client(device)


def test_removed_device_is_refused_without_broker_restart(broker: Broker, unique_name: str) -> None:
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01", "counter-02"))
    creds = load_device_credentials(broker.paths)[f"{namespace}:counter-02"]
    pid_before = broker.managed.pid
    report = broker.provision(registry_of(namespace, "counter-01"))
    assert report.revoked == [f"{namespace}/counter-02"]
    assert report.broker_reloaded
    deadline = time.monotonic() + PUBLISH_TIMEOUT
    reason = "Success"
    while reason == "Success" and time.monotonic() < deadline:  # SIGHUP is asynchronous
        device, reason = connect_device(broker, creds.username, creds.password)
        stop_client(device)
    assert reason in {"Bad user name or password", "Not authorized"}
    assert broker.managed.pid == pid_before


def test_provisioning_is_idempotent_and_keeps_secrets_private(
    broker: Broker, unique_name: str
) -> None:
    namespace = f"thaibinh.{unique_name}"
    registry = registry_of(namespace, "counter-01")
    first = broker.provision(registry)
    password = load_device_credentials(broker.paths)[f"{namespace}:counter-01"].password
    second = broker.provision(registry)
    assert f"{namespace}:counter-01" in first.added
    assert f"{namespace}:counter-01" in second.kept
    assert load_device_credentials(broker.paths)[f"{namespace}:counter-01"].password == password
    assert password not in broker.paths.password_file.read_text()
    for secret_file in (broker.paths.device_credentials, broker.paths.password_file):
        assert Path(secret_file).stat().st_mode & 0o077 == 0


@pytest.fixture(autouse=True)
def _no_leftover_devices(broker: Broker) -> None:
    """Each test provisions what it needs; the registry is replaced per test."""


def mosquitto_pub(broker: Broker, username: str, password: str, topic: str) -> int:
    import subprocess

    return subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-u",
            username,
            "-P",
            password,
            "-q",
            "1",
            "-V",
            "mqttv5",
            "-t",
            topic,
            "-m",
            '{"seq":1}',
        ],
        capture_output=True,
        timeout=20,
        check=False,
    ).returncode


def test_mosquitto_pub_with_a_devices_credentials(broker: Broker, unique_name: str) -> None:
    """The acceptance check as an installer types it, with the Debian client."""
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01", "counter-02"))
    creds = load_device_credentials(broker.paths)[f"{namespace}:counter-01"]
    watcher = Watcher(broker, f"citytwin/{namespace}")
    own = f"citytwin/{namespace}/counter-01/telemetry"
    other = f"citytwin/{namespace}/counter-02/telemetry"
    assert mosquitto_pub(broker, creds.username, creds.password, own) == 0
    mosquitto_pub(broker, creds.username, creds.password, other)  # MQTT 5: PUBACK 0x87
    assert mosquitto_pub(broker, creds.username, "wrong", own) != 0
    assert mosquitto_pub(broker, creds.username, creds.password, own) == 0
    assert [topic for topic, _ in watcher.wait_for(2)] == [own, own]
    watcher.close()


def test_a_stale_broker_pid_file_signals_nobody_else(tmp_path: Path) -> None:
    """After a killed `up`, the pid in mosquitto.pid may belong to another program."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        paths = StatePaths(tmp_path)
        paths.run.mkdir(parents=True)
        paths.pid_file("mosquitto").write_text(f"{bystander.pid}\n")
        assert reload_broker(paths) is False
        time.sleep(0.2)
        assert bystander.poll() is None, "SIGHUP killed a process that is not mosquitto"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_device_using_another_devices_client_id_does_not_disconnect_it(
    broker: Broker, unique_name: str
) -> None:
    """The broker makes every client id its user name: an impostor gets its own session."""
    namespace = f"thaibinh.{unique_name}"
    broker.provision(registry_of(namespace, "counter-01", "counter-02"))
    credentials = load_device_credentials(broker.paths)
    owner_creds = credentials[f"{namespace}:counter-01"]
    impostor_creds = credentials[f"{namespace}:counter-02"]
    watcher = Watcher(broker, f"citytwin/{namespace}")
    owner = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=owner_creds.username, protocol=mqtt.MQTTv5
    )
    owner.username_pw_set(owner_creds.username, owner_creds.password)
    disconnects: list[str] = []
    owner.on_disconnect = lambda _c, _u, _f, reason, _p: disconnects.append(str(reason))
    owner.connect(broker.host, broker.port)
    owner.loop_start()

    impostor = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=owner_creds.username, protocol=mqtt.MQTTv5
    )
    impostor.username_pw_set(impostor_creds.username, impostor_creds.password)
    accepted = threading.Event()
    impostor.on_connect = lambda *_args: accepted.set()
    impostor.connect(broker.host, broker.port)
    impostor.loop_start()
    assert accepted.wait(PUBLISH_TIMEOUT)
    # a round trip of the owner after the impostor's CONNACK: a takeover would be seen
    own = f"citytwin/{namespace}/counter-01/telemetry"
    owner.publish(own, b"still here", qos=1).wait_for_publish(PUBLISH_TIMEOUT)
    assert watcher.wait_for(1) == [(own, b"still here")]
    assert disconnects == []
    for client in (impostor, owner):
        stop_client(client)
    watcher.close()
