"""How many simulated devices one core drives, and what a camera stream costs.

    .venv/bin/python benchmarks/simulators_bench.py

1. The ``thaibinh`` scenario without video (178 devices, one MQTT connection each) against
   a real Mosquitto, at ×60 and at ×600, for 25 s each: the simulator process's CPU time
   per wall second, hence devices per core at that speed and messages per CPU second.
2. Camera streams: 1 and 6 streams at the scenario's size (320x240, 5 fps) for 15 s each:
   encoder CPU (in the simulator process) and relay CPU (rtsp-server-perl) per stream.

Prints its figures; takes about two minutes. Not a test: nothing is asserted.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citytwin.provisioning import load_device_credentials
from simulators.runner import run_scenario
from simulators.scenario import CameraScene, load_scenario
from simulators.scenes import SceneState
from simulators.video import VideoPool
from tests.services import free_port, start_broker
from twins.registry import Registry
from twins.thing_id import ThingId

DEVICE_RUN_S = 25.0
VIDEO_RUN_S = 15.0


async def devices(root: Path) -> None:
    broker = start_broker(root / "broker")
    try:
        scenario = load_scenario("thaibinh")
        broker.provision(Registry(scenario.registry_spec()))
        credentials = {
            thing: (entry.username, entry.password)
            for thing, entry in load_device_credentials(broker.paths).items()
        }
        for speed in (60.0, 600.0):
            cpu = time.process_time()
            summary = await run_scenario(
                scenario,
                mqtt_host=broker.host,
                mqtt_port=broker.port,
                credentials=credentials,
                speed=speed,
                duration_s=DEVICE_RUN_S,
                ground_truth_path=root / f"truth-{speed:g}.jsonl",
                video=False,
            )
            used = time.process_time() - cpu
            share = used / summary.wall_s
            print(
                f"devices ×{speed:g}: {summary.devices} devices, {summary.messages} messages"
                f" in {summary.wall_s:.1f} s ({summary.messages / summary.wall_s:.0f}/s),"
                f" simulator CPU {100 * share:.1f} % of a core"
                f" → {summary.devices / share:.0f} devices per core at ×{speed:g},"
                f" {summary.messages / used:.0f} messages per CPU second"
            )
    finally:
        broker.managed.stop()


async def cameras() -> None:
    scenario = load_scenario("thaibinh")
    me = psutil.Process()
    for count in (1, 6):
        settings = scenario.video.model_copy(
            update={"client_port": free_port(), "source_port": free_port()}
        )
        async with VideoPool(settings) as pool:
            relay = next(p for p in me.children() if "rtsp-server" in " ".join(p.cmdline()))
            for i in range(count):
                scene = SceneState(CameraScene.COUNTER_DESK, officer=True, citizen=i % 2 == 0)
                pool.add(ThingId("bench.video", f"cam-{i:02d}"), _fixed(scene))
            await asyncio.sleep(2.0)  # connect and settle
            frames = sum(s.frames for s in pool.streams.values())
            size = sum(s.bytes for s in pool.streams.values())
            cpu, relay_cpu = me.cpu_times(), relay.cpu_times()
            await asyncio.sleep(VIDEO_RUN_S)
            after, relay_after = me.cpu_times(), relay.cpu_times()
            frames = sum(s.frames for s in pool.streams.values()) - frames
            size = sum(s.bytes for s in pool.streams.values()) - size
        encode = (after.user + after.system - cpu.user - cpu.system) / VIDEO_RUN_S
        relayed = (
            relay_after.user + relay_after.system - relay_cpu.user - relay_cpu.system
        ) / VIDEO_RUN_S
        print(
            f"video {count} stream(s) {settings.width}x{settings.height} @ {settings.fps:g} fps:"
            f" {frames / VIDEO_RUN_S / count:.1f} fps and"
            f" {size * 8 / 1000 / VIDEO_RUN_S / count:.0f} kbit/s per stream;"
            f" encoder {100 * encode / count:.1f} % and relay {100 * relayed / count:.1f} %"
            " of a core per stream"
        )


def _fixed(scene: SceneState) -> Callable[[], SceneState]:
    return lambda: scene


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await devices(Path(tmp))
    await cameras()


if __name__ == "__main__":
    asyncio.run(main())
