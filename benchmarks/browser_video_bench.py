"""Video as an operator sees it: offer → first frame and glass-to-glass latency in Chromium.

    .venv/bin/python benchmarks/browser_video_bench.py [--sessions 30] [--seconds 20]

Stamped cameras (``tests.video.stamped``: PyAV, libx264 ultrafast/zerolatency, a keyframe
every 2 s, the wall-clock time at render burned into each frame by
``twins.capture_stamp``) publish 320x240 at 10 fps and 640x480 at 15 fps through
rtsp-server-perl; the hub (``create_video_app``) runs in a process of its own; Debian's
headless Chromium (Playwright, ``executable_path``) plays them over WHEP on loopback, so
the camera, the hub and the page share one clock. For each size:

- offer → first frame: ``performance.now()`` when the page POSTs its offer (ICE gathering
  already complete) to the first ``requestVideoFrameCallback`` of the ``<video>``, over
  ``--sessions`` sessions one after another, each ended with DELETE; also from
  ``createOffer`` (gathering included). The hub's GOP cache starts each on a keyframe.
- glass-to-glass: for every frame presented during ``--seconds``, the page's clock in the
  frame callback (``Date.now()``, and ``performance.timeOrigin + expectedDisplayTime``)
  minus the wall time burned into that frame, read back by ``capture_stamp.js``;
- the baseline, in the same run: the same stream decoded by PyAV straight from the RTSP
  relay (no hub, no WebRTC, no browser), the clock read after each frame is decoded minus
  its burned time — what the camera's encoder and the RTSP path cost alone, so the
  relay's and the browser's share is the difference.

Prints its figures (and one JSON line); takes about two minutes. Not a test: nothing is
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from playwright.async_api import Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.services import free_port, wait_for_port
from tests.video.stamped import StampedCamera
from tests.video.streams import RtspRelay, rtsp_relay
from tests.video.test_browser import CAPTURE_STAMP_JS, CHROMIUM, CHROMIUM_FLAGS
from twins.capture_stamp import read

TOKEN = "bench-token"
SIZES = {"320x240": 10, "640x480": 15}
HUB = """
import json, sys, uvicorn
from pydantic import SecretStr
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings
sources = json.loads(sys.argv[1])
settings = VideoSettings(sources=sources, tokens={"bench": SecretStr(sys.argv[2])})
app = create_video_app(VideoRuntime(settings=settings, cameras=list(sources)))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""
# The page's side: WHEP sessions timed by requestVideoFrameCallback, stamps read per frame.
PAGE = """
window.bench = {
  sessions: new Map(),
  gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  },
  async open(hub, camera, token) {
    const video = document.createElement("video");
    video.muted = true; video.autoplay = true; video.playsInline = true;
    document.body.appendChild(video);
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
    const created = performance.now();
    await pc.setLocalDescription(await pc.createOffer());
    await this.gathered(pc);
    const shown = new Promise((resolve) => {
      video.requestVideoFrameCallback(() => resolve(performance.now()));
    });
    const posted = performance.now();
    const response = await fetch(hub + "/whep/" + encodeURIComponent(camera), {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/sdp" },
      body: pc.localDescription.sdp,
    });
    if (response.status !== 201) throw new Error(response.status + " " + (await response.text()));
    const session = new URL(response.headers.get("Location"), hub + "/").href;
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    const first = await Promise.race([shown, new Promise((r) => setTimeout(() => r(null), 30000))]);
    if (first === null) throw new Error("no frame within 30 s");
    const id = String(this.sessions.size + Math.random());
    this.sessions.set(id, { pc, video, session, token });
    return { id, offerMs: first - posted, fromCreateMs: first - created };
  },
  async close(id) {
    const { pc, video, session, token } = this.sessions.get(id);
    this.sessions.delete(id);
    await fetch(session, { method: "DELETE", headers: { Authorization: "Bearer " + token } });
    pc.close();
    video.remove();
  },
  // the receiver's own account: mean jitter-buffer delay and decode time per frame (ms)
  async receiver(id) {
    const { pc } = this.sessions.get(id);
    let figures = null;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        figures = {
          jitterBufferDelay: report.jitterBufferDelay, emitted: report.jitterBufferEmittedCount,
          decodeTime: report.totalDecodeTime, decoded: report.framesDecoded,
        };
      }
    });
    return figures;
  },
  latencies(id, seconds) {
    const { video } = this.sessions.get(id);
    const frames = [];
    return new Promise((resolve) => {
      const until = performance.now() + seconds * 1000;
      const onFrame = (now, metadata) => {
        const clock = Date.now();
        const stamp = window.captureStamp.read(video);
        const display = performance.timeOrigin + metadata.expectedDisplayTime;
        const wall = stamp ? stamp.wall * 1000 : null;
        frames.push(stamp ? { now: clock - wall, display: display - wall } : null);
        if (performance.now() < until) video.requestVideoFrameCallback(onFrame);
        else resolve(frames);
      };
      video.requestVideoFrameCallback(onFrame);
    });
  },
};
"""


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "max": ordered[-1],
    }


