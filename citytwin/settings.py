"""The one settings model of citytwin, loaded once by the CLI and passed down.

Sources, strongest first: arguments, environment variables ``CITYTWIN_SECTION__FIELD``
(e.g. ``CITYTWIN_MQTT__PORT=1884``), the YAML file named by ``--config`` or
``CITYTWIN_CONFIG``, then the defaults here — which run everything embedded on one machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from analytics.alerts.settings import AlertStoreSettings
from analytics.indicators.settings import IndicatorSettings
from analytics.kpis.settings import KpiSettings
from analytics.notify.settings import NotifySettings
from analytics.service.settings import AnalyticsSettings
from citytwin.open.settings import OpenDataSettings
from grafana.settings import GrafanaSettings
from ingest.calendar.settings import CalendarSettings
from ingest.reports.settings import ReportSettings
from ingest.settings import IngestSettings
from twins.settings import AccountName, TwinRole, TwinSettings
from twins.validation import dotted, problems
from video.settings import VideoSettings


class MqttSettings(BaseModel):
    """The MQTT broker devices and citytwin services talk through."""

    model_config = ConfigDict(extra="forbid")

    embedded: bool = Field(
        default=True, description="Run Mosquitto as a child process (False: use `host`)."
    )
    host: str = Field(default="127.0.0.1", description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker TCP port.")
    keepalive: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive, seconds.")
    account_prefix: AccountName = Field(
        default="citytwin",
        description="Start of the names of citytwin's broker accounts: one per service"
        " ({prefix}-ingest-1, {prefix}-http, {prefix}-analytics and -analytics-alerts,"
        " {prefix}-video, {prefix}-probe); each is also that service's MQTT client id.",
    )
    ingest_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Ingest worker accounts to provision ({prefix}-ingest-1 … -N); a worker"
        " picks its own with `ingest.worker`.",
    )
    analytics_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Analytics processes to provision broker accounts for (a province split"
        " by site: each picks its own with `analytics.worker` and `analytics.sites`).",
    )
    autosave_every: int = Field(
        default=1000,
        ge=1,
        description="The embedded Mosquitto saves its in-memory state (sessions, queued"
        " messages) after this many changes, or seconds with autosave_on_changes false; a"
        " broker crash loses the QoS 1 messages it acknowledged since (docs/ingest.md).",
    )
    autosave_on_changes: bool = Field(
        default=True, description="Count autosave_every in changes (True) or seconds (False)."
    )
    passwords: dict[AccountName, SecretStr] = Field(
        default_factory=dict,
        description="Passwords of citytwin's broker accounts by user name. An account not"
        " listed gets one generated once into the state dir (secrets/mqtt/{user}).",
    )


class InfluxSettings(BaseModel):
    """The time-series store, spoken to through InfluxDB's v1 HTTP API."""

    model_config = ConfigDict(extra="forbid")

    embedded: bool = Field(
        default=True, description="Run InfluxDB 1.x as a child process (False: use `url`)."
    )
    url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8086"),
        description="Base URL of the v1 HTTP API (/write, /query, /ping).",
    )
    database: str = Field(
        default="citytwin", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Database name."
    )
    username: str = Field(
        default="",
        description="v1 user (empty: no auth; the embedded InfluxDB: `citytwin`, created"
        " by `citytwin up`).",
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="v1 password (embedded and empty: generated once into the state dir).",
    )
    admin_password: SecretStr = Field(
        default=SecretStr(""),
        description="Password of the embedded InfluxDB's `admin` user, which `citytwin up`"
        " uses to create the database and the citytwin user. Empty: generated once into"
        " the state dir.",
    )
    token: SecretStr = Field(
        default=SecretStr(""),
        description="InfluxDB 2.x/3.x token for the v1 compatibility API (instead of a user).",
    )
    raw_retention_days: int = Field(default=30, ge=1, description="Keep raw points this long.")
    rollup_retention_days: int = Field(
        default=400, ge=1, description="Keep 1-minute rollups this long."
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> InfluxSettings:
        if self.username and not self.password.get_secret_value():
            raise ValueError("password must be provided with username")
        if self.username and self.token.get_secret_value():
            raise ValueError("give either username/password or token, not both")
        return self

    @property
    def port(self) -> int:
        """The TCP port of `url` (the embedded InfluxDB binds it on loopback)."""
        return self.url.port or 8086


class HttpSettings(BaseModel):
    """The citytwin HTTP app: twin API, HTTP ingest, status, metrics, operator console."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port to listen on.")


# ---- alerts and KPIs over HTTP: the alert store section and the API's tokens ----------
# (kept together so that a branch adding other analytics sections merges cleanly)


class ApiToken(BaseModel):
    """A bearer token another system calls the alerts and KPI API with, and its role."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr = Field(
        description="The secret sent as `Authorization: Bearer <token>` (16 characters or more)."
    )
    role: TwinRole = Field(
        default=TwinRole.VIEWER,
        description="viewer (reads alerts and KPIs), operator (also acknowledges,"
        " resolves, assigns and annotates alerts) or admin (also maintenance windows).",
    )

    @model_validator(mode="after")
    def _long_enough(self) -> ApiToken:
        if len(self.token.get_secret_value()) < 16:
            raise ValueError("token: use 16 characters or more (e.g. `openssl rand -hex 24`)")
        return self


