"""``citytwin calendar``: follow the meeting rooms' calendars into their twins and InfluxDB."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import typer

from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    calendar_connection,
    influx_username,
    load_secrets,
    registry_path,
    twin_client,
)
from citytwin.state_dir import use_private_files

ROOM_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
"""Floating times and all-day bookings are read in the province's time zone."""


def calendar(ctx: typer.Context) -> None:
    """Sync the meeting rooms' bookings from CalDAV into their twins and InfluxDB."""
    from ingest.calendar.sync import CalendarSync, run_sync
    from ingest.influx import InfluxV1Client
    from ingest.registry_file import RegistryFile

    settings: CitytwinSettings = ctx.obj
    configure_logging(settings.log_level, process="calendar")
    paths = StatePaths(settings.state_dir)
    use_private_files(paths)
    secrets = load_secrets(settings, paths)
    influx = settings.influx

    async def main() -> None:
        async with InfluxV1Client(
            str(influx.url),
            influx.database,
            username=influx_username(settings),
            password=secrets.influx,
            token=influx.token.get_secret_value(),
        ) as client:
            sync = CalendarSync(
                calendar_connection(settings, secrets),
                twin_client(settings, secrets.twins),
                client,
                RegistryFile(registry_path(settings)),
                paths.calendar_status,
                tz=ROOM_TIMEZONE,
                window_days=settings.calendar.window_days,
                poll_seconds=settings.calendar.poll_seconds,
            )
            await run_sync(sync)

    asyncio.run(main())
