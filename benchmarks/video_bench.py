"""What a viewer costs the video hub: H.264 forwarded as received versus encoded per viewer.

    .venv/bin/python benchmarks/video_bench.py [--size 640x480] [--fps 15] [--seconds 10]

One camera (ffmpeg's test pattern, libx264 ultrafast/zerolatency, through rtsp-server-perl)
is pulled by a hub running in a process of its own; aiortc viewers (in this process) watch
it over WHEP on loopback. For each mode and viewer count the hub process's CPU is measured
over ``--seconds`` while every viewer plays:

- forwarded: viewers that offer H.264 get the camera's packets (no decoding, no encoding);
- transcoded: viewers that offer only VP8; the hub decodes once and aiortc encodes per viewer.

Also printed: offer → first decoded frame at the viewer (p50, p95), over every viewer of a
run. The viewers' own decoding runs in this process and is not counted. Prints its figures;
takes a few minutes. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.services import free_port, wait_for_port
from tests.video.streams import rtsp_relay
from video.client import WhepViewer

CAMERA = "bench.cam:cam-01"
TOKEN = "bench-token"
FORWARDED_COUNTS = (1, 10, 25, 50)
TRANSCODED_COUNTS = (1, 5, 10)
HUB = """
import sys, uvicorn
from pydantic import SecretStr
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings
settings = VideoSettings(
    sources={sys.argv[1]: sys.argv[2]}, tokens={"bench": SecretStr(sys.argv[3])},
    max_viewers=200, max_viewers_per_camera=200,
)
app = create_video_app(VideoRuntime(settings=settings, cameras=[sys.argv[1]]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[4]), log_level="warning")
"""


async def watch(
    endpoint: str, count: int, codec: str | None, seconds: float, hub: psutil.Process
) -> dict[str, float]:
    viewers: list[WhepViewer] = []
    first_frame_ms: list[float] = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            viewer = WhepViewer(endpoint, token=TOKEN, codec=codec)
            await viewer.__aenter__()
            viewers.append(viewer)
            await asyncio.wait_for(viewer.first_frame.wait(), 30)
            first_frame_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(2)  # settle
        frames = sum(viewer.frames for viewer in viewers)
        cpu = hub.cpu_times()
        wall = time.monotonic()
        await asyncio.sleep(seconds)
        after = hub.cpu_times()
        elapsed = time.monotonic() - wall
        used = (after.user + after.system - cpu.user - cpu.system) / elapsed
        received = (sum(viewer.frames for viewer in viewers) - frames) / elapsed / count
    finally:
        for viewer in viewers:
            await viewer.close()
    first_frame_ms.sort()
    return {
        "core": used,
        "per_viewer": used / count,
        "fps_per_viewer": received,
        "first_frame_p50_ms": statistics.median(first_frame_ms),
        "first_frame_p95_ms": first_frame_ms[
            min(len(first_frame_ms) - 1, int(0.95 * len(first_frame_ms)))
        ],
    }


async def idle(hub: psutil.Process, seconds: float) -> float:
    cpu = hub.cpu_times()
    await asyncio.sleep(seconds)
    after = hub.cpu_times()
    return (after.user + after.system - cpu.user - cpu.system) / seconds


async def measure(port: int, hub: psutil.Process, seconds: float) -> None:
    endpoint = f"http://127.0.0.1:{port}/whep/{CAMERA}"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for _ in range(100):
            cameras = (await http.get(f"http://127.0.0.1:{port}/api/cameras")).json()
            if cameras[0]["health"] == "up":
                break
            await asyncio.sleep(0.2)
    print(f"hub pulling, no viewer: {await idle(hub, seconds) * 100:.1f} % of a core")
    results = []
    for mode, codec, counts in (
        ("forwarded", None, FORWARDED_COUNTS),
        ("transcoded", "video/VP8", TRANSCODED_COUNTS),
    ):
        for count in counts:
            figures = await watch(endpoint, count, codec, seconds, hub)
            results.append({"mode": mode, "viewers": count, **figures})
            print(
                f"{mode:<10} {count:>3} viewers: hub {figures['core'] * 100:5.1f} % of a core,"
                f" {figures['per_viewer'] * 100:5.2f} % per viewer,"
                f" {figures['fps_per_viewer']:.1f} fps each, offer→first frame"
                f" p50 {figures['first_frame_p50_ms']:.0f} ms"
                f" p95 {figures['first_frame_p95_ms']:.0f} ms",
                flush=True,
            )
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with rtsp_relay() as relay:
        relay.publish("bench/cam-01", size=args.size, fps=args.fps, gop=args.fps * 2)
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-c", HUB, CAMERA, relay.url("bench/cam-01"), TOKEN, str(port)],
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            wait_for_port(port, timeout=30)
            print(f"camera {args.size} at {args.fps} fps, H.264; hub pid {process.pid}")
            asyncio.run(measure(port, psutil.Process(process.pid), args.seconds))
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


if __name__ == "__main__":
    main()
