"""What a viewer costs the video hub: H.264 forwarded as received versus encoded per viewer.

    .venv/bin/python benchmarks/video_bench.py [--size 640x480] [--fps 15] [--cameras 10]
        [--per-camera 5] [--seconds 10] [--hub-cpu 0] [--pin-viewers] [--viewer-processes 2]
        [--forwarded 1,10,25,50] [--transcoded 1,5,10]

``--cameras`` cameras (one clip of ffmpeg's ``testsrc2``, encoded once with libx264
ultrafast/zerolatency, GOP 2 s, and published by one ``ffmpeg -re -c copy`` per camera,
looping, through rtsp-server-perl, so the cameras cost no encoding) are pulled by a hub in
a process of its own (``--hub-cpu``: pinned to that core; ``--pin-viewers``: the viewers
to the others). The viewers are aiortc WHEP clients in other processes: most of them
receive for real (ICE, DTLS, SRTP, RTCP, pictures reassembled from RTP) but do not decode
(``undecoded_video``), so that fifty of them do not starve the hub; in each run one or two
decode, in a process of their own, and their frame rate shows that what the hub sends
decodes.

For each run the hub process's CPU (user + system, all its threads) and RSS are measured
over ``--seconds`` while every viewer plays, once the viewers are connected and settled:

- pulling only: the cameras, no viewer (the baseline subtracted per viewer);
- forwarded, camera 1: 1, 10, 25, 50 viewers offering H.264 (no decoding, no encoding);
- forwarded, every camera × ``--per-camera`` viewers at once;
- transcoded, camera 1: 1, 5, 10 viewers offering only VP8 (decoded once, encoded per viewer).

Also printed: frames per second at the viewers (undecoded and decoded apart), offer →
first picture (p50, p95). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.services import free_port, wait_for_port
from tests.video.streams import Publisher, RtspRelay
from video.client import WhepViewer, undecoded_video

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
FORWARDED_COUNTS = (1, 10, 25, 50)
TRANSCODED_COUNTS = (1, 5, 10)
DECODING = 2
"""Viewers of a run that decode (the others only receive)."""
CONNECTING_AT_ONCE = 4
CONNECT_ATTEMPTS = 3
MiB = 1024 * 1024
HUB = """
import json, sys, uvicorn
from pydantic import SecretStr
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings
sources = json.loads(sys.argv[1])
settings = VideoSettings(
    sources=sources, tokens={"bench": SecretStr(sys.argv[2])},
    max_viewers=500, max_viewers_per_camera=200,
)
app = create_video_app(VideoRuntime(settings=settings, cameras=list(sources)))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def camera(index: int) -> str:
    return f"bench.cam:cam-{index + 1:02d}"


# -- the viewers' processes ----------------------------------------------------------------


async def serve_viewers(endpoints: Sequence[str], codec: str | None) -> None:
    """Watch each of ``endpoints`` (one viewer each) and answer the benchmark on stdio.

    Prints one JSON line once every viewer has its first picture, then one per ``count``
    line read (frames so far, per viewer); ends its sessions (DELETE) at ``quit`` or EOF.
    """
    viewers: list[WhepViewer] = []
    first_ms: list[float] = []
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

    async def connect(endpoint: str) -> None:
        async with gate:
            for attempt in range(CONNECT_ATTEMPTS):
                started = time.perf_counter()
                viewer = WhepViewer(endpoint, token=TOKEN, codec=codec)
                try:
                    await viewer.__aenter__()
                    break
                except (httpx.HTTPError, TimeoutError):  # a shared machine, busy: again
                    if attempt == CONNECT_ATTEMPTS - 1:
                        raise
            viewers.append(viewer)
            await asyncio.wait_for(viewer.first_frame.wait(), 30)
            first_ms.append((time.perf_counter() - started) * 1000)

    def say(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        await asyncio.gather(*(connect(endpoint) for endpoint in endpoints))
        say({"connected": len(viewers), "first_frame_ms": first_ms,
             "codecs": sorted({str(v.codec) for v in viewers})})  # fmt: skip
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if line.strip() != "count":
                break
            say({
                "frames": [v.frames for v in viewers],
                "decoded": [v.decoded for v in viewers],
                "keyframes": [v.keyframes for v in viewers],
                "starts_decodable": [v.starts_decodable for v in viewers],
            })  # fmt: skip
    finally:
        for viewer in viewers:
            with contextlib.suppress(Exception):
                await viewer.close()


def viewers_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="video_bench.py viewers")
    parser.add_argument("--codec")
    parser.add_argument("--decode", action="store_true")
    parser.add_argument("endpoints", nargs="+")
    args = parser.parse_args(argv)
    run = serve_viewers(args.endpoints, args.codec)
    if args.decode:
        asyncio.run(run)
    else:
        with undecoded_video():
            asyncio.run(run)


