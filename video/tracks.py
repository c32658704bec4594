"""The video tracks of one viewer: encoded packets forwarded, or shared decoded frames.

``PacketTrack`` hands the viewer's sender the camera's own H.264 access units, starting
with the cached GOP so the viewer's first picture is a keyframe sent at once: as RTP
payloads cut once for all viewers of the camera (``next_unit``, read by
``video.forwarding``'s RTP loop), or as ``av.Packet`` objects that aiortc's own sender
packs into RTP without encoding (``recv``). The GOP is restamped 1 ms apart ending
at the newest packet, so the browser shows the live picture now rather than replaying the
GOP at its own pace. A viewer that falls ``viewer_queue_packets`` behind loses its queue
and waits for the next keyframe — H.264 cannot skip single packets.

``FrameTrack`` is for cameras (or viewers) that need another codec: it takes the hub's
decoded ``yuv420p`` frames and aiortc encodes them for this viewer; its queue keeps the
newest two frames and drops the oldest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame
from av.packet import Packet
from av.video.frame import VideoFrame

from video.forwarding import ForwardedUnit, SharedPacketiser
from video.packets import VIDEO_CLOCK, EncodedPacket
from video.source import CameraSource

_BACKLOG_SPACING = 90  # 1 ms on the 90 kHz clock
FRAME_QUEUE = 2


class PacketTrack(MediaStreamTrack):
    """A camera's encoded packets for one viewer, without decoding."""

    kind = "video"

    def __init__(
        self,
        source: CameraSource,
        queue_packets: int,
        packetiser: SharedPacketiser | None = None,
    ) -> None:
        """``packetiser``: the camera's, shared by its viewers (default: this track's own)."""
        super().__init__()
        self._source = source
        self._packetiser = packetiser or SharedPacketiser()
        self._max = queue_packets
        self._queue: deque[EncodedPacket] = deque()
        self._ready = asyncio.Event()
        self._waiting_keyframe = True
        self.sent = 0
        backlog = source.add_packet_sink(self._push)
        if backlog:
            newest = backlog[-1].pts
            for index, packet in enumerate(backlog):
                pts = newest - (len(backlog) - 1 - index) * _BACKLOG_SPACING
                self._push(EncodedPacket(packet.data, pts, packet.keyframe))

    def _push(self, packet: EncodedPacket) -> None:
        if packet.discontinuity and not packet.keyframe:
            self._queue.clear()
            self._waiting_keyframe = True
        if self._waiting_keyframe:
            if not packet.keyframe:
                return
            self._waiting_keyframe = False
        if len(self._queue) >= self._max:
            self._queue.clear()
            if not packet.keyframe:
                self._waiting_keyframe = True
                return
        self._queue.append(packet)
        self._ready.set()

    async def _next(self) -> EncodedPacket:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.sent += 1
        return self._queue.popleft()

    async def next_unit(self) -> ForwardedUnit:
        """The next access unit as RTP payloads (the 90 kHz clock is RTP's: no scaling)."""
        packet = await self._next()
        return ForwardedUnit(self._packetiser.payloads(packet.data), packet.pts)

    async def recv(self) -> Packet[Any]:
        packet = await self._next()
        out = av.Packet(packet.data)
        out.pts = packet.pts
        out.time_base = VIDEO_CLOCK
        return out

    def stop(self) -> None:
        super().stop()
        self._source.remove_packet_sink(self._push)
        self._ready.set()


class FrameTrack(MediaStreamTrack):
    """The hub's decoded frames for one viewer, encoded by aiortc for that viewer."""

    kind = "video"

    def __init__(self, source: CameraSource) -> None:
        super().__init__()
        self._source = source
        self._queue: deque[VideoFrame] = deque(maxlen=FRAME_QUEUE)
        self._ready = asyncio.Event()
        self.sent = 0
        source.add_frame_sink(self._push)

    def _push(self, frame: VideoFrame) -> None:
        self._queue.append(frame)
        self._ready.set()

    async def recv(self) -> Frame | Packet[Any]:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.sent += 1
        return self._queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._source.remove_frame_sink(self._push)
        self._ready.set()
