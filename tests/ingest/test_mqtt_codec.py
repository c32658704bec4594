"""Property tests of ingest's MQTT codec: crafted, random, truncated and oversized packets.

The codec must agree with a reference on every valid stream and refuse everything else
with its own error. The reference here is written from the specification (MQTT 3.1.1
§2.2 and §3.3, MQTT 5.0 §1.5.5, §2.1 and §3.3) with ``io.BytesIO`` and ``struct``, apart
from the v5 properties, which paho-mqtt's own ``Properties`` encodes and decodes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.errors import MqttPacketError
from ingest.mqtt_codec import (
    MAX_VARIABLE_INT,
    PUBLISH,
    Received,
    decode_publish,
    packet_bounds,
    variable_int,
)

GENERATION = 7

# --- the reference, from the specification ---------------------------------------------


def encode_variable_int(value: int) -> bytes:
    """MQTT 5.0 §1.5.5: seven bits a byte, least significant first, high bit = more."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_variable_int(stream: io.BytesIO) -> int | None:
    """§1.5.5's decoding algorithm; None when the stream ends inside the integer."""
    multiplier, value = 1, 0
    while True:
        byte = stream.read(1)
        if not byte:
            return None
        value += (byte[0] & 0x7F) * multiplier
        if multiplier > 128**3:
            raise ValueError("malformed variable byte integer")
        multiplier *= 128
        if not byte[0] & 0x80:
            return value


