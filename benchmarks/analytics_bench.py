"""What the analytics process's signal path costs per input: RuleEngine → AlertLifecycle.

    .venv/bin/python benchmarks/analytics_bench.py [--sensors 200] [--minutes 60]
                                                   [--flood-every 4]

A province's environmental sensors (the bundled Thái Bình rules: thresholds, stuck,
offline; every other sensor on the flood site, whose rule watches water levels) report
once a minute for ``--minutes`` of event time; every ``--flood-every``-th sensor crosses
its water-level limit for ten minutes, so alerts open and resolve. The inputs go
through `SignalPipeline.handle` — the engine, the watermark, and a committed store
transaction for every signal — on the embedded SQLite store, as the process runs
them. Baseline in the same run: the same inputs through `RuleEngine.push` alone, so the
difference is what committing signals costs.

Prints inputs per second and CPU per input for both, and the signals committed. Not a
test: nothing is asserted. The alerts and KPIs of a whole simulated day against the
simulators' ground truth are ``benchmarks/ground_truth_bench.py day``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.store import AlertStore
from analytics.rules.engine import RuleEngine
from analytics.rules.ruleset import DEFAULTS, RuleSet
from analytics.service.pipeline import SignalPipeline
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind, Sector

T0 = 1_796_263_200_000  # 2026-12-03 08:00 Asia/Ho_Chi_Minh


def site(n: int) -> str:
    """Half the sensors on the flood site (water-level rule), half at an office site."""
    return "thaibinh.flood" if n % 2 == 0 else f"thaibinh.env{n // 50}"


def inputs(sensors: int, minutes: int, flood_every: int) -> list[NormalizedEvent]:
    events = []
    for minute in range(minutes):
        for n in range(sensors):
            flooding = n % flood_every == 0 and 20 <= minute % 40 < 30
            events.append(
                NormalizedEvent(
                    thing_id=f"{site(n)}:sensor-{n:03d}",
                    kind=DeviceKind.SENSOR,
                    site=site(n),
                    sector=Sector.ENVIRONMENT,
                    channel=EventChannel.TELEMETRY,
                    ts=T0 + minute * 60_000 + n,
                    ts_source=TsSource.DEVICE,
                    seq=minute + 1,
                    data={
                        "water_level_cm": 300.0 if flooding else 100.0 + (minute % 7),
                        "temperature_c": 28.0 + (minute + n) % 5 * 0.1,
                    },
                )
            )
    return events


async def through_pipeline(
    events: list[NormalizedEvent], directory: Path
) -> tuple[float, float, int]:
    rules = RuleSet.load(DEFAULTS / "thaibinh").current
    async with await AlertStore.connect(f"sqlite:///{directory / 'alerts.db'}") as store:
        pipeline = SignalPipeline(RuleEngine(rules), AlertLifecycle(store), resume_ms=None)
        wall, cpu = time.perf_counter(), time.process_time()
        for event in events:
            await pipeline.handle(event)
        await pipeline.flush()
        return time.perf_counter() - wall, time.process_time() - cpu, pipeline.stats.signals


def through_engine(events: list[NormalizedEvent]) -> tuple[float, float, int]:
    engine = RuleEngine(RuleSet.load(DEFAULTS / "thaibinh").current)
    wall, cpu = time.perf_counter(), time.process_time()
    signals = 0
    for event in events:
        signals += len(engine.push(event))
    signals += len(engine.flush())
    return time.perf_counter() - wall, time.process_time() - cpu, signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--flood-every", type=int, default=4)
    args = parser.parse_args()
    events = inputs(args.sensors, args.minutes, args.flood_every)
    print(f"{len(events)} inputs: {args.sensors} sensors × {args.minutes} min of event time")
    base_wall, cpu, signals = through_engine(events)
    print(
        f"engine alone        {len(events) / base_wall:9.0f} inputs/s"
        f"  {cpu / len(events) * 1e6:7.1f} µs CPU/input  {signals} signals"
    )
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu, signals = asyncio.run(through_pipeline(events, Path(tmp)))
    print(
        f"engine + store      {len(events) / wall:9.0f} inputs/s"
        f"  {cpu / len(events) * 1e6:7.1f} µs CPU/input  {signals} signals committed"
    )
    print(
        f"committing a signal: {(wall - base_wall) / max(signals, 1) * 1000:.2f} ms of wall time"
        " (pipeline − engine alone, ÷ signals)"
    )


if __name__ == "__main__":
    main()
