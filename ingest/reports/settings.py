"""Settings of citizen reports (``reports:`` in the settings file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from ingest.reports.boundary import BoundaryError, ProvinceBoundary

SYSTEM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def _check_system_name(value: str) -> str:
    if not SYSTEM_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a system name: use 1 to 40 lower-case letters, digits or '-'"
            " (it becomes part of each report's twin id)"
        )
    return value


SystemName = Annotated[str, AfterValidator(_check_system_name)]


class ReportSystem(BaseModel):
    """A system that submits reports: the citizen app, an e-form system."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr = Field(
        description="The secret sent as `Authorization: Bearer <token>` (16 characters or"
        " more). It lets the system submit reports and read its own, nothing else."
    )

    @model_validator(mode="after")
    def _long_enough(self) -> ReportSystem:
        if len(self.token.get_secret_value()) < 16:
            raise ValueError("token: use 16 characters or more (e.g. `openssl rand -hex 24`)")
        return self


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    systems: dict[SystemName, ReportSystem] = Field(
        default_factory=dict,
        description="Systems allowed to submit reports, by name (`reports.systems.NAME.token`);"
        " none: POST /api/reports refuses every caller.",
    )
    boundary: Path | None = Field(
        default=None,
        description="GeoJSON outline of the province a report must lie in; None: the"
        " simplified Thái Bình outline shipped with citytwin",
    )
    namespace: str = Field(
        default="reports",
        pattern=r"^[a-z][a-z0-9]*(?:[.-][a-z][a-z0-9]*)*$",
        description="twin namespace of the reports (not a site of the registry)",
    )
    site: str = Field(
        default="thaibinh",
        min_length=1,
        max_length=64,
        description="the site the reports' alerts are raised for",
    )
    max_photos: int = Field(default=5, ge=0, le=20, description="photos per report")
    max_photo_bytes: int = Field(
        default=10 * 1024 * 1024, ge=16 * 1024, description="largest photo accepted, in bytes"
    )
    max_photo_pixels: int = Field(
        default=40_000_000,
        ge=10_000,
        description="largest photo accepted, in pixels (a decompression bomb stops here)",
    )
    min_text: int = Field(default=10, ge=1, description="shortest description, in characters")
    max_text: int = Field(default=2000, ge=10, description="longest description, in characters")

    @model_validator(mode="after")
    def _boundary_readable(self) -> ReportSettings:
        """An outline that does not load is a settings error, not a surprise at the first
        report."""
        if self.boundary is not None:
            try:
                ProvinceBoundary.load(self.boundary)
            except BoundaryError as exc:
                raise ValueError(str(exc)) from None
        if self.min_text > self.max_text:
            raise ValueError(f"min_text {self.min_text} is above max_text {self.max_text}")
        seen: dict[str, str] = {}
        for name, system in self.systems.items():
            secret = system.token.get_secret_value()
            if secret in seen:
                raise ValueError(f"systems: {name!r} has the same token as {seen[secret]!r}")
            seen[secret] = name
        return self
