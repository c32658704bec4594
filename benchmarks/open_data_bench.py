"""What the open-data API costs per request, against the trivial route of the same server.

    .venv/bin/python benchmarks/open_data_bench.py [--requests 400] [--clients 8]

1. Starts a real InfluxDB and ``citytwin serve`` (its own process, the embedded twin
   service) on the Thái Bình scenario's registry: 284 devices, 52 of them sensors.
2. Gives every sensor twin measurements, writes a day of 1-minute ``sensor_telemetry``
   per sensor (74,880 points) and 30 days of site KPIs.
3. For each route, ``--clients`` concurrent clients (one process, asyncio, one HTTP/1.1
   connection each, an API key whose quota is out of reach) send ``--requests`` requests
   in all; prints p50 and p99 latency, requests/s and the ratios to ``GET /open/whoami``
   (the same quota dependency and JSON answer, nothing read) measured in the same run.

``open_data.cache_seconds`` is the default 2 s unless ``--cache-seconds`` says otherwise
(0: every request searches the twins). Prints its figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.kpis.aggregate import KpiValue
from analytics.kpis.engine import line_of
from analytics.kpis.influx import KpiInflux
from analytics.kpis.windows import Window, day_start
from citytwin.open.kpis import PUBLISHED
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets, twin_client
from simulators.scenario import load_scenario
from tests.services import Influx, free_port, start_influx

KEY = "benchmark-key-0123456789abcdef"
NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
DATABASE = "openbench"


def environment(
    state: Path, registry: Path, influx: Influx, port: int, cache: float
) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
    return {
        **clean,
        "CITYTWIN_STATE_DIR": str(state),
        "CITYTWIN_REGISTRY": str(registry),
        "CITYTWIN_LOG_LEVEL": "WARNING",
        "CITYTWIN_HTTP__PORT": str(port),
        "CITYTWIN_MQTT__PORT": str(free_port()),
        "CITYTWIN_INFLUX__EMBEDDED": "false",
        "CITYTWIN_INFLUX__URL": influx.url,
        "CITYTWIN_INFLUX__DATABASE": DATABASE,
        "CITYTWIN_INFLUX__USERNAME": influx.username,
        "CITYTWIN_INFLUX__PASSWORD": influx.password,
        "CITYTWIN_OPEN_DATA__CACHE_SECONDS": str(cache),
        "CITYTWIN_OPEN_DATA__API_KEYS": json.dumps(
            {"bench": {"key": KEY, "rate": "100000000/minute"}}
        ),
    }


@contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "citytwin", "serve"], env=env, stdout=out, stderr=out
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit(f"citytwin serve did not answer; see {log}")
            yield url
        finally:
            process.terminate()
            process.wait(20)


def fill_twins(settings: CitytwinSettings, sensors: list[str]) -> None:
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    deadline = time.monotonic() + 120
    with twin_client(settings, secrets.twins) as client:
        while client.count('eq(attributes/kind,"sensor")') < len(sensors):
            if time.monotonic() > deadline:
                raise SystemExit("the sensor twins were not provisioned in 120 s")
            time.sleep(0.5)
        for n, thing in enumerate(sensors):
            client.put(
                thing,
                "features/measurements/properties",
                {
                    "temperatureC": 26.0 + n % 7,
                    "humidityPct": 70.0 + n % 20,
                    "pm25Ugm3": 10.0 + 3 * (n % 15),
                    "noiseDba": 50.0 + n % 25,
                    "waterLevelCm": 120.0 + 5 * n,
                },
            )
            client.put(thing, "features/connectivity/properties/online", True)
            client.put(
                thing, "features/connectivity/properties/lastSeen", "2026-12-08T08:59:00.000Z"
            )


async def fill_influx(influx: Influx, sensors: list[str], sites: list[str]) -> None:
    lines = []
    start = NOW - timedelta(days=1)
    for thing in sensors:
        namespace, _, device = thing.partition(":")
        for minute in range(1440):
            at = round((start + timedelta(minutes=minute)).timestamp() * 1e9)
            lines.append(
                f"sensor_telemetry,namespace={namespace},device={device} temperature_c="
                f"{25 + minute % 9}.5,humidity_pct=75.0,pm25_ugm3={minute % 60}.0,"
                f"noise_dba=55.0,water_level_cm=140.0 {at}"
            )
    for site in sites:
        for days in range(30):
            on = date(2026, 12, 7) - timedelta(days=days)
            for definition in PUBLISHED:
                value = 10.0 + days
                lines.append(
                    line_of(
                        KpiValue(
                            definition.id,
                            f"site:{site}",
                            Window.DAY,
                            day_start(on),
                            value,
                            value,
                            None,
                            "",
                        )
                    )
                )
    async with KpiInflux(
        influx.url, DATABASE, username=influx.username, password=influx.password
    ) as client:
        await client.write(lines)
    print(f"wrote {len(lines)} points")


async def measure(
    url: str, path: str, params: dict[str, str], total: int, clients: int
) -> dict[str, float]:
    latencies: list[float] = []
    per_client = total // clients
    failures = 0

    async def one_client() -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as http:
            await http.get(path, params=params)  # connection open, answer warm
            for _ in range(per_client):
                started = time.perf_counter()
                answer = await http.get(path, params=params)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += answer.status_code != 200

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(one_client())
    seconds = time.perf_counter() - started
    latencies.sort()
    if failures:
        raise SystemExit(f"{path}: {failures} answers were not 200")
    return {
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "rate": len(latencies) / seconds,
    }


async def run(url: str, requests: int, clients: int, entity: str) -> None:
    start = (NOW - timedelta(hours=1)).isoformat()
    routes: list[tuple[str, str, dict[str, str]]] = [
        ("whoami (baseline)", "/open/whoami", {}),
        (
            "entities, 1 type, 100",
            "/ngsi-ld/v1/entities",
            {"type": "AirQualityObserved", "limit": "100"},
        ),
        ("entities, q pm25>35", "/ngsi-ld/v1/entities", {"q": "pm25>35", "limit": "100"}),
        (
            "entities, near 2 km",
            "/ngsi-ld/v1/entities",
            {
                "georel": "near;maxDistance==2000",
                "geometry": "Point",
                "coordinates": "[106.3366,20.4463]",
                "limit": "100",
            },
        ),
        ("one entity", f"/ngsi-ld/v1/entities/{entity}", {}),
        (
            "temporal, 1 h, 3 attrs",
            f"/ngsi-ld/v1/temporal/entities/{entity}",
            {"timerel": "between", "timeAt": start, "endTimeAt": NOW.isoformat()},
        ),
        (
            "KPIs JSON, 30 days",
            "/open/kpis/daily.json",
            {"since": "2026-11-08", "until": "2026-12-07"},
        ),
        (
            "KPIs CSV, 30 days",
            "/open/kpis/daily.csv",
            {"since": "2026-11-08", "until": "2026-12-07"},
        ),
        ("catalogue", "/open/catalog", {}),
    ]
    print(f"{clients} concurrent clients, {requests} requests per route")
    print(f"  {'route':<26} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'p50 ×':>7} {'p99 ×':>7}")
    base: dict[str, float] | None = None
    for name, path, params in routes:
        figures = await measure(url, path, params, requests, clients)
        base = base or figures
        print(
            f"  {name:<26} {figures['p50']:8.1f} {figures['p99']:8.1f} {figures['rate']:8.0f}"
            f" {figures['p50'] / base['p50']:7.1f} {figures['p99'] / base['p99']:7.1f}"
        )


def main(requests: int, clients: int, cache: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="open-data-bench-"))
    influx = start_influx(root / "influx")
    try:
        for attempt in range(20):  # the new admin may take a moment to be honoured
            try:
                influx.create_database(DATABASE)
                break
            except OSError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
        spec = load_scenario("thaibinh").registry_spec()
        registry = root / "registry.yaml"
        registry.write_text(yaml.safe_dump(spec.model_dump(mode="json"), allow_unicode=True))
        sensors = [
            f"{site.id}:{device.name}"
            for site in spec.sites
            for device in site.devices
            if device.kind.value == "sensor"
        ]
        sites = [s.id for s in spec.sites if sum(d.kind.value == "counter" for d in s.devices) >= 3]
        port = free_port()
        env = environment(root / "var", registry, influx, port, cache)
        settings = CitytwinSettings(
            state_dir=root / "var",
            registry=registry,
            http={"port": port},
            mqtt={"port": int(env["CITYTWIN_MQTT__PORT"])},
        )
        with serving(env, port, root / "serve.log") as url:
            fill_twins(settings, sensors)
            asyncio.run(fill_influx(influx, sensors, sites))
            print(f"{len(sensors)} sensors, {len(sites)} published sites, cache {cache} s")
            entity = f"urn:ngsi-ld:AirQualityObserved:{sensors[0]}"
            asyncio.run(run(url, requests, clients, entity))
    finally:
        influx.managed.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cache-seconds", type=float, default=2.0)
    arguments = parser.parse_args()
    main(arguments.requests, arguments.clients, arguments.cache_seconds)
