"""Ingest benchmark: baselines, end-to-end ingest, a Node-RED peer and the twin latency.

    .venv/bin/python benchmarks/ingest_bench.py [--devices 200] [--messages 60000] [--profile]
        [--phases baselines,peer,e2e,latency] [--latency-runs 1]

Starts its own Mosquitto, InfluxDB 1.x, twin service and ingest worker (as the tests do),
then in one run, each phase fed by the same publisher (one paho client, QoS 1, the same
devices and message count):

1. baselines — subscribers alone, each in its own process, CPU per message counted from
   its first message to its last:
   B0 one paho subscriber that only counts (raw Mosquitto → paho);
   B1 a paho-loop subscriber doing ingest-like work (topic parsed, JSON decoded, manual
   acknowledgement of each message);
   B2 an aiomqtt subscriber doing the same work (aiomqtt acknowledges by itself);
   B3 citytwin's ``MqttSession`` (its own codec, ``ingest/mqtt_codec.py``) doing the same
   work and acknowledging per batch — B1/B3 and B2/B3 are the reason the codec is owned;
2. peer — Node-RED (``benchmarks/peers/node-red``: mqtt in → function → join 5,000 or
   1 s → influxdb batch), installed with ``npm ci`` into a cache directory when missing,
   skipped with a message when npm is absent: stored/s, loss, node CPU per stored message;
3. end to end at QoS 1 as fast as the publisher can: the clock stops when InfluxDB holds
   all N points and every twin shows its device's last message; msgs/s, the ratio to B0,
   ingest CPU per message (the same figures as the peer's, plus the twins);
4. latency at half that rate: publish → twin visible (the twin service's change stream),
   p50/p99, with where the slow changes fall (``--latency-runs`` repeats it);
5. with --profile, py-spy samples ingest during step 3 and prints where its time goes.

Credentials of the broker and InfluxDB live in one place, ``Access``: every client of the
benchmark (children included, through the environment) takes them from there.

One file on purpose, past the usual size: the publisher and the subscribers are this same
script started again with ``--publisher``/``--subscriber``, so each runs in its own
process with the same code and payloads, and the file can be run from a checkout alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import hashlib
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
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402
import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
import uvloop  # noqa: E402
import yaml  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from citytwin.accounts import ServiceRole  # noqa: E402
from ingest.mqtt import MqttSession  # noqa: E402
from tests.services import free_port, start_broker, start_influx, wait_for_port  # noqa: E402
from twins.client import DittoClient  # noqa: E402
from twins.definitions import thing_for_device  # noqa: E402
from twins.registry import Registry  # noqa: E402
from twins.topics import parse_topic  # noqa: E402

TWIN_PASSWORD = "bench-twin-password"
NAMESPACE = "thaibinh.bench"
TELEMETRY = f"citytwin/{NAMESPACE}/+/telemetry"
PEERS = ROOT / "benchmarks" / "peers"
ACCESS_ENV = "CITYTWIN_BENCH_ACCESS"


@dataclasses.dataclass(frozen=True)
class Access:
    """Where the broker and InfluxDB are and how to log in: the one place for credentials.

    Children get it through the environment (``ACCESS_ENV``), never on their command line.
    The broker makes each client's id its user name, so every client of the run has its
    own account in ``logins`` (client name -> user name and password), the name it
    connects as.
    """

    mqtt_port: int
    logins: dict[str, list[str]]
    influx_url: str
    influx_username: str = ""
    influx_password: str = ""
    mqtt_host: str = "127.0.0.1"

    def environment(self) -> dict[str, str]:
        return {**os.environ, ACCESS_ENV: json.dumps(dataclasses.asdict(self))}

    @classmethod
    def from_environment(cls) -> Self:
        return cls(**json.loads(os.environ[ACCESS_ENV]))

    def influx_params(self) -> dict[str, str]:
        """Query-string credentials for InfluxDB's v1 API (none while auth is off)."""
        if not self.influx_username:
            return {}
        return {"u": self.influx_username, "p": self.influx_password}

    def login(self, name: str) -> tuple[str, str]:
        """The user name and password of client ``name`` (see ``CLIENTS``)."""
        username, password = self.logins[name]
        return username, password

    def paho_client(self, name: str, **options: Any) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5, **options
        )
        client.username_pw_set(*self.login(name))
        return client


