"""What the rules read, turned into one record: a `Fact` placed at its event time.

Three inputs reach the rules:

- ingest's normalized events (`twins.events.NormalizedEvent`), whose ``data`` is parsed
  again into the contract's payload classes (`twins.payloads`), so evaluators ``match``
  on ``SensorTelemetry`` or ``OfficerLogin`` rather than on dict keys;
- the video hub's presence events (`twins.presence.PresenceEvent`, ``at`` = capture time);
- stream health of a camera as the hub measures it (`StreamHealthEvent`, defined here: the
  hub reports it in the camera twin's ``stream`` feature — ``health`` and
  ``healthSince`` — and in InfluxDB's ``camera_stream``; the process that feeds the rules
  turns either into this event, dated at ``healthSince``).

A fact's `sort_key` orders facts of equal time the same way whatever order they arrived
in, which is what makes the engine's output independent of arrival order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind
from twins.payloads import body_type
from twins.presence import PresenceEvent
from twins.topics import Channel


class StreamHealthEvent(BaseModel):
    """A camera's stream went up or down, as the video hub saw it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thing: str = Field(description="The camera's thing id.")
    up: bool = Field(description="Whether the hub receives the stream.")
    at: AwareDatetime = Field(description="When the state changed (the twin's healthSince).")
    fps: float | None = Field(default=None, ge=0, description="Frames per second received.")
    error: str | None = Field(default=None, description="The hub's latest error, if down.")

    @classmethod
    def from_stream_properties(
        cls, thing: str, properties: Mapping[str, Any]
    ) -> StreamHealthEvent | None:
        """The event of a camera twin's ``features/stream/properties`` as the video hub
        writes them (``health``, ``healthSince``, ``receivedFps``, ``lastError``); None
        while the hub has not measured the stream."""
        health = properties.get("health")
        since = properties.get("healthSince")
        if health not in ("up", "down") or not isinstance(since, str):
            return None
        fps = properties.get("receivedFps")
        error = properties.get("lastError")
        return cls.model_validate(
            {
                "thing": thing,
                "up": health == "up",
                "at": since,
                "fps": fps if isinstance(fps, int | float) else None,
                "error": error if isinstance(error, str) and health == "down" else None,
            }
        )


Input = NormalizedEvent | PresenceEvent | StreamHealthEvent

_SOURCE_RANK = {"device": 0, "presence": 1, "stream": 2, "server": 3}
"""Order of facts of one device at one instant: a server-stamped status (placed at the
newest device time) comes after the device's own messages of that instant."""


@dataclass(slots=True, frozen=True)
class Fact:
    """One input at its place in event time."""

    ts: int
    """Event time, epoch milliseconds."""
    device: str
    """Thing id of the device the input is about."""
    site: str
    kind: DeviceKind
    sector: str
    body: BaseModel
    """A payload class of `twins.payloads`, a `PresenceEvent` or a `StreamHealthEvent`."""
    sort_key: tuple[int, str, int, int, str]
    server_time: bool = False
    """``ts`` is ingest's clock, not the device's (status messages, devices without ts)."""
    late: bool = False
    """Arrived after the watermark had passed its time; placed at the newest event time."""

    @property
    def at(self) -> dt.datetime:
        return datetime_of(self.ts)


def datetime_of(ts_ms: int) -> dt.datetime:
    """An epoch-millisecond event time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)


def ms_of(at: dt.datetime) -> int:
    return round(at.timestamp() * 1000)


_ADAPTERS: dict[tuple[DeviceKind, Channel], TypeAdapter[Any]] = {}


def _parse_data(kind: DeviceKind, channel: Channel, data: dict[str, Any]) -> BaseModel:
    adapter = _ADAPTERS.get((kind, channel))
    if adapter is None:
        adapter = _ADAPTERS[(kind, channel)] = TypeAdapter(body_type(kind, channel))
    body: BaseModel = adapter.validate_python(data)
    return body


_CHANNELS = {
    EventChannel.TELEMETRY: Channel.TELEMETRY,
    EventChannel.EVENT: Channel.EVENT,
    EventChannel.STATE: Channel.STATE,
    EventChannel.STATUS: Channel.STATUS,
}


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def fact_of(item: Input, sectors: Mapping[str, str] | None = None) -> Fact | None:
    """The fact of ``item``; None for what no rule reads (quality notes, command acks).

    ``sectors`` (thing id → sector) names the sector of cameras, whose presence and stream
    events do not carry it.
    """
    if isinstance(item, NormalizedEvent):
        channel = _CHANNELS.get(item.channel)
        if channel is None:
            return None
        body = _parse_data(item.kind, channel, dict(item.data))
        seq = item.seq if item.seq is not None else -1
        tag = "" if item.seq is not None else f"{item.channel.value}|{_canonical(item.data)}"
        server = item.ts_source is TsSource.SERVER
        rank = _SOURCE_RANK["server" if server else "device"]
        return Fact(
            ts=item.ts,
            device=item.thing_id,
            site=item.site,
            kind=item.kind,
            sector=item.sector.value,
            body=body,
            sort_key=(item.ts, item.thing_id, rank, seq, tag),
            server_time=server,
        )
    sector = (sectors or {}).get(item.thing, "")
    ts = ms_of(item.at)
    site = item.thing.partition(":")[0]
    if isinstance(item, PresenceEvent):
        tag = f"{item.zone}|{int(item.present)}|{item.people}|{int(item.watched)}"
        rank = _SOURCE_RANK["presence"]
    else:
        tag = f"{int(item.up)}|{item.fps}|{item.error}"
        rank = _SOURCE_RANK["stream"]
    return Fact(
        ts=ts,
        device=item.thing,
        site=site,
        kind=DeviceKind.CAMERA,
        sector=sector,
        body=item,
        sort_key=(ts, item.thing, rank, 0, tag),
    )