class ApiSettings(BaseModel):
    """The alerts and KPI HTTP API (/api/alerts, /api/kpis): who may call it besides the
    console's users (twins.users, with their role), and how the live feed polls."""

    model_config = ConfigDict(extra="forbid")

    tokens: dict[AccountName, ApiToken] = Field(
        default_factory=dict,
        description="Bearer tokens of other systems by name; the name is the actor"
        " written in an alert's history (as `api:NAME`).",
    )
    live_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often an open live feed (/api/alerts/stream) asks the alert store"
        " for changes.",
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="Idle time after which a live feed sends a comment."
    )

    @model_validator(mode="after")
    def _tokens_differ(self) -> ApiSettings:
        seen: dict[str, str] = {}
        for name, token in self.tokens.items():
            secret = token.token.get_secret_value()
            if secret in seen:
                raise ValueError(f"tokens: {name!r} has the same token as {seen[secret]!r}")
            seen[secret] = name
        return self


# ---- end of the alerts and KPIs block ----------------------------------------------------


class CitytwinSettings(BaseSettings):
    """Everything citytwin can be told; every section forbids unknown keys."""

    model_config = SettingsConfigDict(
        env_prefix="CITYTWIN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    state_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded stack keeps its data, configs, logs and secrets.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Logging level of every citytwin process."
    )
    language: Literal["vi", "en"] = Field(
        default="vi", description="Language of operator-facing text (Vietnamese first)."
    )
    registry: Path | None = Field(
        default=None,
        description="Site/device YAML file provisioned by `citytwin up` (empty: no devices"
        " unless `up --scenario NAME` provisions the scenario's).",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT broker.")
    influx: InfluxSettings = Field(default_factory=InfluxSettings, description="InfluxDB.")
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP app.")
    twins: TwinSettings = Field(default_factory=TwinSettings, description="Digital twins.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingest.")
    video: VideoSettings = Field(
        default_factory=VideoSettings, description="Camera hub and WebRTC relay."
    )
    # --- the analytics process (`citytwin analytics`) and the stores it shares ---
    analytics: AnalyticsSettings = Field(
        default_factory=AnalyticsSettings, description="Alert engine and KPI process."
    )
    alerts: AlertStoreSettings = Field(
        default_factory=AlertStoreSettings,
        description="Alert store (SQLite in the state dir, or PostgreSQL), evidence, escalation.",
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings,
        description="Alert notifications: the retained MQTT topic, webhooks, apprise channels.",
    )
    kpis: KpiSettings = Field(default_factory=KpiSettings, description="KPI rules.")
    indicators: IndicatorSettings = Field(
        default_factory=IndicatorSettings,
        description="Sector indicators: the catalogue and figures sectors upload.",
    )
    reports: ReportSettings = Field(
        default_factory=ReportSettings,
        description="Citizen reports: the systems that submit them, the province outline,"
        " photo limits.",
    )
    # --- alerts and KPIs over HTTP (see ApiSettings) ---
    api: ApiSettings = Field(
        default_factory=ApiSettings, description="The alerts and KPI HTTP API: tokens, live feed."
    )
    grafana: GrafanaSettings = Field(default_factory=GrafanaSettings, description="Grafana.")
    open_data: OpenDataSettings = Field(
        default_factory=OpenDataSettings,
        description="The public read-only API: NGSI-LD sensors, KPIs as open data, quotas.",
    )
    calendar: CalendarSettings = Field(
        default_factory=CalendarSettings,
        description="The meeting rooms' calendars over CalDAV (embedded Radicale or external).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @model_validator(mode="after")
    def _ingest_metrics_can_be_probed(self) -> CitytwinSettings:
        if self.ingest.metrics_port == 0:
            raise ValueError(
                "ingest.metrics_port 0 (any port) cannot be probed by `citytwin up` and"
                " `citytwin status`; choose a port (default 9108)"
            )
        return self

    @model_validator(mode="after")
    def _ingest_worker_has_an_account(self) -> CitytwinSettings:
        if self.ingest.worker > self.mqtt.ingest_workers:
            raise ValueError(
                f"ingest.worker {self.ingest.worker} has no broker account: only"
                f" {self.mqtt.ingest_workers} are provisioned (raise mqtt.ingest_workers)"
            )
        return self

    @model_validator(mode="after")
    def _analytics_worker_has_accounts(self) -> CitytwinSettings:
        if self.analytics.worker > self.mqtt.analytics_workers:
            raise ValueError(
                f"analytics.worker {self.analytics.worker} has no broker accounts: only"
                f" {self.mqtt.analytics_workers} are provisioned (raise mqtt.analytics_workers)"
            )
        return self

    @model_validator(mode="after")
    def _alert_store_url_is_usable(self) -> CitytwinSettings:
        from analytics.alerts.errors import AlertStoreUrlError
        from analytics.alerts.store import parse_store_url

        if self.alerts.url:
            try:
                parse_store_url(self.alerts.url, self.alerts.password.get_secret_value())
            except AlertStoreUrlError as exc:  # its message names alerts.url and the value
                raise ValueError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _report_tokens_are_not_api_tokens(self) -> CitytwinSettings:
        """A reporting system's token must never also open the alerts API."""
        api = {t.token.get_secret_value(): name for name, t in self.api.tokens.items()}
        for name, system in self.reports.systems.items():
            other = api.get(system.token.get_secret_value())
            if other is not None:
                raise ValueError(
                    f"reports.systems.{name}.token is also api.tokens.{other}'s token: give"
                    " the reporting system a token of its own"
                )
        return self

    @model_validator(mode="after")
    def _ports_do_not_collide(self) -> CitytwinSettings:
        used: dict[int, str] = {}
        rpc = "influx.url's port + 2 (the embedded InfluxDB's RPC port)"
        for key, port, local in (
            ("mqtt.port", self.mqtt.port, self.mqtt.embedded),
            ("influx.url", self.influx.port, self.influx.embedded),
            (rpc, self.influx.port + 2, self.influx.embedded),
            ("http.port", self.http.port, True),
            ("ingest.metrics_port", self.ingest.metrics_port, True),
            ("video.port", self.video.port, True),
            ("calendar.port", self.calendar.port, self.calendar.embedded),
            ("analytics.health_port", self.analytics.health_port, self.analytics.health_port > 0),
        ):
            if not local:
                continue
            if port > 65535:
                raise ValueError(f"{key} would be port {port}; the highest is 65535")
            if port in used:
                raise ValueError(f"{key} uses port {port}, already taken by {used[port]}")
            used[port] = key
        return self


def load_settings(config_file: Path | None = None, **overrides: Any) -> CitytwinSettings:
    """Load settings from the environment, then `config_file` (YAML) under them.

    Raises ``pydantic.ValidationError`` (see ``settings_problems``) or ``SettingsFileError``.
    """
    file_values: dict[str, Any] = {}
    if config_file is not None:
        file_values = _read_yaml(config_file)
    merged = _deep_merge(file_values, overrides)
    return _with_file_under_env(merged)


class SettingsFileError(ValueError):
    """A config file that cannot be read as a YAML mapping."""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SettingsFileError(f"{path}: no such config file") from exc
    except OSError as exc:
        raise SettingsFileError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # its text names the line and column
        raise SettingsFileError(f"{path}: not valid YAML: {exc}") from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SettingsFileError(f"{path}: the top level must be a mapping of sections")
    return values


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _with_file_under_env(file_values: dict[str, Any]) -> CitytwinSettings:
    """Environment variables win over the file, field by field, also inside sections."""
    from pydantic_settings import EnvSettingsSource

    env_values = EnvSettingsSource(
        CitytwinSettings, env_prefix="CITYTWIN_", env_nested_delimiter="__"
    )()
    return CitytwinSettings.model_validate(_deep_merge(file_values, env_values))


def settings_problems(exc: Exception) -> list[str]:
    """Turn a validation error into ``key: message`` lines a person can act on."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        unknown = "unknown setting (check the spelling; see `citytwin config show`)"
        return [
            f"{dotted(problem.loc) or '(settings)'}: {problem.message}"
            for problem in problems(exc, unknown_field=unknown)
        ]
    return [str(exc)]