TEST_CLIENTS = (
    "bench-pub",
    "bench-b0",
    "bench-b1",
    "bench-b2",
    "bench-b3",
    "bench-probe",
    "bench-node-red",
)
"""The run's clients that are not ingest: each gets a tester's account of its own."""
INGEST_CLIENTS = ("bench-ingest", "bench-ingest-peer")
"""Ingest workers: an account with ingest's ACL each (its name is its persistent session)."""


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
    access = Access.from_environment()
    client = access.paho_client("bench-pub")
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    acked = 0

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        acked += 1

    client.on_publish = on_publish
    client.connect(access.mqtt_host, access.mqtt_port)
    client.loop_start()
    # the load generator must not pause: paho keeps every unacknowledged message, and the
    # collector's full passes over them stalled this process for 60-100 ms at a time,
    # which the latency phase then measured as ingest latency (docs/performance.md)
    gc.disable()
    topics = [f"citytwin/{NAMESPACE}/{name}/telemetry" for name, _ in devices]
    start = time.monotonic()
    behind, behind_at = 0.0, 0.0
    """The furthest the publisher fell behind its schedule (a paced run), and when."""
    stalls: list[float] = []
    """When the publisher fell more than 50 ms behind its schedule, once per episode."""
    stalled = False
    for index in range(args.messages):
        d = index % len(devices)
        seq = args.seq_base + index // len(devices) + 1
        client.publish(topics[d], payload(devices[d][1], seq, int(time.time() * 1000)), qos=1)
        if args.rate:
            ahead = (index + 1) / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
                stalled = False
            else:
                if -ahead > behind:
                    behind, behind_at = -ahead, time.time()
                if -ahead > 0.05 and not stalled:
                    stalls.append(time.time())
                    stalled = True
    while acked < args.messages:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    client.loop_stop()
    client.disconnect()
    result = {"published": args.messages, "seconds": elapsed, "behind": behind}
    print(json.dumps({**result, "behind_at": behind_at, "stalls": stalls}), flush=True)


def ingest_like_work(topic: str, payload: bytes) -> int:
    """What B1–B3 do per message: the device from the topic, the JSON body decoded."""
    parse_topic(topic)
    seq: int = orjson.loads(payload)["seq"]
    return seq


class Tally:
    """Messages counted by a subscriber: its CPU from subscribing to the last message (it
    is idle before the publisher starts), and the wall-clock time of the last message
    (the rate is taken from the publisher's start, which the parent knows)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = 0
        self.cpu_start = self.cpu_last = 0.0
        self.last = 0.0
        self.done = threading.Event()

    def subscribed(self) -> None:
        self.cpu_start = time.process_time()
        print("subscribed", flush=True)

    def count(self, messages: int = 1) -> None:
        self.received += messages
        if self.received >= self.expected:
            self.last = time.time()
            self.cpu_last = time.process_time()
            self.done.set()

    def report(self) -> None:
        if not self.done.is_set():
            self.last, self.cpu_last = time.time(), time.process_time()
        cpu = self.cpu_last - self.cpu_start
        print(json.dumps({"received": self.received, "last": self.last, "cpu": cpu}), flush=True)


def run_subscriber(args: argparse.Namespace) -> None:
    """One of the baselines B0–B3: take ``messages`` messages at QoS 1, print the figures."""
    access = Access.from_environment()
    tally = Tally(args.messages)
    match args.subscriber:
        case "paho":
            paho_subscriber(access, tally, work=False)
        case "paho-work":
            paho_subscriber(access, tally, work=True)
        case "aiomqtt":
            uvloop.run(aiomqtt_subscriber(access, tally))
        case "session":
            uvloop.run(session_subscriber(access, tally))
    tally.report()


def paho_subscriber(access: Access, tally: Tally, *, work: bool) -> None:
    """B0 (count only) or B1 (ingest-like work, manual acks): paho's own network loop."""
    client = access.paho_client(f"bench-{'b1' if work else 'b0'}", manual_ack=work)
    subscribed = threading.Event()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if work:
            ingest_like_work(message.topic, bytes(message.payload))
            client.ack(message.mid, message.qos)
        tally.count()

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(access.mqtt_host, access.mqtt_port)
    client.subscribe(TELEMETRY, qos=1)
    client.loop_start()
    subscribed.wait(10)
    tally.subscribed()
    tally.done.wait(300)
    client.loop_stop()


