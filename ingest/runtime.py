"""Everything one ingest process needs, given explicitly by whoever starts it.

``citytwin ingest`` builds an :class:`IngestRuntime` from ``CitytwinSettings``; tests and
the benchmark build one by hand. Nothing in ingest reads the environment or a global.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

from ingest.settings import IngestSettings


class IngestRuntime(BaseModel):
    """Connection details and settings of one ingest worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mqtt_host: str = Field(description="MQTT broker host.")
    mqtt_port: int = Field(ge=1, le=65535, description="MQTT broker port.")
    mqtt_username: str = Field(
        description="Broker account of this worker, also its MQTT client id: it names the"
        " persistent session, so it stays the same across restarts of the worker."
    )
    mqtt_password: SecretStr = Field(description="Password of `mqtt_username`.")
    mqtt_keepalive: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive, s.")
    influx_url: AnyHttpUrl = Field(description="Base URL of InfluxDB's v1 HTTP API.")
    influx_database: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="InfluxDB database."
    )
    influx_username: str = Field(default="", description="v1 user (empty: no user).")
    influx_password: SecretStr = Field(default=SecretStr(""), description="v1 password.")
    influx_token: SecretStr = Field(
        default=SecretStr(""), description="2.x/3.x token for the v1 compatibility API."
    )
    raw_retention_days: int = Field(default=30, ge=1, description="Raw points kept this long.")
    rollup_retention_days: int = Field(
        default=400, ge=1, description="1-minute rollups kept this long."
    )
    manage_database: bool = Field(
        default=True,
        description="Create the database, retention policies and rollup continuous queries at"
        " start (False where the server has no InfluxQL DDL, e.g. InfluxDB 3).",
    )
    twins_url: AnyHttpUrl | None = Field(
        default=None, description="Base URL of the Ditto-compatible twin API (None: no twins)."
    )
    twins_username: str = Field(default="citytwin", description="Twin API user.")
    twins_password: SecretStr = Field(default=SecretStr(""), description="Twin API password.")
    registry_path: Path = Field(description="Site/device registry YAML file.")
    spool_dir: Path = Field(description="Directory of the disk spool (created if missing).")
    settings: IngestSettings = Field(
        default_factory=IngestSettings, description="Batching, guards, metrics, …"
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> IngestRuntime:
        if self.influx_username and self.influx_token.get_secret_value():
            raise ValueError("give influx_username/influx_password or influx_token, not both")
        return self
