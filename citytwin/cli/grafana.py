"""``citytwin grafana``: build the boards, push them to a Grafana, draw them to PNG."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import grafana_influx_password, influx_username, load_secrets
from grafana.build import DASHBOARDS, boards, registry_sites, scenario_sites, write_boards
from grafana.errors import GrafanaError
from grafana.preview import preview_board
from grafana.push import BoardPusher, InfluxSource
from grafana.queries import InfluxReader
from twins.registry import SiteSpec

grafana_app = typer.Typer(help="The operations centre's Grafana boards.", no_args_is_help=True)
RegistryOption = Annotated[
    Path | None,
    typer.Option(help="Registry whose districts and sites the boards list (default: settings"
                 " registry, else the Thái Bình scenario's)."),
]  # fmt: skip


def _sites(settings: CitytwinSettings, registry: Path | None) -> list[SiteSpec]:
    path = registry or settings.registry
    return registry_sites(path) if path is not None else scenario_sites()


@grafana_app.command("build")
def build(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Directory of the board files.")] = DASHBOARDS,
    registry: RegistryOption = None,
) -> None:
    """Write every board as Grafana JSON, one folder per area."""
    settings: CitytwinSettings = ctx.obj
    built = boards(_sites(settings, registry), settings.grafana.console_url)
    for path in write_boards(out, built):
        typer.echo(str(path))


@grafana_app.command("push")
def push(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="Grafana's URL (default grafana.url).")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="CITYTWIN_GRAFANA__TOKEN", help="Service-account token."),
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """Create or update the folders, datasources and boards in a running Grafana."""
    settings: CitytwinSettings = ctx.obj
    grafana = settings.grafana
    key = token or grafana.token.get_secret_value()
    if not key:
        typer.echo("a token is needed: --token or grafana.token", err=True)
        raise typer.Exit(2)
    try:
        # the read-only user `citytwin up` created in the embedded InfluxDB, unless given
        password = grafana_influx_password(settings, StatePaths(settings.state_dir), create=False)
    except FileNotFoundError as exc:
        typer.echo(
            f"no password of InfluxDB user {grafana.influx_username!r} in {exc.filename}:"
            " run `citytwin up` once, or set grafana.influx_password",
            err=True,
        )
        raise typer.Exit(2) from None
    source = InfluxSource(
        str(grafana.influx_url or settings.influx.url).rstrip("/"),
        settings.influx.database,
        grafana.influx_username,
        password,
    )
    target = (url or str(grafana.url)).rstrip("/")
    try:
        report = BoardPusher(target, key).push(
            boards(_sites(settings, registry), grafana.console_url), source
        )
    except GrafanaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{target}: {len(report.created)} created, {len(report.updated)} updated")


@grafana_app.command("preview")
def preview(
    ctx: typer.Context,
    board: Annotated[
        list[str] | None, typer.Option(help="Board uid (repeat; default every board).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory of the PNG files.")] = Path("previews"),
    hours: Annotated[float, typer.Option(help="Range: the last N hours before --end.")] = 24.0,
    end: Annotated[
        float | None, typer.Option(help="End of the range, epoch seconds (default now).")
    ] = None,
    database: Annotated[str | None, typer.Option(help="InfluxDB database.")] = None,
    registry: RegistryOption = None,
) -> None:
    """Draw boards to PNG from the queries Grafana would run (citytwin's InfluxDB account)."""
    settings: CitytwinSettings = ctx.obj
    built = boards(_sites(settings, registry), settings.grafana.console_url)
    chosen = [b for b in built if not board or b.uid in board]
    unknown = set(board or []) - {b.uid for b in built}
    if unknown:
        typer.echo(f"no board {', '.join(sorted(unknown))}; boards: "
                   + ", ".join(b.uid for b in built), err=True)  # fmt: skip
        raise typer.Exit(2)
    try:
        secrets = load_secrets(settings, StatePaths(settings.state_dir), create=False)
    except FileNotFoundError as exc:
        typer.echo(f"InfluxDB's password is not in the state dir ({exc.filename});"
                   " run `citytwin up` first or set influx.password", err=True)  # fmt: skip
        raise typer.Exit(2) from None
    to_ms = int((end or time.time()) * 1000)
    from_ms = to_ms - int(hours * 3_600_000)
    url = str(settings.influx.url).rstrip("/")
    with InfluxReader(
        url, database or settings.influx.database, influx_username(settings), secrets.influx
    ) as reader:
        for item in chosen:
            try:
                timing = preview_board(reader, item.json(), out, from_ms, to_ms)
            except GrafanaError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            typer.echo(f"{timing.path} (queries {timing.query_seconds:.2f} s,"
                       f" drawing {timing.render_seconds:.2f} s)")  # fmt: skip
