"""The embedded stack: what ``citytwin up`` starts, in which order, and how it is checked.

    mosquitto ─┐
    influxd  ──┤
    radicale ──┼─> citytwin serve (HTTP app: twins, HTTP ingest, status, metrics)
               ├─> citytwin ingest ──> citytwin simulate (when a scenario is given)
               ├─> citytwin video (camera hub, WHEP relay)
               ├─> citytwin analytics (rules, alerts, notifications, KPIs)
               └─> citytwin calendar (room bookings: CalDAV → twins, InfluxDB)

Radicale runs only when no external CalDAV server is configured (``calendar.url``).

Each is a child process of the supervisor with a config generated under the state dir.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from citytwin.accounts import (
    BrokerAccount,
    ServiceRole,
    account_name,
    analytics_accounts,
    role_acl,
)
from citytwin.broker import Autosave, write_mosquitto_config
from citytwin.credentials import stored_secret, write_private
from citytwin.influx_setup import InfluxAccounts, prepare_influx
from citytwin.influxd import write_influxd_config
from citytwin.paths import StatePaths
from citytwin.preflight import Program, busy_ports, find_program, missing_programs
from citytwin.probes import caldav_ready, http_ready, mqtt_ready
from citytwin.radicale import radicale_argv, write_radicale_config
from citytwin.settings import CitytwinSettings
from citytwin.supervisor import ChildSpec
from grafana.local import LocalInflux, write_provisioning
from ingest.calendar.sync import CalendarConnection
from ingest.metrics import METRICS_USER
from twins.client import DittoClient


class StackError(RuntimeError):
    """The stack cannot start; ``problems`` are lines a person can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(slots=True, frozen=True)
class Secrets:
    """Passwords citytwin generates once and keeps in the state dir (mode 0600)."""

    mqtt: Mapping[str, str]
    """Password of each of citytwin's broker accounts, by user name."""
    twins: str
    influx: str = ""
    """Password of the InfluxDB user citytwin writes as (empty: no InfluxDB auth)."""
    influx_admin: str = ""
    """Password of the embedded InfluxDB's admin (empty when InfluxDB is not embedded)."""
    influx_grafana: str = ""
    """Password of Grafana's read-only InfluxDB user (``grafana.influx_username``)."""
    video_token_key: str = ""
    """Key of the camera wall's viewer tokens, shared by ``serve`` and ``video``."""
    calendar: str = ""
    """Password of citytwin's CalDAV account (the embedded Radicale's, or the external's)."""

    def mqtt_login(self, username: str) -> tuple[str, str]:
        """``(username, password)`` of one broker account (password empty if unknown)."""
        return username, self.mqtt.get(username, "")


EMBEDDED_INFLUX_USER = "citytwin"
EMBEDDED_INFLUX_ADMIN = "admin"


def load_secrets(settings: CitytwinSettings, paths: StatePaths, *, create: bool = True) -> Secrets:
    """Passwords from settings when given, else from ``secrets/``.

    ``create``: generate missing ones (``up``, ``serve``); otherwise a missing file raises
    ``FileNotFoundError`` naming it (commands that only talk to a running platform).
    """
    given = settings.mqtt.passwords
    mqtt = {
        user: _secret(
            given[user].get_secret_value() if user in given else "",
            paths.mqtt_password(user),
            create,
        )
        for user in service_accounts(settings)
    }
    influx = settings.influx
    embedded = influx.embedded
    return Secrets(
        mqtt=mqtt,
        twins=twins_password(settings, paths, create=create),
        influx=(
            _secret(influx.password.get_secret_value(), paths.influx_password, create)
            if embedded
            else influx.password.get_secret_value()
        ),
        influx_admin=(
            _secret(influx.admin_password.get_secret_value(), paths.influx_admin_password, create)
            if embedded
            else ""
        ),
        influx_grafana=_grafana_secret(settings, paths, create),
        video_token_key=_secret(
            settings.video.token_key.get_secret_value(), paths.video_token_key, create
        ),
        calendar=calendar_password(settings, paths, create=create),
    )


