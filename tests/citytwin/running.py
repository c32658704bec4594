"""Running the citytwin CLI as a user does, in a subprocess with its own environment."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

STARTUP_LIMIT = 240.0  # a bound on a hang, not a figure: on a loaded machine starting takes long


def citytwin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citytwin", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def wait_healthy(env: dict[str, str], process: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + STARTUP_LIMIT
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, f"citytwin up exited early:\n{log.read_text()}"
        result = citytwin("status", "--json", env=env)
        report = json.loads(result.stdout)
        if result.returncode == 0 and report["healthy"]:
            return report
        time.sleep(0.5)
    pytest.fail(f"not healthy within {STARTUP_LIMIT} s: {report}\n{log.read_text()}")
