"""Normalized events: what ingest tells analytics about every accepted device message.

Published on ``citytwin/$platform/events/{kind}/{namespace}/{name}`` (`twins.topics.
event_topic`, QoS 0) once the batch holding them is durable, as one `EventBatch` per
thing per batch, events in arrival order. They belong to the device contract's side of the
platform (``twins``), so analytics reads them without importing ingest. Ingest builds them
as plain dicts on its hot path (``ingest.mapping.event_dict``); these models are their
schema, and what a consumer validates with (``EventBatch.model_validate_json``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from twins.kinds import DeviceKind, Sector


class EventChannel(StrEnum):
    """The device channel an event comes from, or ``quality`` for what ingest noticed."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATE = "state"
    STATUS = "status"
    CMD_ACK = "cmd/ack"
    QUALITY = "quality"


class TsSource(StrEnum):
    """Whose clock ``ts`` is."""

    DEVICE = "device"
    SERVER = "server"


class NormalizedEvent(BaseModel):
    """One accepted device message, with the registry's context and the platform's checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    thing_id: str = Field(description="namespace:name of the device.")
    kind: DeviceKind = Field(description="The device's kind.")
    site: str = Field(description="Site id (the thing id's namespace).")
    sector: Sector = Field(description="Sector of the site.")
    channel: EventChannel = Field(description="Device channel, or `quality`.")
    ts: int = Field(
        description="Epoch ms of the observation (server time when the device sent none)."
    )
    ts_source: TsSource = Field(description="Where `ts` came from.")
    seq: int | None = Field(default=None, description="Device sequence number, if any.")
    data: dict[str, JsonValue] = Field(
        description="The validated `data` body without absent optional fields, under the"
        " contract's names; for `quality`: `{duplicates, missing}` since the previous batch."
    )


class EventBatch(BaseModel):
    """The body of one message on an event topic."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    events: list[NormalizedEvent]
