"""The WebRTC relay: one RTCPeerConnection per viewer, bounded, and reaped when gone.

A viewer of an H.264 camera whose offer includes H.264 is sent the camera's packets as
they are (``PacketTrack``, cut into RTP payloads once per camera and sent by
``video.forwarding``'s RTP loop); anyone else gets the hub's decoded frames encoded for them
(``FrameTrack``, VP8 preferred). A viewer that goes away without ``DELETE`` is found by
aiortc's ICE consent checks (RFC 7675: about 30 s without answers), after which its
connection state is ``failed``; one that never connects is closed after
``connect_timeout_seconds``. Either way its peer connection, track and sink are freed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack

from video.errors import CameraUnknownError, OfferError, SessionUnknownError, ViewerLimitError
from video.forwarding import SharedPacketiser, forward_through
from video.ice import gather_candidates
from video.offer import check_offer, codec_preferences
from video.settings import VideoSettings
from video.source import CameraSource
from video.tracks import FrameTrack, PacketTrack

logger = logging.getLogger(__name__)

ENDED_STATES = {"failed", "closed"}


@dataclass(slots=True)
class ViewerSession:
    """One WHEP session: a viewer's peer connection to one camera."""

    id: str
    camera: str
    viewer: str
    pc: RTCPeerConnection
    track: PacketTrack | FrameTrack
    forwarded: bool
    """True: the camera's H.264 packets as received; False: encoded for this viewer."""
    opened: float = field(default_factory=time.monotonic)
    was_connected: bool = False

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"


class Relay:
    """Every viewer session of this hub (an async context manager; ``run`` reaps)."""

    def __init__(self, sources: Mapping[str, CameraSource], settings: VideoSettings) -> None:
        self.sources = sources
        self.settings = settings
        self.sessions: dict[str, ViewerSession] = {}
        self._ended: asyncio.Queue[str] = asyncio.Queue()
        self._packetisers: dict[str, SharedPacketiser] = {}
        """Per camera: its access units cut into RTP payloads once for all its viewers."""

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)

    def packetiser(self, camera: str) -> SharedPacketiser:
        """``camera``'s access units cut into RTP payloads, once for all its viewers."""
        return self._packetisers.setdefault(camera, SharedPacketiser())

    def viewers_of(self, camera: str) -> int:
        return sum(1 for session in self.sessions.values() if session.camera == camera)

    def _configuration(self) -> RTCConfiguration:
        servers = [
            RTCIceServer(
                urls=server.urls,
                username=server.username,
                credential=server.credential.get_secret_value() if server.credential else None,
            )
            for server in self.settings.ice_servers
        ]
        return RTCConfiguration(iceServers=servers)

    async def open(self, camera: str, offer_sdp: str, viewer: str) -> tuple[ViewerSession, str]:
        """Answer ``offer_sdp`` for ``camera``: the session and the SDP answer.

        Raises ``CameraUnknownError``, ``ViewerLimitError`` or ``OfferError``.
        """
        source = self.sources.get(camera)
        if source is None:
            raise CameraUnknownError(f"camera {camera!r} is not pulled by this video hub")
        s = self.settings
        if len(self.sessions) >= s.max_viewers:
            raise ViewerLimitError(
                f"this video hub has its {s.max_viewers} viewers (video.max_viewers)",
                s.retry_after_seconds,
            )
        if self.viewers_of(camera) >= s.max_viewers_per_camera:
            raise ViewerLimitError(
                f"camera {camera!r} has its {s.max_viewers_per_camera} viewers"
                " (video.max_viewers_per_camera)",
                s.retry_after_seconds,
            )
        offer = check_offer(offer_sdp)
        # a camera not opened yet (the hub just started): its codec decides the track
        codec = await source.wait_for_codec(s.open_timeout_seconds)
        forwarded = codec == "h264" and offer.offers_h264
        track: PacketTrack | FrameTrack = (
            PacketTrack(source, s.viewer_queue_packets, self.packetiser(camera))
            if forwarded
            else FrameTrack(source)
        )
        pc = RTCPeerConnection(self._configuration())
        session = ViewerSession(secrets.token_urlsafe(16), camera, viewer, pc, track, forwarded)
        self.sessions[session.id] = session
        try:
            answer = await self._negotiate(pc, track, offer.sdp, forwarded)
        except BaseException:
            await self.close(session.id)
            raise

        @pc.on("connectionstatechange")
        def _state_changed() -> None:
            if pc.connectionState == "connected":
                session.was_connected = True
            if pc.connectionState in ENDED_STATES:
                self._ended.put_nowait(session.id)

        logger.info(
            "%s: viewer %s (session %s) %s; %d viewers in all",
            camera, viewer, session.id, "forwarded H.264" if forwarded else "transcoded",
            len(self.sessions),
        )  # fmt: skip
        return session, answer

    async def _negotiate(
        self, pc: RTCPeerConnection, track: MediaStreamTrack, offer: str, forwarded: bool
    ) -> str:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(forwarded))
        if isinstance(track, PacketTrack):
            forward_through(transceiver.sender, track)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        except (InvalidAccessError, InvalidStateError, OperationError, ValueError) as exc:
            raise OfferError(f"the offer cannot be answered: {exc}") from exc
        answer = await pc.createAnswer()
        await gather_candidates(pc, self.settings.candidates)
        await pc.setLocalDescription(answer)
        return pc.localDescription.sdp

    async def close(self, session_id: str) -> None:
        """End a session and free what it holds; ``SessionUnknownError`` if none."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            raise SessionUnknownError(f"no WHEP session {session_id!r}")
        session.track.stop()
        await session.pc.close()
        logger.info(
            "%s: viewer %s (session %s) ended; %d viewers in all",
            session.camera, session.viewer, session_id, len(self.sessions),
        )  # fmt: skip

    async def run(self) -> None:
        """Close sessions whose viewer is gone, or that never connected."""
        while True:
            try:
                async with asyncio.timeout(1.0):
                    ended = await self._ended.get()
                if ended in self.sessions:
                    logger.info("session %s: the viewer's connection ended", ended)
                    await self.close(ended)
            except TimeoutError:
                pass
            deadline = time.monotonic() - self.settings.connect_timeout_seconds
            for session in list(self.sessions.values()):
                late = not session.was_connected and session.opened < deadline
                if late and session.id in self.sessions:
                    logger.info("session %s: never connected; closed", session.id)
                    await self.close(session.id)
