"""The compose deployment: a valid file whose citytwin commands exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"


def compose_config() -> dict[str, object]:
    result = subprocess.run(
        [
            "docker-compose",
            "-f",
            str(COMPOSE),
            "--env-file",
            str(ROOT / "compose" / "env.example"),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, object] = yaml.safe_load(result.stdout)
    return config


def test_compose_file_is_valid_and_runs_the_whole_platform() -> None:
    services = compose_config()["services"]
    assert isinstance(services, dict)
    for needed in (
        "mosquitto",
        "influxdb",
        "grafana",
        "ditto-gateway",
        "ditto-things",
        "ditto-policies",
        "ditto-things-search",
        "mongodb",
        "serve",
        "ingest",
        "provision",
        "simulate",
    ):
        assert needed in services, needed
    assert services["influxdb"]["image"].endswith("influxdb:1.11")
    assert services["serve"]["environment"]["CITYTWIN_TWINS__EMBEDDED"] == "false"


def test_every_citytwin_command_in_compose_exists() -> None:
    services = compose_config()["services"]
    assert isinstance(services, dict)
    commands = [
        s["command"]
        for s in services.values()
        if isinstance(s.get("command"), list) and s["command"][0] == "citytwin"
    ]
    assert len(commands) >= 4
    for command in commands:
        words = [w for w in command[1:] if not w.startswith("-")][:1]
        result = subprocess.run(
            [sys.executable, "-m", "citytwin", *words, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{command}: {result.stderr}"
        for option in (w for w in command[1:] if w.startswith("--")):
            assert option in result.stdout, f"{command}: {option} unknown"


def test_compose_env_example_sets_every_required_variable() -> None:
    text = COMPOSE.read_text()
    example = (ROOT / "compose" / "env.example").read_text()
    import re

    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required
    assert all(f"{name}=" in example for name in required)