def calendar_password(settings: CitytwinSettings, paths: StatePaths, *, create: bool) -> str:
    """The CalDAV password: given, from ``calendar.password_file``, or (embedded Radicale)
    generated once into ``secrets/calendar-password``."""
    calendar = settings.calendar
    if calendar.password_file is not None:
        return calendar.password_file.read_text(encoding="utf-8").strip()
    configured = calendar.password.get_secret_value()
    if configured or not calendar.embedded:
        return configured
    return _secret("", paths.calendar_password, create)


def calendar_connection(settings: CitytwinSettings, secrets: Secrets) -> CalendarConnection:
    """Where the room calendars are and how citytwin logs in there."""
    calendar = settings.calendar
    return CalendarConnection(
        base_url=calendar.base_url(),
        username=calendar.username,
        password=secrets.calendar,
        timeout=calendar.timeout,
        create_calendars=calendar.create_calendars,
    )


def service_accounts(settings: CitytwinSettings) -> dict[str, ServiceRole]:
    """Every broker account of citytwin's services: user name → role."""
    prefix = settings.mqtt.account_prefix
    accounts = {
        account_name(prefix, ServiceRole.INGEST, worker): ServiceRole.INGEST
        for worker in range(1, settings.mqtt.ingest_workers + 1)
    }
    for role in ServiceRole:
        if role is ServiceRole.ANALYTICS:
            for worker in range(1, settings.mqtt.analytics_workers + 1):
                for user in analytics_accounts(prefix, worker):
                    accounts[user] = role
        elif role is not ServiceRole.INGEST:
            accounts[account_name(prefix, role)] = role
    return accounts


def broker_accounts(settings: CitytwinSettings, secrets: Secrets) -> list[BrokerAccount]:
    """The accounts provisioning writes into the broker's password file and ACL."""
    return [
        BrokerAccount(user, secrets.mqtt[user], role_acl(role))
        for user, role in service_accounts(settings).items()
    ]


def mqtt_account(settings: CitytwinSettings, role: ServiceRole) -> str:
    """The broker account this process uses in ``role`` (ingest: its ``ingest.worker``)."""
    worker = settings.ingest.worker if role is ServiceRole.INGEST else None
    return account_name(settings.mqtt.account_prefix, role, worker)


def analytics_logins(settings: CitytwinSettings) -> tuple[str, str]:
    """The feed's and the alerts publisher's accounts of this analytics process."""
    return analytics_accounts(settings.mqtt.account_prefix, settings.analytics.worker)


def influx_username(settings: CitytwinSettings) -> str:
    """The InfluxDB user citytwin writes and queries as."""
    if settings.influx.username or not settings.influx.embedded:
        return settings.influx.username
    return EMBEDDED_INFLUX_USER


def embedded_influx_accounts(settings: CitytwinSettings, secrets: Secrets) -> InfluxAccounts:
    """What ``citytwin up`` creates in the embedded InfluxDB before ingest starts."""
    influx = settings.influx
    return InfluxAccounts(
        url=str(influx.url).rstrip("/"),
        database=influx.database,
        admin=(EMBEDDED_INFLUX_ADMIN, secrets.influx_admin),
        user=(influx_username(settings), secrets.influx),
        reader=(settings.grafana.influx_username, secrets.influx_grafana),
        raw_days=influx.raw_retention_days,
        rollup_days=influx.rollup_retention_days,
    )


def grafana_influx_password(settings: CitytwinSettings, paths: StatePaths, *, create: bool) -> str:
    """The password of Grafana's read-only InfluxDB user: ``grafana.influx_password`` when
    set, else — with the embedded InfluxDB, which citytwin creates the user in — the one
    generated in the state dir (``""`` for an InfluxDB of someone else's without it)."""
    configured = settings.grafana.influx_password.get_secret_value()
    if configured or not settings.influx.embedded:
        return configured
    return _secret("", paths.influx_grafana_password, create)


def _grafana_secret(settings: CitytwinSettings, paths: StatePaths, create: bool) -> str:
    """As ``grafana_influx_password``, but ``""`` when a state dir of an older ``up`` has
    none yet: only ``up`` (which creates it) and ``grafana push`` (which asks) use it."""
    try:
        return grafana_influx_password(settings, paths, create=create)
    except FileNotFoundError:
        return ""


