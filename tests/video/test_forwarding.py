"""Forwarded H.264 cut once per camera and sent by video.forwarding's RTP loop.

The first test fails when aiortc or aioice no longer has an internal the loop relies on
(the reason aiortc is pinned to 1.16.x); the others show what a viewer gets through it.
"""

from __future__ import annotations

import asyncio
import random

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.clock import current_ntp_time
from aiortc.codecs.h264 import H264Encoder

from tests.services import wait_until
from tests.video.conftest import TOKEN, Hub
from video.client import WhepViewer
from video.forwarding import INTERNALS, SharedPacketiser, is_forwarding, ntp_now, packetise
from video.packets import VIDEO_CLOCK

WITHIN_S = 20.0


@pytest.mark.asyncio
async def test_the_aiortc_and_aioice_internals_the_forwarding_loop_uses_are_there() -> None:
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        dtls = sender.transport
        ice = dtls.transport
        owners: dict[str, object] = {
            "aiortc.RTCRtpSender instance": sender,
            "aiortc.RTCDtlsTransport instance": dtls,
            "aiortc.RTCIceTransport instance": ice,
            "aiortc.codecs.h264.H264Encoder": H264Encoder,
            "aioice.Connection instance": ice._connection,
        }
        assert set(owners) == set(INTERNALS)
        missing = [
            f"{owner}.{name}"
            for owner, names in INTERNALS.items()
            for name in names
            if not hasattr(owners[owner], name)
        ]
        assert missing == [], f"aiortc/aioice changed underneath video.forwarding: {missing}"
    finally:
        await pc.close()


def crafted_access_unit(rng: random.Random) -> bytes:
    """SPS/PPS-sized NAL units to aggregate (STAP-A) and slices to fragment (FU-A)."""
    units = []
    for _ in range(rng.randint(1, 6)):
        size = rng.choice([rng.randint(2, 40), rng.randint(900, 1400), rng.randint(1500, 9000)])
        body = bytes(rng.randrange(1, 256) for _ in range(size))  # no start code inside
        start = rng.choice([b"\x00\x00\x01", b"\x00\x00\x00\x01"])
        units.append(start + bytes([rng.choice([0x67, 0x68, 0x65, 0x41, 0x06])]) + body)
    return b"".join(units)


def test_an_access_unit_is_cut_into_the_payloads_aiortc_would_send_and_only_once() -> None:
    rng = random.Random(9)
    encoder = H264Encoder()
    for _ in range(200):
        access_unit = crafted_access_unit(rng)
        packet = av.Packet(access_unit)
        packet.pts = 0
        packet.time_base = VIDEO_CLOCK
        assert list(packetise(access_unit)) == encoder.pack(packet)[0]
    shared = SharedPacketiser(keep=2)
    first, second, third = (crafted_access_unit(rng) for _ in range(3))
    cut = shared.payloads(first)
    assert shared.payloads(first) is cut  # the second viewer gets the same payloads
    assert shared.packetised == 1
    shared.payloads(second)
    shared.payloads(third)  # keeps two: the first is forgotten, and cut again if asked
    assert shared.payloads(first) == cut
    assert shared.packetised == 4
    assert (
        shared.payloads(bytes(bytearray(first))) == cut
    )  # an equal copy is another unit: cut anew
    assert shared.packetised == 5


def test_the_abs_send_time_clock_is_the_wall_clock_aiortc_reads() -> None:
    difference = abs(ntp_now() - current_ntp_time())
    assert difference < 1 << 32  # within a second (both read the same wall clock)
    assert ntp_now() >> 32 > 3_900_000_000  # seconds since 1900: after 2023


@pytest.mark.asyncio
async def test_three_viewers_of_one_camera_decode_what_is_cut_once_for_all(hub: Hub) -> None:
    async with (
        WhepViewer(hub.whep(), token=TOKEN) as first,
        WhepViewer(hub.whep(), token=TOKEN) as second,
        WhepViewer(hub.whep(), token=TOKEN) as third,
    ):
        viewers = (first, second, third)
        for viewer in viewers:
            await asyncio.wait_for(viewer.first_frame.wait(), WITHIN_S)
        before = [viewer.decoded for viewer in viewers]
        # the camera sends a keyframe every 2 s: past one, each viewer decodes on
        await wait_until(
            lambda: all(v.decoded >= b + 30 for v, b in zip(viewers, before, strict=True)),
            WITHIN_S,
        )
        assert {viewer.codec for viewer in viewers} == {"video/H264"}
        sessions = list(hub.relay.sessions.values())
        assert len(sessions) == 3
        senders = [session.pc.getTransceivers()[0].sender for session in sessions]
        assert all(is_forwarding(sender) for sender in senders)
        sent = sum(session.track.sent for session in sessions)
        assert hub.relay.packetiser(hub.camera).packetised <= sent / 2
        stats = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                senders[0].getStats(), hub.relay.sources[hub.camera].loop
            )
        )
        outbound = [s for s in stats.values() if s.type == "outbound-rtp"]
        transport = [s for s in stats.values() if s.type == "transport"]
        assert outbound[0].packetsSent >= sessions[0].track.sent  # RTCP reports count them
        assert transport[0].packetsSent >= outbound[0].packetsSent
