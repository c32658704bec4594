"""Encoded video packets as the hub keeps them, and the group of pictures of each camera.

A new viewer must start on a keyframe, and a camera sends one every second or two: the
hub keeps every packet since the last keyframe (the GOP) so that a viewer is sent it at
once instead of waiting for the next. H.264 packets are kept in Annex B form (start
codes), which is what aiortc's H.264 packetizer splits; a keyframe that arrives without
its parameter sets (RTSP cameras send SPS/PPS once, in the SDP) gets them from the
stream's extradata, since a browser's decoder cannot start without them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

VIDEO_CLOCK = Fraction(1, 90_000)
"""Time base of the packets the hub hands out (RTP's video clock)."""

_START = b"\x00\x00\x01"
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8


@dataclass(slots=True, frozen=True)
class EncodedPacket:
    """One access unit as received, stamped on the hub's 90 kHz arrival clock."""

    data: bytes
    pts: int
    keyframe: bool
    discontinuity: bool = False
    """First packet after the stream was (re)opened: what came before does not continue."""


def nal_types(annex_b: bytes) -> Iterator[int]:
    """The NAL unit types of an Annex B H.264 buffer, in order."""
    index = annex_b.find(_START)
    while index != -1:
        header = index + 3
        if header < len(annex_b):
            yield annex_b[header] & 0x1F
        index = annex_b.find(_START, header)


def is_annex_b(data: bytes) -> bool:
    """True for H.264 bitstreams or extradata with start codes (not avcC/length-prefixed)."""
    return data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))


def with_parameter_sets(access_unit: bytes, parameter_sets: bytes) -> bytes:
    """``access_unit`` led by SPS/PPS when it is an IDR picture that lacks them."""
    types = set(nal_types(access_unit))
    if NAL_IDR in types and NAL_SPS not in types and parameter_sets:
        return parameter_sets + access_unit
    return access_unit


class GopCache:
    """Every packet since the last keyframe, bounded; empty until a keyframe is seen."""

    def __init__(self, max_packets: int) -> None:
        self._packets: deque[EncodedPacket] = deque()
        self._max = max_packets

    def add(self, packet: EncodedPacket) -> None:
        if packet.keyframe:
            self._packets.clear()
            self._packets.append(packet)
        elif packet.discontinuity:
            self._packets.clear()
        elif self._packets:
            if len(self._packets) >= self._max:
                self._packets.clear()  # keyframes too far apart: start viewers on the next
            else:
                self._packets.append(packet)

    def clear(self) -> None:
        self._packets.clear()

    def snapshot(self) -> list[EncodedPacket]:
        """The cached GOP, keyframe first (empty when none is held)."""
        return list(self._packets)
