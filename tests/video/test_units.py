"""Small parts of the hub fed crafted input: offers, GOPs, parameter sets, twin properties."""

from __future__ import annotations

import time

import pytest

from twins.definitions import KIND_FEATURES, Writer
from twins.kinds import DeviceKind
from video.errors import OfferError
from video.health import twin_properties
from video.offer import check_offer
from video.packets import EncodedPacket, GopCache, nal_types, with_parameter_sets
from video.source import StreamHealth, StreamState

SPS = b"\x00\x00\x00\x01\x67\x42\xc0\x1e"
PPS = b"\x00\x00\x00\x01\x68\xce\x3c\x80"
IDR = b"\x00\x00\x00\x01\x65\x88\x84"
P_SLICE = b"\x00\x00\x00\x01\x41\x9a"


def packet(data: bytes, pts: int, *, key: bool = False, first: bool = False) -> EncodedPacket:
    return EncodedPacket(data, pts, key, first)


def test_every_stream_property_the_hub_writes_is_declared_in_the_camera_twin() -> None:
    health = StreamHealth(StreamState.UP, time.time(), 10.0, 200.0, time.time(), None, "h264", 1, 1)
    (stream,) = [f for f in KIND_FEATURES[DeviceKind.CAMERA] if f.name == "stream"]
    declared = {prop.name: prop.writer for prop in stream.properties}
    assert {name: declared.get(name) for name in twin_properties(health, 2)} == dict.fromkeys(
        twin_properties(health, 2), Writer.VIDEO
    )


def test_a_keyframe_without_parameter_sets_gets_the_streams() -> None:
    assert list(nal_types(SPS + PPS + IDR)) == [7, 8, 5]
    assert with_parameter_sets(IDR, SPS + PPS) == SPS + PPS + IDR
    assert with_parameter_sets(SPS + PPS + IDR, SPS + PPS) == SPS + PPS + IDR
    assert with_parameter_sets(P_SLICE, SPS + PPS) == P_SLICE


def test_the_gop_cache_holds_from_the_last_keyframe_within_its_bound() -> None:
    gop = GopCache(max_packets=3)
    gop.add(packet(P_SLICE, 1))
    assert gop.snapshot() == []  # nothing to start a viewer on before a keyframe
    gop.add(packet(IDR, 2, key=True))
    gop.add(packet(P_SLICE, 3))
    assert [p.pts for p in gop.snapshot()] == [2, 3]
    gop.add(packet(IDR, 4, key=True))
    assert [p.pts for p in gop.snapshot()] == [4]
    gop.add(packet(P_SLICE, 5))
    gop.add(packet(P_SLICE, 6))
    gop.add(packet(P_SLICE, 7))  # keyframes further apart than the bound
    assert gop.snapshot() == []
    gop.add(packet(IDR, 8, key=True))
    gop.add(packet(P_SLICE, 9, first=True))  # the stream was reopened mid-GOP
    assert gop.snapshot() == []


VIDEO_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n{direction}\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
)


def test_a_well_formed_offer_is_accepted_and_its_h264_seen() -> None:
    checked = check_offer(VIDEO_OFFER.format(direction="a=recvonly"))
    assert checked.offers_h264


@pytest.mark.parametrize(
    ("offer", "named"),
    [
        ("", "empty"),
        ("hello", "v=0"),
        (VIDEO_OFFER.format(direction="a=sendonly"), "recvonly"),
        (VIDEO_OFFER.format(direction="a=recvonly").replace("a=ice-pwd", "a=x-pwd"), "ice-pwd"),
        (VIDEO_OFFER.format(direction="a=recvonly").replace("a=fingerprint", "a=x"), "fingerprint"),
        (
            VIDEO_OFFER.format(direction="a=recvonly")
            .replace("VP8/90000", "AV1X/90000")
            .replace("H264/90000", "THEORA/90000"),
            "no video codec",
        ),
    ],
)
def test_a_bad_offer_is_refused_naming_what_is_wrong(offer: str, named: str) -> None:
    with pytest.raises(OfferError, match=named):
        check_offer(offer)


def test_video_settings_that_cannot_hold_are_refused_naming_the_keys() -> None:
    from pydantic import ValidationError

    from citytwin.settings import CitytwinSettings
    from video.settings import VideoSettings

    too_many = r"max_viewers_per_camera \(200\) exceeds max_viewers"
    with pytest.raises(ValidationError, match=too_many):
        VideoSettings(max_viewers_per_camera=200, max_viewers=100)
    with pytest.raises(ValidationError, match="not a thing id"):
        VideoSettings(cameras=["cam-01"])
    with pytest.raises(ValidationError, match="must start with stun:, turn: or turns:"):
        VideoSettings.model_validate({"ice_servers": [{"urls": ["http://stun.example"]}]})
    taken = r"video\.port uses port 8080, already taken by http\.port"
    with pytest.raises(ValidationError, match=taken):
        CitytwinSettings.model_validate({"video": {"port": 8080}})


@pytest.mark.asyncio
async def test_a_new_viewer_starts_on_the_cached_keyframe_and_a_late_one_skips_to_the_next() -> (
    None
):
    import asyncio

    from video.settings import VideoSettings
    from video.source import CameraSource
    from video.tracks import PacketTrack

    source = CameraSource("test.units:cam-01", None, VideoSettings(), asyncio.get_running_loop())
    for pts, data, key in ((9000, IDR, True), (18000, P_SLICE, False), (27000, P_SLICE, False)):
        source.gop.add(packet(data, pts, key=key))
    track = PacketTrack(source, queue_packets=4)
    first = await asyncio.wait_for(track.recv(), 1)
    assert bytes(first) == IDR  # at once, not at the camera's next keyframe
    rest = [await asyncio.wait_for(track.recv(), 1) for _ in range(2)]
    assert [p.pts for p in [first, *rest]] == [26820, 26910, 27000]  # 1 ms apart, ending now
    for pts in range(5):  # the viewer falls more than its queue behind …
        source._deliver(packet(P_SLICE, 30000 + pts))
    source._deliver(packet(IDR, 40000, key=True))  # … and resumes at the next keyframe
    resumed = await asyncio.wait_for(track.recv(), 1)
    assert bytes(resumed) == IDR
    track.stop()
    assert source.viewers == 0
