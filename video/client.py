"""A WHEP client on aiortc: what tests and benchmarks watch a camera with.

``WhepViewer`` posts an offer (ICE gathering complete, no trickle), applies the answer,
counts the frames it decodes, and ends the session with ``DELETE``.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import httpx
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from video.ice import gather_candidates
from video.settings import CandidatePolicy

SDP = "application/sdp"


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
                await track.recv()
                self.frames += 1
                self.first_frame.set()

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
