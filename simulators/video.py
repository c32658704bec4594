"""Camera video: H.264 over RTSP through one rtsp-server-perl relay.

``rtsp-server-perl`` (Debian package of the same name) accepts publishers on a source port
(RTSP ANNOUNCE/RECORD) and serves viewers on a client port (RTP over UDP), one path per
stream: ``rtsp://{host}:{client_port}/{namespace}/{name}``. Each streamed camera is a thread
that renders its scene with numpy, encodes it with PyAV (libx264, ultrafast, zerolatency,
a keyframe every ``gop_s`` seconds so a viewer starts quickly) and publishes it over the
RTSP muxer. Encoding never runs on the event loop; a thread per stream keeps the camera's
pace (``fps``) independent of the simulated clock's speed.

Every frame carries its capture time burned into its top rows (``twins.capture_stamp``):
the wall clock when it was rendered and the scenario time of the scene it shows, so what
decodes it — the hub's presence analytics, a browser — dates what it sees by the
scenario's clock, and glass-to-glass latency can be read off the picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from types import TracebackType
from urllib.parse import urlsplit

import av

from simulators.errors import VideoError
from simulators.scenario import VideoSettings
from simulators.scenes import SceneRenderer, SceneState
from twins.backoff import Backoff
from twins.capture_stamp import CaptureStamp, burn
from twins.thing_id import ThingId

logger = logging.getLogger(__name__)

RTSP_SERVER = "rtsp-server-perl"
PUBLISH_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

RELAY_SCRIPT = """# rtsp-server-perl, keeping its RTP ports where it is told
use strict; use warnings; use AnyEvent; use RTSP::Server;
$RTSP::Server::RTP_START_PORT = shift @ARGV;
my $server = RTSP::Server->new_with_options;
$server->listen;
my $done = AnyEvent->condvar;
$SIG{INT} = $SIG{TERM} = sub { $done->send };
$done->recv;
"""
"""``/usr/bin/rtsp-server-perl`` with one fix. The relay hands out RTP ports from a counter
that starts at ``--rtp_start_port``, but whenever it has no mounts — at start, after the
first connection that closes — it resets the counter to the module's ``$RTP_START_PORT``,
20000, whatever it was told. Two relays on one host then bind the same ports: the second's
RTP listener fails, its publisher's RECORD is refused (FFmpeg: "Invalid data found when
processing input"), the path stays mounted without data (every later publisher gets 403)
and viewers time out. Setting the module variable to the configured start keeps each
relay in its own range."""


def relay_command(
    *, client_port: int, source_port: int, host: str, rtp_start_port: int
) -> list[str]:
    """The command that runs the RTSP relay (sources on loopback, viewers on ``host``)."""
    return [
        "perl", "-e", RELAY_SCRIPT, str(rtp_start_port),
        "--clientport", str(client_port),
        "--serverport", str(source_port),
        "--client_listen_address", host,
        "--source_listen_address", "127.0.0.1",
        "--rtp_start_port", str(rtp_start_port),
        "--loglevel", "1",
    ]  # fmt: skip


def release_path(source_url: str, timeout: float = 1.0) -> None:
    """Unmount ``source_url`` on the relay, which a failed publish may have left behind.

    rtsp-server-perl removes a publisher's path only on RTSP TEARDOWN: when a publish
    fails after its ANNOUNCE was accepted (a timeout under load, a reset), the path stays
    mounted and every later ANNOUNCE of it is answered 403 Forbidden — the camera would
    never stream again. A TEARDOWN of the path on a new connection unmounts it (the relay
    does not answer it; the connection is closed after ``timeout``). Only this camera
    publishes on its path, so nothing else is torn down.
    """
    parts = urlsplit(source_url)
    request = f"TEARDOWN {source_url} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode()
    try:
        with socket.create_connection((parts.hostname, parts.port or 554), timeout) as conn:
            conn.sendall(request)
            with contextlib.suppress(TimeoutError):
                conn.recv(1024)
    except OSError as exc:
        logger.debug("TEARDOWN of %s: %s", source_url, exc)


class CameraStream:
    """One camera's encoder thread; ``frames`` and ``bytes`` grow while it publishes,
    ``dropped`` counts the frames it was too late to render (the machine is too busy)."""

    def __init__(
        self,
        thing_id: ThingId,
        settings: VideoSettings,
        scene: Callable[[], SceneState],
        renderer: SceneRenderer,
    ) -> None:
        path = f"{thing_id.namespace}/{thing_id.name}"
        self.thing_id = thing_id
        self.url = f"rtsp://{settings.host}:{settings.client_port}/{path}"
        self.source_url = f"rtsp://127.0.0.1:{settings.source_port}/{path}"
        self.settings = settings
        self.frames = 0
        self.bytes = 0
        self.dropped = 0
        self.published = threading.Event()
        """Set once the relay has the first packets, so players opening ``url`` find it."""
        self._scene = scene
        self._renderer = renderer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"video {thing_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    async def wait_published(self, within_s: float) -> bool:
        """Whether the stream reached the relay within ``within_s`` seconds (polled, as the
        flag is set from the encoder thread)."""
        deadline = time.monotonic() + within_s
        while not self.published.is_set():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(PUBLISH_POLL_S)
        return True

    def _run(self) -> None:
        backoff = Backoff(first=0.5, maximum=10.0)
        while not self._stop.is_set():
            try:
                self._publish()
                backoff.reset()
            except (av.FFmpegError, OSError) as exc:
                logger.warning("%s: stream to %s failed: %s", self.thing_id, self.source_url, exc)
                release_path(self.source_url)
                self._stop.wait(backoff.next_delay())

    def _publish(self) -> None:
        settings = self.settings
        fps = Fraction(settings.fps).limit_denominator(1000)
        container = av.open(
            self.source_url, mode="w", format="rtsp", options={"rtsp_transport": "udp"}, timeout=5
        )
        try:
            stream = container.add_stream("libx264", rate=fps)
            stream.width = settings.width
            stream.height = settings.height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.thread_count = 1
            stream.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "g": str(settings.gop_frames()),
                "crf": "28",
            }
            period = 1 / settings.fps
            due = time.monotonic()
            index = 0
            while not self._stop.is_set():
                state = self._scene()
                wall = time.time()
                image = self._renderer.render(state, index)
                if settings.capture_stamp:
                    scenario = wall if state.at is None else state.at
                    burn(image, CaptureStamp(wall=wall, scenario=scenario))
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                for packet in stream.encode(frame):
                    container.mux(packet)
                    self.bytes += packet.size
                    self.published.set()
                self.frames += 1
                index += 1
                due += period
                behind = time.monotonic() - due
                if behind > period:  # too slow for its rate: drop frames, as a camera does
                    missed = int(behind / period)
                    self.dropped += missed
                    index += missed
                    due += missed * period
                self._stop.wait(max(0.0, due - time.monotonic()))
            for packet in stream.encode(None):
                container.mux(packet)
        finally:
            container.close()


class VideoPool:
    """The RTSP relay and the camera streams feeding it (an async context manager)."""

    def __init__(self, settings: VideoSettings) -> None:
        self.settings = settings
        self.streams: dict[ThingId, CameraStream] = {}
        self._renderer = SceneRenderer(settings.width, settings.height)
        self._server: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> VideoPool:
        if shutil.which(RTSP_SERVER) is None:
            raise VideoError(
                f"{RTSP_SERVER} is not installed (apt-get install rtsp-server-perl);"
                " run without video (--no-video) or install it"
            )
        s = self.settings
        command = relay_command(
            client_port=s.client_port,
            source_port=s.source_port,
            host=s.host,
            rtp_start_port=s.rtp_start_port,
        )
        self._server = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            await _wait_for_port("127.0.0.1", s.source_port, self._server)
        except VideoError:
            await self._stop_server()
            raise
        logger.info(
            "RTSP relay on %s:%d (viewers), 127.0.0.1:%d (sources)",
            s.host, s.client_port, s.source_port,
        )  # fmt: skip
        return self

    def add(self, thing_id: ThingId, scene: Callable[[], SceneState]) -> CameraStream:
        stream = CameraStream(thing_id, self.settings, scene, self._renderer)
        self.streams[thing_id] = stream
        stream.start()
        return stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for stream in self.streams.values():
            stream.stop()
        for stream in self.streams.values():
            await asyncio.to_thread(stream.join, 10.0)
        await self._stop_server()

    async def _stop_server(self) -> None:
        server = self._server
        if server is None or server.returncode is not None:
            return
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()


async def _wait_for_port(host: str, port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise VideoError(
                f"{RTSP_SERVER} exited with status {process.returncode} (port {port} in use?)"
            )
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            return
        await asyncio.sleep(0.1)
    raise VideoError(f"{RTSP_SERVER} does not listen on {host}:{port} after 15 s")


def _die_with_parent() -> None:
    """Run in the relay before exec: SIGTERM when the simulator dies, even by SIGKILL.

    The relay has a session of its own (Ctrl-C in a terminal must reach the simulator,
    which stops it in order), so a supervisor killing the simulator's process group
    would otherwise leave it holding its ports.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
