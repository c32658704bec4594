"""The compose deployment as docker-compose resolves it, and the citytwin settings each of
its citytwin services would load."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from citytwin.settings import CitytwinSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
CITYTWIN_IMAGE_CONTEXT = ".."


def env_example() -> dict[str, str]:
    """``NAME → value`` of the example's uncommented lines."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def required_variables() -> set[str]:
    """Variables the compose file refuses to start without (``${NAME:?…}``)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text(encoding="utf-8")))


def filled_env() -> dict[str, str]:
    """The example with every empty value (the passwords) given one of its own."""
    return {name: value or f"{name.lower()}-s3cret" for name, value in env_example().items()}


def run_compose(
    env: dict[str, str], env_file: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=COMPOSE_DIR,
        env={"PATH": "/usr/bin:/bin"},  # nothing from the test run's environment leaks in
    )


def resolved_config(env_file: Path) -> dict[str, Any]:
    """``docker-compose config`` of the file with every password set."""
    result = run_compose(filled_env(), env_file, "config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def citytwin_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services run from citytwin's own image."""
    return {
        name: service
        for name, service in config["services"].items()
        if service.get("build", {}).get("dockerfile") == "compose/Dockerfile"
    }


def mount(volume: str | dict[str, str]) -> tuple[str, str]:
    """``(target, source)`` of a service's volume, short (``src:dst[:ro]``) or long form."""
    if isinstance(volume, dict):
        return volume["target"], volume["source"]
    source, target, *_ = volume.split(":")
    return target, source


ENV_PREFIX = "CITYTWIN_"


def unknown_settings(environment: dict[str, str]) -> list[str]:
    """The ``CITYTWIN_…`` variables that name no setting of ``CitytwinSettings``.

    pydantic-settings ignores an unknown top-level variable (``CITYTWIN_MQTT_HOST``) and
    rejects an unknown nested one; both are a setting that silently does not apply, so
    both are reported here, walking the model as pydantic-settings does: the prefix, then
    fields joined by ``__`` (a dict field takes its keys from the rest).
    """
    from pydantic import BaseModel

    from citytwin.settings import CitytwinSettings

    unknown = []
    for key in environment:
        if not key.startswith(ENV_PREFIX):
            continue
        model: type[BaseModel] | None = CitytwinSettings
        for part in key.removeprefix(ENV_PREFIX).lower().split("__"):
            if model is None or part not in model.model_fields:
                unknown.append(key)
                break
            annotation = model.model_fields[part].annotation
            if getattr(annotation, "__origin__", None) is dict:
                break
            model = (
                annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel)
                else None
            )
    return unknown


def load_service_settings(environment: dict[str, str]) -> CitytwinSettings:
    """What ``citytwin`` loads in a container with ``environment`` (no config file), with
    the test run's own ``CITYTWIN_…`` variables out of the way and restored after."""
    from citytwin.settings import load_settings

    saved = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    for key in saved:
        del os.environ[key]
    os.environ.update({k: str(v) for k, v in environment.items()})
    try:
        return load_settings()
    finally:
        for key in environment:
            os.environ.pop(key, None)
        os.environ.update(saved)
