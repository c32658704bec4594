"""How many simulated devices one core drives, and what a camera stream costs.

    .venv/bin/python benchmarks/simulators_bench.py

1. The ``thaibinh`` scenario without video (178 devices, one MQTT connection each) against
   a real Mosquitto, at ×60 and at ×600, for 25 s each: the simulator process's CPU time
   per wall second, hence devices per core at that speed and messages per CPU second.
2. Camera streams: 1 and 6 streams at the scenario's size (320x240, 5 fps) for 15 s each:
   encoder CPU (in the simulator process) and relay CPU (rtsp-server-perl) per stream.
3. The province: every camera of ``thaibinh`` streaming (``video.streams: "*"``, 95
   streams, each with its own scene and capture stamp) at 5 and at 10 fps (``--fps``),
   20 s each: CPU of the simulator and of the relay, and the frame rate each stream really
   delivered (below the setting when the machine cannot keep up).

    .venv/bin/python benchmarks/simulators_bench.py --phase province --fps 5 --fps 10

Prints its figures; takes about three minutes. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citytwin.provisioning import load_device_credentials
from simulators.runner import run_scenario
from simulators.scenario import CameraScene, VideoSettings, load_scenario
from simulators.scenes import SceneState
from simulators.video import VideoPool
from tests.services import free_port, start_broker
from tests.simulators.conftest import free_udp_range
from twins.kinds import DeviceKind
from twins.registry import Registry
from twins.thing_id import ThingId

DEVICE_RUN_S = 25.0
VIDEO_RUN_S = 15.0
PROVINCE_RUN_S = 20.0


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


@dataclass(slots=True, frozen=True)
class StreamCost:
    """What ``count`` streams cost over a measured window."""

    count: int
    fps: float
    kbps: float
    encoder: float
    relay: float
    late_share: float
    cpu_per_frame: float
    """Simulator CPU seconds per frame delivered: what the load of the machine does not
    change, so the CPU a rate needs is ``cpu_per_frame × fps × count``."""


async def measure_streams(
    settings: VideoSettings, scenes: list[SceneState], seconds: float
) -> StreamCost:
    """CPU of the simulator process (render + stamp + encode) and of rtsp-server-perl while
    one stream per scene publishes, with the frames each stream really delivered."""
    me = psutil.Process()
    async with VideoPool(settings) as pool:
        relay = next(p for p in me.children() if "rtsp-server" in " ".join(p.cmdline()))
        for i, scene in enumerate(scenes):
            pool.add(ThingId("bench.video", f"cam-{i:02d}"), _fixed(scene))
        await asyncio.sleep(3.0)  # connect and settle
        frames = sum(s.frames for s in pool.streams.values())
        size = sum(s.bytes for s in pool.streams.values())
        cpu, relay_cpu = me.cpu_times(), relay.cpu_times()
        wall = time.monotonic()
        await asyncio.sleep(seconds)
        after, relay_after = me.cpu_times(), relay.cpu_times()
        elapsed = time.monotonic() - wall
        counts = [s.frames for s in pool.streams.values()]
        frames = sum(counts) - frames
        size = sum(s.bytes for s in pool.streams.values()) - size
    count = len(scenes)
    per_stream = frames / elapsed / count
    return StreamCost(
        count=count,
        fps=per_stream,
        kbps=size * 8 / 1000 / elapsed / count,
        encoder=(after.user + after.system - cpu.user - cpu.system) / elapsed,
        relay=(relay_after.user + relay_after.system - relay_cpu.user - relay_cpu.system) / elapsed,
        late_share=max(0.0, 1 - per_stream / settings.fps),
        cpu_per_frame=(after.user + after.system - cpu.user - cpu.system) / max(frames, 1),
    )


def report(label: str, settings: VideoSettings, cost: StreamCost) -> None:
    print(
        f"{label}: {cost.count} stream(s) {settings.width}x{settings.height}"
        f" @ {settings.fps:g} fps: {cost.fps:.2f} fps delivered per stream"
        f" ({100 * cost.late_share:.1f} % of frames late or missing),"
        f" {cost.kbps:.0f} kbit/s per stream; encoder {100 * cost.encoder:.1f} %"
        f" ({100 * cost.encoder / cost.count:.2f} % per stream) and relay"
        f" {100 * cost.relay:.1f} % ({100 * cost.relay / cost.count:.2f} % per stream)"
        f" of a core; {1e3 * cost.cpu_per_frame:.2f} ms of CPU per frame, so"
        f" {100 * cost.cpu_per_frame * settings.fps * cost.count:.0f} % of a core to encode"
        f" all of them at {settings.fps:g} fps;"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def _ports(settings: VideoSettings, **update: object) -> VideoSettings:
    return settings.model_copy(
        update={
            "client_port": free_port(),
            "source_port": free_port(),
            "rtp_start_port": free_udp_range(400),  # away from other relays on this host
            **update,
        }
    )


async def cameras() -> None:
    """1 and 6 desk streams at the scenario's size and rate."""
    base = load_scenario("thaibinh").video
    for count in (1, 6):
        settings = _ports(base)
        scenes = [
            SceneState(CameraScene.COUNTER_DESK, officer=True, citizen=i % 2 == 0)
            for i in range(count)
        ]
        report("video", settings, await measure_streams(settings, scenes, VIDEO_RUN_S))


async def province(rates: list[float]) -> None:
    """Every camera of ``thaibinh`` (``video.streams: "*"``), each with its own scene."""
    scenario = load_scenario("thaibinh")
    cameras = [
        CameraScene(str(device.attributes.get("scene", "corridor")))
        for site in scenario.registry_spec().sites
        for device in site.devices
        if device.kind is DeviceKind.CAMERA
    ]
    scenes = [
        SceneState(scene, officer=True, citizen=i % 2 == 0, people=i % 3)
        for i, scene in enumerate(cameras)
    ]
    for fps in rates:
        settings = _ports(scenario.video, fps=fps)
        cost = await measure_streams(settings, scenes, PROVINCE_RUN_S)
        report("province", settings, cost)


def _fixed(scene: SceneState) -> Callable[[], SceneState]:
    return lambda: scene


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--phase",
        action="append",
        choices=["devices", "video", "province"],
        help="run only these phases (repeatable; default: all)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        action="append",
        help="frame rates of the province phase (repeatable; default: 5 and 10)",
    )
    args = parser.parse_args()
    phases = args.phase or ["devices", "video", "province"]
    if "devices" in phases:
        with tempfile.TemporaryDirectory() as tmp:
            await devices(Path(tmp))
    if "video" in phases:
        await cameras()
    if "province" in phases:
        await province(args.fps or [5.0, 10.0])


if __name__ == "__main__":
    asyncio.run(main())
