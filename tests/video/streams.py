"""Real H.264 camera streams for video tests: rtsp-server-perl fed by ffmpeg.

``RtspRelay`` is Debian's rtsp-server-perl on free ports, started as the simulators start
it (``simulators.video.relay_command``, which keeps its RTP ports apart from another's);
``publish`` starts an ffmpeg that encodes a test pattern with libx264 (ultrafast,
zerolatency: no B-frames, as a camera) and publishes it on a path, so a test can kill the
"camera" and bring it back. Every process dies with the test process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from simulators.video import relay_command
from tests.services import free_port, wait_for_port
from tests.simulators.conftest import free_udp_range

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def have_rtsp() -> bool:
    return shutil.which("rtsp-server-perl") is not None and shutil.which("ffmpeg") is not None


@dataclass
class Publisher:
    """An ffmpeg publishing a test pattern as H.264 to the relay."""

    argv: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    def stop(self) -> None:
        """Stop publishing as an encoder that shuts down does (RTSP TEARDOWN).

        rtsp-server-perl keeps the path of a publisher killed without TEARDOWN and serves
        no later publisher on it, so tests end a camera's stream this way.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@dataclass
class RtspRelay:
    """rtsp-server-perl on loopback: publishers on ``source_port``, viewers on ``client_port``."""

    client_port: int
    source_port: int
    process: subprocess.Popen[bytes]
    publishers: list[Publisher] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/{path}"

    def publish(
        self, path: str, *, size: str = "320x240", fps: int = 10, gop: int = 20
    ) -> Publisher:
        publisher = Publisher(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                "-g", str(gop), "-pix_fmt", "yuv420p", "-threads", "1",
                "-f", "rtsp", "-rtsp_transport", "udp",
                f"rtsp://127.0.0.1:{self.source_port}/{path}",
            ]
        )  # fmt: skip
        publisher.start()
        self.publishers.append(publisher)
        return publisher

    def wait_published(self, path: str, within: float = 20.0) -> None:
        """Block until the relay serves ``path`` (RTSP ``DESCRIBE`` answers 200).

        A hub that opens a path before its publisher has announced it was seen to stay
        down (FFmpeg's "Immediate exit requested" on every reopening), so tests that start
        publishers and a hub together wait for this first.
        """
        deadline = time.monotonic() + within
        request = f"DESCRIBE {self.url(path)} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode()
        while True:
            with socket.create_connection(("127.0.0.1", self.client_port), timeout=5) as conn:
                conn.sendall(request)
                status = conn.recv(64).split(b"\r\n", 1)[0]
            if b" 200 " in status + b" ":
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the RTSP relay does not serve {path!r}: {status!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        for publisher in self.publishers:
            publisher.kill()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextlib.contextmanager
def rtsp_relay() -> Iterator[RtspRelay]:
    client_port, source_port = free_port(), free_port()
    process = subprocess.Popen(
        relay_command(
            client_port=client_port,
            source_port=source_port,
            host="127.0.0.1",
            rtp_start_port=free_udp_range(),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    relay = RtspRelay(client_port, source_port, process)
    try:
        wait_for_port(source_port)
        yield relay
    finally:
        relay.stop()
