"""Settings of the boards: where Grafana is, and how Grafana reads InfluxDB.

Grafana reads with an account of its own that may only read (``GRANT READ``): a board
cannot write or drop anything, whatever its queries say.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr


class GrafanaSettings(BaseModel):
    """Grafana and its InfluxDB datasource."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:3000"),
        description="Grafana's base URL for `citytwin grafana push`.",
    )
    token: SecretStr = Field(
        default=SecretStr(""),
        description="Service-account token of `citytwin grafana push` (Editor or Admin).",
    )
    influx_url: AnyHttpUrl | None = Field(
        default=None,
        description="InfluxDB as Grafana reaches it (empty: influx.url).",
    )
    influx_username: str = Field(
        default="grafana",
        description="InfluxDB user of the datasource, with READ on the database only.",
    )
    influx_password: SecretStr = Field(
        default=SecretStr(""), description="Password of `influx_username`."
    )
    console_url: str = Field(
        default="http://localhost:8080",
        description="The citytwin console as the operators' browsers reach it (camera wall).",
    )
