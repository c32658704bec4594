"""What the video hub costs with presence analytics on: decoding options, and 95 cameras.

    .venv/bin/python benchmarks/presence_mix_bench.py decode
    .venv/bin/python benchmarks/presence_mix_bench.py mix [--seconds 60] [--fps 5] [--gop 2]

Clips: a few seconds of the simulators' counter-desk scene (``simulators.scenes``, 320x240)
encoded as the simulators encode (libx264 ultrafast, zerolatency, crf 28), looped:

- quiet: the empty desk, nothing moves;
- seated: the officer at the desk, still;
- busy: a citizen walks past the counter without stopping (the picture moves between any
  two samples, so every sample is detected) while the officer comes and goes every 1.5 s.

``decode``: CPU per camera of decoding a clip (in this process, as fast as it goes,
divided by the clip's duration) for each way the hub can decode for 1 sample/s — every
frame with FFmpeg's automatic thread count (what the hub did), every frame on one thread,
and only the packets the samples need (``video.sampling``) — at 10 and 5 fps, keyframes
every 2 s and 1 s. Demuxing and RTSP are the same for all and not in these figures.

``mix``: the real hub (``video.service.create_video_app``, its own process, uvicorn)
pulling ``--cameras`` RTSP streams from rtsp-server-perl, published by ``ffmpeg -re
-stream_loop -1 -c copy`` from the clips (so publishers cost next to nothing), their
twins (with a desk zone each) in the embedded twin service of this process. The hub's
CPU (``psutil``: its threads, grouped) is measured over ``--seconds`` once every camera is
up and analysed:

- the scenario-like mix: 23 desks with a still officer, 5 busy, the rest quiet; with
  presence off (the hub pulling the same streams: the baseline) and on;
- one scene at a time (``--quiet-cameras``, ``--busy-cameras``), off and on: the CPU per
  camera of a quiet and of a busy scene.

Prints its figures; takes 10–15 minutes. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from simulators.scenario import CameraScene
from simulators.scenes import Image, SceneRenderer, SceneState, sprite
from tests.services import free_port, serve_in_thread, wait_for_port
from tests.twins.conftest import SERVICE_PASSWORD
from tests.video.streams import Publisher, RtspRelay
from twins.definitions import default_policy, thing_for_device
from twins.kinds import DeviceKind, Sector
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings
from video.presence import luma
from video.sampling import SamplePlan

SCENES = ("quiet", "seated", "busy")
CLIP_SECONDS = 20
DESK = [[0.3, 0.1], [0.7, 0.1], [0.7, 0.7], [0.3, 0.7]]
CLIPS = Path(tempfile.gettempdir()) / "citytwin-presence-clips"


# -- clips ---------------------------------------------------------------------------------


def render(renderer: SceneRenderer, scene: str, t: float, index: int) -> Image:
    officer = scene == "seated" or (scene == "busy" and int(t / 1.5) % 2 == 0)
    image = renderer.render(SceneState(CameraScene.COUNTER_DESK, officer=officer), index)
    if scene == "busy":  # the citizen crosses the picture every 5 s
        h, w = image.shape[:2]
        walker = sprite("visitor", int(h * 0.55))
        x = int((t % 5.0) / 5.0 * (w + walker.shape[1])) - walker.shape[1] // 2
        SceneRenderer._paste(image, walker, x, int(h * 0.4))
    return image


def clip(scene: str, fps: int, gop: float) -> Path:
    """The clip of ``scene`` (encoded once, kept in the temp dir)."""
    path = CLIPS / f"{scene}-{fps}fps-gop{gop:g}-v2.mp4"
    if path.exists():
        return path
    CLIPS.mkdir(exist_ok=True)
    renderer = SceneRenderer(320, 240)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {
            "preset": "ultrafast", "tune": "zerolatency", "g": str(round(fps * gop)),
            "crf": "28",
        }  # fmt: skip
        for index in range(CLIP_SECONDS * fps):
            image = render(renderer, scene, index / fps, index)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    partial.rename(path)
    return path


# -- decode --------------------------------------------------------------------------------


def decode_cost(path: Path, option: str, repeats: int = 10) -> tuple[float, int, int]:
    """(% of a core per camera, pictures decoded, samples) for decoding ``path`` as ``option``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [packet for packet in container.demux(stream) if packet.size]
        extradata = stream.codec_context.extradata
        duration = len(packets) / float(stream.average_rate or 1)
    decoded = samples = 0
    began = time.process_time()
    for repeat in range(repeats):
        context = av.CodecContext.create("h264", "r")
        context.extradata = extradata
        context.thread_type = "SLICE"
        context.thread_count = 0 if option == "every frame, automatic threads" else 1
        plan = SamplePlan(1.0, skip=option == "sampled packets only")
        for packet in packets:
            at = float((packet.pts or 0) * packet.time_base) + repeat * duration
            if not plan.wants(packet.is_keyframe, at):
                continue
            for frame in context.decode(packet):
                decoded += 1
                if plan.take(at, frame.key_frame):
                    samples += 1
                    luma(frame)  # what the presence sink copies of a sample
    used = time.process_time() - began
    return used / (duration * repeats) * 100, decoded // repeats, samples // repeats


