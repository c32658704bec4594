"""Settings of the sector indicators (``indicators:`` in the settings file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analytics.indicators.catalogue import load_catalogue
from twins.yaml_source import YamlModelError


class IndicatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catalogue: Path | None = Field(
        default=None,
        description="the indicator catalogue (YAML); None: the one shipped with citytwin",
    )
    retention_policy: str = Field(
        default="kept",
        min_length=1,
        max_length=64,
        description="retention policy of the indicator points (the embedded stack's 'kept'"
        " never expires)",
    )
    max_upload_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="largest upload of figures accepted"
    )

    @model_validator(mode="after")
    def _catalogue_readable(self) -> IndicatorSettings:
        """A catalogue that does not load is a settings error, named with its lines, not a
        surprise at the first upload."""
        if self.catalogue is not None:
            try:
                load_catalogue(self.catalogue)
            except YamlModelError as exc:
                raise ValueError("; ".join(exc.problems)) from None
        return self
