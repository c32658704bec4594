"""Forwarded H.264 for many viewers: cut into RTP payloads once per camera, sent lean.

Why this module exists: a forwarded viewer costs the hub one RTP loop, and in aiortc's own
loop (``RTCRtpSender._run_rtp``) every viewer re-copies each access unit into an
``av.Packet``, splits it into NAL units and FU-A fragments again, reads the wall clock
through ``datetime`` twice per RTP packet and goes through four coroutine levels per
packet (sender → DTLS → ICE → aioice) before ``sendto``. With py-spy on 50 viewers of one
camera (docs/performance.md, "Video") packetising was 10 % of the hub's event loop, the
clock 10 %, serialising 11 %. Only the RTP header (sequence number, timestamp, SSRC,
abs-send-time) differs between two viewers of one camera, so here:

- ``SharedPacketiser`` cuts each access unit into payloads once for all viewers of a
  camera (with aiortc's own H.264 packetiser, so the payloads are the ones aiortc sends);
- ``forward_through(sender, units)`` gives one viewer's ``RTCRtpSender`` an RTP loop that
  takes those payloads, builds each header with one ``struct.pack``, reads the clock once
  per access unit, SRTP-protects with the DTLS transport's session and hands the datagram
  to the selected ICE pair's socket; NACKs are answered from its own history (with RTX
  when negotiated), RTCP sender reports still carry the sender's counts.

It depends on aiortc 1.16 / aioice 0.13 internals that neither exposes — the sender's
name-mangled state (``_RTCRtpSender__mid``, ``__rtp_started``, ``__rtp_exited``,
``__rtp_header_extensions_map``, the RTCP counters), ``H264Encoder._split_bitstream`` and
``_packetize``, ``RTCDtlsTransport._tx_srtp`` and ``_state``, ``RTCIceTransport._connection``
and aioice's ``Connection._nominated`` — which is why pyproject.toml pins aiortc to 1.16.x
and aioice to 0.13.x; every one is named in ``INTERNALS`` and
tests/video/test_forwarding.py fails when one is missing.
Everything else of aiortc (ICE, DTLS, RTCP reception, PLI/FIR, stats) is unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from struct import pack
from typing import Any, Protocol

from aioice.ice import StunProtocol
from aiortc import RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, RtpPacket, wrap_rtx
from aiortc.utils import random32, uint16_add

logger = logging.getLogger(__name__)

NTP_FROM_UNIX = 2_208_988_800
"""Seconds from the NTP epoch (1900) to the Unix epoch (1970)."""
_NS = 1_000_000_000
_RTP_VERSION = 0x80
_WITH_EXTENSION = 0x10
_MARKER = 0x80
_COMPONENT = 1
"""The ICE component RTP (and, muxed, RTCP) travels on."""
_SENDER = "_RTCRtpSender__"
_DTLS = "_RTCDtlsTransport__"

INTERNALS: dict[str, tuple[str, ...]] = {
    "aiortc.RTCRtpSender instance": (
        *(
            _SENDER + name
            for name in (
                "mid", "rtp_started", "rtp_exited", "rtp_header_extensions_map", "track",
                "ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count",
                "rtx_payload_type", "rtx_sequence_number",
            )
        ),
        "_ssrc", "_rtx_ssrc", "_enabled", "_run_rtp", "_retransmit",
    ),
    "aiortc.RTCDtlsTransport instance": (
        "_state", "_tx_srtp", "transport", _DTLS + "tx_bytes", _DTLS + "tx_packets",
    ),
    "aiortc.RTCIceTransport instance": ("_connection",),
    "aiortc.codecs.h264.H264Encoder": ("_split_bitstream", "_packetize"),
    "aioice.Connection instance": ("_nominated",),
}  # fmt: skip
"""What this module reads or replaces in aiortc and aioice, by owner (checked by a test)."""


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (what ``aiortc.clock.current_ntp_time``
    gives, without going through ``datetime``)."""
    seconds, nanoseconds = divmod(time.time_ns(), _NS)
    return ((seconds + NTP_FROM_UNIX) << 32) | ((nanoseconds << 32) // _NS)


def packetise(access_unit: bytes) -> tuple[bytes, ...]:
    """An Annex B access unit as the RTP payloads aiortc's H.264 packetiser makes of it
    (single NAL units, STAP-A aggregates, FU-A fragments)."""
    return tuple(H264Encoder._packetize(H264Encoder._split_bitstream(access_unit)))


class SharedPacketiser:
    """One camera's access units cut into RTP payloads once, whatever its viewer count.

    Every viewer of a camera is handed the same ``bytes`` object for an access unit (the
    GOP backlog too), so the payloads are remembered by that object's identity; the
    entry keeps the object alive, so the identity cannot be reused while remembered. The
    last ``keep`` access units are remembered: a viewer further behind gets its own cut.
    """

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._cut: dict[int, tuple[bytes, tuple[bytes, ...]]] = {}
        self.packetised = 0
        """Access units cut so far (for tests and benchmarks)."""

    def payloads(self, access_unit: bytes) -> tuple[bytes, ...]:
        remembered = self._cut.get(id(access_unit))
        if remembered is not None and remembered[0] is access_unit:
            return remembered[1]
        payloads = packetise(access_unit)
        self.packetised += 1
        self._cut[id(access_unit)] = (access_unit, payloads)
        if len(self._cut) > self._keep:
            del self._cut[next(iter(self._cut))]
        return payloads


@dataclass(slots=True, frozen=True)
class ForwardedUnit:
    """One access unit for one viewer: the camera's shared payloads and its RTP time."""

    payloads: Sequence[bytes]
    timestamp: int
    """On the 90 kHz RTP clock, before the sender's random offset."""


class UnitSource(Protocol):
    """What ``forward_through`` sends from (``video.tracks.PacketTrack``)."""

    async def next_unit(self) -> ForwardedUnit:
        """The next access unit; ``MediaStreamError`` once the source has ended."""
        ...


def forward_through(sender: RTCRtpSender, units: UnitSource) -> None:
    """Make ``sender`` send ``units`` with the lean RTP loop; call before negotiation
    (aiortc starts the loop when the connection's transports are up)."""
    loop = _ForwardingLoop(sender, units)
    replaced: Any = sender
    replaced._run_rtp = loop.run
    replaced._retransmit = loop.retransmit


def is_forwarding(sender: RTCRtpSender) -> bool:
    """True when ``sender`` runs this module's loop."""
    run = vars(sender).get("_run_rtp")
    return isinstance(getattr(run, "__self__", None), _ForwardingLoop)


class _ForwardingLoop:
    """The RTP loop of one forwarded viewer, in place of ``RTCRtpSender._run_rtp``."""

    def __init__(self, sender: RTCRtpSender, units: UnitSource) -> None:
        self._sender: Any = sender
        self._units = units
        self._history: dict[int, bytes] = {}
        """Sent packets before SRTP, by sequence number modulo aiortc's history size."""

    async def run(self, codec: RTCRtpCodecParameters) -> None:
        sender = self._sender
        state = vars(sender)
        state[_SENDER + "rtp_started"].set()
        mid = state[_SENDER + "mid"]
        extension_map = state[_SENDER + "rtp_header_extensions_map"]
        sequence = random_sequence_number()
        origin = random32()
        payload_type = int(codec.payloadType or 0)  # always set once negotiated
        try:
            while True:
                unit = await self._units.next_unit()
                if not sender._enabled:
                    continue
                dtls = sender.transport
                if dtls._state != State.CONNECTED:
                    raise ConnectionError("Cannot send encrypted RTP, not connected")
                pair = dtls.transport._connection._nominated.get(_COMPONENT)
                if pair is None:
                    raise ConnectionError("Cannot send data, not connected")
                protect = dtls._tx_srtp.protect
                now = ntp_now()
                profile, extension = extension_map.set(
                    HeaderExtensions(mid=mid, abs_send_time=(now >> 14) & 0xFFFFFF)
                )
                first = _RTP_VERSION
                extension_block = b""
                if extension:
                    first |= _WITH_EXTENSION
                    extension_block = pack("!HH", profile, len(extension) >> 2) + extension
                timestamp = (origin + unit.timestamp) & 0xFFFFFFFF
                ssrc = sender._ssrc
                last = len(unit.payloads) - 1
                datagrams: list[bytes] = []
                octets = 0
                for index, payload in enumerate(unit.payloads):
                    second = payload_type | _MARKER if index == last else payload_type
                    header = pack("!BBHLL", first, second, sequence, timestamp, ssrc)
                    plain = b"".join((header, extension_block, payload))
                    self._history[sequence % RTP_HISTORY_SIZE] = plain
                    datagrams.append(protect(plain))
                    octets += len(payload)
                    sequence = (sequence + 1) & 0xFFFF
                await self._send(pair, datagrams)
                state[_SENDER + "ntp_timestamp"] = now
                state[_SENDER + "rtp_timestamp"] = timestamp
                state[_SENDER + "octet_count"] += octets
                state[_SENDER + "packet_count"] += len(datagrams)
                transport_state = vars(dtls)
                transport_state[_DTLS + "tx_bytes"] += sum(map(len, datagrams))
                transport_state[_DTLS + "tx_packets"] += len(datagrams)
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:
            # as aiortc's loop: the exited event must be set or RTCRtpSender.stop() hangs
            logger.exception("forwarding RTP to a viewer failed")
        track = sender.track
        if track is not None:
            track.stop()
            state[_SENDER + "track"] = None
        state[_SENDER + "rtp_exited"].set()

    @staticmethod
    async def _send(pair: Any, datagrams: list[bytes]) -> None:
        protocol = pair.protocol
        address = pair.remote_addr
        if type(protocol) is StunProtocol:  # a host or server-reflexive pair: UDP itself
            sendto = protocol.transport.sendto
            for datagram in datagrams:
                sendto(datagram, address)
        else:  # through a TURN relay, which wraps each datagram
            for datagram in datagrams:
                await protocol.send_data(datagram, address)

    async def retransmit(self, sequence_number: int) -> None:
        """Send again a packet the viewer reported lost (RTCP NACK), as aiortc does."""
        plain = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        if plain is None or int.from_bytes(plain[2:4], "big") != sequence_number:
            return
        sender = self._sender
        state = vars(sender)
        extension_map = state[_SENDER + "rtp_header_extensions_map"]
        rtx_payload_type = state[_SENDER + "rtx_payload_type"]
        if rtx_payload_type is not None:
            packet = wrap_rtx(
                RtpPacket.parse(plain, extension_map),
                payload_type=rtx_payload_type,
                sequence_number=state[_SENDER + "rtx_sequence_number"],
                ssrc=sender._rtx_ssrc,
            )
            state[_SENDER + "rtx_sequence_number"] = uint16_add(
                state[_SENDER + "rtx_sequence_number"], 1
            )
            plain = packet.serialize(extension_map)
        await sender.transport._send_rtp(plain)