async def aiomqtt_subscriber(access: Access, tally: Tally) -> None:
    """B2: aiomqtt's async iterator, the same work (aiomqtt acknowledges by itself)."""
    async with aiomqtt.Client(
        access.mqtt_host,
        access.mqtt_port,
        username=access.login("bench-b2")[0],
        password=access.login("bench-b2")[1],
        identifier="bench-b2",
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:
        await client.subscribe(TELEMETRY, qos=1)
        tally.subscribed()
        async with asyncio.timeout(300):
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                ingest_like_work(message.topic.value, payload)
                tally.count()
                if tally.done.is_set():
                    return


async def session_subscriber(access: Access, tally: Tally) -> None:
    """B3: citytwin's MqttSession, the same work, one acknowledgement write per batch."""
    async with MqttSession(
        host=access.mqtt_host,
        port=access.mqtt_port,
        username=access.login("bench-b3")[0],
        password=access.login("bench-b3")[1],
        client_id="bench-b3",
        subscriptions=[TELEMETRY],
        session_expiry=0,
    ) as session:
        await session.wait_subscribed(10)
        tally.subscribed()
        async with asyncio.timeout(300):
            async for batch in session.batches():
                for message in batch:
                    ingest_like_work(message.topic, message.payload)
                session.ack_all((m.generation, m.mid, m.qos) for m in batch)
                tally.count(len(batch))
                if tally.done.is_set():
                    return


# --- the run ---------------------------------------------------------------------------


def child(access: Access, mode: str, **options: Any) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, f"--{mode}"]
    for key, value in options.items():
        argv.append(f"--{key.replace('_', '-')}={value}")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=access.environment())


def publish(access: Access, messages: int, devices: int, **options: Any) -> dict[str, Any]:
    """Run the publisher to the end: ``{"published", "seconds"}``."""
    pub = child(access, "publisher", messages=messages, devices=devices, **options)
    result: dict[str, Any] = json.loads(pub.communicate(timeout=600)[0].strip().splitlines()[-1])
    return result


def influx_count(access: Access, database: str) -> int:
    total = 0
    for measurement in ("counter_telemetry", "sensor_telemetry"):
        params = urllib.parse.urlencode(
            {
                "db": database,
                "q": f'SELECT count(seq) FROM "{measurement}"',
                **access.influx_params(),
            }
        )
        with urllib.request.urlopen(f"{access.influx_url}/query?{params}", timeout=30) as response:
            body = json.load(response)
        for series in body["results"][0].get("series", []):
            total += int(series["values"][0][1])
    return total


def influx_create(access: Access, database: str) -> None:
    # InfluxDB 1.x reads u/p from the URL only, not from a form body
    credentials = urllib.parse.urlencode(access.influx_params())
    data = urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'})
    url = f"{access.influx_url}/query?{credentials}"
    with urllib.request.urlopen(url, data.encode(), timeout=30):
        pass


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def histogram(port: int, name: str) -> dict[str, float]:
    """Cumulative bucket counts of a Prometheus histogram, by upper bound (``le``)."""
    buckets = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + "_bucket{"):
                bound = line.split('le="', 1)[1].split('"', 1)[0]
                buckets[bound] = float(line.split()[-1])
    return buckets


@dataclasses.dataclass(frozen=True)
class Baseline:
    name: str
    rate: float
    cpu_per_message: float
    """Seconds of the subscriber's CPU per message."""


def run_baseline(access: Access, kind: str, name: str, args: argparse.Namespace) -> Baseline:
    sub = child(access, f"subscriber={kind}", messages=args.messages)
    assert sub.stdout is not None
    sub.stdout.readline()  # "subscribed"
    start = time.time()
    publish(access, args.messages, args.devices)
    out = json.loads(sub.communicate(timeout=300)[0].strip().splitlines()[-1])
    rate = out["received"] / (out["last"] - start)
    baseline = Baseline(name, rate, out["cpu"] / out["received"])
    print(
        f"{name}: {baseline.rate:,.0f} msgs/s, subscriber CPU"
        f" {1e6 * baseline.cpu_per_message:.1f} us/msg ({out['received']} received)",
        flush=True,
    )
    return baseline