@dataclass
class ViewerProcess:
    """One process of viewers, driven over its stdin/stdout."""

    process: subprocess.Popen[str]
    decode: bool
    connected: dict[str, Any] | None = None

    @classmethod
    def start(
        cls, endpoints: Sequence[str], codec: str | None, decode: bool, cpus: list[int] | None
    ) -> ViewerProcess:
        argv = [sys.executable, __file__, "viewers", *(["--decode"] if decode else [])]
        argv += [f"--codec={codec}"] if codec else []
        process = subprocess.Popen(
            [*argv, *endpoints], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if cpus:
            psutil.Process(process.pid).cpu_affinity(cpus)
        return cls(process, decode)

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a viewer process ended (exit {self.process.wait()})")
        return dict(json.loads(line))

    def wait_connected(self) -> dict[str, Any]:
        self.connected = self._read()
        return self.connected

    def cpu(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def count(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# -- the measurement ----------------------------------------------------------------------


@dataclass
class Bench:
    port: int
    hub: psutil.Process
    seconds: float
    viewer_processes: int
    viewer_cpus: list[int] | None
    profile: Path | None = None
    """A directory: each run's window is sampled by py-spy into it (raw, collapsed stacks)."""
    idle_core: float = 0.0

    def endpoint(self, thing: str) -> str:
        return f"http://127.0.0.1:{self.port}/whep/{thing}"

    def cpu(self) -> float:
        times = self.hub.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.hub.memory_info().rss)

    def idle(self) -> dict[str, float]:
        before, wall = self.cpu(), time.monotonic()
        time.sleep(self.seconds)
        self.idle_core = (self.cpu() - before) / (time.monotonic() - wall)
        return {"core": self.idle_core, "rss_mib": self.rss() / MiB}

    def _spy(self, name: str) -> subprocess.Popen[bytes] | None:
        if self.profile is None:
            return None
        spy = Path(sys.executable).parent / "py-spy"
        return subprocess.Popen(
            [str(spy), "record", "-p", str(self.hub.pid), "-d", str(int(self.seconds)),
             "-r", "100", "--nonblocking", "-f", "raw", "-o", str(self.profile / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def run(self, things: Sequence[str], codec: str | None) -> dict[str, Any]:
        """Watch each of ``things`` (one viewer each) and measure the hub meanwhile."""
        decoding = [things[index * len(things) // DECODING] for index in range(DECODING)]
        decoding = decoding[: len(things)]
        receiving = list(things)
        for thing in decoding:
            receiving.remove(thing)
        rss_before = self.rss()
        processes: list[ViewerProcess] = []
        try:
            if decoding:
                endpoints = [self.endpoint(thing) for thing in decoding]
                processes.append(ViewerProcess.start(endpoints, codec, True, self.viewer_cpus))
            shares = min(self.viewer_processes, len(receiving))
            for share in range(shares):
                endpoints = [self.endpoint(thing) for thing in receiving[share::shares]]
                processes.append(ViewerProcess.start(endpoints, codec, False, self.viewer_cpus))
            connected = [process.wait_connected() for process in processes]
            time.sleep(2.0)  # settle
            counts = [process.count() for process in processes]
            name = (codec or "video/H264").split("/")[-1].lower()
            spy = self._spy(f"{name}-{len(set(things))}x{len(things)}")
            before, wall = self.cpu(), time.monotonic()
            load_before = [process.cpu() for process in processes]
            time.sleep(self.seconds)
            if spy is not None:
                spy.wait(30)
            after, elapsed = self.cpu(), time.monotonic() - wall
            load = [b - a for a, b in zip(load_before, [p.cpu() for p in processes], strict=True)]
            final = [process.count() for process in processes]
            rss_after = self.rss()
        finally:
            for process in processes:
                process.stop()
        core = (after - before) / elapsed
        fps: dict[bool, list[float]] = {True: [], False: []}
        for process, first, last in zip(processes, counts, final, strict=True):
            for a, b in zip(first["frames"], last["frames"], strict=True):
                fps[process.decode].append((b - a) / elapsed)
        decodable = [
            each for process, last in zip(processes, final, strict=True)
            if not process.decode for each in last["starts_decodable"] if each is not None
        ]  # fmt: skip
        viewer_core = {True: 0.0, False: 0.0}
        for process, used in zip(processes, load, strict=True):
            viewer_core[process.decode] += used / elapsed
        first_ms = sorted(ms for each in connected for ms in each["first_frame_ms"])
        count = len(things)
        return {
            "viewers": count,
            "core": core,
            "per_viewer": (core - self.idle_core) / count,
            "rss_mib": rss_after / MiB,
            "rss_per_viewer_kib": (rss_after - rss_before) / 1024 / count,
            "fps_received": statistics.mean(fps[False]) if fps[False] else None,
            "fps_received_min": min(fps[False]) if fps[False] else None,
            "fps_decoded": statistics.mean(fps[True]) if fps[True] else None,
            "starts_decodable": f"{sum(1 for d in decodable if d)}/{len(decodable)}",
            "receiving_core": viewer_core[False],
            "decoding_core": viewer_core[True],
            "codecs": sorted({codec for each in connected for codec in each["codecs"]}),
            "first_frame_p50_ms": statistics.median(first_ms),
            "first_frame_p95_ms": first_ms[min(len(first_ms) - 1, int(0.95 * len(first_ms)))],
        }


def show(mode: str, figures: dict[str, Any]) -> None:
    def fps(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    print(
        f"{mode:<22} {figures['viewers']:>3} viewers: hub {figures['core'] * 100:5.1f} % of a"
        f" core, {figures['per_viewer'] * 100:5.2f} % per viewer above pulling,"
        f" RSS {figures['rss_mib']:.0f} MiB (+{figures['rss_per_viewer_kib']:.0f} KiB per"
        f" viewer); fps received {fps(figures['fps_received'])}"
        f" (min {fps(figures['fps_received_min'])}), decoded {fps(figures['fps_decoded'])};"
        f" first units decodable {figures['starts_decodable']}; {','.join(figures['codecs'])};"
        f" viewers' processes {figures['receiving_core'] * 100:.0f} % (receiving) +"
        f" {figures['decoding_core'] * 100:.0f} % (decoding) of a core;"
        f" offer→first picture p50 {figures['first_frame_p50_ms']:.0f} ms"
        f" p95 {figures['first_frame_p95_ms']:.0f} ms",
        flush=True,
    )


def measure(
    bench: Bench,
    cameras: int,
    per_camera: int,
    forwarded_counts: Sequence[int] = FORWARDED_COUNTS,
    transcoded_counts: Sequence[int] = TRANSCODED_COUNTS,
) -> None:
    first = camera(0)
    results: list[dict[str, Any]] = []
    idle = bench.idle()
    print(
        f"pulling {cameras} cameras, no viewer: hub {idle['core'] * 100:.1f} % of a core,"
        f" RSS {idle['rss_mib']:.0f} MiB",
        flush=True,
    )
    results.append({"mode": "pulling", **idle})
    runs: list[tuple[str, list[str], str | None]] = [
        *((f"forwarded, {first}", [first] * n, None) for n in forwarded_counts),
        # before transcoding: the VP8 encoders' memory is not all given back when they end
        *(
            [(
                f"forwarded, {cameras} cameras × {per_camera}",
                [camera(i) for i in range(cameras) for _ in range(per_camera)],
                None,
            )] if per_camera else []
        ),
        *((f"transcoded VP8, {first}", [first] * n, "video/VP8") for n in transcoded_counts),
    ]  # fmt: skip
    for mode, things, codec in runs:
        figures = bench.run(things, codec)
        show(mode, figures)
        results.append({"mode": mode, **figures})
    by_mode = {(r["mode"], r.get("viewers")): r for r in results}
    for count in sorted(set(forwarded_counts) & set(transcoded_counts)):
        forwarded = by_mode[(f"forwarded, {first}", count)]["per_viewer"]
        transcoded = by_mode[(f"transcoded VP8, {first}", count)]["per_viewer"]
        print(
            f"per viewer at {count} viewers of {first}: transcoded / forwarded ="
            f" {transcoded / forwarded:.1f}×",
            flush=True,
        )
    print(json.dumps(results))


# -- the cameras and the hub --------------------------------------------------------------


def encode_clip(directory: Path, size: str, fps: int) -> Path:
    """One 20 s clip every camera plays: the encoding is paid once, not per camera."""
    clip = directory / f"testsrc2-{size}-{fps}.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}", "-t", "20",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(fps * 2), "-pix_fmt", "yuv420p", str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip


def publish_clip(relay: RtspRelay, path: str, clip: Path) -> None:
    publisher = Publisher(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(clip), "-c", "copy",
            "-f", "rtsp", "-rtsp_transport", "udp",
            f"rtsp://127.0.0.1:{relay.source_port}/{path}",
        ]
    )  # fmt: skip
    publisher.start()
    relay.publishers.append(publisher)


RELAY = """
use AnyEvent; use RTSP::Server;
$RTSP::Server::RTP_START_PORT = shift @ARGV;
RTSP::Server->new_with_options->listen;
AnyEvent->condvar->recv;
"""


def free_rtp_block(size: int = 200) -> int:
    """The first port of ``size`` UDP ports between 21000 and 31000 that nothing holds now."""
    taken = {c.laddr.port for c in psutil.net_connections("udp") if c.laddr}
    blocks = [start for start in range(21000, 31000, size)
              if not taken & set(range(start, start + size))]  # fmt: skip
    if not blocks:
        raise RuntimeError("no free block of UDP ports for rtsp-server-perl")
    return blocks[free_port() % len(blocks)]


@contextlib.contextmanager
def rtsp_relay() -> Iterator[RtspRelay]:
    """rtsp-server-perl with RTP ports of its own.

    rtsp-server-perl resets its next RTP port to 20000 whenever it has no stream mounted,
    whatever ``--rtp_start_port`` says; beside another instance on the machine (tests run
    one) its publishers' RECORD then fails (404, the UDP port is taken). Setting the
    package's start port gives this instance its own block of ports.
    """
    client_port, source_port = free_port(), free_port()
    rtp = free_rtp_block()
    process = subprocess.Popen(
        ["perl", "-e", RELAY, str(rtp), "--clientport", str(client_port),
         "--serverport", str(source_port), "--client_listen_address", "127.0.0.1",
         "--source_listen_address", "127.0.0.1", "--rtp_start_port", str(rtp),
         "--loglevel", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    relay = RtspRelay(client_port, source_port, process)
    try:
        wait_for_port(source_port)
        yield relay
    finally:
        relay.stop()


@contextlib.contextmanager
def hub_process(sources: dict[str, str], cpu: int | None) -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", HUB, json.dumps(sources), TOKEN, str(port)], cwd=ROOT
    )
    try:
        hub = psutil.Process(process.pid)
        if cpu is not None:
            hub.cpu_affinity([cpu])
        wait_for_port(port, timeout=30)
        yield port, hub
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_up(port: int, cameras: int) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False) as http:
        for _ in range(600):
            listed = http.get(f"http://127.0.0.1:{port}/api/cameras").json()
            if sum(1 for each in listed if each["health"] == "up") == cameras:
                return
            time.sleep(0.2)
    down = {each["thingId"]: each.get("error") for each in listed if each["health"] != "up"}
    raise TimeoutError(f"cameras still down: {down}")


def main() -> None:
    if sys.argv[1:2] == ["viewers"]:
        viewers_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--cameras", type=int, default=10)
    parser.add_argument("--per-camera", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hub-cpu", type=int, help="pin the hub to this core")
    parser.add_argument(
        "--pin-viewers", action="store_true", help="keep the viewers off the hub's core"
    )
    parser.add_argument("--viewer-processes", type=int, default=2)
    parser.add_argument(
        "--profile", type=Path, help="sample the hub with py-spy in each run, into this directory"
    )
    parser.add_argument("--forwarded", default=",".join(map(str, FORWARDED_COUNTS)))
    parser.add_argument("--transcoded", default=",".join(map(str, TRANSCODED_COUNTS)))
    args = parser.parse_args()
    viewer_cpus = None
    if args.hub_cpu is not None and args.pin_viewers:
        viewer_cpus = [c for c in range(psutil.cpu_count() or 1) if c != args.hub_cpu] or None
    with tempfile.TemporaryDirectory() as scratch, rtsp_relay() as relay:
        clip = encode_clip(Path(scratch), args.size, args.fps)
        sources = {}
        for index in range(args.cameras):
            path = f"bench/cam-{index + 1:02d}"
            publish_clip(relay, path, clip)
            relay.wait_published(path)
            sources[camera(index)] = relay.url(path)
        with hub_process(sources, args.hub_cpu) as (port, hub):
            wait_up(port, args.cameras)
            pinned = "" if args.hub_cpu is None else f", pinned to core {args.hub_cpu}"
            print(
                f"{args.cameras} cameras {args.size} at {args.fps} fps, H.264, clip"
                f" {clip.stat().st_size * 8 / 20 / 1000:.0f} kbit/s;"
                f" hub pid {hub.pid} port {port}{pinned}",
                flush=True,
            )
            bench = Bench(port, hub, args.seconds, args.viewer_processes, viewer_cpus, args.profile)
            measure(
                bench,
                args.cameras,
                args.per_camera,
                [int(n) for n in args.forwarded.split(",")],
                [int(n) for n in args.transcoded.split(",")],
            )


if __name__ == "__main__":
    main()
