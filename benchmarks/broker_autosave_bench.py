"""Mosquitto's crash window against its cost: autosave settings, ingest throughput, SIGKILL loss.

    .venv/bin/python benchmarks/broker_autosave_bench.py [--messages 20000] [--backlog 4000]

For each autosave setting, with a real Mosquitto, InfluxDB and ingest worker (as the tests
run them):

1. throughput: one device publishes N QoS 1 messages as fast as it can; the clock stops
   when InfluxDB holds all N points;
2. crash window: ingest stops, the device publishes a backlog that the broker queues for
   ingest's persistent session (every message acknowledged to the device; reports how fast
   the broker takes it, since each save rewrites everything queued), the broker is
   SIGKILLed and restarted, ingest starts again; reports how many acknowledged messages
   never reached InfluxDB.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citytwin.accounts import ServiceRole  # noqa: E402
from citytwin.broker import Autosave  # noqa: E402
from tests.ingest.support import Device, IngestProcess, count_points, write_registry  # noqa: E402
from tests.services import Broker, Influx, start_broker, start_influx  # noqa: E402

SETTINGS = {
    "every 5 s (Mosquitto's own default is 1800 s)": Autosave(5, on_changes=False),
    "every 1 s": Autosave(1, on_changes=False),
    "every 1,000 changes": Autosave(1000, on_changes=True),
    "every 100 changes": Autosave(100, on_changes=True),
}


def wait_points(influx: Influx, database: str, count: int, timeout: float) -> int:
    """Until InfluxDB holds ``count`` points or nothing arrives for a while; how many."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count_points(influx, database, "sensor_telemetry")
        if now >= count:
            return now
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 15:
            return now
        time.sleep(0.1)
    return last


def publish(device: Device, count: int, chunk: int = 10_000) -> None:
    """``count`` QoS 1 messages, every one acknowledged (in chunks: paho's queue is finite)."""
    for start in range(0, count, chunk):
        infos = [
            device.send("telemetry", {"noise_dba": 40.0 + i % 10})
            for i in range(start, min(start + chunk, count))
        ]
        for info in infos:
            info.wait_for_publish(120)


def run_one(
    name: str, autosave: Autosave, influx: Influx, work: Path, messages: int, backlog: int
) -> None:
    root = work / name.replace(" ", "_").replace(",", "")
    broker: Broker = start_broker(root / "mosquitto", autosave)
    database = "bench_" + root.parent.name + "_" + str(abs(hash(name)))
    influx.create_database(database)
    registry_path = root / "registry.yaml"
    registry = write_registry(registry_path, "bench.autosave", [("pm-01", "sensor")])
    broker.provision(registry)
    account = broker.account(ServiceRole.INGEST)
    runtime = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_username": account.username,
        "mqtt_password": account.password,
        "influx_url": influx.url,
        "influx_username": influx.username,
        "influx_password": influx.password,
        "influx_database": database,
        "twins_url": None,
        "registry_path": str(registry_path),
        "spool_dir": str(root / "spool"),
        "settings": {"session_expiry_seconds": 3600},
    }
    ingest = IngestProcess(runtime, root)
    ingest.start()
    device = Device(broker, "bench.autosave:pm-01")
    try:
        started = time.monotonic()
        publish(device, messages)
        stored = wait_points(influx, database, messages, 300)
        rate = stored / (time.monotonic() - started)

        ingest.stop()
        started = time.monotonic()
        publish(device, backlog)  # queued by the broker for ingest's session, acknowledged
        queue_rate = backlog / (time.monotonic() - started)
        broker.managed.stop(signal.SIGKILL)
        broker.managed.start()
        ingest.start()
        total = wait_points(influx, database, messages + backlog, 120)
        lost = messages + backlog - total
        print(
            f"{name:<48} {rate:>7,.0f} msgs/s stored; backlog queued at {queue_rate:>7,.0f}"
            f" msgs/s; SIGKILL lost {lost:>6,} of {backlog:,}",
            flush=True,
        )
    finally:
        device.close()
        ingest.stop()
        broker.managed.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=4_000)
    parser.add_argument("--only", help="run only the settings whose name contains this")
    parser.add_argument("--rounds", type=int, default=1, help="run every setting this often")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autosave-bench-"))
    influx = start_influx(work / "influxdb")
    try:
        print(f"# {args.messages:,} messages, QoS 1, one device, backlog {args.backlog:,}")
        for round_ in range(args.rounds):
            for name, autosave in SETTINGS.items():
                if args.only is None or args.only in name:
                    run_one(name, autosave, influx, work / str(round_), args.messages, args.backlog)
    finally:
        influx.managed.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
