"""What a WHEP offer must hold before the relay answers it, said in words a player's
developer can act on (a 400 names the missing part), and which codec the answer picks.

The SDP is parsed by aiortc's own parser, the one ``setRemoteDescription`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCRtpCodecCapability, RTCRtpSender
from aiortc.codecs import CODECS
from aiortc.rtcpeerconnection import find_common_codecs
from aiortc.sdp import MediaDescription, SessionDescription

from video.errors import OfferError

H264 = "video/h264"
VP8 = "video/vp8"
RTX = "video/rtx"
RECEIVING = {"recvonly", "sendrecv"}


@dataclass(slots=True, frozen=True)
class CheckedOffer:
    """An offer that can be answered, and what it offers for video."""

    sdp: str
    video: MediaDescription
    offers_h264: bool


def check_offer(text: str) -> CheckedOffer:
    """Raise ``OfferError`` naming what is wrong with ``text``; else the checked offer."""
    if not text.strip():
        raise OfferError("the offer is empty: POST an SDP offer (Content-Type: application/sdp)")
    if not text.lstrip().startswith("v=0"):
        raise OfferError(f"the offer is not SDP: it must start with 'v=0', not {text[:20]!r}")
    sdp = text.replace("\r\n", "\n").replace("\n", "\r\n")
    try:
        description = SessionDescription.parse(sdp)
    except (ValueError, IndexError, KeyError, AttributeError, StopIteration) as exc:
        raise OfferError(f"the offer is not valid SDP: {type(exc).__name__}: {exc}") from exc
    videos = [media for media in description.media if media.kind == "video"]
    if not videos:
        kinds = ", ".join(media.kind for media in description.media) or "none"
        raise OfferError(f"the offer has no video section (m=video); its sections: {kinds}")
    video = videos[0]
    if video.direction not in RECEIVING:
        raise OfferError(
            f"the offer's video section is {video.direction or 'without a direction'}:"
            " a WHEP player must receive it (a=recvonly)"
        )
    if video.ice is None or not video.ice.usernameFragment or not video.ice.password:
        raise OfferError(
            "the offer's video section has no ICE credentials (a=ice-ufrag, a=ice-pwd)"
        )
    if video.dtls is None or not video.dtls.fingerprints:
        raise OfferError("the offer's video section has no DTLS fingerprint (a=fingerprint)")
    common = find_common_codecs(CODECS["video"], video.rtp.codecs)
    if not [codec for codec in common if codec.mimeType.lower() != RTX]:
        offered = ", ".join(sorted({c.mimeType for c in video.rtp.codecs})) or "none"
        raise OfferError(
            f"the offer has no video codec this relay sends (H264, VP8); it offers: {offered}"
        )
    offers_h264 = any(codec.mimeType.lower() == H264 for codec in common)
    return CheckedOffer(sdp, video, offers_h264)


def codec_preferences(forward_h264: bool) -> list[RTCRtpCodecCapability]:
    """H.264 only when forwarding the camera's packets; VP8 first when encoding here."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    if forward_h264:
        return [c for c in codecs if c.mimeType.lower() in {H264, RTX}]
    return sorted(codecs, key=lambda c: c.mimeType.lower() != VP8)