def run_baselines(access: Access, args: argparse.Namespace) -> dict[str, Baseline]:
    kinds = {
        "B0": ("paho", "B0  raw Mosquitto -> 1 paho subscriber (count only)"),
        "B1": ("paho-work", "B1  paho loop + ingest-like work, manual acks"),
        "B2": ("aiomqtt", "B2  aiomqtt + ingest-like work"),
        "B3": ("session", "B3  citytwin MqttSession (own codec) + ingest-like work"),
    }
    found = {key: run_baseline(access, kind, name, args) for key, (kind, name) in kinds.items()}
    b3 = found["B3"]
    for key in ("B1", "B2"):
        other = found[key]
        print(
            f"RATIO B3/{key}: {b3.rate / other.rate:.2f} x msgs/s,"
            f" {other.cpu_per_message / b3.cpu_per_message:.2f} x less CPU per message"
        )
    return found


# --- the Node-RED peer -----------------------------------------------------------------


def node_red_install() -> Path | None:
    """``node-red`` from benchmarks/peers/node-red, installed by ``npm ci`` into a cache
    directory named after its lock file; None (with the reason printed) without npm."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("peer: Node-RED skipped: npm and node are needed (apt-get install npm)")
        return None
    source = PEERS / "node-red"
    lock = (source / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = cache / "citytwin-bench" / f"node-red-{hashlib.sha256(lock).hexdigest()[:12]}"
    program = target / "node_modules" / ".bin" / "node-red"
    if not program.exists():
        print(f"peer: installing Node-RED into {target} (npm ci)", flush=True)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(source / name, target / name)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"],
            cwd=target,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


def node_red_user_dir(access: Access, installed: Path, user_dir: Path, database: str) -> None:
    """The flow of benchmarks/peers/node-red with this run's broker, InfluxDB and logins."""
    user_dir.mkdir(parents=True)
    (user_dir / "node_modules").symlink_to(installed / "node_modules")
    flows = json.loads((PEERS / "node-red" / "flows.json").read_text())
    for node in flows:
        match node["type"]:
            case "mqtt-broker":
                node["broker"], node["port"] = access.mqtt_host, str(access.mqtt_port)
            case "influxdb":
                url = urllib.parse.urlsplit(access.influx_url)
                node["hostname"], node["port"], node["database"] = url.hostname, url.port, database
    (user_dir / "flows.json").write_text(json.dumps(flows, indent=1))
    credentials = {
        "bench-broker": dict(
            zip(("user", "password"), access.login("bench-node-red"), strict=True)
        ),
        "bench-influxdb": {
            "username": access.influx_username,
            "password": access.influx_password,
        },
    }
    (user_dir / "flows_cred.json").write_text(json.dumps(credentials))
    (user_dir / "flows_cred.json").chmod(0o600)
    (user_dir / "settings.js").write_text(
        "module.exports = {\n"
        '  flowFile: "flows.json",\n'
        "  credentialSecret: false,\n"  # flows_cred.json above is plain JSON
        "  httpAdminRoot: false,\n"  # no editor: the flow only
        '  uiHost: "127.0.0.1",\n'
        "  diagnostics: { enabled: false },\n"
        "  telemetry: { enabled: false },\n"
        '  logging: { console: { level: "info", metrics: false, audit: false } },\n'
        "};\n"
    )


def wait_stored(access: Access, database: str, expected: int, start: float) -> tuple[int, float]:
    """Poll InfluxDB until ``expected`` points or 5 s without a new one: (stored, when the
    last one arrived, seconds after ``start``)."""
    stored, last_change = 0, time.monotonic()
    while stored < expected and time.monotonic() - last_change < 5:
        time.sleep(0.05)
        now = influx_count(access, database)
        if now != stored:
            stored, last_change = now, time.monotonic()
    return stored, last_change - start


def run_peer(access: Access, args: argparse.Namespace, work: Path) -> dict[str, float] | None:
    installed = node_red_install()
    if installed is None:
        return None
    database = "nodered"
    influx_create(access, database)
    user_dir = work / "node-red"
    node_red_user_dir(access, installed, user_dir, database)
    log_path = work / "node-red.log"
    node = subprocess.Popen(
        [
            str(installed / "node_modules" / ".bin" / "node-red"),
            "-u",
            str(user_dir),
            "-p",
            str(free_port()),
            "flows.json",
        ],
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while "Connected to broker" not in log_path.read_text():
            if node.poll() is not None or time.monotonic() > deadline:
                print(f"peer: Node-RED did not connect to the broker:\n{log_path.read_text()}")
                return None
            time.sleep(0.2)
        time.sleep(1.0)  # its SUBACK
        # the node process itself (the launcher script may sit in between)
        parent = psutil.Process(node.pid)
        processes = [parent, *parent.children(recursive=True)]
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
        start = time.monotonic()
        published = publish(access, args.messages, args.devices)
        stored, seconds = wait_stored(access, database, args.messages, start)
        cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - cpu_before
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)
    rate = stored / seconds
    print(
        f"PEER Node-RED 4.1 (mqtt in -> function -> join 5,000/1 s -> influx batch):"
        f" {rate:,.0f} stored/s ({stored} of {args.messages} points, lost"
        f" {args.messages - stored}); node CPU {1e6 * cpu / max(stored, 1):.1f} us per stored"
        f" message; publisher {args.messages / published['seconds']:,.0f} msgs/s",
        flush=True,
    )
    return {"rate": rate, "cpu": cpu / max(stored, 1), "lost": args.messages - stored}


