"""The boards over a day and over 30 days of the province: slowest panel queries, raw
against rollup, and the time to draw every board's preview.

    .venv/bin/python benchmarks/grafana_bench.py [--out previews]

1. A real InfluxDB gets the ``thaibinh`` scenario's day of benchmarks/kpi_bench.py (its
   178 devices, as ingest writes them) and the 29 days before it of the telemetry the
   30-day panels read (counters and sensors), then the rollup continuous query's own
   statement over the 30 days for those two measurements (what the query writes minute by
   minute in production; the other measurements' rollups no 30-day panel reads).
2. Every panel query of every board, expanded as Grafana expands it with every variable
   at "all", over the day and over the 30 days; the slowest of each range is printed. The
   30-day panels are timed on ``rollup_1m`` and, the same query on ``raw``, for the
   difference the rollups make.
3. Every board drawn to PNG (queries and drawing timed apart).

Prints its figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kpi_bench import DAY, DayWriter, synthesise

from analytics.kpis.engine import KpiEngine
from analytics.kpis.influx import KpiInflux
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import PROVINCE_TZ, day_bounds
from grafana.build import boards, scenario_sites
from grafana.preview import preview_board
from grafana.queries import InfluxReader, panel_queries, resolve
from simulators.scenario import load_scenario
from tests.services import Influx, start_influx
from twins.payloads import Status
from twins.registry import Registry
from twins.topics import Channel

DAY_NS = 86_400 * 10**9
LONG = ("counter_telemetry,", "sensor_telemetry,")


def _shifted(lines: list[str], days: int) -> list[str]:
    out = []
    for line in lines:
        if line.startswith(LONG):
            head, _, stamp = line.rpartition(" ")
            out.append(f"{head} {int(stamp) - days * DAY_NS}")
    return out


def _write(server: Influx, lines: list[str]) -> None:
    import httpx

    with httpx.Client(
        base_url=server.url, auth=(server.username, server.password), timeout=300
    ) as client:
        for i in range(0, len(lines), 20_000):
            response = client.post(
                "/write", params={"db": "bench", "rp": "raw", "precision": "ns"},
                content="\n".join(lines[i : i + 20_000]).encode(),
            )  # fmt: skip
            response.raise_for_status()


def fill(server: Influx) -> int:
    server.create_database("bench")
    server.query(
        "bench", 'CREATE RETENTION POLICY "raw" ON "bench" DURATION 400d REPLICATION 1 DEFAULT'
    )
    server.query(
        "bench", 'CREATE RETENTION POLICY "rollup_1m" ON "bench" DURATION 400d REPLICATION 1'
    )
    registry = Registry(load_scenario("thaibinh").registry_spec())
    day = synthesise(registry, random.Random(2020))
    births = DayWriter()  # every device's status at each morning, as ingest writes it
    begin = day_bounds(DAY, PROVINCE_TZ)[0]
    for back in range(30):
        for device in registry:
            births.add(device, Channel.STATUS, Status(state="online"), begin - back * 86_400 + 60)
    _write(server, births.lines)
    started = time.perf_counter()
    _write(server, day)
    total = len(day)
    for back in range(1, 30):
        earlier = _shifted(day, back)
        _write(server, earlier)
        total += len(earlier)
    print(f"wrote {total:,} points (1 full day + 29 days of counter and sensor telemetry)"
          f" in {time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    import httpx

    auth = (server.username, server.password)
    with httpx.Client(base_url=server.url, auth=auth, timeout=900) as client:
        for back in range(29, -1, -1):
            start = begin - back * 86_400
            client.post(
                "/query",
                data={
                    "db": "bench",
                    "q": 'SELECT mean(*) INTO "bench"."rollup_1m".:MEASUREMENT FROM'
                    ' "bench"."raw"."counter_telemetry", "bench"."raw"."sensor_telemetry"'
                    f" WHERE time >= {int(start * 1000)}ms"
                    f" AND time < {int((start + 86_400) * 1000)}ms GROUP BY time(1m), *",
                },
            ).raise_for_status()
    print(f"rollup statement over 30 days: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    asyncio.run(_kpis(server, registry))
    print(f"KPIs of the day recomputed: {time.perf_counter() - started:.1f} s")
    return total


async def _kpis(server: Influx, registry: Registry) -> None:
    async with KpiInflux(
        server.url, "bench", username=server.username, password=server.password, timeout=300
    ) as client:
        await KpiEngine(client, registry, KpiSettings()).recompute_day(DAY, periods=False)


def _timed(reader: InfluxReader, query: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        reader.query(query)
        best = min(best, time.perf_counter() - started)
    return best


def queries(reader: InfluxReader, from_ms: int, to_ms: int, label: str) -> None:
    slowest: list[tuple[float, str, str]] = []
    for board in (b.json() for b in boards(scenario_sites())):
        selections, _ = resolve(reader, board, from_ms, to_ms)
        for run in panel_queries(board, from_ms, to_ms, selections):
            seconds = _timed(reader, run.query)
            slowest.append((seconds, f"{board['uid']} «{run.panel['title']}»", run.query))
            if "rollup_1m" in run.query:
                raw = re.sub(r'"rollup_1m"\.', "", run.query).replace('"mean_', '"')
                raw_seconds = _timed(reader, raw)
                days = (run.to_ms - run.from_ms) / 86_400_000
                name = f"{board['uid']} «{run.panel['title']}»"
                print(f"  {label} {name} over {days:.0f} d: rollup {seconds * 1000:.0f} ms,"
                      f" raw {raw_seconds * 1000:.0f} ms")  # fmt: skip
    slowest.sort(reverse=True)
    print(f"{label}: {len(slowest)} queries, total {sum(s for s, _, _ in slowest):.2f} s; slowest:")
    for seconds, name, _ in slowest[:3]:
        print(f"  {seconds * 1000:7.0f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("previews"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="grafana-bench-"))
    server = start_influx(root / "influx")
    try:
        fill(server)
        begin, end = day_bounds(DAY, PROVINCE_TZ)
        with InfluxReader(server.url, "bench", server.username, server.password) as reader:
            queries(reader, int(begin * 1000), int(end * 1000), "1 day")
            month = begin - timedelta(days=29).total_seconds()
            queries(reader, int(month * 1000), int(end * 1000), "30 days")
            started = time.perf_counter()
            for board in boards(scenario_sites()):
                timing = preview_board(
                    reader, board.json(), args.out, int(begin * 1000), int(end * 1000)
                )
                print(f"  preview {timing.path}: queries {timing.query_seconds:.2f} s,"
                      f" drawing {timing.render_seconds:.2f} s")  # fmt: skip
            print(f"every board's preview: {time.perf_counter() - started:.1f} s")
    finally:
        server.managed.stop()


if __name__ == "__main__":
    main()
