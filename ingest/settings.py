"""Settings of the ingest service and of the HTTP ingest route."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from twins.thing_id import NAMESPACE_PATTERN

_NAMESPACE = re.compile(rf"^{NAMESPACE_PATTERN}$")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


class HttpIngestSystem(BaseModel):
    """Another system (queue system, e-office calendar, citizen reports) that posts data."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr | None = Field(
        default=None, description="HTTP basic password of the system (user = the system's key)."
    )
    api_key: SecretStr | None = Field(
        default=None, description="Bearer API key of the system (`Authorization: Bearer …`)."
    )
    namespaces: list[str] = Field(
        min_length=1,
        description="Namespaces (site ids) whose devices this system may write for;"
        " '*' allows every namespace.",
    )

    @field_validator("namespaces")
    @classmethod
    def _valid_namespaces(cls, value: list[str]) -> list[str]:
        for namespace in value:
            if namespace != "*" and not _NAMESPACE.match(namespace):
                raise ValueError(
                    f"namespace {namespace!r} is not a site id like 'thaibinh.hcc' (or '*')"
                )
        return value

    @model_validator(mode="after")
    def _has_a_credential(self) -> HttpIngestSystem:
        password = self.password.get_secret_value() if self.password else ""
        api_key = self.api_key.get_secret_value() if self.api_key else ""
        if not password and not api_key:
            raise ValueError("a system needs a password (HTTP basic) or an api_key (bearer)")
        return self


class IngestSettings(BaseModel):
    """How device messages are taken in, checked and stored."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Points per InfluxDB write (flush when full)."
    )
    batch_seconds: float = Field(
        default=0.1, gt=0, le=10, description="Longest a point waits before its batch is written."
    )
    max_batches_in_flight: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Batches waiting for the writer; when full, ingest stops taking MQTT"
        " messages (the broker's in-flight window holds the rest).",
    )
    write_retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Retries of a failed InfluxDB write (5xx, timeout) before it is spooled.",
    )
    write_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one InfluxDB HTTP request."
    )
    retry_backoff_seconds: float = Field(
        default=0.2, gt=0, le=30, description="First retry delay; doubles on each retry."
    )
    gzip_level: int = Field(
        default=1, ge=0, le=9, description="gzip level of /write bodies (0: send uncompressed)."
    )
    spool_max_bytes: int = Field(
        default=1 << 30,
        ge=1 << 16,
        description="Bound of the disk spool used while InfluxDB is down; when full, ingest"
        " stops acknowledging and the broker keeps the messages.",
    )
    spool_segment_bytes: int = Field(
        default=16 << 20, ge=1 << 12, description="Size at which the spool starts a new file."
    )
    twin_window_seconds: float = Field(
        default=0.05,
        ge=0,
        le=10,
        description="Twin updates of one thing arriving within this window become one patch.",
    )
    twin_workers: int = Field(
        default=4, ge=1, le=64, description="Concurrent merge-patch requests to the twin service."
    )
    max_future_seconds: float = Field(
        default=300.0, ge=0, description="A ts further ahead of the server clock is refused."
    )
    max_past_seconds: float = Field(
        default=7 * 86_400.0,
        gt=0,
        description="A ts further behind the server clock is refused (keep it under the raw"
        " retention, or InfluxDB drops the point).",
    )
    stale_factor: float = Field(
        default=3.0,
        gt=1,
        description="A device silent for this many of its kind's report intervals is stale.",
    )
    stale_after_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Silence after which any device is stale, overriding stale_factor times"
        " its kind's interval (None: use the kind's interval).",
    )
    stale_check_seconds: float = Field(
        default=5.0, gt=0, description="How often silent devices are looked for."
    )
    platform_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often ingest writes its own health and the broker's $SYS figures"
        " to InfluxDB (measurement `platform`, docs/ingest.md).",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address of /metrics (its labels name devices: another address than"
        " loopback needs `metrics_password`).",
    )
    metrics_password: SecretStr = Field(
        default=SecretStr(""),
        description="HTTP basic password of /metrics (user `metrics`). Empty: no"
        " authentication, allowed on loopback only.",
    )
    metrics_port: int = Field(
        default=9108, ge=0, le=65535, description="Port of the Prometheus /metrics (0: any)."
    )
    shared_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="MQTT v5 shared-subscription group; workers in one group split the load."
        " None (default): a plain subscription for a single worker. Mosquitto 2.0.11 does not"
        " restore shared subscriptions from its persistence file, so with a group, messages"
        " sent between a broker restart and the workers' resubscription are lost.",
    )
    worker: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Which ingest worker this process is: its broker account"
        " `{mqtt.account_prefix}-ingest-{worker}` is also its MQTT client id and names its"
        " persistent session, so keep it stable per worker and distinct between workers.",
    )
    session_expiry_seconds: int = Field(
        default=7 * 86_400,
        ge=10,
        description="How long the broker keeps the session (and queues) of a stopped worker.",
    )
    events_enabled: bool = Field(
        default=True, description="Publish normalized events under citytwin/$platform/events."
    )
    http_systems: dict[str, HttpIngestSystem] = Field(
        default_factory=dict,
        description="Systems allowed to post to POST /ingest/{namespace}/{name}/{channel},"
        " by key (the HTTP basic user name).",
    )
    http_max_body_bytes: int = Field(
        default=16_384, gt=0, le=1 << 20, description="Largest HTTP ingest body (413 above)."
    )

    @model_validator(mode="after")
    def _metrics_private_or_protected(self) -> IngestSettings:
        if not self.metrics_password.get_secret_value() and not _is_loopback(self.metrics_host):
            raise ValueError(
                f"metrics_host {self.metrics_host!r} is reachable from other machines and the"
                " metrics name every device: set metrics_password (HTTP basic, user"
                " 'metrics') or bind to 127.0.0.1"
            )
        return self

    @field_validator("http_systems")
    @classmethod
    def _system_keys(cls, value: dict[str, HttpIngestSystem]) -> dict[str, HttpIngestSystem]:
        for key in value:
            if not re.match(r"^[A-Za-z0-9_.\-]{1,64}$", key):
                raise ValueError(f"system key {key!r} must be 1-64 letters, digits, '_', '.', '-'")
        return value
