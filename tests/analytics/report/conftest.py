"""Fixtures of the report tests: one stored week for the module (building it runs the
alert lifecycle and the KPI engine), and the CLI run as a user runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from citytwin.cli.report import report
from citytwin.settings import load_settings
from tests.analytics.report.week import StoredWeek, store_week
from tests.services import Influx

CliRun = Callable[..., "Ran"]


@pytest.fixture(scope="module")
def week(influx: Influx, tmp_path_factory: pytest.TempPathFactory) -> StoredWeek:
    database = "report" + uuid.uuid4().hex[:8]
    influx.create_database(database)
    return asyncio.run(store_week(influx, database, tmp_path_factory.mktemp("week")))


@dataclass(slots=True, frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _settings(influx: Influx, week: StoredWeek, state_dir: Path, influx_url: str) -> dict[str, str]:
    return {
        "CITYTWIN_STATE_DIR": str(state_dir),
        "CITYTWIN_REGISTRY": str(week.registry),
        "CITYTWIN_INFLUX__EMBEDDED": "false",
        "CITYTWIN_INFLUX__URL": influx_url,
        "CITYTWIN_INFLUX__DATABASE": week.database,
        "CITYTWIN_INFLUX__USERNAME": influx.username,
        "CITYTWIN_INFLUX__PASSWORD": influx.password,
    }


@pytest.fixture
def run_report_process(influx: Influx, week: StoredWeek, tmp_path: Path) -> CliRun:
    """``citytwin report ARGS`` as a user runs it: a process of its own, configured by
    ``CITYTWIN_*`` variables, against the stored week."""

    def run(*args: str) -> Ran:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
        env = {**clean, **_settings(influx, week, tmp_path / "var", influx.url)}
        done = subprocess.run(
            [sys.executable, "-m", "citytwin", "report", "--alerts-url", week.alerts_url, *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip
        return Ran(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def run_report(influx: Influx, week: StoredWeek, tmp_path: Path) -> CliRun:
    """The same command in this process (a process start costs seconds on a busy
    machine); ``influx_url`` points it elsewhere."""

    def run(*args: str, influx_url: str = influx.url) -> Ran:
        app = typer.Typer()

        @app.callback()
        def load(ctx: typer.Context) -> None:
            ctx.obj = load_settings()

        app.command("report")(report)
        env = _settings(influx, week, tmp_path / "var", influx_url)
        result = CliRunner().invoke(
            app, ["report", "--alerts-url", week.alerts_url, *args], env=env
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run
