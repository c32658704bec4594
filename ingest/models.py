"""What ingest publishes on MQTT about a refused message: its dead letter.

Dead letters (``citytwin/$platform/deadletter/{ns}/{name}``, QoS 1) carry one refused
message each. (Normalized events, for analytics, are `twins.events`.)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from twins.errors import ContractReason


class DeadLetter(BaseModel):
    """A refused message, as republished on the dead-letter topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: ContractReason = Field(description="Stable reason code (see docs/ingest.md).")
    detail: str = Field(description="What was wrong and where, for a person.")
    topic: str = Field(description="Topic (or HTTP path) the message came on.")
    payload: str = Field(
        description="The payload's first 4,096 bytes as UTF-8 text, or base64 when not text."
    )
    payload_encoding: Literal["text", "base64"] = Field(description="How `payload` is encoded.")
    payload_bytes: int = Field(description="The size of the whole payload as it came.")
    truncated: bool = Field(description="True when `payload` is only the start of it.")
    received_at: int = Field(description="Epoch ms when ingest received the message.")