# --- citytwin ingest -------------------------------------------------------------------


def start_ingest(
    access: Access,
    work: Path,
    registry_path: Path,
    database: str,
    *,
    twin_url: str | None,
    client_id: str,
    session_expiry: int = 86_400,
    settings: dict[str, Any] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """An ingest worker (``python -m ingest``) once it is ready: (process, metrics port)."""
    metrics_port = free_port()
    runtime: dict[str, Any] = {
        "mqtt_host": access.mqtt_host,
        "mqtt_port": access.mqtt_port,
        "mqtt_username": access.login(client_id)[0],
        "mqtt_password": access.login(client_id)[1],
        "influx_url": access.influx_url,
        "influx_database": database,
        "registry_path": str(registry_path),
        "spool_dir": str(work / f"spool-{client_id}"),
        "settings": {
            "metrics_port": metrics_port,
            "session_expiry_seconds": session_expiry,
            **(settings or {}),
        },
    }
    if access.influx_username:
        runtime["influx_username"] = access.influx_username
        runtime["influx_password"] = access.influx_password
    if twin_url is not None:
        runtime |= {
            "twins_url": twin_url,
            "twins_username": "citytwin",
            "twins_password": TWIN_PASSWORD,
        }
    path = work / f"runtime-{client_id}.json"
    path.write_text(json.dumps(runtime))
    path.chmod(0o600)
    ingest = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(path)],
        cwd=ROOT,
        stdout=(work / f"{client_id}.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if metric(metrics_port, "citytwin_ingest_ready") == 1:
                break
        except OSError:
            pass
        time.sleep(0.2)
    return ingest, metrics_port


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def run_ingest_as_peer(
    access: Access, args: argparse.Namespace, work: Path, registry_path: Path
) -> dict[str, float]:
    """citytwin ingest doing what the Node-RED flow does (no twin service), measured the
    same way: points counted in InfluxDB, the worker's CPU per stored message."""
    database = "peer_citytwin"
    ingest, _ = start_ingest(
        access,
        work,
        registry_path,
        database,
        twin_url=None,
        client_id="bench-ingest-peer",
        session_expiry=10,
    )
    try:
        process = psutil.Process(ingest.pid)
        cpu_before = sum(process.cpu_times()[:2])
        start = time.monotonic()
        published = publish(access, args.messages, args.devices)
        stored, seconds = wait_stored(access, database, args.messages, start)
        cpu = sum(process.cpu_times()[:2]) - cpu_before
    finally:
        stop(ingest)
    rate = stored / seconds
    print(
        f"citytwin ingest without twins, measured as the peer: {rate:,.0f} stored/s"
        f" ({stored} of {args.messages} points, lost {args.messages - stored});"
        f" ingest CPU {1e6 * cpu / max(stored, 1):.1f} us per stored message;"
        f" publisher {args.messages / published['seconds']:,.0f} msgs/s",
        flush=True,
    )
    return {"rate": rate, "cpu": cpu / max(stored, 1), "lost": args.messages - stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--phases",
        default="baselines,peer,e2e,latency",
        help="comma-separated: baselines, peer, e2e, latency (latency needs e2e's rate)",
    )
    parser.add_argument("--latency-runs", type=int, default=1)
    parser.add_argument(
        "--latency-log",
        type=Path,
        help="append each twin change (wall-clock time, latency in s, thing) to this file",
    )
    parser.add_argument(
        "--twin-workers", type=int, help="ingest's twin_workers (default: its own default)"
    )
    parser.add_argument("--publisher", action="store_true")
    parser.add_argument("--subscriber", choices=["paho", "paho-work", "aiomqtt", "session"])
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--seq-base", type=int, default=0)
    args = parser.parse_args()
    if args.publisher:
        run_publisher(args)
        return
    if args.subscriber:
        run_subscriber(args)
        return
    phases = set(args.phases.split(","))

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
        logins = {
            name: broker.account(role, name=name)
            for name, role in (
                *((client, None) for client in TEST_CLIENTS),
                *((client, ServiceRole.INGEST) for client in INGEST_CLIENTS),
            )
        }
        access = Access(
            mqtt_port=broker.port,
            logins={name: [a.username, a.password] for name, a in logins.items()},
            influx_url=influx.url,
            influx_username=influx.username,
            influx_password=influx.password,
        )
        n = args.messages
        print(
            f"# {args.devices} devices, {n} messages per phase, QoS 1, {os.cpu_count()} cores,"
            f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )

        b0_rate = 0.0
        if "baselines" in phases:
            b0_rate = run_baselines(access, args)["B0"].rate
        if "peer" in phases:
            peer = run_peer(access, args, work)
            ours = run_ingest_as_peer(access, args, work, registry_path)
            if peer is not None:
                print(
                    f"RATIO citytwin/Node-RED, same work: stored/s"
                    f" {ours['rate'] / peer['rate']:.2f} x, CPU per stored message"
                    f" {peer['cpu'] / ours['cpu']:.2f} x less",
                    flush=True,
                )
        if not {"e2e", "latency"} & phases:
            return

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

        ingest, metrics_port = start_ingest(
            access,
            work,
            registry_path,
            "bench",
            twin_url=twin_url,
            client_id="bench-ingest",
            settings={"twin_workers": args.twin_workers} if args.twin_workers else {},
        )
        procs.append(ingest)
        ingest_ps = psutil.Process(ingest.pid)

        # 3. end to end, as fast as the publisher goes
        profiler = None
        spy = shutil.which("py-spy", path=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}")
        if args.profile and spy is not None:
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
        pub_result = publish(access, n, args.devices, seq_base=0)
        while influx_count(access, "bench") < n and time.monotonic() - start < 600:
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
        stored_count = influx_count(access, "bench")
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
        if b0_rate:
            print(
                f"RATIO e2e/B0 = {rate / b0_rate:.2f}"
                f"  (e2e {rate:,.0f} msgs/s, B0 {b0_rate:,.0f} msgs/s)"
            )

        # 4. latency at half the rate
        if "latency" in phases:
            seq_base = n
            for _ in range(args.latency_runs):
                count = int(rate / 2 * 15)
                watched = {
                    "mosquitto": broker.managed.pid,
                    "influxd": influx.managed.pid,
                    "ingest": ingest.pid,
                    "twin service": procs[0].pid,
                }
                measure_latency(
                    access, args, ditto, rate / 2, count, seq_base, metrics_port, watched
                )
                seq_base += count
        if profiler is not None:
            summarize_profile(work / "profile.txt")
    finally:
        for proc in procs:
            stop(proc)
        broker.managed.stop()
        influx.managed.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure_latency(
    access: Access,
    args: argparse.Namespace,
    ditto: DittoClient,
    rate: float,
    count: int,
    seq_base: int,
    metrics_port: int,
    watched: dict[str, int],
) -> None:
    """Publish → twin visible at ``rate``: p50/p99, and when the slowest changes came,
    with the CPU each of ``watched`` (name: pid) and the whole machine used meanwhile."""
    changes: list[tuple[float, float]] = []
    """(seconds since the phase started, latency) of each twin change."""
    stop = threading.Event()
    ready = threading.Event()
    start = time.time()

    def watch() -> None:
        try:
            with ditto.watch(namespaces=[NAMESPACE], read_timeout=30) as stream:
                ready.set()
                for change in stream:
                    now = time.time()
                    if stop.is_set():
                        return
                    features = (change.get("value") or change).get("features", {})
                    seen = features.get("connectivity", {}).get("properties", {}).get("lastSeen")
                    if seen:
                        moment = datetime.fromisoformat(seen.replace("Z", "+00:00"))
                        changes.append((now - start, now - moment.timestamp()))
                        if log is not None:
                            log.write(
                                f"{now:.3f} {now - moment.timestamp():.3f}"
                                f" {change.get('thingId')}\n"
                            )
        except Exception as exc:  # the stream ends with the benchmark
            if not stop.is_set():
                print(f"change stream ended: {exc}", file=sys.stderr)

    # a probe on one device's topic: publish -> broker -> a plain subscriber, no ingest
    probe: list[tuple[float, float]] = []

    def on_probe(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time()
        probe.append((now - start, now - orjson.loads(message.payload)["ts"] / 1000))

    prober = access.paho_client("bench-probe")
    prober.on_message = on_probe
    prober.connect(access.mqtt_host, access.mqtt_port)
    prober.subscribe(f"citytwin/{NAMESPACE}/{device_list(1)[0][0]}/telemetry", qos=1)
    prober.loop_start()
    cpu_samples: list[tuple[float, dict[str, float]]] = []
    """(seconds since start, CPU seconds used so far by each watched process and by the
    whole machine), every 0.25 s."""

    def sample_cpu() -> None:
        processes = {name: psutil.Process(pid) for name, pid in watched.items()}
        while not stop.is_set():
            used = {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}
            machine = psutil.cpu_times()
            used["machine"] = machine.user + machine.nice + machine.system
            used["machine, niced"] = machine.nice
            cpu_samples.append((time.time() - start, used))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample_cpu, daemon=True)
    sampler.start()
    log = args.latency_log.open("a") if args.latency_log else None
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(10)
    patches_before = metric(metrics_port, "citytwin_ingest_twin_patches_total")
    twin_before = histogram(metrics_port, "citytwin_ingest_twin_seconds")
    published = publish(access, count, args.devices, rate=rate, seq_base=seq_base)
    time.sleep(2)
    stop.set()
    prober.loop_stop()
    prober.disconnect()
    if log is not None:
        log.close()
    patches = metric(metrics_port, "citytwin_ingest_twin_patches_total") - patches_before
    twin_after = histogram(metrics_port, "citytwin_ingest_twin_seconds")
    in_ingest = {le: twin_after[le] - twin_before.get(le, 0.0) for le in twin_after}
    latencies = sorted(latency for _, latency in changes)
    if not latencies:
        print("publish -> twin visible: no twin change seen")
        return
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"publish -> twin visible at {rate:,.0f} msgs/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms,"
        f" max {latencies[-1] * 1000:.0f} ms ({len(latencies)} twin changes,"
        f" {patches:.0f} patches)"
    )
    total = in_ingest.get("+Inf", 0.0) or 1.0
    print(
        "  inside ingest (a patch's first message received -> patch applied), share of"
        " patches within: "
        + ", ".join(
            f"{float(le) * 1000:.0f} ms {100 * count / total:.1f}%"
            for le, count in in_ingest.items()
            if le in ("0.05", "0.1", "0.25", "0.5")
        )
    )
    print(
        f"  publisher at most {1000 * published['behind']:.0f} ms behind its schedule"
        f" (at {published['behind_at'] - start:.1f} s); over 50 ms behind at"
        f" {[round(at - start, 1) for at in published['stalls']][:20]} s"
    )
    slow = [(at, latency) for at, latency in changes if latency * 1000 >= p99]
    seconds = sorted({int(at) for at, _ in slow})
    print(
        f"  changes at or over p99: {len(slow)}, in {len(seconds)} distinct seconds of the"
        f" phase: {seconds[:20]}"
    )
    cores = os.cpu_count() or 1
    for second in [*seconds[:3], -1]:
        window = [(at, used) for at, used in cpu_samples if second - 1 <= at <= second + 1]
        if second == -1:
            window = [cpu_samples[0], cpu_samples[-1]] if cpu_samples else []
        if len(window) < 2:
            continue
        (t0, first), (t1, last) = window[0], window[-1]
        shares = ", ".join(
            f"{name} {100 * (last[name] - first[name]) / (t1 - t0) / cores:.0f}%" for name in last
        )
        where = "whole phase" if second == -1 else f"{second - 1}-{second + 1} s"
        print(f"  CPU ({where}, % of all {cores} cores): {shares}")
    if probe:
        probed = sorted(latency for _, latency in probe)
        late = sorted({int(at) for at, latency in probe if latency * 1000 >= p99 / 2})
        print(
            f"  probe (publish -> broker -> one plain subscriber, {len(probed)} messages of one"
            f" device): p50 {1000 * probed[len(probed) // 2]:.0f} ms, p99"
            f" {1000 * probed[int(len(probed) * 0.99)]:.0f} ms, max {1000 * probed[-1]:.0f} ms;"
            f" seconds with a probe message over half the twin p99: {late[:20]}"
        )


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
