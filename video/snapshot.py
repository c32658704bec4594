"""The latest picture of a camera as JPEG, for `GET /api/cameras/{thing}/snapshot.jpg`.

A camera forwarded as H.264 is not decoded by the hub; for a snapshot the cached GOP
(keyframe first) is decoded by a decoder of its own, off the event loop, and its last
picture encoded with OpenCV.
"""

from __future__ import annotations

import av
import cv2
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame

from video.errors import VideoError
from video.packets import EncodedPacket


def last_picture(codec: str, extradata: bytes, gop: list[EncodedPacket]) -> VideoFrame | None:
    """Decode ``gop`` (keyframe first) and return its last picture (CPU work: a thread)."""
    context = av.CodecContext.create(codec, "r")
    if not isinstance(context, VideoCodecContext):
        raise VideoError(f"{codec!r} is not a video codec")
    if extradata:
        context.extradata = extradata
    picture: VideoFrame | None = None
    try:
        for packet in [*gop, None]:
            data = None if packet is None else av.Packet(packet.data)
            for frame in context.decode(data):
                if isinstance(frame, VideoFrame):
                    picture = frame
    except av.FFmpegError as exc:
        if picture is None:
            raise VideoError(f"the cached {codec} pictures do not decode: {exc}") from exc
    return picture


def jpeg(frame: VideoFrame, quality: int = 85) -> bytes:
    """``frame`` as a JPEG file (CPU work: a thread)."""
    ok, encoded = cv2.imencode(
        ".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise VideoError(f"OpenCV could not encode a {frame.width}x{frame.height} JPEG")
    return bytes(encoded.tobytes())
