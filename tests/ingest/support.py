"""What ingest tests share: a registry on disk, devices that publish, an ingest process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from citytwin.accounts import BrokerAccount
from citytwin.provisioning import load_device_credentials
from tests.services import Broker, Influx, free_port, stop_client
from twins.client import DittoClient
from twins.definitions import thing_for_device
from twins.registry import Registry
from twins.thing_id import ThingId

WAIT = 30.0


def write_registry(path: Path, namespace: str, devices: Iterable[tuple[str, str]]) -> Registry:
    """A registry file with one site holding ``(name, kind)`` devices."""
    spec = {
        "sites": [
            {
                "id": namespace,
                "name": "Trung tâm Phục vụ hành chính công tỉnh Thái Bình",
                "sector": "public_administration",
                "devices": [{"name": name, "kind": kind} for name, kind in devices],
            }
        ]
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return Registry.load(path)


def create_twins(client: DittoClient, registry: Registry) -> None:
    """Create the twin of every device, as provisioning does."""
    for device in registry:
        thing = thing_for_device(device.thing_id, device.kind, device.site_id, device.sector)
        thing.pop("policyId")
        client.put_thing(thing)


def wait_until(predicate: Any, what: str, timeout: float = WAIT) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def influx_rows(influx: Influx, database: str, influxql: str) -> list[dict[str, Any]]:
    """Rows of the first series of a query as dicts (empty when there is none)."""
    result: Any = influx.query(database, influxql)
    rows: list[dict[str, Any]] = []
    for series in result["results"][0].get("series", []):
        columns = series["columns"]
        tags = series.get("tags", {})
        rows.extend(
            {**tags, **dict(zip(columns, values, strict=True))} for values in series["values"]
        )
    return rows


def count_points(influx: Influx, database: str, measurement: str, field_name: str = "seq") -> int:
    rows = influx_rows(influx, database, f'SELECT count("{field_name}") FROM "{measurement}"')
    return int(rows[0]["count"]) if rows else 0


class Device:
    """A device connected with its own credentials (MQTT v5, QoS 1, waits for PUBACK)."""

    def __init__(self, broker: Broker, thing_id: str) -> None:
        creds = load_device_credentials(broker.paths)[thing_id]
        self.thing_id = ThingId.parse(thing_id)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"dev-{thing_id}".replace(":", "-"),
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(creds.username, creds.password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        # paho's annotation says int, but it sleeps for any number: reconnect within 50 ms
        self.client.reconnect_delay_set(0.05, 1)  # type: ignore[arg-type]
        self.acked = 0
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.seq = 0

    def _on_publish(self, *_args: Any) -> None:
        self.acked += 1  # paho calls this from its one network thread

    def topic(self, channel: str) -> str:
        return f"citytwin/{self.thing_id.namespace}/{self.thing_id.name}/{channel}"

    def send(self, channel: str, data: dict[str, Any], **envelope: Any) -> mqtt.MQTTMessageInfo:
        if "seq" not in envelope and channel != "status":
            self.seq += 1
            envelope["seq"] = self.seq
        if "ts" not in envelope and channel != "status":
            envelope["ts"] = int(time.time() * 1000)
        return self.publish(channel, orjson.dumps({**envelope, "data": data}))

    def publish(self, channel: str, payload: bytes, retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(self.topic(channel), payload, qos=1, retain=retain)

    def close(self) -> None:
        stop_client(self.client)


class Watcher:
    """A tester's account of its own, recording every message under some topic filters."""

    def __init__(self, broker: Broker, *filters: str, account: BrokerAccount | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        account = account or broker.account()
        self.client.username_pw_set(account.username, account.password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe([(topic, 1) for topic in filters])
        self.client.loop_start()
        assert subscribed.wait(WAIT), f"no SUBACK for {filters}"

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def json(self) -> list[tuple[str, Any]]:
        with self._lock:
            return [(topic, json.loads(payload)) for topic, payload in self.messages]

    def close(self) -> None:
        stop_client(self.client)


@dataclass
class IngestProcess:
    """``python -m ingest`` in a subprocess, as a worker runs in production."""

    runtime: dict[str, Any]
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    metrics_port: int = field(default_factory=free_port)

    @property
    def log(self) -> Path:
        return self.directory / "ingest.log"

    def start(self, *, wait_ready: bool = True) -> None:
        self.runtime["settings"]["metrics_port"] = self.metrics_port
        path = self.directory / "runtime.json"
        path.write_text(json.dumps(self.runtime), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest", str(path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        if wait_ready:
            wait_until(lambda: self.metric("citytwin_ingest_ready") == 1.0, "ingest to be ready")

    def metrics_text(self) -> str:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"ingest exited with {self.process.returncode}:\n{self.tail()}")
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            return ""

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one sample of /metrics (labels must match exactly), or None."""
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        key = f"{name}{{{wanted}}}" if labels else name
        for line in self.metrics_text().splitlines():
            if line.startswith("#"):
                continue
            sample, _, value = line.rpartition(" ")
            if sample == key or (labels and _same_labels(sample, name, labels)):
                return float(value)
        return None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


def _same_labels(sample: str, name: str, labels: dict[str, str]) -> bool:
    if not sample.startswith(name + "{"):
        return False
    inner = sample[len(name) + 1 : -1]
    found = dict(part.split("=", 1) for part in inner.split('",') if "=" in part)
    found = {key: value.strip('"') for key, value in found.items()}
    return found == labels
