"""``citytwin ingest``: one ingest worker, configured from the citytwin settings."""

from __future__ import annotations

import asyncio

import typer

from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets, registry_path, twins_base_url
from ingest.runtime import IngestRuntime


def ingest_runtime(settings: CitytwinSettings) -> IngestRuntime:
    """Everything ingest needs, taken from the one settings model."""
    paths = StatePaths(settings.state_dir)
    secrets = load_secrets(settings, paths)
    influx = settings.influx
    return IngestRuntime(
        mqtt_host=settings.mqtt.host,
        mqtt_port=settings.mqtt.port,
        mqtt_keepalive=settings.mqtt.keepalive,
        mqtt_username=settings.mqtt.service_username,
        mqtt_password=secrets.mqtt_service,
        influx_url=influx.url,
        influx_database=influx.database,
        influx_username=influx.username,
        influx_password=influx.password,
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
    asyncio.run(run(ingest_runtime(settings)))
