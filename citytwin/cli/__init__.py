"""The ``citytwin`` command line.

Settings are loaded once here (``--config`` / ``CITYTWIN_CONFIG``, then ``CITYTWIN_*``
variables) and handed to each command through the typer context; bad settings stop every
command with ``key: message`` lines and exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from citytwin.cli.contract import contract_app
from citytwin.cli.platform import platform_commands
from citytwin.i18n import Language, text
from citytwin.settings import SettingsFileError, load_settings, settings_problems

app = typer.Typer(
    name="citytwin",
    help="Provincial monitoring and operations centre: twins, ingest, alerts, KPIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check and show the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
platform_commands(app, config_app)
app.add_typer(contract_app, name="contract")

EXIT_BAD_CONFIG = 2


@app.callback()
def load(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(envvar="CITYTWIN_CONFIG", help="YAML config file (under CITYTWIN_* vars)."),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option(help="State directory (default ./var).")] = None,
) -> None:
    """Load the settings every command works with."""
    if state_dir is not None:
        # children started by `up` inherit the environment, so they see the same state dir
        os.environ["CITYTWIN_STATE_DIR"] = str(state_dir)
    if config is not None:
        os.environ["CITYTWIN_CONFIG"] = str(config.resolve())
    try:
        ctx.obj = load_settings(config)
    except (SettingsFileError, ValueError) as exc:
        problems = settings_problems(exc)
        language: Language = "en" if os.environ.get("CITYTWIN_LANGUAGE") == "en" else "vi"
        typer.echo(text("config_bad", language, count=len(problems)), err=True)
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


def _register_optional() -> None:
    """Commands of the parts that have a CLI of their own."""
    from citytwin.cli.analytics import analytics
    from citytwin.cli.calendar import calendar
    from citytwin.cli.grafana import grafana_app
    from citytwin.cli.report import report
    from citytwin.cli.simulate import simulate
    from citytwin.cli.twins import twins_app
    from citytwin.cli.video import video

    app.command("report")(report)
    app.command("simulate")(simulate)
    app.command("video")(video)
    app.command("analytics")(analytics)
    app.command("calendar")(calendar)
    app.add_typer(twins_app, name="twins", help="Read, search, watch, import and export twins.")
    app.add_typer(grafana_app, name="grafana")


def main() -> None:
    """Entry point of the ``citytwin`` console script."""
    _register_optional()
    app()