def decode_main() -> None:
    options = ("every frame, automatic threads", "every frame, 1 thread", "sampled packets only")
    print(f"decoding for 1 sample/s, 320x240, {CLIP_SECONDS} s clips (CPU per camera)")
    for fps in (10, 5):
        for gop in (2.0, 1.0):
            for scene in ("quiet", "busy"):
                path = clip(scene, fps, gop)
                for option in options:
                    cost, decoded, samples = decode_cost(path, option)
                    print(
                        f"  {fps:2d} fps, GOP {gop:g} s, {scene:6s} {option:32s}"
                        f" {cost:6.3f} % of a core; {decoded:3d} of {CLIP_SECONDS * fps}"
                        f" pictures decoded, {samples} samples"
                    )


# -- mix -----------------------------------------------------------------------------------

HUB = """
import json, sys, threading, time
import psutil, uvicorn
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings
config = json.loads(sys.argv[1])
settings = VideoSettings.model_validate(config["settings"])
runtime = VideoRuntime(settings=settings, cameras=config["cameras"],
                       twins_url=config["twins"], twins_password=config["password"])
app = create_video_app(runtime)
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=config["port"],
                                       log_level="warning"))

def group(name):
    if name.startswith("camera "):
        return "pull + decode (camera threads)"
    if name.startswith("presence"):
        return "analysis (presence worker)"
    if name == "MainThread":
        return "event loop"
    return "other Python threads"

def threads():
    names = {t.native_id: t.name for t in threading.enumerate()}
    used = {}
    for t in psutil.Process().threads():
        key = group(names[t.id]) if t.id in names else "native threads (OpenCV, FFmpeg)"
        used[key] = used.get(key, 0.0) + t.user_time + t.system_time
    return used

def counters():
    sources = app.state.hub.sources
    presence = getattr(app.state, "presence", None)
    analysed = presence.cameras if presence is not None else {}
    return {
        "up": sum(s.health_seen().state == "up" for s in sources.values()),
        "samples": sum(getattr(s, "samples", 0) for s in sources.values()),
        "decoded": sum(getattr(s, "decoding", (0, 0))[0] for s in sources.values()),
        "skipped": sum(getattr(s, "decoding", (0, 0))[1] for s in sources.values()),
        "analysed": len(analysed),
        "detections": sum(a.presence.detections for a in analysed.values()),
        "dropped": sum(a.dropped for a in analysed.values()),
    }

def measure():
    cameras = len(config["cameras"])
    deadline = time.monotonic() + config["settle"]
    while time.monotonic() < deadline:
        time.sleep(1)
        seen = counters() if server.started else None
        ready = seen and seen["up"] == cameras and (
            not config["presence"] or seen["analysed"] == cameras)
        if ready:
            break
    time.sleep(config["warmup"])
    before, counted = threads(), counters()
    cpu, wall = psutil.Process().cpu_times(), time.monotonic()
    time.sleep(config["seconds"])
    after, counted_after, cpu_after = threads(), counters(), psutil.Process().cpu_times()
    elapsed = time.monotonic() - wall
    result = {
        "total": (cpu_after.user + cpu_after.system - cpu.user - cpu.system) / elapsed,
        "groups": {k: (v - before.get(k, 0.0)) / elapsed for k, v in after.items()},
        "counters": {k: counted_after[k] - counted[k] for k in counted},
        "up": counted_after["up"], "analysed": counted_after["analysed"], "elapsed": elapsed,
    }
    with open(config["out"], "w") as out:
        json.dump(result, out)
    server.should_exit = True

threading.Thread(target=measure, name="bench-measure", daemon=True).start()
server.run()
"""