def show(name: str, figures: dict[str, float]) -> str:
    return (
        f"{name}: p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms,"
        f" max {figures['max']:.0f} ms (n={figures['n']:.0f})"
    )


def baseline(url: str, seconds: float) -> dict[str, Any]:
    """The stream decoded by PyAV straight from the RTSP relay: decode time − burned time.

    Opened with the hub's own options (``video.source``), so the figure is what the camera
    and the RTSP path cost before the hub has a packet.
    """
    options = {
        "analyzeduration": "1000000",
        "probesize": "500000",
        "max_delay": "100000",
        "rtsp_transport": "udp",
    }
    latencies: list[float] = []
    unreadable = 0
    with av.open(url, options=options, timeout=5) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        until = time.monotonic() + seconds
        for frame in container.decode(stream):
            now = time.time()
            stamp = read(np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8))
            if stamp is None:
                unreadable += 1
            else:
                latencies.append((now - stamp.wall) * 1000)
            if time.monotonic() > until:
                break
    return {"latency": quantiles(latencies), "unreadable": unreadable}


@contextlib.contextmanager
def hub_process(sources: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", HUB, json.dumps(sources), TOKEN, str(port)])
    try:
        wait_for_port(port, timeout=30)
        yield process
    finally:
        process.terminate()
        process.wait(10)


async def wait_up(hub: str, cameras: list[str]) -> None:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for _ in range(150):
            listed = (await http.get(f"{hub}/api/cameras")).json()
            if all(camera["health"] == "up" for camera in listed if camera["thingId"] in cameras):
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the hub did not report {cameras} up")


async def in_chromium(
    page: Page, hub: str, camera: str, args: argparse.Namespace
) -> dict[str, Any]:
    offers, created = [], []
    for _ in range(args.sessions):
        opened = await page.evaluate(
            "([hub, camera, token]) => window.bench.open(hub, camera, token)", [hub, camera, TOKEN]
        )
        offers.append(opened["offerMs"])
        created.append(opened["fromCreateMs"])
        await page.evaluate("(id) => window.bench.close(id)", opened["id"])
        await asyncio.sleep(0.3)  # sessions one after another, at random points of the GOP
    opened = await page.evaluate(
        "([hub, camera, token]) => window.bench.open(hub, camera, token)", [hub, camera, TOKEN]
    )
    await asyncio.sleep(2)  # past the cached GOP, which is sent at once and so arrives late
    receiver = "(id) => window.bench.receiver(id)"
    before = await page.evaluate(receiver, opened["id"])
    frames = await page.evaluate(
        "([id, seconds]) => window.bench.latencies(id, seconds)", [opened["id"], args.seconds]
    )
    after = await page.evaluate(receiver, opened["id"])
    await page.evaluate("(id) => window.bench.close(id)", opened["id"])
    read = [frame for frame in frames if frame is not None]
    return {
        "offer_to_first_frame": quantiles(offers),
        "create_offer_to_first_frame": quantiles(created),
        "glass_to_glass_now": quantiles([frame["now"] for frame in read]),
        "glass_to_glass_display": quantiles([frame["display"] for frame in read]),
        "jitter_buffer_ms": 1000
        * (after["jitterBufferDelay"] - before["jitterBufferDelay"])
        / max(1, after["emitted"] - before["emitted"]),
        "decode_ms": 1000
        * (after["decodeTime"] - before["decodeTime"])
        / max(1, after["decoded"] - before["decoded"]),
        "presented_fps": len(frames) / args.seconds,
        "unreadable": len(frames) - len(read),
    }


async def measure(rtsp: RtspRelay, args: argparse.Namespace) -> list[dict[str, Any]]:
    cameras = {f"bench.stamped:cam-{size}": size for size in args.sizes}
    sources = {camera: rtsp.url(f"stamped/{size}") for camera, size in cameras.items()}
    port = free_port()
    hub = f"http://127.0.0.1:{port}"
    results = []
    with contextlib.ExitStack() as running:
        for size in args.sizes:
            width, height = (int(part) for part in size.split("x"))
            running.enter_context(
                StampedCamera(
                    f"rtsp://127.0.0.1:{rtsp.source_port}/stamped/{size}",
                    width=width,
                    height=height,
                    fps=SIZES.get(size, 10),
                )
            )
            rtsp.wait_published(f"stamped/{size}")
        running.enter_context(hub_process(sources, port))
        await wait_up(hub, list(cameras))
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, timeout=30_000
            )
            try:
                page = await chromium.new_page()
                await page.goto(f"{hub}/health")
                await page.add_script_tag(path=str(CAPTURE_STAMP_JS))
                await page.add_script_tag(content=PAGE)
                for camera, size in cameras.items():
                    direct = await asyncio.to_thread(baseline, sources[camera], args.seconds)
                    browser = await in_chromium(page, hub, camera, args)
                    result = {"size": size, "fps": SIZES.get(size, 10), "pyav_rtsp": direct}
                    result |= {"chromium": browser}
                    results.append(result)
                    relay_share = browser["glass_to_glass_now"]["p50"] - direct["latency"]["p50"]
                    print(f"== {size} at {result['fps']} fps", flush=True)
                    print("  " + show("offer → first frame", browser["offer_to_first_frame"]))
                    print("  " + show("createOffer → first frame",
                                      browser["create_offer_to_first_frame"]))  # fmt: skip
                    print("  " + show("glass-to-glass, Date.now()", browser["glass_to_glass_now"]))
                    print("  " + show("glass-to-glass, expectedDisplayTime",
                                      browser["glass_to_glass_display"]))  # fmt: skip
                    print(f"  in Chromium: jitter buffer {browser['jitter_buffer_ms']:.0f} ms,"
                          f" decoding {browser['decode_ms']:.1f} ms a frame")  # fmt: skip
                    print(f"  presented {browser['presented_fps']:.1f} fps,"
                          f" {browser['unreadable']} frames unreadable")  # fmt: skip
                    print("  " + show("baseline, PyAV from RTSP", direct["latency"]))
                    print(f"  hub + WebRTC + Chromium add {relay_share:.0f} ms at the median",
                          flush=True)  # fmt: skip
            finally:
                await chromium.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=30, help="sessions for first frame")
    parser.add_argument("--seconds", type=float, default=20.0, help="glass-to-glass window")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help="e.g. 320x240 640x480")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with rtsp_relay() as rtsp:
        results = asyncio.run(measure(rtsp, args))
    print(json.dumps({"started": started, "results": results}))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
