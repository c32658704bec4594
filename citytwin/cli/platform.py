"""Commands that run and inspect the platform: up, serve, status, provision, config."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import requests
import typer
import uvicorn

from citytwin.cli.ingest import ingest
from citytwin.i18n import text
from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.provisioning import provision
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    Secrets,
    StackError,
    broker_accounts,
    child_specs,
    http_base_url,
    load_secrets,
    preflight,
    twin_client,
)
from citytwin.state_dir import make_private, use_private_files
from citytwin.status import collect_status, status_as_json
from citytwin.supervisor import Supervisor, SupervisorError
from citytwin.twin_provisioning import TwinAccess, ensure_twins
from simulators.errors import ScenarioError
from twins.errors import DittoError
from twins.registry import Registry, RegistrySpec
from twins.yaml_source import YamlModelError

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_CANNOT_START = 3


def platform_commands(app: typer.Typer, config_app: typer.Typer) -> None:
    """Register this module's commands on the main app."""
    app.command("up")(up)
    app.command("serve")(serve)
    app.command("ingest")(ingest)
    app.command("status")(status)
    app.command("provision")(provision_command)
    config_app.command("check")(config_check)
    config_app.command("show")(config_show)


def _settings(ctx: typer.Context) -> CitytwinSettings:
    settings: CitytwinSettings = ctx.obj
    return settings


