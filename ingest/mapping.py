"""What one accepted device message becomes: a point and a normalized event.

(Its twin patch is `twins.patches.reported_patch`: the twin's properties have one owner.)

Measurements are ``{kind}_{channel}`` (``counter_telemetry``, ``camera_event``,
``sensor_state``, ``kiosk_cmd_ack``) plus ``device_availability`` for status and
staleness. Every point has the tags ``namespace``, ``device``, ``site``, ``sector``,
``kind`` (events also ``type``), the ``data`` fields as fields and a ``seq`` field.
The point's time is ``ts`` in ms, times 10^6, plus ``seq mod 10^6`` in the nanoseconds:
two messages of one device in the same millisecond stay two points, and a message that is
delivered twice (after a crash) overwrites itself instead of doubling.
docs/ingest.md lists every measurement, tag and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ingest.lineprotocol import FieldValue, encode_line, series_key
from twins.events import EventChannel, TsSource
from twins.kinds import DeviceKind
from twins.payloads import DeviceMessage, Status
from twins.registry import RegisteredDevice
from twins.topics import Channel

AVAILABILITY = "device_availability"


def measurement_of(kind: DeviceKind, channel: Channel) -> str:
    """The measurement of ``kind`` on ``channel`` (status goes to ``device_availability``)."""
    if channel is Channel.STATUS:
        return AVAILABILITY
    return f"{kind.value}_{channel.value.replace('/', '_')}"


@dataclass(slots=True)
class DeviceContext:
    """A registered device with its tags and series keys computed once."""

    device: RegisteredDevice
    tags: dict[str, str]
    thing: str
    _series: dict[tuple[Channel, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, device: RegisteredDevice) -> DeviceContext:
        tags = {
            "namespace": device.thing_id.namespace,
            "device": device.thing_id.name,
            "site": device.site_id,
            "sector": device.sector.value,
            "kind": device.kind.value,
        }
        return cls(device, tags, str(device.thing_id))

    def series(self, channel: Channel, event_type: str = "") -> str:
        key = (channel, event_type)
        found = self._series.get(key)
        if found is None:
            tags = dict(self.tags)
            if event_type:
                tags["type"] = event_type
            found = series_key(measurement_of(self.device.kind, channel), tags)
            self._series[key] = found
        return found


def point_time_ns(ts_ms: int, seq: int | None) -> int:
    """Nanoseconds of a point: ms from the device plus ``seq mod 10^6`` to keep it unique."""
    return ts_ms * 1_000_000 + (seq % 1_000_000 if seq is not None else 0)


def line_of(context: DeviceContext, message: DeviceMessage, ts_ms: int) -> str | None:
    """The line-protocol point of an accepted message."""
    data = message.data
    event_type = ""
    fields: list[tuple[str, FieldValue]] = []
    if isinstance(data, Status):
        fields.append(("online", 1 if data.state == "online" else 0))
        fields.append(("state", data.state))
        if data.reason:
            fields.append(("reason", data.reason))
    else:
        values: dict[str, Any] = vars(data)
        for key, value in values.items():
            if value is None:
                continue
            if key == "type":
                event_type = value
            else:
                fields.append((key, value))
    if message.seq is not None:
        fields.append(("seq", message.seq))
    return encode_line(
        context.series(message.channel, event_type), fields, point_time_ns(ts_ms, message.seq)
    )


def availability_line(context: DeviceContext, state: str, ts_ms: int) -> str:
    """A ``device_availability`` point ingest writes itself (``stale``)."""
    line = encode_line(
        context.series(Channel.STATUS), [("online", 0), ("state", state)], ts_ms * 1_000_000
    )
    assert line is not None
    return line


def event_dict(
    context: DeviceContext, message: DeviceMessage, ts_ms: int, from_device: bool
) -> dict[str, Any]:
    """A normalized event (`twins.events.NormalizedEvent`) as a plain dict for the hot path
    (a model per message would cost ~2 µs; tests validate what is published)."""
    return {
        "thing_id": context.thing,
        "kind": context.tags["kind"],
        "site": context.tags["site"],
        "sector": context.tags["sector"],
        "channel": message.channel.value,
        "ts": ts_ms,
        "ts_source": TsSource.DEVICE if from_device else TsSource.SERVER,
        "seq": message.seq,
        "data": _plain(message.data),
    }


def quality_event(
    context: DeviceContext, duplicates: int, missing: int, now_ms: int
) -> dict[str, Any]:
    """The ``quality`` normalized event of a device's duplicates and gaps in one batch."""
    return {
        "thing_id": context.thing,
        "kind": context.tags["kind"],
        "site": context.tags["site"],
        "sector": context.tags["sector"],
        "channel": EventChannel.QUALITY,
        "ts": now_ms,
        "ts_source": TsSource.SERVER,
        "seq": None,
        "data": {"duplicates": duplicates, "missing": missing},
    }


def _plain(data: BaseModel) -> dict[str, Any]:
    return {key: value for key, value in vars(data).items() if value is not None}
