"""``citytwin analytics``: the alert engine and the KPIs, configured from the citytwin
settings (docs/alerts.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from analytics.alerts.errors import AlertStoreError, AlertStoreUrlError
from analytics.checkpoint import CheckpointError
from analytics.rules.errors import RuleFileError
from analytics.service.runtime import AnalyticsRuntime
from analytics.service.settings import AnalyticsSettings
from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings, settings_problems
from citytwin.stack import (
    analytics_logins,
    influx_username,
    load_secrets,
    registry_path,
    twins_base_url,
    video_base_url,
)
from citytwin.state_dir import use_private_files

EXIT_BAD_CONFIG = 2
EXIT_FAILED = 1


def analytics_runtime(settings: CitytwinSettings) -> AnalyticsRuntime:
    """Everything the analytics process needs, taken from the one settings model."""
    paths = StatePaths(settings.state_dir)
    secrets = load_secrets(settings, paths)
    influx = settings.influx
    feed_user, alerts_user = analytics_logins(settings)
    twins = settings.twins
    return AnalyticsRuntime(
        settings=settings.analytics,
        alerts=settings.alerts,
        notify=settings.notify,
        kpis=settings.kpis,
        state_dir=settings.state_dir,
        registry_path=registry_path(settings),
        mqtt_host=settings.mqtt.host,
        mqtt_port=settings.mqtt.port,
        mqtt_username=feed_user,
        mqtt_password=secrets.mqtt.get(feed_user, ""),
        alerts_username=alerts_user,
        alerts_password=secrets.mqtt.get(alerts_user, ""),
        influx_url=str(influx.url).rstrip("/"),
        influx_database=influx.database,
        influx_username=influx_username(settings),
        influx_password=secrets.influx,
        influx_token=influx.token.get_secret_value(),
        twins_url=twins_base_url(settings),
        twins_username=twins.username,
        twins_password=secrets.twins,
        twins_timeout=twins.timeout,
        twins_pre_authenticated=twins.pre_authenticated_header and not twins.embedded,
        video_url=video_base_url(settings),
        video_shards={
            pattern: shard.url
            for shard in settings.video.shards.values()
            for pattern in shard.cameras
        },
    )


def _sites(text: str) -> list[str]:
    return [site.strip() for site in text.split(",") if site.strip()]


def analytics(
    ctx: typer.Context,
    sites: Annotated[
        str | None,
        typer.Option(help="Only these sites, comma-separated (default analytics.sites: all)."),
    ] = None,
    worker: Annotated[
        int | None,
        typer.Option(help="Analytics worker number, for its broker accounts (analytics.worker)."),
    ] = None,
) -> None:
    """Judge the event stream by the rules: alerts, notifications, twin summaries, KPIs."""
    from analytics.service.service import run

    settings: CitytwinSettings = ctx.obj
    configure_logging(settings.log_level, process="analytics")
    use_private_files(StatePaths(settings.state_dir))
    if sites is not None or worker is not None:
        changes = settings.analytics.model_dump()
        if sites is not None:
            changes["sites"] = _sites(sites)
        if worker is not None:
            changes["worker"] = worker
        try:
            chosen = AnalyticsSettings.model_validate(changes)
            settings = CitytwinSettings.model_validate(
                {**settings.model_dump(), "analytics": chosen.model_dump()}
            )
        except ValueError as exc:
            for line in settings_problems(exc):  # the option sets the setting it names
                typer.echo(f"analytics.{line}", err=True)
            raise typer.Exit(EXIT_BAD_CONFIG) from None
    try:
        asyncio.run(run(analytics_runtime(settings)))
    except RuleFileError as exc:
        typer.echo(f"analytics: the rules cannot be loaded:\n{exc}", err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    except AlertStoreUrlError as exc:
        typer.echo(f"analytics: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    except (AlertStoreError, CheckpointError) as exc:  # the supervisor starts it again
        typer.echo(f"analytics: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
