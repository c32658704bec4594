"""compose/docker-compose.yml: valid, complete, and unable to start with a missing password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.compose.support import (
    COMPOSE_DIR,
    env_example,
    filled_env,
    mount,
    required_variables,
    run_compose,
)

ENGINES = {
    "mosquitto": r"eclipse-mosquitto:2\.\d+\.\d+$",
    "influxdb": r"influxdb:1\.11$",
    "grafana": r"grafana/grafana-oss:12\.\d+\.\d+$",
    "postgres": r"postgres:\d+$",
    "mongodb": r"mongo:\d+\.\d+$",
    "ditto-nginx": r"nginx:\d+\.\d+",
    "ditto-policies": r"eclipse/ditto-policies:3\.\d+\.\d+$",
    "ditto-things": r"eclipse/ditto-things:3\.\d+\.\d+$",
    "ditto-things-search": r"eclipse/ditto-things-search:3\.\d+\.\d+$",
    "ditto-gateway": r"eclipse/ditto-gateway:3\.\d+\.\d+$",
}
CITYTWIN_COMMANDS = {
    "provision": "provision",
    "serve": "serve",
    "ingest": "ingest",
    "analytics": "analytics",
    "video": "video",
    "simulate": "simulate",
}


def test_the_file_validates_with_every_password_set(tmp_path: Path) -> None:
    result = run_compose(filled_env(), tmp_path / ".env", "config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(required_variables()))
def test_compose_refuses_to_start_without_each_password(tmp_path: Path, missing: str) -> None:
    env = {name: value for name, value in filled_env().items() if name != missing}
    result = run_compose(env, tmp_path / ".env", "config", "-q")
    assert result.returncode != 0
    assert f"set {missing} in compose/.env" in result.stderr


def test_the_example_lists_every_required_variable_and_gives_no_password() -> None:
    example = env_example()
    assert required_variables() <= set(example)
    passwords = {name: value for name, value in example.items() if "PASSWORD" in name}
    assert len(passwords) >= 7
    assert all(value == "" for value in passwords.values()), passwords
    assert not (COMPOSE_DIR / "env.example").exists(), "one example file: .env.example"


def test_no_password_has_a_default_in_the_compose_file() -> None:
    text = (COMPOSE_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    defaults = re.findall(r"\$\{([A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY)[A-Z0-9_]*):?-", text)
    assert defaults == []


def test_every_engine_is_a_pinned_image(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, pattern in ENGINES.items():
        assert re.search(pattern, services[name]["image"]), (name, services[name]["image"])
    ditto = {services[name]["image"].rsplit(":", 1)[1] for name in ENGINES if "ditto-" in name}
    assert len(ditto - {services["ditto-nginx"]["image"].rsplit(":", 1)[1]}) == 1


def test_every_long_running_service_restarts_and_reports_health(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if name == "provision":  # one-shot
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        if name != "simulate":
            assert service["healthcheck"]["test"], name


def test_state_lives_in_named_volumes(config: dict[str, Any]) -> None:
    services = config["services"]
    wanted = {
        "influxdb": "/var/lib/influxdb",
        "postgres": "/var/lib/postgresql/data",
        "mongodb": "/data/db",
        "grafana": "/var/lib/grafana",
        "serve": "/state",
        "mosquitto": "/state",
    }
    for name, target in wanted.items():
        mounts = dict(mount(v) for v in services[name]["volumes"])
        assert mounts[target] in config["volumes"], (name, target)


def test_influxdb_has_authentication_on_and_three_users(config: dict[str, Any]) -> None:
    env = config["services"]["influxdb"]["environment"]
    assert env["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    citytwin = config["services"]["ingest"]["environment"]
    assert env["INFLUXDB_USER"] == citytwin["CITYTWIN_INFLUX__USERNAME"]
    assert env["INFLUXDB_USER_PASSWORD"] == citytwin["CITYTWIN_INFLUX__PASSWORD"]
    assert env["INFLUXDB_DB"] == citytwin["CITYTWIN_INFLUX__DATABASE"]
    grafana = config["services"]["grafana"]["environment"]
    assert env["INFLUXDB_READ_USER"] == grafana["CITYTWIN_GRAFANA__INFLUX_USERNAME"]
    assert env["INFLUXDB_READ_USER_PASSWORD"] == grafana["CITYTWIN_GRAFANA__INFLUX_PASSWORD"]
    assert len({env["INFLUXDB_ADMIN_PASSWORD"], env["INFLUXDB_USER_PASSWORD"]}) == 2


def test_grafana_mounts_the_repository_provisioning_and_boards(config: dict[str, Any]) -> None:
    mounts = dict(mount(v) for v in config["services"]["grafana"]["volumes"])
    root = COMPOSE_DIR.parent
    assert Path(mounts["/etc/grafana/provisioning"]) == root / "grafana" / "provisioning"
    assert Path(mounts["/var/lib/grafana/dashboards"]) == root / "grafana" / "dashboards"


def test_each_citytwin_service_runs_one_command_of_one_image(config: dict[str, Any]) -> None:
    services = config["services"]
    images = {services[name]["image"] for name in CITYTWIN_COMMANDS}
    assert len(images) == 1
    for name, command in CITYTWIN_COMMANDS.items():
        assert services[name]["command"][:2] == ["citytwin", command]
        assert services[name]["user"] == "10001:10001"
    assert services["simulate"]["profiles"] == ["sim"]
    assert [n for n, s in services.items() if s.get("profiles")] == ["simulate"]


def test_the_dockerfile_installs_the_lock_file_and_runs_unprivileged() -> None:
    text = (COMPOSE_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \S+python:3\.11-slim", text, re.M)
    assert "pip install --no-cache-dir -r requirements.lock" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    for package in ("ffmpeg", "fonts-dejavu-core", "libpango-1.0-0"):
        assert package in text
    packages = re.findall(r"^COPY (\w+) \1$", text, re.M)
    pyproject = (COMPOSE_DIR.parent / "pyproject.toml").read_text(encoding="utf-8")
    listed = re.search(r"^include = \[(.*)\]$", pyproject, re.M)
    assert listed is not None
    assert set(packages) == {p.strip('" *') for p in listed.group(1).split(",")}


def test_grafana_has_every_variable_its_provisioning_reads(config: dict[str, Any]) -> None:
    import re

    provisioning = COMPOSE_DIR.parent / "grafana" / "provisioning"
    wanted = {
        name
        for path in provisioning.rglob("*.yml")
        for name in re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text(encoding="utf-8"))
    }
    assert wanted  # the datasource's URL, database and read-only account
    environment = config["services"]["grafana"]["environment"]
    assert wanted <= set(environment), sorted(wanted - set(environment))
    assert environment["GF_PANELS_DISABLE_SANITIZE_HTML"] == "true"  # the wall's iframe
