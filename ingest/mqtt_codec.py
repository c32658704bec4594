"""MQTT packet framing and PUBLISH decoding for ingest's own socket reader.

Why by hand: paho's ``loop_read`` makes three ``recv`` calls per packet (command byte,
remaining length, body) and builds an ``MQTTMessage`` with decoded v5 properties and a
topic-matcher pass for each, which was about 40 % of ingest's CPU (docs/performance.md,
2026-11-26). With this codec the session takes whatever the socket holds in one ``recv``
and splits it here: paho fell to ~1 % of the profile, about 25 µs/msg less.
``benchmarks/ingest_bench.py`` shows the gain in every run against a paho-loop subscriber
(B1) and an aiomqtt subscriber (B2) doing the same work on the same messages as this
reader (B3): 4.7–4.8 µs of CPU per message against 44.5–44.7 µs and 96.8–105.1 µs in
three runs on 2026-12-03 (docs/performance.md, "Baselines and a peer").

The codec knows MQTT's wire format only (MQTT 3.1.1 and 5.0, section 2 and 3.3 of each):

- ``variable_int``: the variable byte integer (1–4 bytes of 7 bits) that is both the fixed
  header's remaining length and a v5 property length — the one decoder of it;
- ``packet_bounds``: where the packet at an offset ends, or that it is not all here yet;
- ``decode_publish``: one PUBLISH body into a ``Received``; the v5 properties are skipped
  (ingest uses none of them), the payload is a slice.

Everything that does not fit the format raises ``MqttPacketError`` naming what and where;
nothing here raises ``IndexError`` or loops on bad input (tests/ingest/test_mqtt_codec.py
feeds it random, truncated and oversized packets). Topics are decoded as UTF-8 with
replacement: the broker checks a topic before it forwards it.

    MqttError (ingest.errors)
    └── MqttPacketError   a packet breaks MQTT's framing or the layout of a PUBLISH
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.errors import MqttPacketError

MAX_VARIABLE_INT = 268_435_455
"""The largest variable byte integer: four bytes of seven bits."""

PUBLISH = 0x30
"""Packet type of PUBLISH in the command byte's high nibble."""


@dataclass(slots=True, frozen=True)
class Received:
    """One PUBLISH from the broker; ``generation`` names the connection it came on."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    retain: bool


def variable_int(buffer: bytes, pos: int, size: int) -> tuple[int, int] | None:
    """The variable byte integer at ``buffer[pos]`` and where it ends; None when
    ``buffer[:size]`` ends inside it. A fifth continuation byte raises ``MqttPacketError``.
    """
    value = 0
    shift = 0
    while pos < size:
        byte = buffer[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift == 28:
            raise MqttPacketError(
                f"variable byte integer ending at offset {pos} is longer than 4 bytes"
            )
    return None


def packet_bounds(buffer: bytes, pos: int, size: int) -> tuple[int, int] | None:
    """Where the body of the packet whose command byte is ``buffer[pos]`` starts and ends;
    None while ``buffer[:size]`` does not hold all of it. A remaining length of more than
    4 bytes raises ``MqttPacketError``: the stream cannot be split any further.
    """
    try:
        decoded = variable_int(buffer, pos + 1, size)
    except MqttPacketError as exc:
        raise MqttPacketError(
            f"packet 0x{buffer[pos]:02x} at offset {pos}: remaining length {exc}"
        ) from None
    if decoded is None:
        return None
    length, start = decoded
    end = start + length
    return (start, end) if end <= size else None


def decode_publish(
    header: int,
    buffer: bytes,
    start: int,
    end: int,
    generation: int,
    *,
    properties: bool = True,
) -> Received:
    """The PUBLISH with command byte ``header`` and body ``buffer[start:end]``.

    ``properties``: the body has MQTT 5's property section (False for MQTT 3.1.1).
    """
    qos = (header >> 1) & 0x03
    if qos == 3:
        raise MqttPacketError(f"PUBLISH at offset {start} has QoS 3 (header 0x{header:02x})")
    if end - start < 2:
        raise MqttPacketError(f"PUBLISH at offset {start} has no room for its topic length")
    topic_end = start + 2 + ((buffer[start] << 8) | buffer[start + 1])
    pos = topic_end + 2 if qos else topic_end
    if pos > end:
        raise MqttPacketError(
            f"PUBLISH at offset {start}: topic of {topic_end - start - 2} bytes"
            f"{' and packet id' if qos else ''} run past its {end - start}-byte body"
        )
    mid = 0
    if qos:
        mid = (buffer[topic_end] << 8) | buffer[topic_end + 1]
        if not mid:
            raise MqttPacketError(f"PUBLISH at offset {start}: QoS {qos} with packet id 0")
    if properties:
        try:
            decoded = variable_int(buffer, pos, end)
        except MqttPacketError as exc:
            raise MqttPacketError(f"PUBLISH at offset {start}: properties length {exc}") from None
        if decoded is None:
            raise MqttPacketError(f"PUBLISH at offset {start}: properties length cut off")
        length, pos = decoded
        pos += length
        if pos > end:
            raise MqttPacketError(
                f"PUBLISH at offset {start}: {length} bytes of properties"
                f" run past its {end - start}-byte body"
            )
    return Received(
        buffer[start + 2 : topic_end].decode("utf-8", "replace"),
        buffer[pos:end],
        mid,
        qos,
        generation,
        bool(header & 0x01),
    )
