"""The embedded stack: what ``citytwin up`` starts, in which order, and how it is checked.

    mosquitto ─┐
    influxd  ──┼─> citytwin serve (HTTP app: twins, HTTP ingest, status, metrics)
               ├─> citytwin ingest ──> citytwin simulate (when a scenario is given)
               └─> citytwin video (camera hub, WHEP relay)

Each is a child process of the supervisor with a config generated under the state dir.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from citytwin.broker import write_mosquitto_config
from citytwin.credentials import stored_secret
from citytwin.influxd import write_influxd_config
from citytwin.paths import StatePaths
from citytwin.preflight import Program, busy_ports, find_program, missing_programs
from citytwin.probes import http_ready, mqtt_ready
from citytwin.settings import CitytwinSettings
from citytwin.supervisor import ChildSpec
from twins.client import DittoClient


class StackError(RuntimeError):
    """The stack cannot start; ``problems`` are lines a person can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(slots=True, frozen=True)
class Secrets:
    """Passwords citytwin generates once and keeps in the state dir (mode 0600)."""

    mqtt_service: str
    twins: str


def load_secrets(settings: CitytwinSettings, paths: StatePaths, *, create: bool = True) -> Secrets:
    """Passwords from settings when given, else from ``secrets/``.

    ``create``: generate missing ones (``up``, ``serve``); otherwise a missing file raises
    ``FileNotFoundError`` naming it (commands that only talk to a running platform).
    """

    return Secrets(
        _secret(settings.mqtt.service_password.get_secret_value(), paths.service_password, create),
        twins_password(settings, paths, create=create),
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


def http_base_url(settings: CitytwinSettings) -> str:
    host = "127.0.0.1" if settings.http.host in {"0.0.0.0", "::"} else settings.http.host
    return f"http://{host}:{settings.http.port}"


def video_base_url(settings: CitytwinSettings) -> str:
    """The camera hub's HTTP API (WHEP, snapshots)."""
    host = "127.0.0.1" if settings.video.host in {"0.0.0.0", "::"} else settings.video.host
    return f"http://{host}:{settings.video.port}"


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
        conf = write_mosquitto_config(paths, settings.mqtt.host, settings.mqtt.port)
        specs.append(
            ChildSpec(
                name="mosquitto",
                argv=[find_program("mosquitto") or "mosquitto", "-c", str(conf)],
                health=partial(
                    mqtt_ready,
                    settings.mqtt.host,
                    settings.mqtt.port,
                    settings.mqtt.service_username,
                    secrets.mqtt_service,
                ),
            )
        )
    if settings.influx.embedded:
        conf = write_influxd_config(paths, settings.influx.port)
        specs.append(
            ChildSpec(
                name="influxd",
                argv=[find_program("influxd") or "influxd", "-config", str(conf)],
                health=partial(
                    http_ready, f"{settings.influx.url}".rstrip("/") + "/ping", expect=204
                ),
                start_timeout=60.0,
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
            health=partial(http_ready, f"http://127.0.0.1:{settings.ingest.metrics_port}/metrics"),
        )
    )
    specs.append(
        ChildSpec(
            name="video",
            argv=[*citytwin, "video"],
            health=partial(http_ready, video_base_url(settings) + "/health"),
        )
    )
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
