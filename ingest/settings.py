"""Settings of the ingest service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class IngestSettings(BaseModel):
    """How device messages are taken in, checked and stored."""

    model_config = ConfigDict(extra="forbid")