def write_grafana_provisioning(
    settings: CitytwinSettings, paths: StatePaths, secrets: Secrets
) -> list[Path]:
    """Grafana's datasources and boards for the embedded InfluxDB (``var/grafana/
    provisioning``), read as ``grafana.influx_username``, whose password the state dir
    keeps (also when the settings give it: the datasource names the file)."""
    secret = paths.influx_grafana_password
    if not secret.exists() or secret.read_text(encoding="utf-8").strip() != secrets.influx_grafana:
        write_private(secret, secrets.influx_grafana + "\n")
    influx = settings.influx
    return write_provisioning(
        paths.grafana_provisioning,
        LocalInflux(
            str(settings.grafana.influx_url or influx.url).rstrip("/"),
            influx.database,
            settings.grafana.influx_username,
            secret,
        ),
    )


def twins_password(settings: CitytwinSettings, paths: StatePaths, *, create: bool) -> str:
    """The password of ``twins.username`` (see ``load_secrets`` for ``create``)."""
    return _secret(settings.twins.password.get_secret_value(), paths.twins_password, create)


def _secret(configured: str, path: Path, create: bool) -> str:
    if configured:
        return configured
    if create:
        return stored_secret(path)
    return path.read_text(encoding="utf-8").strip()


def ingest_metrics_url(settings: CitytwinSettings) -> str:
    return f"http://127.0.0.1:{settings.ingest.metrics_port}/metrics"


def ingest_metrics_auth(settings: CitytwinSettings) -> tuple[str, str] | None:
    """HTTP basic for ingest's /metrics, when it has a password."""
    password = settings.ingest.metrics_password.get_secret_value()
    return (METRICS_USER, password) if password else None


def http_base_url(settings: CitytwinSettings) -> str:
    host = "127.0.0.1" if settings.http.host in {"0.0.0.0", "::"} else settings.http.host
    return f"http://{host}:{settings.http.port}"


def video_base_url(settings: CitytwinSettings) -> str:
    """The camera hub's HTTP API (WHEP, snapshots)."""
    host = "127.0.0.1" if settings.video.host in {"0.0.0.0", "::"} else settings.video.host
    return f"http://{host}:{settings.video.port}"


def video_public_url(settings: CitytwinSettings) -> str:
    """The hub as browsers reach it (the camera wall plays from there)."""
    return (settings.video.public_url or video_base_url(settings)).rstrip("/")


def analytics_health_url(settings: CitytwinSettings) -> str:
    """``GET /health`` of the analytics process (200 once it has caught up)."""
    host = settings.analytics.health_host
    host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    return f"http://{host}:{settings.analytics.health_port}/health"


def twins_base_url(settings: CitytwinSettings) -> str:
    """The twin API: a real Ditto when configured, else the embedded service."""
    return str(settings.twins.url).rstrip("/") if settings.twins.url else http_base_url(settings)


def twin_client(
    settings: CitytwinSettings, twins_password: str, *, username: str | None = None
) -> DittoClient:
    """A Ditto client as citytwin's own account (or as ``username``, e.g. an operator)."""
    return DittoClient(
        twins_base_url(settings),
        username or settings.twins.username,
        twins_password,
        timeout=settings.twins.timeout,
        pre_authenticated=settings.twins.pre_authenticated_header and not settings.twins.embedded,
    )


def registry_path(settings: CitytwinSettings) -> Path:
    """The registry file ingest and the HTTP ingest read (an empty one if none exists)."""
    if settings.registry is not None:
        return settings.registry
    path = StatePaths(settings.state_dir).effective_registry
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("sites: []\n", encoding="utf-8")
    return path


