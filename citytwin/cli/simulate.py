"""``citytwin simulate [SCENARIO]``: provision a scenario's devices and play it.

Registered by the application with ``app.command("simulate")(simulate)``. Reads the
settings from ``ctx.obj``, provisions the scenario's devices on the broker (idempotent:
known devices keep their passwords), runs the simulators with a live progress line on
stderr and prints a summary; the ground truth goes to
``{state_dir}/simulations/{scenario}-{timestamp}/ground-truth.jsonl`` unless
``--ground-truth`` says otherwise. The rooms' bookings are written into the rooms' CalDAV
calendars (the embedded Radicale, or ``calendar.url``), where ``citytwin calendar`` reads
them; ``--no-calendar`` has the rooms' panels announce them instead.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from citytwin.i18n import Language
from citytwin.i18n import text as message
from citytwin.paths import StatePaths
from citytwin.provisioning import load_device_credentials, provision
from citytwin.settings import CitytwinSettings
from citytwin.stack import broker_accounts, calendar_connection, load_secrets
from citytwin.state_dir import use_private_files
from simulators.calendar import CalendarAccount
from simulators.errors import ScenarioError, SimulatorError
from simulators.runner import Progress, RunSummary, run_scenario
from simulators.scenario import Scenario, load_scenario
from twins.registry import Registry
from twins.yaml_source import YamlModelError

DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>h|m|s|)\s*$")
UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str) -> float:
    """``10m`` → 600.0; ``90s``, ``2h``, ``45`` (seconds) also work."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(text)
    return float(match["value"]) * UNIT_SECONDS[match["unit"]]


def simulate(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Argument(help="Bundled scenario name (thaibinh, smoke) or a YAML file.")
    ] = "thaibinh",
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per wall second (default: the scenario's, ×60)."),
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this much wall time: 10m, 90s, 2h.")
    ] = None,
    faults: Annotated[
        str | None, typer.Option(help="Fault profile of the scenario (e.g. light, hostile).")
    ] = None,
    no_video: Annotated[
        bool, typer.Option("--no-video", help="Cameras publish status only, no RTSP.")
    ] = False,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Where to write the ground-truth JSON lines.")
    ] = None,
    no_calendar: Annotated[
        bool,
        typer.Option(
            "--no-calendar",
            help="Rooms announce their bookings on their panels instead of booking them in"
            " their CalDAV calendars.",
        ),
    ] = False,
) -> None:
    """Play a scenario of simulated field devices against the broker."""
    settings: CitytwinSettings = ctx.obj
    language = settings.language
    duration_s = None
    if duration is not None:
        try:
            duration_s = parse_duration(duration)
        except ValueError:
            raise typer.BadParameter(
                message("sim_bad_duration", language, value=duration)
            ) from None
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        typer.echo(message("sim_bad_scenario", language), err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None
    paths = StatePaths(settings.state_dir)
    use_private_files(paths)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    truth_path = ground_truth or (
        paths.root / "simulations" / f"{loaded.name}-{stamp}" / "ground-truth.jsonl"
    )
    try:
        credentials = _provision(settings, paths, loaded)
    except YamlModelError as exc:
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        message("sim_provisioned", language,
            devices=len(credentials.devices), scenario=loaded.name, added=credentials.added,
            truth=truth_path,
        ),
        err=True,
    )  # fmt: skip
    calendar = None if no_calendar else _calendar_account(settings, paths)
    try:
        summary = asyncio.run(
            _run(settings, loaded, credentials.devices, speed, duration_s, truth_path,
                 faults, not no_video, calendar),
        )  # fmt: skip
    except (SimulatorError, OSError) as exc:
        typer.echo("", err=True)
        typer.echo(message("sim_failed", language, error=exc), err=True)
        raise typer.Exit(1) from None
    typer.echo("", err=True)
    _print_summary(summary, language)


class _Provisioned:
    def __init__(self, devices: dict[str, tuple[str, str]], added: int) -> None:
        self.devices = devices
        self.added = added


def _provision(settings: CitytwinSettings, paths: StatePaths, scenario: Scenario) -> _Provisioned:
    """Add the scenario's devices to those the platform knows, revoking none of them.

    Field devices provisioned from a registry file keep working while a tester plays a
    scenario next to them.
    """
    accounts = broker_accounts(settings, load_secrets(settings, paths))
    registry = Registry(scenario.registry_spec())
    report = provision(registry, paths, accounts, add_only=True)
    wanted = {str(device.thing_id) for device in registry}
    devices = {
        thing_id: (entry.username, entry.password)
        for thing_id, entry in load_device_credentials(paths).items()
        if thing_id in wanted
    }
    return _Provisioned(devices, len(report.added))


def _calendar_account(settings: CitytwinSettings, paths: StatePaths) -> CalendarAccount:
    """The CalDAV account ``citytwin calendar`` follows the rooms' calendars with."""
    connection = calendar_connection(settings, load_secrets(settings, paths))
    return CalendarAccount(
        connection.base_url, connection.username, connection.password, connection.timeout
    )


async def _run(
    settings: CitytwinSettings,
    scenario: Scenario,
    credentials: dict[str, tuple[str, str]],
    speed: float | None,
    duration_s: float | None,
    truth_path: Path,
    faults: str | None,
    video: bool,
    calendar: CalendarAccount | None,
) -> RunSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    language = settings.language
    effective_speed = speed if speed is not None else scenario.speed

    def show(progress: Progress) -> None:
        line = message(
            "sim_progress",
            language,
            sim=progress.sim_time.strftime("%Y-%m-%d %H:%M:%S"),
            speed=1 if progress.live else effective_speed,
            live=message("sim_live", language) if progress.live else "",
            rate=progress.messages_per_s,
            online=progress.devices_online,
            devices=progress.devices,
            incidents=progress.incidents_fired,
            buffered=progress.buffered,
            streams=progress.streams,
        )
        sys.stderr.write(line)
        sys.stderr.flush()

    try:
        return await run_scenario(
            scenario,
            mqtt_host=settings.mqtt.host,
            mqtt_port=settings.mqtt.port,
            credentials=credentials,
            speed=speed,
            duration_s=duration_s,
            ground_truth_path=truth_path,
            progress=show,
            stop=stop,
            faults=faults,
            video=video,
            calendar=calendar,
        )
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _print_summary(summary: RunSummary, language: Language) -> None:
    typer.echo(
        message(
            "sim_summary",
            language,
            scenario=summary.scenario,
            start=summary.sim_start.strftime("%Y-%m-%d %H:%M"),
            end=summary.sim_end.strftime("%Y-%m-%d %H:%M"),
            wall=summary.wall_s,
            messages=summary.messages,
            incidents=summary.incidents_fired,
            reconnects=summary.reconnects,
            dropped=summary.dropped,
        )
    )
    for thing, url in sorted(summary.streams.items()):
        typer.echo(message("sim_stream", language, thing=thing, url=url))
    lines = sum(summary.truth_counts.values())
    typer.echo(message("sim_truth", language, lines=lines, path=summary.ground_truth))
    for what, count in sorted(summary.truth_counts.items()):
        typer.echo(f"  {what}: {count}")
