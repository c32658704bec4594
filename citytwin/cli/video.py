"""``citytwin video``: the camera hub and WHEP relay, configured from the citytwin settings."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from pydantic import SecretStr

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
from twins.kinds import DeviceKind
from twins.registry import Registry
from video.service import VideoRuntime


def video_runtime(settings: CitytwinSettings, cameras: list[str]) -> VideoRuntime:
    """Everything the hub needs: its cameras (the shard), the twins, InfluxDB and the
    broker (as ``citytwin-video``, for presence events)."""
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    chosen = cameras or settings.video.cameras
    if not chosen:
        registry = Registry.load(registry_path(settings))
        chosen = [str(d.thing_id) for d in registry if d.kind is DeviceKind.CAMERA]
        chosen += [thing for thing in settings.video.sources if thing not in chosen]
    influx = settings.influx
    mqtt_username, mqtt_password = secrets.mqtt_login(mqtt_account(settings, ServiceRole.VIDEO))
    return VideoRuntime(
        settings=settings.video,
        cameras=chosen,
        twins_url=twins_base_url(settings),
        twins_username=settings.twins.username,
        twins_password=secrets.twins,
        twins_timeout=settings.twins.timeout,
        influx_url=str(influx.url).rstrip("/"),
        influx_database=influx.database,
        influx_username=influx_username(settings),
        influx_password=SecretStr(secrets.influx),
        influx_token=influx.token,
        token_key=SecretStr(secrets.video_token_key),
        mqtt_host=settings.mqtt.host,
        mqtt_port=settings.mqtt.port,
        mqtt_username=mqtt_username,
        mqtt_password=SecretStr(mqtt_password),
    )


def video(
    ctx: typer.Context,
    camera: Annotated[
        list[str] | None,
        typer.Option(help="Pull only this camera (thing id); repeat for a shard of several."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default video.port).")] = None,
) -> None:
    """Pull the cameras once and relay them to WebRTC viewers (WHEP)."""
    import uvicorn

    from video.service import create_video_app

    settings: CitytwinSettings = ctx.obj
    configure_logging(settings.log_level, process="video")
    logging.getLogger("aioice").setLevel(logging.WARNING)  # a line per ICE check otherwise
    runtime = video_runtime(settings, list(camera or []))
    uvicorn.run(
        create_video_app(runtime),
        host=settings.video.host,
        port=port or settings.video.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
