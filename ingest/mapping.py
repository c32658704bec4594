"""What one accepted device message becomes: a point, a twin patch, a normalized event.

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

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from ingest.lineprotocol import FieldValue, encode_line, series_key
from twins.kinds import DeviceKind
from twins.payloads import DeviceMessage
from twins.registry import RegisteredDevice
from twins.topics import Channel

AVAILABILITY = "device_availability"


def measurement_of(kind: DeviceKind, channel: Channel) -> str:
    """The measurement of ``kind`` on ``channel`` (status goes to ``device_availability``)."""
    if channel is Channel.STATUS:
        return AVAILABILITY
    return f"{kind.value}_{channel.value.replace('/', '_')}"


def iso_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as twins show times."""
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{_iso_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=1024)
def _iso_second(epoch_s: int) -> str:
    # messages of one second share this part (formatting it is most of iso_ms's cost)
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")


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
    values: dict[str, Any] = vars(data)
    event_type = ""
    fields: list[tuple[str, FieldValue]] = []
    if message.channel is Channel.STATUS:
        online = values["state"] == "online"
        fields.append(("online", 1 if online else 0))
        fields.append(("state", values["state"]))
        if values.get("reason"):
            fields.append(("reason", values["reason"]))
    else:
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


@functools.cache  # contract field names: a small fixed set
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def twin_patch(context: DeviceContext, message: DeviceMessage, ts_ms: int) -> dict[str, Any]:
    """The merge patch of the twin's reported ``properties`` (never ``desiredProperties``)."""
    kind = context.device.kind
    channel = message.channel
    values: dict[str, Any] = vars(message.data)
    seen = iso_ms(ts_ms)
    features: dict[str, dict[str, Any]] = {}

    def put(feature: str, **properties: Any) -> None:
        entry = features.get(feature)
        if entry is None:
            features[feature] = {"properties": properties}
        else:
            entry["properties"].update(properties)

    if channel is Channel.STATUS:
        put("connectivity", online=values["state"] == "online", lastSeen=seen)
    else:
        put("connectivity", online=True, lastSeen=seen)
    if channel is Channel.TELEMETRY:
        _telemetry_patch(kind, values, put)
    elif channel is Channel.EVENT:
        _event_patch(kind, values, seen, put)
    elif channel is Channel.STATE:
        config = {_camel(key): value for key, value in values.items() if value is not None}
        firmware = config.pop("firmware", None)
        if firmware is not None:
            put("connectivity", firmware=firmware)
        if config:
            put("configuration", **config)
    elif channel is Channel.CMD_ACK:
        put("commands", lastAck={_camel(k): v for k, v in values.items() if v is not None})
    return {"features": features}


def _telemetry_patch(kind: DeviceKind, values: dict[str, Any], put: Any) -> None:
    if kind is DeviceKind.COUNTER:
        put("queue", waiting=values["waiting"])
        put("staff", present=values["officer_present"])
        if values.get("serving") is not None:
            put("service", currentTicket=values["serving"])
    elif kind is DeviceKind.CAMERA:
        put("stream", fps=values["fps"], bitrateKbps=values["bitrate_kbps"])
        if values.get("people") is not None:
            put("presence", people=values["people"])
    elif kind is DeviceKind.SENSOR:
        put("measurements", **{_camel(k): v for k, v in values.items() if v is not None})
    elif kind is DeviceKind.KIOSK:
        put("tickets", queueLength=values["queue_length"], paperLow=not values["paper_ok"])
    elif kind is DeviceKind.MEETING_ROOM:
        put("occupancy", people=values["occupancy"], occupied=values["occupancy"] > 0)
        if values.get("co2_ppm") is not None:
            put("occupancy", co2Ppm=values["co2_ppm"])


def _event_patch(kind: DeviceKind, values: dict[str, Any], seen: str, put: Any) -> None:
    event = values["type"]
    if event in {"ticket_called", "service_started"}:
        put("service", open=True, currentTicket=values["ticket"], serviceCode=values["service"])
    elif event in {"service_finished", "no_show"}:
        put("service", currentTicket=None)
    elif event == "officer_login":
        put("staff", present=True, officerId=values["officer"], absentSince=None)
    elif event in {"officer_logout", "break_started"}:
        put("staff", present=False, absentSince=seen)
    elif event == "break_ended":
        put("staff", present=True, absentSince=None)
    elif event == "ticket_issued":
        put("tickets", lastTicket=values["ticket"])
    elif event == "motion":
        put("presence", lastMotion=seen, lastMotionZone=values["zone"])
    elif event == "tamper":
        put("presence", lastTamper=seen)
    elif event == "booking_started":
        current = {"booking": values["booking"], "title": values["title"]}
        put("booking", current={**current, "attendees": values["attendees"]})
    elif event == "booking_ended":
        put("booking", current=None)
    elif event == "session_started":
        put("booking", paperless=values["paperless"], sessionOpen=True)
    elif event == "session_ended":
        put("booking", sessionOpen=False)
    elif event == "fault":
        put("connectivity", lastFault=values["code"], lastFaultAt=seen)


def event_dict(
    context: DeviceContext, message: DeviceMessage, ts_ms: int, from_device: bool
) -> dict[str, Any]:
    """A normalized event (`ingest.models.NormalizedEvent`) as a plain dict for the hot path."""
    return {
        "thing_id": context.thing,
        "kind": context.tags["kind"],
        "site": context.tags["site"],
        "sector": context.tags["sector"],
        "channel": message.channel.value,
        "ts": ts_ms,
        "ts_source": "device" if from_device else "server",
        "seq": message.seq,
        "data": _plain(message.data),
    }


def _plain(data: BaseModel) -> dict[str, Any]:
    return {key: value for key, value in vars(data).items() if value is not None}


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Fold ``patch`` into ``target`` so applying ``target`` equals applying both in order."""
    # two levels per call: a twin patch (features/name/properties/…) takes 5 calls, not 9
    for key, value in patch.items():
        if type(value) is not dict:
            target[key] = value
            continue
        current = target.get(key)
        if type(current) is not dict:
            current = target[key] = {}
        for inner_key, inner in value.items():
            if type(inner) is dict:
                below = current.get(inner_key)
                if type(below) is not dict:
                    below = current[inner_key] = {}
                merge_patch(below, inner)
            else:
                current[inner_key] = inner
