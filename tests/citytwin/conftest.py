"""The platform as a user starts it: `citytwin up` in a temporary state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import free_port


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
    return {
        **clean,
        "CITYTWIN_STATE_DIR": str(tmp_path / "var"),
        "CITYTWIN_MQTT__PORT": str(free_port()),
        "CITYTWIN_INFLUX__URL": f"http://127.0.0.1:{free_port()}",
        "CITYTWIN_HTTP__PORT": str(free_port()),
        "CITYTWIN_INGEST__METRICS_PORT": str(free_port()),
        "CITYTWIN_VIDEO__PORT": str(free_port()),
        "CITYTWIN_ANALYTICS__HEALTH_PORT": str(free_port()),
        "CITYTWIN_CALENDAR__PORT": str(free_port()),
        "CITYTWIN_LANGUAGE": "en",
    }


@pytest.fixture
def running_stack(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "citytwin", "up"],
        env=stack_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)
    log.close()
