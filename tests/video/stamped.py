"""A camera whose every frame carries its capture time, published to rtsp-server-perl.

The glass-to-glass figure and the browser's stamp reader need frames that say when they
were drawn. ``StampedCamera`` is such a camera: a thread renders a moving picture with
numpy, burns ``twins.capture_stamp`` into its top rows with the wall clock read at render
time, encodes it with PyAV's libx264 (ultrafast, zerolatency: no B-frames, as a camera;
a keyframe every ``gop_seconds``) and publishes it over RTSP to the relay's source port.
It closes its RTSP session on ``stop`` (a TEARDOWN), so the relay serves the path to a
later publisher again, and it reopens a session the relay refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from twins.capture_stamp import CaptureStamp, burn

logger = logging.getLogger(__name__)


class StampedCamera:
    """One publishing thread; ``frames`` counts what it has encoded (a context manager)."""

    def __init__(
        self,
        source_url: str,
        *,
        width: int = 320,
        height: int = 240,
        fps: int = 10,
        gop_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source_url = source_url
        self.width = width
        self.height = height
        self.fps = fps
        self.gop = max(1, round(fps * gop_seconds))
        self.clock = clock
        self.frames = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stamped camera", daemon=True)

    def __enter__(self) -> StampedCamera:
        self._thread.start()
        if not self._opened.wait(20):
            self.stop()
            raise RuntimeError(f"the stamped camera did not publish to {self.source_url}") from (
                self.error
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _picture(self, index: int) -> np.ndarray:
        """A yuv420p frame: a luma ramp that moves, grey chroma."""
        width, height = self.width, self.height
        columns = (np.arange(width, dtype=np.uint16) * 2 + index * 4) % 200 + 28
        luma = np.broadcast_to(columns.astype(np.uint8), (height, width))
        planes = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        planes[:height] = luma
        return planes

    def _run(self) -> None:
        # a relay that has just opened its port was seen to refuse the first ANNOUNCE
        # ("Invalid data found when processing input"): try again, as a camera does
        while not self._stop.is_set():
            try:
                self._publish()
            except (av.FFmpegError, OSError) as exc:
                logger.warning("stamped camera %s: %s; retrying", self.source_url, exc)
                self.error = exc
                self._stop.wait(0.5)

    def _publish(self) -> None:
        container = av.open(
            self.source_url, mode="w", format="rtsp", options={"rtsp_transport": "udp"}, timeout=5
        )
        try:
            stream = container.add_stream("libx264", rate=Fraction(self.fps))
            stream.width = self.width
            stream.height = self.height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.thread_count = 1
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(self.gop)}
            period = 1 / self.fps
            due = time.monotonic()
            index = 0
            while not self._stop.is_set():
                planes = self._picture(index)
                now = self.clock()
                burn(planes[: self.height], CaptureStamp(wall=now, scenario=now))
                frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
                frame.pts = index
                for packet in stream.encode(frame):
                    container.mux(packet)
                self.frames += 1
                self._opened.set()
                index += 1
                due += period
                self._stop.wait(max(0.0, due - time.monotonic()))
            for packet in stream.encode(None):
                container.mux(packet)
        finally:
            container.close()
