"""Each citytwin service's environment in compose, read by the settings model it runs
with: every variable a known setting, the settings valid, every engine the compose one."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from citytwin.settings import CitytwinSettings, load_settings
from tests.compose.support import (
    COMPOSE_DIR,
    ENV_PREFIX,
    citytwin_services,
    mount,
    unknown_settings,
)

SERVICES = ["provision", "serve", "ingest", "analytics", "video", "simulate"]
WITH_ALERT_STORE = {"serve", "analytics"}


def settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> CitytwinSettings:
    """What ``citytwin`` loads in the service's container (its environment, no file)."""
    for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(key)
    for key, value in service["environment"].items():
        monkeypatch.setenv(key, str(value))
    return load_settings()


@pytest.mark.parametrize("name", SERVICES)
def test_every_variable_is_a_setting(config: dict[str, Any], name: str) -> None:
    environment = citytwin_services(config)[name]["environment"]
    assert unknown_settings(environment) == []


def test_an_unknown_variable_is_caught() -> None:
    assert unknown_settings(
        {
            "CITYTWIN_MQTT__HOST": "mosquitto",
            "CITYTWIN_MQTT_HOST": "mosquitto",  # pydantic-settings would ignore it
            "CITYTWIN_INFLUX__URL__HOST": "x",
            "CITYTWIN_MQTT__PASSWORDS__CITYTWIN-HTTP": "s3cret",
            "CITYTWIN_ALERTS__ESCALATION__MAJOR": "PT15M",
            "CITYTWIN_TWINS__USRENAME": "citytwin",
        }
    ) == ["CITYTWIN_MQTT_HOST", "CITYTWIN_INFLUX__URL__HOST", "CITYTWIN_TWINS__USRENAME"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_loads_settings_that_use_the_compose_engines(
    config: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = config["services"]
    settings = settings_of(services[name], monkeypatch)
    assert not settings.mqtt.embedded
    assert settings.mqtt.host in services
    assert not settings.influx.embedded
    assert settings.influx.url.host in services
    influx = services["influxdb"]["environment"]
    assert settings.influx.username == influx["INFLUXDB_USER"]
    assert settings.influx.password.get_secret_value() == influx["INFLUXDB_USER_PASSWORD"]
    assert settings.influx.database == influx["INFLUXDB_DB"]
    # Ditto through its nginx, with the account nginx is given
    assert not settings.twins.embedded
    assert settings.twins.url is not None
    assert settings.twins.url.host == "ditto-nginx"
    assert settings.twins.url.port == 80
    assert not settings.twins.pre_authenticated_header  # HTTP basic; nginx vouches upstream
    nginx = services["ditto-nginx"]["environment"]
    assert settings.twins.username == "citytwin"  # the user 40-citytwin-users.sh writes
    assert settings.twins.password.get_secret_value() == nginx["DITTO_CITYTWIN_PASSWORD"]
    assert settings.state_dir.as_posix() == "/state"


@pytest.mark.parametrize("name", sorted(WITH_ALERT_STORE))
def test_the_alert_store_is_the_compose_postgres(
    config: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = config["services"]
    settings = settings_of(services[name], monkeypatch)
    url = urlsplit(settings.alerts.url)
    postgres = services["postgres"]["environment"]
    assert url.scheme == "postgresql"
    assert url.hostname in services
    assert url.hostname == "postgres"
    assert url.port == 5432
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password is None
    assert url.path == "/" + postgres["POSTGRES_DB"]
    assert settings.alerts.password.get_secret_value() == postgres["POSTGRES_PASSWORD"]


def test_the_browser_facing_addresses_are_the_published_ones(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = config["services"]
    serve = settings_of(services["serve"], monkeypatch)
    video = settings_of(services["video"], monkeypatch)
    assert serve.http.host == "0.0.0.0"
    assert video.video.host == "0.0.0.0"
    assert serve.video.public_url == video.video.public_url
    assert any(str(video.video.port) in str(p) for p in services["video"]["ports"])
    assert any(str(serve.http.port) in str(p) for p in services["serve"]["ports"])


HELP_TIMEOUT_S = 300
"""An import of the whole CLI takes seconds; on a machine loaded many times over its cores
(a CI box shared with other runs) a minute was seen to pass."""


def _help(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citytwin", command, "--help"],
        capture_output=True,
        text=True,
        timeout=HELP_TIMEOUT_S,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_every_command_and_option_exists(config: dict[str, Any]) -> None:
    commands = [service["command"] for service in citytwin_services(config).values()]
    names = sorted({command[1] for command in commands})
    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        helps = dict(zip(names, pool.map(_help, names), strict=True))
    for name, result in helps.items():
        assert result.returncode == 0, (name, result.stderr)
    for command in commands:
        for option in (word for word in command[2:] if word.startswith("--")):
            assert option in helps[command[1]].stdout, (command, option)


def test_influxdb_starts_with_the_retention_policies_ingest_asks_for(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's init script creates them as admin; ingest, without admin rights, then
    finds them as asked (``InfluxV1Client.setup`` alters nothing)."""
    from ingest.influx import KEPT_POLICY, RAW_POLICY, ROLLUP_POLICY

    influx = settings_of(config["services"]["ingest"], monkeypatch).influx
    script = (COMPOSE_DIR / "influxdb" / "init" / "citytwin.iql").read_text(encoding="utf-8")
    database = f'ON "{influx.database}"'
    assert (
        f'CREATE RETENTION POLICY "{RAW_POLICY}" {database} DURATION'
        f" {influx.raw_retention_days}d REPLICATION 1 DEFAULT;"
    ) in script
    assert (
        f'CREATE RETENTION POLICY "{ROLLUP_POLICY}" {database} DURATION'
        f" {influx.rollup_retention_days}d REPLICATION 1;"
    ) in script
    assert f'CREATE RETENTION POLICY "{KEPT_POLICY}" {database} DURATION INF REPLICATION 1;' in (
        script
    )
    mounts = dict(mount(v) for v in config["services"]["influxdb"]["volumes"])
    assert Path(mounts["/docker-entrypoint-initdb.d"]) == COMPOSE_DIR / "influxdb" / "init"
