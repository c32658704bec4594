"""``citytwin ingest``: one ingest worker, configured from the citytwin settings."""

from __future__ import annotations

import asyncio

import typer

from citytwin.accounts import ServiceRole
from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    influx_username,
    load_secrets,
    mqtt_account,
    registry_path,
    twins_base_url,
)
from citytwin.state_dir import use_private_files
from ingest.runtime import IngestRuntime


def ingest_runtime(settings: CitytwinSettings) -> IngestRuntime:
    """Everything ingest needs, taken from the one settings model."""
    paths = StatePaths(settings.state_dir)
    secrets = load_secrets(settings, paths)
    influx = settings.influx
    username, password = secrets.mqtt_login(mqtt_account(settings, ServiceRole.INGEST))
    return IngestRuntime(
        mqtt_host=settings.mqtt.host,
        mqtt_port=settings.mqtt.port,
        mqtt_keepalive=settings.mqtt.keepalive,
        mqtt_username=username,
        mqtt_password=password,
        influx_url=influx.url,
        influx_database=influx.database,
        influx_username=influx_username(settings),
        influx_password=secrets.influx,
        influx_token=influx.token,
        raw_retention_days=influx.raw_retention_days,
        rollup_retention_days=influx.rollup_retention_days,
        twins_url=twins_base_url(settings),
        twins_username=settings.twins.username,
        twins_password=secrets.twins,
        registry_path=registry_path(settings),
        spool_dir=paths.root / "ingest" / "spool",
        settings=settings.ingest,
    )


def ingest(ctx: typer.Context) -> None:
    """Take device messages from MQTT into InfluxDB, the twins and the event stream."""
    from ingest.service import run

    settings: CitytwinSettings = ctx.obj
    configure_logging(settings.log_level, process="ingest")
    use_private_files(StatePaths(settings.state_dir))
    asyncio.run(run(ingest_runtime(settings)))
