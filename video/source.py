"""One camera's stream, pulled once: PyAV in a thread, reconnecting with backoff.

The thread opens the URL (RTSP from the camera, a file, anything FFmpeg opens), reads
encoded packets, stamps them on a 90 kHz arrival clock and hands them to the event loop,
where ``CameraSource`` keeps the GOP and passes each packet to its packet sinks (viewer
tracks). Frames are decoded — in the same thread, once, as ``yuv420p`` — only while a
frame sink (a transcoding viewer, analytics) is attached, starting with the thread's own
copy of the current GOP so the first picture comes at once: a camera forwarded as H.264 is
never decoded. A sink that wants samples (analytics, ``add_frame_sink(sink, every=…)``)
gets one picture per period, chosen in this thread, and while no sink wants every frame
only the packets those samples need are decoded (``video.sampling``, ``video.decoding``
settings); the other pictures never reach the event loop. ``yuv420p`` matters: aiortc's
encoders reformat any other format in their own threads, and a frame shared by two
viewers then crashes them (aiortc #767/#1206).

A read that waits longer than ``read_timeout_seconds`` ends the attempt; the stream is
down until a packet arrives again. Files are read at their own pace (as ``ffmpeg -re``)
and start over at their end.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.bitstream
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame

from twins.backoff import Backoff
from video.packets import (
    NAL_IDR,
    VIDEO_CLOCK,
    EncodedPacket,
    GopCache,
    is_annex_b,
    nal_types,
    with_parameter_sets,
)
from video.sampling import SamplePlan
from video.settings import AnalyticsDecoding, RtspTransport, VideoSettings

logger = logging.getLogger(__name__)

PacketSink = Callable[[EncodedPacket], None]
FrameSink = Callable[[VideoFrame], None]


class StreamState(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(slots=True, frozen=True)
class StreamHealth:
    """What the hub measured of one camera's stream over the last interval."""

    state: StreamState
    since: float
    """Epoch seconds of the last change of ``state``."""
    fps: float
    kbps: float
    last_frame_at: float | None
    """Epoch seconds of the last packet received."""
    error: str | None
    codec: str | None
    width: int | None
    height: int | None