RELAY = (
    "use AnyEvent; use RTSP::Server; $RTSP::Server::RTP_START_PORT = shift @ARGV;"
    " my $s = RTSP::Server->new_with_options; $s->listen; my $d = AnyEvent->condvar;"
    " $SIG{INT} = $SIG{TERM} = sub { $d->send }; $d->recv;"
)
"""rtsp-server-perl, its RTP ports kept from ``--rtp_start_port`` on: the packaged script
resets them to 20000 whenever it has no mount, where other relays on this host bind too."""


@contextmanager
def relay_on(rtp_start_port: int) -> Iterator[RtspRelay]:
    client_port, source_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            "perl", "-e", RELAY, str(rtp_start_port),
            "--clientport", str(client_port), "--serverport", str(source_port),
            "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
            "--rtp_start_port", str(rtp_start_port), "--loglevel", "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    relay = RtspRelay(client_port, source_port, process)
    try:
        wait_for_port(source_port)
        yield relay
    finally:
        relay.stop()


@contextmanager
def twin_service(state: Path) -> Iterator[str]:
    store = TwinStore.open(state / "twins.sqlite")
    app = create_twin_app(store, TwinSettings(), SERVICE_PASSWORD)
    try:
        with serve_in_thread(app, free_port()) as url:
            yield url
    finally:
        store.close()


def publish(relay: RtspRelay, path: str, source: Path) -> Publisher:
    publisher = Publisher(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-stream_loop", "-1", "-i", str(source), "-c", "copy",
            "-f", "rtsp", "-rtsp_transport", "udp",
            f"rtsp://127.0.0.1:{relay.source_port}/{path}",
        ]
    )  # fmt: skip
    publisher.start()
    relay.publishers.append(publisher)
    return publisher


class Bench:
    """The relay, the publishers and the twins of every camera a run may pull."""

    def __init__(
        self, stack: ExitStack, state: Path, fps: int, gop: float, rtp_start_port: int
    ) -> None:
        self.relay = stack.enter_context(relay_on(rtp_start_port))
        self.twins = stack.enter_context(twin_service(state))
        self.state = state
        self.fps, self.gop = fps, gop
        self.cameras: dict[str, list[str]] = {scene: [] for scene in SCENES}

    def add(self, scene: str, count: int) -> None:
        from twins.client import DittoClient

        clip_path = clip(scene, self.fps, self.gop)
        with DittoClient(self.twins, "citytwin", SERVICE_PASSWORD) as client:
            for _ in range(count):
                index = len(self.cameras[scene]) + 1
                namespace = "bench.presence"
                name = f"cam-{scene}-{index:02d}"
                thing_id, path = f"{namespace}:{name}", f"{namespace}/{name}"
                thing = thing_for_device(
                    thing_id, DeviceKind.CAMERA, namespace, Sector.PUBLIC_ADMINISTRATION
                )
                thing["features"]["stream"]["properties"]["url"] = self.relay.url(path)
                thing["features"]["zones"]["properties"]["zones"] = [
                    {"id": "officer", "type": "desk", "polygon": DESK}
                ]
                client.put_policy(default_policy(thing_id, "nginx:citytwin"))
                client.put_thing(thing)
                publish(self.relay, path, clip_path)
                self.cameras[scene].append(thing_id)
        for thing_id in self.cameras[scene][-count:]:
            self.relay.wait_published(thing_id.replace(":", "/"), within=60)

    def run(
        self,
        cameras: list[str],
        presence: bool,
        seconds: float,
        warmup: float,
        decoding: str = "sampled",
        tree: Path | None = None,
    ) -> dict[str, Any]:
        out = self.state / f"hub-{time.monotonic_ns()}.json"
        settings: dict[str, Any] = {"presence": {"enabled": presence}}
        if tree is None:
            settings["decoding"] = {"analytics": decoding}
        config = {
            "settings": settings,
            "cameras": cameras,
            "twins": self.twins,
            "password": SERVICE_PASSWORD,
            "port": free_port(),
            "presence": presence,
            "settle": 60,
            "warmup": warmup,
            "seconds": seconds,
            "out": str(out),
        }
        root = Path(__file__).resolve().parent.parent
        path = f"{tree}:{root}" if tree else str(root)
        process = subprocess.run(
            [sys.executable, "-c", HUB, json.dumps(config)],
            env={**os.environ, "PYTHONPATH": path},
            cwd=self.state,  # not the checkout: `python -c` puts the cwd first on the path
            timeout=120 + warmup + seconds + 60,
            check=False,
        )
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(f"the hub exited with {process.returncode} and no figures")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def report(label: str, result: dict[str, Any], cameras: int) -> None:
    counters = result["counters"]
    elapsed = result["elapsed"]
    analysed = counters["samples"] - counters["dropped"]
    print(
        f"  {label}: {result['total'] * 100:6.1f} % of a core"
        f" ({result['total'] * 100 / cameras:5.2f} % per camera); {result['up']}/{cameras} up,"
        f" {result['analysed']} analysed; per camera {counters['samples'] / elapsed / cameras:.2f}"
        f" samples/s taken, {analysed / elapsed / cameras:.2f} analysed"
        f" ({counters['dropped']} dropped by the queues); {counters['detections'] / elapsed:.1f}"
        f" detections/s; packets decoded/skipped for samples"
        f" {counters['decoded']}/{counters['skipped']}"
    )
    for name, share in sorted(result["groups"].items()):
        print(f"      {name:36s} {share * 100:6.1f} %")


