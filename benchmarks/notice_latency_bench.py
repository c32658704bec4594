"""Event → notification: how long after a device's message its alert's notice is out.

    .venv/bin/python benchmarks/notice_latency_bench.py [--sensors 180] [--probes 40]
                                                        [--hold 0.5]

The real path, every part a real program: devices publish over MQTT (QoS 1, their own
accounts) to Mosquitto; ``python -m ingest`` validates, writes InfluxDB and publishes the
normalized events; the analytics process (in this process, on its own loop) runs the
rules with its watermark held ``--hold`` seconds of wall time, commits the alert and
publishes its notice on the retained alerts topic, where a subscriber receives it.

Load: ``--sensors`` sensors each reporting once a minute (the ``thaibinh`` scenario's
sensors at ×1: about 3 messages/s) and then ten times as often. Probes: a sensor whose
water level jumps over a threshold without a duration (opened at once) and back, every
few seconds; the latency is from the probe's publish to its ``opened`` notice arriving.

Baselines, same run: the broker's own round trip (publish → a subscriber receives it) and
ingest's hop (device publish → its normalized event on the event topic), so what the
analytics process adds is the difference.

Prints p50/p95/p99 of each. Not a test: nothing is asserted (aim: p99 ≤ 1 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citytwin.accounts import ServiceRole
from tests.analytics.service.conftest import FLOOD_RULES
from tests.analytics.service.support import analytics_runtime, in_process
from tests.ingest.conftest import TWIN_PASSWORD, TWIN_USER, Site, TwinService
from tests.ingest.support import Device, IngestProcess, create_twins, write_registry
from tests.services import Broker, free_port, serve_in_thread, start_broker, start_influx
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings
from twins.topics import PLATFORM


class Arrivals:
    """Wall time each awaited message arrives at, by a key found in it."""

    def __init__(self, broker: Broker, topic: str, key_of: Any) -> None:
        self.at: dict[str, float] = {}
        self._key_of = key_of
        account = broker.account()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(account.username, account.password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        assert subscribed.wait(10), topic

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        for key in self._key_of(message.topic, bytes(message.payload)):
            self.at.setdefault(key, now)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(arrivals: Arrivals, key: str, timeout: float = 15.0) -> float | None:
    deadline = time.perf_counter() + timeout
    while key not in arrivals.at and time.perf_counter() < deadline:
        time.sleep(0.002)
    return arrivals.at.get(key)


def quantiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    ms = sorted(v * 1000 for v in values)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:.0f} ms, p95 {q[94]:.0f} ms, p99 {q[98]:.0f} ms, max {ms[-1]:.0f} ms"


def notice_keys(_topic: str, payload: bytes) -> list[str]:
    """A notice as ``transition:device:opened_at in ms`` (the probe's sample's ``ts``)."""
    if not payload:
        return []
    notice = json.loads(payload)
    opened = datetime.fromisoformat(notice["opened_at"].replace("Z", "+00:00"))
    return [f"{notice['transition']}:{notice['device']}:{round(opened.timestamp() * 1000)}"]


def event_keys(_topic: str, payload: bytes) -> list[str]:
    batch = json.loads(payload)
    return [f"{event['thing_id']}:{event['seq']}" for event in batch.get("events", [])]


def broker_round_trip(broker: Broker, runs: int) -> list[float]:
    topic = f"bench/{uuid.uuid4().hex[:8]}"
    arrivals = Arrivals(broker, f"{topic}/#", lambda t, _p: [t])
    account = broker.account()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(account.username, account.password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    times = []
    for i in range(runs):
        start = time.perf_counter()
        client.publish(f"{topic}/{i}", b"x", qos=1)
        got = wait_for(arrivals, f"{topic}/{i}")
        if got is not None:
            times.append(got - start)
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    arrivals.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=180)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--hold", type=float, default=0.5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="notice-bench-"))
    broker = start_broker(root / "mosquitto")
    influx = start_influx(root / "influxdb")
    store = TwinStore.open(root / "twins.sqlite3")
    settings = TwinSettings(username=TWIN_USER, password=SecretStr(TWIN_PASSWORD))
    try:
        with serve_in_thread(create_twin_app(store, settings, TWIN_PASSWORD), free_port()) as url:
            twins = TwinService(url, TWIN_USER, TWIN_PASSWORD)
            namespace = f"thaibinh.bench{uuid.uuid4().hex[:6]}"
            names = [(f"wl-{n:03d}", "sensor") for n in range(args.sensors)] + [("probe", "sensor")]
            registry = write_registry(root / "registry.yaml", namespace, names)
            broker.provision(registry)
            with twins.client() as client:
                create_twins(client, registry)
            database = f"bench{uuid.uuid4().hex[:6]}"
            influx.create_database(database)
            site = Site(namespace, registry, root / "registry.yaml", database)
            run(broker, influx, twins, site, root, args)
    finally:
        store.close()
        influx.managed.stop()
        broker.managed.stop()


def run(broker: Broker, influx: Any, twins: TwinService, site: Site, root: Path, args: Any) -> None:
    account = broker.account(ServiceRole.INGEST)
    ingest = IngestProcess(
        {
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "mqtt_username": account.username,
            "mqtt_password": account.password,
            "influx_url": influx.url,
            "influx_username": influx.username,
            "influx_password": influx.password,
            "influx_database": site.database,
            "twins_url": twins.url,
            "twins_username": twins.username,
            "twins_password": twins.password,
            "registry_path": str(site.registry_path),
            "spool_dir": str(root / "spool"),
            "settings": {},
        },
        root,
    )
    ingest.start()
    rules = root / "rules"
    rules.mkdir()
    (rules / "flood.yaml").write_text(FLOOD_RULES, encoding="utf-8")
    runtime = analytics_runtime(
        broker, influx, twins, site, root / "var", rules,
        hold_seconds=args.hold, idle_advance_seconds=5.0,
    )  # fmt: skip
    notices = Arrivals(broker, f"{PLATFORM}/alerts/{site.namespace}/#", notice_keys)
    events = Arrivals(broker, f"{PLATFORM}/events/#", event_keys)
    baseline = broker_round_trip(broker, 100)
    print(f"broker round trip (publish → subscriber): {quantiles(baseline)}")
    devices = [Device(broker, f"{site.namespace}:wl-{n:03d}") for n in range(args.sensors)]
    probe = Device(broker, f"{site.namespace}:probe")
    try:
        with in_process(runtime):
            for factor in (1, 10):
                rate = args.sensors / 60 * factor
                stop = threading.Event()
                load = threading.Thread(target=background, args=(devices, rate, stop))
                load.start()
                hop, latency = probes(probe, events, notices, args.probes)
                stop.set()
                load.join()
                print(f"\n×{factor} load, {rate:.1f} messages/s of other sensors:")
                print(f"  ingest hop (publish → normalized event): {quantiles(hop)}")
                print(f"  event → notification (publish → opened notice): {quantiles(latency)}")
                print(f"  probes answered: {len(latency)} of {args.probes}")
    finally:
        for device in [*devices, probe]:
            device.close()
        notices.close()
        events.close()
        ingest.stop()


def background(devices: list[Device], rate: float, stop: threading.Event) -> None:
    """Every device reports a calm level in turn, ``rate`` messages per second in all."""
    interval = 1 / rate
    next_at = time.perf_counter()
    n = 0
    while not stop.is_set():
        devices[n % len(devices)].send("telemetry", {"water_level_cm": 40 + n % 7})
        n += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))


def probes(
    probe: Device, events: Arrivals, notices: Arrivals, count: int
) -> tuple[list[float], list[float]]:
    hop: list[float] = []
    latency: list[float] = []
    for _ in range(count):
        ts = int(time.time() * 1000)
        start = time.perf_counter()
        probe.send("telemetry", {"water_level_cm": 150}, ts=ts)
        seq = probe.seq
        arrived = wait_for(events, f"{probe.thing_id}:{seq}")
        noticed = wait_for(notices, f"opened:{probe.thing_id}:{ts}")
        if arrived is not None:
            hop.append(arrived - start)
        if noticed is not None:
            latency.append(noticed - start)
        time.sleep(0.5)
        probe.send("telemetry", {"water_level_cm": 20})  # clears: the next probe opens anew
        time.sleep(1.5)
    return hop, latency


if __name__ == "__main__":
    main()