def preflight(settings: CitytwinSettings) -> list[str]:
    """Everything that would stop the stack from starting, one line each."""
    programs = []
    ports = [
        ("http.port", settings.http.host, settings.http.port),
        ("ingest.metrics_port", settings.ingest.metrics_host, settings.ingest.metrics_port),
        ("video.port", settings.video.host, settings.video.port),
        ("analytics.health_port", settings.analytics.health_host, settings.analytics.health_port),
    ]
    if settings.mqtt.embedded:
        programs.append(Program("mosquitto", "mosquitto"))
        ports.append(("mqtt.port", settings.mqtt.host, settings.mqtt.port))
    if settings.influx.embedded:
        programs.append(Program("influxd", "influxdb"))
        ports.append(("influx.url", "127.0.0.1", settings.influx.port))
        ports.append(
            ("influx.url (its port + 2, InfluxDB's RPC)", "127.0.0.1", settings.influx.port + 2)
        )
    if settings.calendar.embedded:
        ports.append(("calendar.port", "127.0.0.1", settings.calendar.port))
    return missing_programs(programs) + busy_ports(ports)


def child_specs(
    settings: CitytwinSettings,
    paths: StatePaths,
    secrets: Secrets,
    *,
    scenario: str | None = None,
    speed: float = 60.0,
) -> list[ChildSpec]:
    """The children of ``citytwin up``, in start order, with configs written."""
    specs: list[ChildSpec] = []
    if settings.mqtt.embedded:
        autosave = Autosave(settings.mqtt.autosave_every, settings.mqtt.autosave_on_changes)
        conf = write_mosquitto_config(paths, settings.mqtt.host, settings.mqtt.port, autosave)
        specs.append(
            ChildSpec(
                name="mosquitto",
                argv=[find_program("mosquitto") or "mosquitto", "-c", str(conf)],
                health=partial(
                    mqtt_ready,
                    settings.mqtt.host,
                    settings.mqtt.port,
                    *secrets.mqtt_login(mqtt_account(settings, ServiceRole.PROBE)),
                ),
            )
        )
    if settings.influx.embedded:
        conf = write_influxd_config(paths, settings.influx.port)
        write_grafana_provisioning(settings, paths, secrets)
        specs.append(
            ChildSpec(
                name="influxd",
                argv=[find_program("influxd") or "influxd", "-config", str(conf)],
                health=partial(prepare_influx, embedded_influx_accounts(settings, secrets)),
                start_timeout=60.0,
            )
        )
    calendar = settings.calendar
    if calendar.embedded:
        write_radicale_config(paths, calendar.port, calendar.username, secrets.calendar)
        specs.append(
            ChildSpec(
                name="radicale",
                argv=radicale_argv(paths),
                health=partial(
                    caldav_ready, calendar.base_url(), calendar.username, secrets.calendar
                ),
            )
        )
    citytwin = [sys.executable, "-m", "citytwin"]
    specs.append(
        ChildSpec(
            name="serve",
            argv=[*citytwin, "serve"],
            health=partial(http_ready, http_base_url(settings) + "/health"),
        )
    )
    specs.append(
        ChildSpec(
            name="ingest",
            argv=[*citytwin, "ingest"],
            health=partial(
                http_ready,
                ingest_metrics_url(settings),
                auth=ingest_metrics_auth(settings),
            ),
        )
    )
    specs.append(
        ChildSpec(
            name="video",
            argv=[*citytwin, "video"],
            health=partial(http_ready, video_base_url(settings) + "/health"),
        )
    )
    specs.append(
        ChildSpec(
            name="analytics",
            argv=[*citytwin, "analytics"],
            health=partial(http_ready, analytics_health_url(settings)),
            start_timeout=60.0,  # it replays InfluxDB before it calls itself ready
        )
    )
    # last, and not waited for: its first round runs while `status` says "no sync round
    # yet"; the status file is this run's from then on
    paths.calendar_status.unlink(missing_ok=True)
    specs.append(ChildSpec(name="calendar", argv=[*citytwin, "calendar"], health=_always_ready))
    if scenario is not None:
        specs.append(
            ChildSpec(
                name="simulate",
                argv=[*citytwin, "simulate", scenario, "--speed", str(speed)],
                health=_always_ready,
                stop_timeout=15.0,
            )
        )
    return specs


async def _always_ready() -> bool:
    return True
