"""A WHEP client on aiortc: what tests and benchmarks watch a camera with.

``WhepViewer`` posts an offer (ICE gathering complete, no trickle), applies the answer,
counts the frames it decodes, and ends the session with ``DELETE``.

``undecoded_video()`` makes the viewers of this process cheap enough to load a hub with:
aiortc's receiver still runs for real (ICE, DTLS, SRTP, RTCP, NACK, the jitter buffer that
reassembles each picture from its RTP packets), but hands on every complete access unit
as an ``av.Packet`` instead of decoding it. aiortc chooses its decoders per process (one
module function), so the switch is process-wide: a benchmark runs its decoding viewers
in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, cast

import aiortc.rtcrtpreceiver
import av
import httpx
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame

from video.ice import gather_candidates
from video.packets import NAL_IDR, NAL_SPS, nal_types
from video.settings import CandidatePolicy

SDP = "application/sdp"


class _AccessUnits(Decoder):
    """A video "decoder" that hands on each reassembled access unit as it came."""

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        return [cast(Frame, packet)]


@contextlib.contextmanager
def undecoded_video() -> Iterator[None]:
    """While active, receivers that get their first video picture keep it encoded.

    aiortc creates a receiver's decoder when its first picture arrives and keeps it, so
    a viewer connected inside this block stays undecoded after it.
    """
    receiver: Any = aiortc.rtcrtpreceiver  # get_decoder is imported there, not exported
    chosen = receiver.get_decoder

    def choose(codec: RTCRtpCodecParameters) -> Decoder:
        if codec.mimeType.lower().startswith("video/"):
            return _AccessUnits()
        return cast(Decoder, chosen(codec))

    receiver.get_decoder = choose
    try:
        yield
    finally:
        receiver.get_decoder = chosen


class WhepError(RuntimeError):
    """The WHEP endpoint refused the offer; ``status`` and the body's text say why."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"WHEP answered {status}: {text.strip()}")
        self.status = status
        self.text = text


class WhepViewer:
    """One viewer of ``endpoint`` (``http://…/whep/{camera}``), as an async context manager."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        candidates: CandidatePolicy = CandidatePolicy.LOOPBACK,
        codec: str | None = None,
        audio: bool = False,
    ) -> None:
        """``codec``: offer only this one (``video/VP8``); default: all of aiortc's.
        ``audio``: offer to receive audio too, as most WHEP players do."""
        self.endpoint = endpoint
        self.offered_codec = codec
        self.audio = audio
        self.candidates = candidates
        self.frames = 0
        """Pictures received: decoded, or complete access units (``undecoded_video``)."""
        self.decoded = 0
        self.keyframes = 0
        """Undecoded H.264 access units holding an IDR picture."""
        self.starts_decodable: bool | None = None
        """Undecoded H.264: the first access unit had SPS and an IDR, so a decoder starts."""
        self.first_frame = asyncio.Event()
        self.session_url: str | None = None
        self.answer: str | None = None
        self.codec: str | None = None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(headers=headers, auth=auth, timeout=10, trust_env=False)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WhepViewer:
        try:
            await self._connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _connect(self) -> None:
        pc = self._pc
        if self.audio:
            pc.addTransceiver("audio", direction="recvonly")
        transceiver = pc.addTransceiver("video", direction="recvonly")
        if self.offered_codec is not None:  # offer this codec (e.g. video/VP8) alone
            wanted = self.offered_codec.lower()
            capabilities = RTCRtpReceiver.getCapabilities("video")
            assert capabilities is not None
            transceiver.setCodecPreferences(
                [c for c in capabilities.codecs if c.mimeType.lower() in {wanted, "video/rtx"}]
            )
        tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue(maxsize=1)

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                tracks.put_nowait(track)

        offer = await pc.createOffer()
        await gather_candidates(pc, self.candidates)
        await pc.setLocalDescription(offer)
        response = await self._http.post(
            self.endpoint, content=pc.localDescription.sdp, headers={"Content-Type": SDP}
        )
        if response.status_code != 201:
            raise WhepError(response.status_code, response.text)
        self.session_url = str(response.url.join(response.headers["Location"]))
        self.answer = response.text
        await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
        track = await asyncio.wait_for(tracks.get(), 10)
        for each in pc.getTransceivers():
            if each.kind == "video" and each._codecs:
                self.codec = each._codecs[0].mimeType
        self._reader = asyncio.create_task(self._read(track), name="whep-viewer-frames")

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                received = await track.recv()
                self.frames += 1
                if isinstance(received, av.Packet):
                    self._inspect(bytes(received))
                else:
                    self.decoded += 1
                self.first_frame.set()

    def _inspect(self, access_unit: bytes) -> None:
        if self.codec is None or self.codec.lower() != "video/h264":
            return
        types = set(nal_types(access_unit))
        if self.starts_decodable is None:
            self.starts_decodable = NAL_SPS in types and NAL_IDR in types
        if NAL_IDR in types:
            self.keyframes += 1

    async def delete(self) -> int:
        """End the session with DELETE; the status answered."""
        assert self.session_url is not None
        response = await self._http.delete(self.session_url)
        self.session_url = None
        return response.status_code

    async def vanish(self) -> None:
        """Go away as a crashed player does: no DELETE, the peer connection just closes."""
        self.session_url = None
        await self.close()

    async def close(self) -> None:
        if self.session_url is not None:
            with contextlib.suppress(httpx.HTTPError):
                await self.delete()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pc.close()
        await self._http.aclose()