@dataclasses.dataclass(frozen=True)
class Publish:
    """A PUBLISH as the reference sees it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    mid: int
    properties: Properties | None
    """None for MQTT 3.1.1 (no property section)."""

    def encode(self) -> bytes:
        topic = self.topic.encode()
        body = struct.pack("!H", len(topic)) + topic
        if self.qos:
            body += struct.pack("!H", self.mid)
        if self.properties is not None:
            body += self.properties.pack()  # type: ignore[no-untyped-call]
        body += self.payload
        header = PUBLISH | self.dup << 3 | self.qos << 1 | self.retain
        return bytes([header]) + encode_variable_int(len(body)) + body


def reference_split(data: bytes) -> list[tuple[int, bytes]]:
    """Every whole packet of ``data`` as (command byte, body)."""
    stream = io.BytesIO(data)
    packets = []
    while command := stream.read(1):
        length = read_variable_int(stream)
        assert length is not None
        body = stream.read(length)
        assert len(body) == length
        packets.append((command[0], body))
    return packets


def reference_publish(command: int, body: bytes, *, v5: bool) -> Received:
    stream = io.BytesIO(body)
    (topic_length,) = struct.unpack("!H", stream.read(2))
    topic = stream.read(topic_length).decode()
    qos = (command >> 1) & 3
    mid = struct.unpack("!H", stream.read(2))[0] if qos else 0
    if v5:
        offset = stream.tell()
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        _, consumed = properties.unpack(body[offset:])  # type: ignore[no-untyped-call]
        stream.seek(offset + consumed)
    return Received(topic, stream.read(), mid, qos, GENERATION, bool(command & 1))


# --- strategies -------------------------------------------------------------------------


MQTT_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
"""What an MQTT UTF-8 string may hold ([MQTT-1.5.4-1], [MQTT-1.5.4-2])."""


@st.composite
def properties(draw: st.DrawFn) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    short_text = st.text(MQTT_CHARACTERS, max_size=12)
    if draw(st.booleans()):
        props.PayloadFormatIndicator = draw(st.integers(0, 1))
    if draw(st.booleans()):
        props.MessageExpiryInterval = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        props.ContentType = draw(short_text)
    if draw(st.booleans()):
        props.ResponseTopic = draw(st.text(MQTT_CHARACTERS, min_size=1, max_size=12))
    if draw(st.booleans()):
        props.CorrelationData = draw(st.binary(max_size=12))
    if draw(st.booleans()):
        props.SubscriptionIdentifier = [draw(st.integers(1, MAX_VARIABLE_INT))]
    pairs = draw(st.lists(st.tuples(short_text, short_text), max_size=2))
    if pairs:
        props.UserProperty = pairs
    return props


payloads = st.one_of(
    st.binary(max_size=40),
    # long enough for remaining lengths of 2, 3 and 4 bytes, cheap to generate
    st.sampled_from([127, 128, 16_380, 16_384, 2_097_150, 2_097_152]).map(b"p".__mul__),
)


@st.composite
def publishes(draw: st.DrawFn, *, v5: bool | None = None) -> Publish:
    qos = draw(st.integers(0, 2))
    with_properties = draw(st.booleans()) if v5 is None else v5
    return Publish(
        topic=draw(st.text(MQTT_CHARACTERS, min_size=1, max_size=20)),
        payload=draw(payloads),
        qos=qos,
        retain=draw(st.booleans()),
        dup=draw(st.booleans()) if qos else False,
        mid=draw(st.integers(1, 65_535)) if qos else 0,
        properties=draw(properties()) if with_properties else None,
    )


OTHER_PACKETS = st.sampled_from(
    [
        b"\x40\x02\x00\x05",  # PUBACK (3.1.1 form)
        b"\x40\x04\x00\x05\x10\x00",  # PUBACK with reason and no properties (v5)
        b"\x90\x04\x00\x01\x00\x01",  # SUBACK
        b"\xd0\x00",  # PINGRESP
        b"\x20\x03\x00\x00\x00",  # CONNACK (v5)
        b"\xe0\x00",  # DISCONNECT
    ]
)


def codec_split(data: bytes, *, v5: bool) -> list[tuple[int, bytes] | Received]:
    """Split ``data`` as the session does: PUBLISH decoded, the rest (command, body)."""
    pos, size = 0, len(data)
    out: list[tuple[int, bytes] | Received] = []
    while pos < size:
        bounds = packet_bounds(data, pos, size)
        if bounds is None:
            break
        start, end = bounds
        assert pos < start <= end <= size  # always moves on: no loop without progress
        header = data[pos]
        if header & 0xF0 == PUBLISH:
            out.append(decode_publish(header, data, start, end, GENERATION, properties=v5))
        else:
            out.append((header, data[start:end]))
        pos = end
    return out


# --- valid input: agreement with the reference -----------------------------------------


@given(st.integers(0, MAX_VARIABLE_INT))
@example(0)
@example(127)
@example(128)
@example(16_383)
@example(16_384)
@example(2_097_151)
@example(2_097_152)
@example(MAX_VARIABLE_INT)
def test_every_remaining_length_of_one_to_four_bytes_decodes_to_its_value(value: int) -> None:
    encoded = encode_variable_int(value)
    assert len(encoded) == 1 + (value > 127) + (value > 16_383) + (value > 2_097_151)
    data = b"\xaa" + encoded + b"\xbb"
    assert variable_int(data, 1, len(data)) == (value, 1 + len(encoded))


@given(st.booleans(), st.lists(st.one_of(publishes(), OTHER_PACKETS), max_size=6))
def test_a_stream_of_valid_packets_splits_and_decodes_as_the_reference_does(
    v5: bool, packets: list[Publish | bytes]
) -> None:
    """MQTT 3.1.1 and 5 PUBLISH at QoS 0, 1 and 2, with and without v5 properties,
    between the other packets a broker sends."""
    chosen = [p if isinstance(p, bytes) else _for_version(p, v5) for p in packets]
    data = b"".join(p if isinstance(p, bytes) else p.encode() for p in chosen)
    expected = [
        reference_publish(command, body, v5=v5) if command & 0xF0 == PUBLISH else (command, body)
        for command, body in reference_split(data)
    ]
    assert codec_split(data, v5=v5) == expected


def _for_version(publish: Publish, v5: bool) -> Publish:
    """``publish`` with a property section (maybe empty) for v5, without one for 3.1.1."""
    if not v5:
        return dataclasses.replace(publish, properties=None)
    if publish.properties is None:
        empty = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        return dataclasses.replace(publish, properties=empty)
    return publish


@given(publishes(v5=True))
def test_a_publish_decodes_to_its_topic_payload_id_qos_and_retain(publish: Publish) -> None:
    data = publish.encode()
    bounds = packet_bounds(data, 0, len(data))
    assert bounds is not None
    received = decode_publish(data[0], data, *bounds, GENERATION)
    assert received == Received(
        publish.topic, publish.payload, publish.mid, publish.qos, GENERATION, publish.retain
    )


# --- truncated and oversized input ------------------------------------------------------


@given(st.lists(st.one_of(publishes(), OTHER_PACKETS), min_size=1, max_size=4), st.data())
def test_a_stream_cut_anywhere_yields_its_whole_packets_and_waits_for_the_rest(
    packets: list[Publish | bytes], data: st.DataObject
) -> None:
    encoded = [p if isinstance(p, bytes) else p.encode() for p in packets]
    stream = b"".join(encoded)
    cut = data.draw(st.integers(0, len(stream)))
    ends = [sum(len(p) for p in encoded[: i + 1]) for i in range(len(encoded))]
    whole = [end for end in ends if end <= cut]
    pos, found = 0, []
    while (bounds := packet_bounds(stream, pos, cut)) is not None:
        pos = bounds[1]
        found.append(pos)
    assert found == whole  # then None: the rest is not all here yet


@given(publishes(), st.data())
def test_a_publish_body_cut_short_decodes_up_to_its_payload_or_raises_the_codec_error(
    publish: Publish, data: st.DataObject
) -> None:
    """A well-framed PUBLISH whose body was cut (the remaining length says the cut size)."""
    full = publish.encode()
    bounds = packet_bounds(full, 0, len(full))
    assert bounds is not None
    start, end = bounds
    payload_at = end - len(publish.payload)
    cut = data.draw(st.integers(start, end))
    body = full[start:cut]
    packet = full[:1] + encode_variable_int(len(body)) + body
    v5 = publish.properties is not None
    packet_start, packet_end = packet_bounds(packet, 0, len(packet)) or (0, 0)
    if cut >= payload_at:
        received = decode_publish(
            packet[0], packet, packet_start, packet_end, GENERATION, properties=v5
        )
        assert received.payload == publish.payload[: cut - payload_at]
        assert received.topic == publish.topic
    else:  # inside the topic, the packet id or the properties
        with pytest.raises(MqttPacketError, match="PUBLISH at offset"):
            decode_publish(packet[0], packet, packet_start, packet_end, GENERATION, properties=v5)


@given(st.integers(0, 3), st.binary(max_size=64))
def test_a_remaining_length_longer_than_four_bytes_raises_the_codec_error(
    command_low: int, rest: bytes
) -> None:
    data = bytes([PUBLISH | command_low]) + b"\xff\xff\xff\xff" + rest
    with pytest.raises(MqttPacketError, match="at offset 0: remaining length"):
        packet_bounds(data, 0, len(data))


@given(st.integers(2_097_152, MAX_VARIABLE_INT), st.binary(max_size=1000))
def test_a_length_far_beyond_what_arrived_is_incomplete_not_an_error(
    length: int, body: bytes
) -> None:
    data = b"\x30" + encode_variable_int(length) + body
    assert packet_bounds(data, 0, len(data)) is None


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        (0x36, b"\x00\x01t\x00\x01\x00", "QoS 3"),
        (0x32, b"\x00\x01t\x00\x00\x00", "packet id 0"),
        (0x30, b"\x00", "no room for its topic length"),
        (0x30, b"\x00\x09abc", "topic of 9 bytes run past"),
        (0x32, b"\x00\x01t\x00", "topic of 1 bytes and packet id run past"),
        (0x30, b"\x00\x01t", "properties length cut off"),
        (0x30, b"\x00\x01t\x05ab", "5 bytes of properties run past"),
        (0x30, b"\x00\x01t\xff\xff\xff\xff\x01", "properties length variable byte integer"),
    ],
)
def test_a_malformed_publish_is_refused_with_what_is_wrong(
    header: int, body: bytes, message: str
) -> None:
    with pytest.raises(MqttPacketError, match=message):
        decode_publish(header, body, 0, len(body), GENERATION)


# --- random input -----------------------------------------------------------------------


@given(st.binary(max_size=512), st.booleans())
@example(b"\x30\xff\xff\xff\xff\x7f", True)
@example(b"\x32\x03\x00\x00\x00", True)
@example(b"\x30\x01\x00", False)
def test_random_bytes_split_or_raise_only_the_codec_error(data: bytes, v5: bool) -> None:
    with contextlib.suppress(MqttPacketError):
        codec_split(data, v5=v5)


@given(st.lists(publishes(v5=True), min_size=1, max_size=6), st.data())
def test_a_valid_stream_with_one_corrupted_byte_splits_or_raises_only_the_codec_error(
    packets: list[Publish], data: st.DataObject
) -> None:
    stream = bytearray(b"".join(p.encode() for p in packets))
    index = data.draw(st.integers(0, len(stream) - 1))
    stream[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(MqttPacketError):
        codec_split(bytes(stream), v5=True)