def up(
    ctx: typer.Context,
    scenario: Annotated[
        str | None,
        typer.Option(help="Simulation scenario to run with the platform (e.g. thaibinh)."),
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated clock speed for the scenario.")] = 60.0,
) -> None:
    """Start the embedded stack and keep it running until Ctrl-C or SIGTERM."""
    settings = _settings(ctx)
    configure_logging(settings.log_level, process="up")
    language = settings.language
    problems = preflight(settings)
    if problems:
        typer.echo(text("cannot_start", language), err=True)
        for line in problems:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(EXIT_CANNOT_START)
    typer.echo(text("stack_starting", language, state_dir=settings.state_dir.resolve()), err=True)
    try:
        asyncio.run(_run_stack(settings, scenario, speed))
    except (StackError, SupervisorError) as exc:
        typer.echo(text("cannot_start", language), err=True)
        typer.echo(f"  {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_START) from None
    except (YamlModelError, ScenarioError) as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(text("stack_stopped", language), err=True)


async def _run_stack(settings: CitytwinSettings, scenario: str | None, speed: float) -> None:
    paths = StatePaths(settings.state_dir)
    use_private_files(paths)
    make_private(paths.root)
    for directory in (paths.root, paths.logs, paths.run, paths.secrets):
        directory.mkdir(parents=True, exist_ok=True)
    secrets = load_secrets(settings, paths)
    registry = platform_registry(settings, scenario)
    provision(registry, paths, broker_accounts(settings, secrets))
    # children (ingest, simulate) read the same registry
    os.environ["CITYTWIN_REGISTRY"] = str(paths.effective_registry.resolve())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    specs = child_specs(settings, paths, secrets, scenario=scenario, speed=speed)
    supervisor = Supervisor(specs, paths.logs, paths.run)
    starting = asyncio.create_task(supervisor.__aenter__(), name="start-stack")
    stopped = asyncio.create_task(stop.wait(), name="stop-requested")
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # Ctrl-C while starting: stop what has started, and leave
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return
    stopped.cancel()
    starting.result()  # raises if a child could not start (it already stopped the rest)
    try:
        typer.echo(text("stack_ready", settings.language, url=http_base_url(settings)), err=True)
        await supervisor.run_until(stop)
    finally:
        await supervisor.__aexit__(None, None, None)


def platform_registry(settings: CitytwinSettings, scenario: str | None) -> Registry:
    """The devices this platform knows: the registry file's, plus the scenario's.

    Provisioning writes it to ``var/registry.yaml``, which every child process reads.
    """
    spec = Registry.load(settings.registry).spec if settings.registry else RegistrySpec()
    if scenario is not None:
        from simulators.scenario import load_scenario

        spec = spec.merged_with(load_scenario(scenario).registry_spec())
    return Registry(spec)


def serve(ctx: typer.Context) -> None:
    """Run the HTTP app (twin API, HTTP ingest, health, metrics) in the foreground."""
    from citytwin.app import create_app

    settings = _settings(ctx)
    configure_logging(settings.log_level, process="serve")
    if settings.registry is not None:
        try:  # read again by the app while it runs; a broken file must stop it here
            Registry.load(settings.registry)
        except YamlModelError as exc:
            for line in exc.problems:
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    paths = StatePaths(settings.state_dir)
    use_private_files(paths)
    secrets = load_secrets(settings, paths)
    uvicorn.run(
        create_app(settings, secrets),
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show every component, its endpoint and its health (exit 1 if any is down)."""
    settings = _settings(ctx)
    paths = StatePaths(settings.state_dir)
    try:
        secrets = load_secrets(settings, paths, create=False)
    except FileNotFoundError:  # never started here: every probe will say so
        secrets = Secrets({}, "")
    statuses = asyncio.run(collect_status(settings, secrets))
    language = settings.language
    if as_json:
        typer.echo(json.dumps(status_as_json(statuses), indent=2))
    else:
        width = max(len(s.endpoint) for s in statuses)
        header = f"{text('component', language):<12} {text('endpoint', language):<{width}}"
        typer.echo(f"{header}  {text('state', language)}")
        for item in statuses:
            word = text("healthy" if item.healthy else "unhealthy", language)
            pid = f" (pid {item.pid})" if item.pid else ""
            detail = f" — {item.detail}" if item.detail and not item.healthy else ""
            typer.echo(f"{item.name:<12} {item.endpoint:<{width}}  {word}{pid}{detail}")
        down = [s.name for s in statuses if not s.healthy]
        typer.echo(
            text("some_unhealthy", language, names=", ".join(down))
            if down
            else text("all_healthy", language)
        )
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


def provision_command(
    ctx: typer.Context,
    registry_file: Annotated[
        Path | None, typer.Argument(help="Site/device YAML file (or use --scenario).")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Provision a simulation scenario's devices instead.")
    ] = None,
) -> None:
    """Create or update device credentials, ACLs and twins; revoke devices no longer listed."""
    settings = _settings(ctx)
    configure_logging(settings.log_level, process="provision")
    if (registry_file is None) == (scenario is None):
        typer.echo("give either a registry FILE or --scenario NAME", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    paths = StatePaths(settings.state_dir)
    use_private_files(paths)
    secrets = load_secrets(settings, paths)
    try:
        registry = (
            Registry.load(registry_file)
            if registry_file is not None
            else platform_registry(settings, scenario)
        )
    except (YamlModelError, ScenarioError) as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    report = provision(registry, paths, broker_accounts(settings, secrets))
    language = settings.language
    typer.echo(
        text(
            "provisioned",
            language,
            total=len(registry),
            added=len(report.added),
            kept=len(report.kept),
            revoked=len(report.revoked),
        )
    )
    typer.echo(text("credentials_at", language, path=paths.device_credentials.resolve()))
    try:
        with twin_client(settings, secrets.twins) as client:
            twins = ensure_twins(client, registry, TwinAccess.from_settings(settings.twins))
    except (DittoError, requests.ConnectionError) as exc:
        typer.echo(text("twins_later", language, error=exc), err=True)
    else:
        typer.echo(text("twins_done", language, created=twins.created, updated=twins.updated))


def config_check(ctx: typer.Context) -> None:
    """Validate the configuration (problems are printed as `key: message`, exit 2)."""
    settings = _settings(ctx)
    typer.echo(text("config_ok", settings.language))


def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as JSON (secrets hidden)."""
    settings = _settings(ctx)
    typer.echo(settings.model_dump_json(indent=2))
