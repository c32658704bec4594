"""Ingest benchmark: raw Mosquitto → paho baseline (B0), then end-to-end ingest.

    .venv/bin/python benchmarks/ingest_bench.py [--devices 200] [--messages 60000] [--profile]

Starts its own Mosquitto, InfluxDB 1.x, twin service and ingest worker (as the tests do),
then in one run:

1. B0: one paho subscriber (QoS 1) takes N real device payloads from Mosquitto;
2. end-to-end at QoS 1: N payloads from hundreds of devices published as fast as the
   publisher can; the clock stops when InfluxDB holds all N points and every twin shows
   its device's last message; reports msgs/s, the ratio to B0 and ingest CPU per message;
3. latency at half that rate: publish → twin visible (the twin service's change stream),
   p50/p99;
4. with --profile, py-spy samples ingest during step 2 and prints where its time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
import yaml  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from citytwin.accounts import ServiceRole  # noqa: E402
from tests.services import (  # noqa: E402
    Influx,
    free_port,
    start_broker,
    start_influx,
    wait_for_port,
)
from twins.client import DittoClient  # noqa: E402
from twins.definitions import thing_for_device  # noqa: E402
from twins.registry import Registry  # noqa: E402

TWIN_PASSWORD = "bench-twin-password"
NAMESPACE = "thaibinh.bench"


def payload(kind: str, seq: int, ts: int) -> bytes:
    if kind == "counter":
        data: dict[str, Any] = {
            "waiting": seq % 40,
            "officer_present": seq % 7 != 0,
            "serving": f"A{seq % 1000:03d}",
        }
    else:
        data = {
            "temperature_c": 20 + (seq % 150) / 10,
            "humidity_pct": 60.5,
            "pm25_ugm3": 12.0 + seq % 30,
        }
    return orjson.dumps({"ts": ts, "seq": seq, "data": data})


def device_list(count: int) -> list[tuple[str, str]]:
    return [
        (f"counter-{i:03d}" if i % 2 else f"env-{i:03d}", "counter" if i % 2 else "sensor")
        for i in range(count)
    ]


# --- child processes -------------------------------------------------------------------


def run_publisher(args: argparse.Namespace) -> None:
    """Publish ``messages`` payloads round-robin over the devices at ``rate`` (0: max)."""
    devices = device_list(args.devices)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(args.user, args.password)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    acked = 0

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        acked += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    topics = [f"citytwin/{NAMESPACE}/{name}/telemetry" for name, _ in devices]
    start = time.monotonic()
    for index in range(args.messages):
        d = index % len(devices)
        seq = args.seq_base + index // len(devices) + 1
        client.publish(topics[d], payload(devices[d][1], seq, int(time.time() * 1000)), qos=1)
        if args.rate:
            ahead = (index + 1) / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    while acked < args.messages:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"published": args.messages, "seconds": elapsed}), flush=True)


def run_subscriber(args: argparse.Namespace) -> None:
    """B0: count ``messages`` messages at QoS 1 and print the rate first → last."""
    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(*_a: Any) -> None:
        nonlocal received, first, last
        if received == 0:
            first = time.monotonic()
        received += 1
        last = time.monotonic()
        if received >= args.messages:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-b0", protocol=mqtt.MQTTv5)
    client.username_pw_set(args.user, args.password)
    client.on_message = on_message
    client.connect("127.0.0.1", args.port)
    client.subscribe(f"citytwin/{NAMESPACE}/+/telemetry", qos=1)
    client.loop_start()
    print("subscribed", flush=True)
    done.wait(300)
    cpu = time.process_time()
    client.loop_stop()
    print(json.dumps({"received": received, "seconds": last - first, "cpu": cpu}), flush=True)


# --- the run ---------------------------------------------------------------------------


def child(mode: str, **options: Any) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, f"--{mode}"]
    for key, value in options.items():
        argv.append(f"--{key.replace('_', '-')}={value}")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def influx_count(influx: Influx, database: str) -> int:
    total = 0
    for measurement in ("counter_telemetry", "sensor_telemetry"):
        body: Any = influx.query(database, f'SELECT count(seq) FROM "{measurement}"')
        for series in body["results"][0].get("series", []):
            total += int(series["values"][0][1])
    return total


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--publisher", action="store_true")
    parser.add_argument("--subscriber", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--seq-base", type=int, default=0)
    args = parser.parse_args()
    if args.publisher:
        run_publisher(args)
        return
    if args.subscriber:
        run_subscriber(args)
        return

    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    broker = start_broker(work / "mosquitto")
    influx = start_influx(work / "influxdb")
    procs: list[subprocess.Popen[Any]] = []
    try:
        registry_path = work / "registry.yaml"
        registry_path.write_text(
            yaml.safe_dump(
                {
                    "sites": [
                        {
                            "id": NAMESPACE,
                            "name": "Bench",
                            "sector": "public_administration",
                            "devices": [
                                {"name": n, "kind": k} for n, k in device_list(args.devices)
                            ],
                        }
                    ]
                }
            )
        )
        registry = Registry.load(registry_path)
        broker.provision(registry)
        publisher, subscriber = broker.account(), broker.account()  # one client id each
        common = {"port": broker.port, "user": publisher.username, "password": publisher.password}
        b0_login = {"user": subscriber.username, "password": subscriber.password}
        n = args.messages
        print(f"# {args.devices} devices, {n} messages per phase, QoS 1, {os.cpu_count()} cores")

        # 1. B0
        sub = child("subscriber", messages=n, **{**common, **b0_login})
        assert sub.stdout is not None
        sub.stdout.readline()
        pub = child("publisher", messages=n, devices=args.devices, **common)
        pub.communicate(timeout=300)
        b0 = json.loads(sub.communicate(timeout=300)[0].strip().splitlines()[-1])
        b0_rate = b0["received"] / b0["seconds"]
        print(
            f"B0  raw Mosquitto -> 1 paho subscriber: {b0_rate:,.0f} msgs/s"
            f" (subscriber CPU {1e6 * b0['cpu'] / b0['received']:.1f} us/msg)"
        )

        # twin service (its own process) and twins
        twin_port = free_port()
        twin_db = work / "twins.sqlite3"
        twin_code = (
            "import uvicorn; from pathlib import Path; from pydantic import SecretStr;"
            "from twins.service.api import create_twin_app;"
            "from twins.service.store import TwinStore;"
            "from twins.settings import TwinSettings;"
            f"app = create_twin_app(TwinStore.open(Path({str(twin_db)!r})),"
            f" TwinSettings(password=SecretStr({TWIN_PASSWORD!r})), {TWIN_PASSWORD!r});"
            f"uvicorn.run(app, host='127.0.0.1', port={twin_port}, log_level='warning')"
        )
        procs.append(subprocess.Popen([sys.executable, "-c", twin_code], cwd=ROOT))
        wait_for_port(twin_port)
        twin_url = f"http://127.0.0.1:{twin_port}"
        ditto = DittoClient(twin_url, "citytwin", TWIN_PASSWORD)
        for device in registry:
            thing = thing_for_device(device.thing_id, device.kind, device.site_id, device.sector)
            thing.pop("policyId")
            ditto.put_thing(thing)

        # ingest worker
        metrics_port = free_port()
        ingest_account = broker.account(ServiceRole.INGEST)
        runtime = {
            "mqtt_host": "127.0.0.1",
            "mqtt_port": broker.port,
            "mqtt_username": ingest_account.username,
            "mqtt_password": ingest_account.password,
            "influx_url": influx.url,
            "influx_username": influx.username,
            "influx_password": influx.password,
            "influx_database": "bench",
            "twins_url": twin_url,
            "twins_username": "citytwin",
            "twins_password": TWIN_PASSWORD,
            "registry_path": str(registry_path),
            "spool_dir": str(work / "spool"),
            "settings": {"metrics_port": metrics_port},
        }
        (work / "runtime.json").write_text(json.dumps(runtime))
        ingest = subprocess.Popen(
            [sys.executable, "-m", "ingest", str(work / "runtime.json")],
            cwd=ROOT,
            stdout=(work / "ingest.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(ingest)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if metric(metrics_port, "citytwin_ingest_ready") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        ingest_ps = psutil.Process(ingest.pid)

        # 2. end to end, as fast as the publisher goes
        profiler = None
        if args.profile and shutil.which(
            "py-spy", path=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}"
        ):
            spy = shutil.which("py-spy", path=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}")
            assert spy is not None
            profiler = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(ingest.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(work / "profile.txt"),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        cpu_before = sum(ingest_ps.cpu_times()[:2])
        start = time.monotonic()
        pub = child("publisher", messages=n, devices=args.devices, seq_base=0, **common)
        pub_result = json.loads(pub.communicate(timeout=600)[0].strip().splitlines()[-1])
        while influx_count(influx, "bench") < n and time.monotonic() - start < 600:
            time.sleep(0.05)
        stored = time.monotonic() - start
        ids = [str(d.thing_id) for d in registry]
        while time.monotonic() - start < 600:
            lows = 0
            for chunk in range(0, len(ids), 100):
                batch = ids[chunk : chunk + 100]
                for thing in ditto.get_things(batch, fields="thingId,features/connectivity"):
                    seen = thing["features"]["connectivity"]["properties"].get("lastSeen")
                    lows += seen is None
            if lows == 0 and metric(metrics_port, "citytwin_ingest_twin_patches_total") > 0:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        cpu = sum(ingest_ps.cpu_times()[:2]) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        stored_count = influx_count(influx, "bench")
        rate = n / elapsed
        print(f"publisher alone: {n / pub_result['seconds']:,.0f} msgs/s")
        print(
            f"E2E publish -> InfluxDB: {n / stored:,.0f} msgs/s;"
            f" -> InfluxDB and twins: {rate:,.0f} msgs/s"
            f" ({stored_count} of {n} points, lost {n - stored_count})"
        )
        print(
            f"ingest CPU: {1e6 * cpu / n:.1f} us/msg ="
            f" {cpu / elapsed * 1000 / rate:.3f} cores per 1,000 msgs/s"
        )
        print(
            f"RATIO e2e/B0 = {rate / b0_rate:.2f}"
            f"  (e2e {rate:,.0f} msgs/s, B0 {b0_rate:,.0f} msgs/s)"
        )

        # 3. latency at half the rate
        half = rate / 2
        latencies: list[float] = []
        stop = threading.Event()

        def watch() -> None:
            try:
                with ditto.watch(namespaces=[NAMESPACE], read_timeout=30) as stream:
                    ready.set()
                    for change in stream:
                        now = time.time()
                        if stop.is_set():
                            return
                        features = (change.get("value") or change).get("features", {})
                        seen = (
                            features.get("connectivity", {}).get("properties", {}).get("lastSeen")
                        )
                        if seen:
                            moment = datetime.fromisoformat(seen.replace("Z", "+00:00"))
                            latencies.append(now - moment.timestamp())
            except Exception as exc:  # the stream ends with the benchmark
                if not stop.is_set():
                    print(f"change stream ended: {exc}", file=sys.stderr)

        ready = threading.Event()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        ready.wait(10)
        count = int(half * 15)
        pub = child(
            "publisher", messages=count, devices=args.devices, rate=half, seq_base=n, **common
        )
        pub.communicate(timeout=600)
        time.sleep(2)
        stop.set()
        latencies.sort()
        if latencies:
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[int(len(latencies) * 0.99)] * 1000
            print(
                f"publish -> twin visible at {half:,.0f} msgs/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
                f" ({len(latencies)} twin changes)"
            )
        if profiler is not None:
            summarize_profile(work / "profile.txt")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.managed.stop()
        influx.managed.stop()
        shutil.rmtree(work, ignore_errors=True)


def summarize_profile(path: Path) -> None:
    """Self time per module area from py-spy's collapsed stacks."""
    areas = {
        "paho (MQTT parsing, acks)": "paho/",
        "pydantic validation (parse_payload)": "pydantic",
        "ingest pipeline (mapping, line protocol)": "ingest/",
        "twins contract/topics": "twins/",
        "httpx/httpcore (InfluxDB, twins HTTP)": "http",
        "requests/urllib3 (twin client)": "urllib3",
        "asyncio/uvloop": "asyncio",
        "gzip/zlib": "gzip",
        "orjson/json": "json",
    }
    totals: dict[str, int] = {}
    total = 0
    leaves: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = frames[-1]
        leaves[leaf] = leaves.get(leaf, 0) + count
        for name, needle in areas.items():
            if needle in leaf:
                totals[name] = totals.get(name, 0) + count
                break
        else:
            totals["other"] = totals.get("other", 0) + count
    print("profile (py-spy, self time by leaf frame, all threads):")
    for name, count in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {100 * count / max(total, 1):5.1f}%  {name}")
    print("top leaf frames:")
    for leaf, count in sorted(leaves.items(), key=lambda item: -item[1])[:15]:
        print(f"  {100 * count / max(total, 1):5.1f}%  {leaf}")


if __name__ == "__main__":
    main()
