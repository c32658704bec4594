"""`citytwin config check`: every problem as `key: message`, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from citytwin.preflight import busy_ports

CLI = [sys.executable, "-m", "citytwin"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_valid_defaults_pass(tmp_path: Path) -> None:
    result = run_cli("config", "check", env={"CITYTWIN_LANGUAGE": "en"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration is valid." in result.stdout


def test_vietnamese_is_the_default_language(tmp_path: Path) -> None:
    result = run_cli("config", "check", cwd=tmp_path)
    assert "Cấu hình hợp lệ." in result.stdout


def test_each_problem_is_a_key_and_a_message(tmp_path: Path) -> None:
    config = tmp_path / "citytwin.yaml"
    config.write_text(
        "mqtt:\n  port: 70000\n  colour: blue\ninflux:\n  username: admin\nhttp:\n  port: 1883\n"
    )
    result = run_cli("--config", str(config), "config", "check", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "mqtt.port: Input should be less than or equal to 65535" in lines
    assert "mqtt.colour: unknown setting (check the spelling; see `citytwin config show`)" in lines
    assert "influx: password must be provided with username" in lines


def test_environment_overrides_the_file_and_is_checked_too(tmp_path: Path) -> None:
    config = tmp_path / "citytwin.yaml"
    config.write_text("http:\n  port: 8090\n")
    result = run_cli(
        "--config", str(config), "config", "show", env={"CITYTWIN_HTTP__PORT": "8095"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert '"port": 8095' in result.stdout
    bad = run_cli("config", "check", env={"CITYTWIN_MQTT__PORT": "many"}, cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        "mqtt.port: Input should be a valid integer, unable to parse string as an integer"
        in bad.stderr
    )


def test_colliding_ports_are_named(tmp_path: Path) -> None:
    result = run_cli("config", "check", env={"CITYTWIN_HTTP__PORT": "1883"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "(settings): http.port uses port 1883, already taken by mqtt.port" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CITYTWIN_INFLUX__URL": "http://127.0.0.1:65535"},
            "influx.url's port + 2 (the embedded InfluxDB's RPC port) would be port 65537",
        ),
        (
            {"CITYTWIN_HTTP__PORT": "8088"},
            "http.port uses port 8088, already taken by influx.url's port + 2",
        ),
        (
            {"CITYTWIN_MQTT__ACCOUNT_PREFIX": "svc user:1"},
            "mqtt.account_prefix: 'svc user:1' is not an account name",
        ),
        (
            {"CITYTWIN_TWINS__USERS": '{"ops:1": {"password": "p"}}'},
            "'ops:1' is not an account name",
        ),
    ],
)
def test_settings_that_would_break_start_up_are_refused(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_cli("config", "check", env={"CITYTWIN_LANGUAGE": "en", **env}, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr


def test_serve_refuses_a_broken_registry_with_its_line(tmp_path: Path) -> None:
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - id: thaibinh.hcc\n    sector: heath\n")
    result = run_cli("serve", env={"CITYTWIN_REGISTRY": str(registry)}, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{registry}:3" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "citytwin.yaml"
    config.write_text("mqtt:\n  port: 1883\n  host: [unclosed\n")
    result = run_cli("--config", str(config), "config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "line 3" in result.stderr or ":3" in result.stderr


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    result = run_cli("--config", str(tmp_path / "nope.yaml"), "config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr


def test_secrets_are_not_shown(tmp_path: Path) -> None:
    secrets = {
        "CITYTWIN_MQTT__PASSWORDS": '{"citytwin-http": "hunter2"}',
        "CITYTWIN_INFLUX__ADMIN_PASSWORD": "hunter3",
        "CITYTWIN_INGEST__METRICS_PASSWORD": "hunter4",
    }
    result = run_cli("config", "show", env=secrets, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "citytwin-http" in result.stdout
    for secret in ("hunter2", "hunter3", "hunter4"):
        assert secret not in result.stdout


@pytest.mark.usefixtures("broker")
def test_busy_port_names_the_setting(broker: object) -> None:
    port = broker.port  # type: ignore[attr-defined]
    lines = busy_ports([("mqtt.port", "127.0.0.1", port)])
    assert lines == [
        f"port {port} on 127.0.0.1 is already in use by another program;"
        " set mqtt.port (env CITYTWIN_MQTT__PORT) to a free port, or stop that program"
    ]


def test_a_missing_program_names_the_package_and_the_way_out() -> None:
    from citytwin.preflight import Program, missing_programs

    assert missing_programs([Program("mosquitto", "mosquitto")]) == []
    assert missing_programs([Program("no-such-broker", "no-such-package")]) == [
        "no-such-broker is not installed: run `apt-get install -y no-such-package` as root"
        " (Debian/Ubuntu), or deploy with docker compose (see compose/README.md)"
    ]