def mix_main(args: argparse.Namespace) -> None:
    desks, busy = 23, 5
    quiet = args.cameras - desks - busy
    with ExitStack() as stack, tempfile.TemporaryDirectory() as state:
        bench = Bench(stack, Path(state), args.fps, args.gop, args.rtp_start_port)
        bench.add("seated", desks)
        bench.add("busy", max(busy, args.busy_cameras))
        bench.add("quiet", max(quiet, args.quiet_cameras))
        mix = (
            bench.cameras["seated"] + bench.cameras["busy"][:busy] + bench.cameras["quiet"][:quiet]
        )
        print(
            f"mix: {len(mix)} cameras ({desks} desks with a still officer, {busy} busy,"
            f" {quiet} quiet), 320x240 at {args.fps} fps, keyframe every {args.gop:g} s,"
            f" 1 sample/s; hub CPU over {args.seconds:g} s"
        )
        runs: list[tuple[str, list[str], bool, str, Path | None]] = [
            ("presence off (baseline)", mix, False, "sampled", None),
            ("presence on, sampled decoding", mix, True, "sampled", None),
        ]
        if args.every_frame:
            runs.append(("presence on, every frame decoded", mix, True, "every_frame", None))
        if args.before:
            runs.append(
                ("presence on, hub before (every frame to the loop)", mix, True, "", args.before)
            )
        for scene, count in (("quiet", args.quiet_cameras), ("busy", args.busy_cameras)):
            if count:
                cameras = bench.cameras[scene][:count]
                runs.append(
                    (f"{len(cameras)} {scene}, presence off", cameras, False, "sampled", None)
                )
                runs.append(
                    (f"{len(cameras)} {scene}, presence on", cameras, True, "sampled", None)
                )
        for label, cameras, presence, decoding, tree in runs:
            result = bench.run(
                cameras, presence, args.seconds, args.warmup, decoding or "sampled", tree
            )
            report(label, result, len(cameras))
            sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("decode", help="decoding options, per camera")
    mix = commands.add_parser("mix", help="the hub pulling the scenario-like mix")
    mix.add_argument("--cameras", type=int, default=95)
    mix.add_argument("--fps", type=int, default=5)
    mix.add_argument("--gop", type=float, default=2.0)
    mix.add_argument("--seconds", type=float, default=60.0)
    mix.add_argument("--warmup", type=float, default=15.0)
    mix.add_argument(
        "--rtp-start-port", type=int, default=12000, help="first RTP port of the relay"
    )
    mix.add_argument("--quiet-cameras", type=int, default=20, help="single-scene run (0: none)")
    mix.add_argument("--busy-cameras", type=int, default=5, help="single-scene run (0: none)")
    mix.add_argument("--every-frame", action="store_true", help="also run with every frame decoded")
    mix.add_argument(
        "--before", type=Path, default=None,
        help="a tree with an older video/ package to run the hub from as well",
    )  # fmt: skip
    args = parser.parse_args()
    if args.command == "decode":
        decode_main()
    else:
        mix_main(args)


if __name__ == "__main__":
    main()