class CameraSource:
    """A camera's stream for every viewer and analysis; loop-side state, one puller thread."""

    def __init__(
        self,
        thing_id: str,
        url: str | None,
        settings: VideoSettings,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.thing_id = thing_id
        self.settings = settings
        self.gop = GopCache(settings.gop_max_packets)
        self.codec: str | None = None
        self.extradata: bytes = b""
        self.width: int | None = None
        self.height: int | None = None
        self.latest_frame: VideoFrame | None = None
        self._url = url
        self._loop = loop
        self._packet_sinks: list[PacketSink] = []
        self._frame_sinks: list[FrameSink] = []
        self._sample_sinks: list[tuple[FrameSink, float]] = []
        self._sample_period: float | None = None
        """The shortest period of the sample sinks (read by the puller thread)."""
        self.samples = 0
        """Pictures handed to the sample sinks."""
        self._stop = threading.Event()
        self._url_changed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera {thing_id}", daemon=True)
        self._clock_origin = time.monotonic()
        self._lock = threading.Lock()
        self._state = StreamState.DOWN
        self._since = time.time()
        self._error: str | None = "not opened yet" if url else "no stream URL known"
        self._frames = 0
        self._bytes = 0
        self._last_packet: float | None = None
        self._sampled = (time.monotonic(), 0, 0)
        self._last_health: StreamHealth | None = None
        self._codec_known = asyncio.Event()
        self._plan: SamplePlan | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        return self._url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the sinks are called on (attach them from it)."""
        return self._loop

    def set_url(self, url: str | None) -> None:
        """Pull from ``url`` from now on (the twin said where the stream is)."""
        if url != self._url:
            logger.info("%s: stream URL %s", self.thing_id, url)
            self._url = url
            self._url_changed.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._url_changed.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # -- sinks (event loop only) ------------------------------------------------------------

    def add_packet_sink(self, sink: PacketSink) -> list[EncodedPacket]:
        """Attach ``sink``; returns the cached GOP it should be sent first."""
        self._packet_sinks.append(sink)
        return self.gop.snapshot()

    def remove_packet_sink(self, sink: PacketSink) -> None:
        if sink in self._packet_sinks:
            self._packet_sinks.remove(sink)

    def add_frame_sink(self, sink: FrameSink, every: float | None = None) -> None:
        """Attach ``sink`` to the decoded pictures (shared ``yuv420p`` frames): every one,
        or — ``every`` seconds — one sample per period (the shortest period asked by any
        sink; each sample goes to every sample sink)."""
        if every is None:
            self._frame_sinks.append(sink)
            return
        if every <= 0:
            raise ValueError(f"{self.thing_id}: a sample period must be positive, not {every}")
        self._sample_sinks.append((sink, every))
        self._sample_period = min(period for _, period in self._sample_sinks)

    def remove_frame_sink(self, sink: FrameSink) -> None:
        if sink in self._frame_sinks:
            self._frame_sinks.remove(sink)
        self._sample_sinks = [(s, period) for s, period in self._sample_sinks if s != sink]
        periods = [period for _, period in self._sample_sinks]
        self._sample_period = min(periods) if periods else None

    @property
    def viewers(self) -> int:
        return len(self._packet_sinks) + len(self._frame_sinks)

    @property
    def decoding(self) -> tuple[int, int]:
        """Packets decoded and skipped for samples since the stream was (re)opened."""
        plan = self._plan
        return (0, 0) if plan is None else (plan.decoded, plan.skipped)

    def health(self) -> StreamHealth:
        """Figures since the previous call (fps and kbps over that interval)."""
        with self._lock:
            now = time.monotonic()
            before, frames, size = self._sampled
            elapsed = max(now - before, 1e-3)
            fps = (self._frames - frames) / elapsed
            kbps = (self._bytes - size) * 8 / 1000 / elapsed
            self._sampled = (now, self._frames, self._bytes)
            if self._state is StreamState.UP and (
                self._last_packet is None
                or now - self._last_packet > self.settings.read_timeout_seconds
            ):
                self._set_state(StreamState.DOWN, "no packet for"
                                f" {self.settings.read_timeout_seconds:g} s")  # fmt: skip
            last = self._last_packet
            self._last_health = StreamHealth(
                state=self._state,
                since=self._since,
                fps=round(fps, 2),
                kbps=round(kbps, 1),
                last_frame_at=None if last is None else time.time() - (now - last),
                error=self._error,
                codec=self.codec,
                width=self.width,
                height=self.height,
            )
            return self._last_health

    def health_seen(self) -> StreamHealth:
        """The health last measured (measured now if never), without starting an interval."""
        return self._last_health or self.health()

    # -- the puller thread -----------------------------------------------------------------

    def _set_state(self, state: StreamState, error: str | None) -> None:
        """Call with the lock held."""
        if state is not self._state:
            self._since = time.time()
            logger.log(
                logging.INFO if state is StreamState.UP else logging.WARNING,
                "%s: stream %s%s", self.thing_id, state, f" ({error})" if error else "",
            )  # fmt: skip
        self._state = state
        self._error = error

    def _run(self) -> None:
        # full jitter, so cameras that fail together do not retry together
        backoff = Backoff(
            first=self.settings.reconnect_initial_seconds,
            maximum=self.settings.reconnect_max_seconds,
            jitter=1.0,
        )
        while not self._stop.is_set():
            url = self._url
            if url is None:
                self._url_changed.wait(1.0)
                self._url_changed.clear()
                continue
            try:
                self._pull(url)
                backoff.reset()
                continue  # a file ended: play it again
            except (av.FFmpegError, OSError, ValueError) as exc:
                with self._lock:
                    self._set_state(StreamState.DOWN, f"{url}: {exc}")
            self._url_changed.wait(backoff.next_delay())
            self._url_changed.clear()

    def _options(self, url: str) -> dict[str, str]:
        options = {"analyzeduration": "1000000", "probesize": "500000"}
        if url.startswith(("rtsp:", "rtsps:")):
            options["max_delay"] = "100000"
            if self.settings.rtsp_transport is not RtspTransport.AUTO:
                options["rtsp_transport"] = self.settings.rtsp_transport.value
        return options

    def _pull(self, url: str) -> None:
        """Read ``url`` until it ends (files), fails (raises) or the source stops."""
        s = self.settings
        paced = "://" not in url or url.startswith("file:") or Path(url).exists()
        container = av.open(
            url,
            options=self._options(url),
            timeout=(s.open_timeout_seconds, s.read_timeout_seconds),
        )
        try:
            if not container.streams.video:
                raise ValueError("the stream has no video")
            stream = container.streams.video[0]
            context = stream.codec_context
            codec = context.name
            extradata = bytes(context.extradata or b"")
            annex_b_filter = None
            if codec == "h264" and extradata and not is_annex_b(extradata):
                annex_b_filter = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", stream)
                extradata = b""  # the filter puts SPS/PPS in front of keyframes itself
            decoding = s.decoding
            context.thread_count = decoding.threads
            context.thread_type = "SLICE"  # frame threads would hold each picture back
            self._post(self._opened, codec, extradata, context.width, context.height)
            decoder_primed = False
            gap = False
            plan: SamplePlan | None = None
            # this thread's own GOP (the packets as demuxed), to start decoding at once
            recent: list[av.Packet[Any]] = []
            started = time.monotonic()
            first_pts: float | None = None
            first = True
            for packet in container.demux(stream):
                if self._stop.is_set() or self._url_changed.is_set():
                    self._url_changed.clear()
                    return
                if packet.size == 0:
                    continue
                at = self._stream_time(packet.pts, packet.time_base)
                if paced and packet.pts is not None and packet.time_base is not None:
                    first_pts = at if first_pts is None else first_pts
                    self._stop.wait(max(0.0, (at - first_pts) - (time.monotonic() - started)))
                keyframe = False
                for unit in annex_b_filter.filter(packet) if annex_b_filter else (packet,):
                    keyframe |= self._received(unit, codec, extradata, first)
                    first = False
                if keyframe or len(recent) >= self.settings.gop_max_packets:
                    recent.clear()
                if keyframe or recent:
                    recent.append(packet)
                every_frame = bool(self._frame_sinks)
                period = self._sample_period
                if period is None:
                    plan = self._plan = None
                elif plan is None or plan.period != period:
                    plan = self._plan = SamplePlan(
                        period,
                        slack=decoding.sample_slack,
                        keyframe_wait=decoding.keyframe_wait,
                        skip=decoding.analytics is AnalyticsDecoding.SAMPLED,
                    )
                if not every_frame and plan is None:
                    decoder_primed = False
                    continue
                wanted = plan.wants(keyframe, at) if plan is not None else True
                gap = gap and not keyframe
                if not decoder_primed or (every_frame and gap):
                    # a sink joined, or one wants every frame where packets were skipped:
                    # decode the GOP so far, hand on its last picture
                    if recent:
                        decoder_primed = self._decode(context, recent, plan, every_frame, True)
                        gap = False
                elif wanted or every_frame:
                    decoder_primed = self._decode(context, [packet], plan, every_frame, False)
                else:
                    gap = True  # the decoder has not seen every packet since the keyframe
        finally:
            container.close()

    def _received(self, packet: av.Packet[Any], codec: str, extradata: bytes, first: bool) -> bool:
        """Count and hand on one packet; True when it is a keyframe."""
        data = bytes(packet)
        if codec == "h264":
            data = with_parameter_sets(data, extradata)
        now = time.monotonic()
        encoded = EncodedPacket(
            data=data,
            pts=round((now - self._clock_origin) / VIDEO_CLOCK),
            keyframe=packet.is_keyframe or (codec == "h264" and NAL_IDR in nal_types(data)),
            discontinuity=first,
        )
        with self._lock:
            self._frames += 1
            self._bytes += len(data)
            self._last_packet = now
            if self._state is not StreamState.UP:
                self._set_state(StreamState.UP, None)
        self._post(self._deliver, encoded)
        return encoded.keyframe

    def _stream_time(self, pts: int | None, time_base: Fraction | None) -> float:
        """Seconds on the stream's own clock (the arrival clock when it has none)."""
        if pts is not None and time_base is not None:
            return float(pts * time_base)
        return time.monotonic() - self._clock_origin

    def _decode(
        self,
        context: VideoCodecContext,
        packets: list[av.Packet[Any]],
        plan: SamplePlan | None,
        every_frame: bool,
        only_last: bool,
    ) -> bool:
        """Decode for the frame sinks (``packets`` continue the decoder's stream, or start
        at a keyframe); the pictures — or only the last — that a sink wants (every one,
        or the samples of ``plan``) leave as yuv420p."""
        try:
            frames = [frame for packet in packets for frame in context.decode(packet)]
        except av.FFmpegError as exc:
            logger.debug("%s: a packet does not decode: %s", self.thing_id, exc)
            return False
        for frame in frames[-1:] if only_last else frames:
            if not isinstance(frame, VideoFrame):
                continue
            # a decoded frame's pts is in its stream's time base (PyAV leaves it unset)
            at = self._stream_time(frame.pts, packets[0].time_base)
            sample = plan is not None and plan.take(at, frame.key_frame)
            if not (sample or every_frame):
                continue
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            frame.pts = round((time.monotonic() - self._clock_origin) / VIDEO_CLOCK)
            frame.time_base = VIDEO_CLOCK
            self._post(self._deliver_frame, frame, sample)
        return True

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed under us: the process is ending
            self._stop.set()

    # -- back on the event loop ------------------------------------------------------------

    def _opened(self, codec: str, extradata: bytes, width: int, height: int) -> None:
        self.codec, self.extradata, self.width, self.height = codec, extradata, width, height
        self._codec_known.set()

    async def wait_for_codec(self, within: float) -> str | None:
        """The stream's codec, waiting up to ``within`` seconds for a stream not opened yet."""
        if self.codec is None:
            try:
                async with asyncio.timeout(within):
                    await self._codec_known.wait()
            except TimeoutError:
                return None
        return self.codec

    def _deliver(self, packet: EncodedPacket) -> None:
        self.gop.add(packet)
        for sink in list(self._packet_sinks):
            sink(packet)

    def _deliver_frame(self, frame: VideoFrame, sample: bool) -> None:
        self.latest_frame = frame
        for sink in list(self._frame_sinks):
            sink(frame)
        if sample:
            self.samples += 1
            for sample_sink, _ in list(self._sample_sinks):
                sample_sink(frame)
