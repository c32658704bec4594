"""What ingest publishes on MQTT for other processes: normalized events and dead letters.

Normalized events (``citytwin/$platform/events/{kind}/{namespace}/{name}``, QoS 0) are
batched per thing: one MQTT message carries the events of that thing accepted since the
previous one, in arrival order. Dead letters (``citytwin/$platform/deadletter/{ns}/{name}``,
QoS 1) carry one refused message each.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NormalizedEvent(BaseModel):
    """One accepted device message, with the registry's context and the platform's checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thing_id: str = Field(description="namespace:name of the device.")
    kind: str = Field(description="Device kind (camera, sensor, counter, kiosk, meeting_room).")
    site: str = Field(description="Site id (the thing id's namespace).")
    sector: str = Field(description="Sector of the site.")
    channel: Literal["telemetry", "event", "state", "status", "cmd/ack", "stale", "quality"] = (
        Field(description="Device channel, or `stale`/`quality` for what ingest itself noticed.")
    )
    ts: int = Field(
        description="Epoch ms of the observation (server time when the device sent none)."
    )
    ts_source: Literal["device", "server"] = Field(description="Where `ts` came from.")
    seq: int | None = Field(default=None, description="Device sequence number, if any.")
    data: dict[str, Any] = Field(description="The validated `data` body (or ingest's report).")


class EventBatch(BaseModel):
    """The body of one message on an event topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[NormalizedEvent]


class DeadLetter(BaseModel):
    """A refused message, as republished on the dead-letter topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(description="Stable reason code (see docs/ingest.md).")
    detail: str = Field(description="What was wrong and where, for a person.")
    topic: str = Field(description="Topic (or HTTP path) the message came on.")
    payload: str = Field(
        description="The payload's first 4,096 bytes as UTF-8 text, or base64 when not text."
    )
    payload_encoding: Literal["text", "base64"] = Field(description="How `payload` is encoded.")
    payload_bytes: int = Field(description="The size of the whole payload as it came.")
    truncated: bool = Field(description="True when `payload` is only the start of it.")
    received_at: int = Field(description="Epoch ms when ingest received the message.")
