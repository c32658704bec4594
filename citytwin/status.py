"""``citytwin status``: every component, its endpoint and whether it is healthy."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

from citytwin.accounts import ServiceRole
from citytwin.paths import StatePaths
from citytwin.probes import caldav_ready, http_ready, mqtt_ready
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    Secrets,
    analytics_health_url,
    http_base_url,
    ingest_metrics_auth,
    ingest_metrics_url,
    mqtt_account,
    video_base_url,
)
from ingest.calendar.status import SyncStatus


@dataclass(slots=True, frozen=True)
class ComponentStatus:
    """One line of the status report."""

    name: str
    endpoint: str
    healthy: bool
    pid: int | None
    detail: str = ""
    """Why it is not healthy, when the component says (e.g. a degraded calendar)."""


def _pid(paths: StatePaths, name: str) -> int | None:
    try:
        return int(paths.pid_file(name).read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None


async def collect_status(settings: CitytwinSettings, secrets: Secrets) -> list[ComponentStatus]:
    """Probe every component concurrently."""
    paths = StatePaths(settings.state_dir)
    base = http_base_url(settings)
    twins_url = (str(settings.twins.url).rstrip("/") if settings.twins.url else base) + "/api/2"
    influx = str(settings.influx.url).rstrip("/")
    checks = {
        ("mosquitto", f"mqtt://{settings.mqtt.host}:{settings.mqtt.port}"): mqtt_ready(
            settings.mqtt.host,
            settings.mqtt.port,
            *secrets.mqtt_login(mqtt_account(settings, ServiceRole.PROBE)),
        ),
        ("influxd", influx): http_ready(f"{influx}/ping", expect=204),
        ("serve", base): http_ready(f"{base}/health"),
        ("twins", twins_url): http_ready(
            f"{twins_url}/search/things/count",
            auth=(settings.twins.username, secrets.twins),
        ),
        ("ingest", ingest_metrics_url(settings)): http_ready(
            ingest_metrics_url(settings), auth=ingest_metrics_auth(settings)
        ),
        ("video", video_base_url(settings)): http_ready(f"{video_base_url(settings)}/health"),
        ("analytics", analytics_health_url(settings)): http_ready(analytics_health_url(settings)),
    }
    calendar = settings.calendar
    if calendar.embedded:
        checks[("radicale", calendar.base_url())] = caldav_ready(
            calendar.base_url(), calendar.username, secrets.calendar
        )
    results = await asyncio.gather(*checks.values())
    found = [
        ComponentStatus(name, endpoint, healthy, _pid(paths, name))
        for (name, endpoint), healthy in zip(checks, results, strict=True)
    ]
    sync = calendar_component(paths.calendar_status, calendar.base_url())
    return [
        *found,
        ComponentStatus(
            sync.name, sync.endpoint, sync.healthy, _pid(paths, "calendar"), sync.detail
        ),
    ]


def calendar_component(status_path: Path, endpoint: str = "") -> ComponentStatus:
    """The calendar sync as its last round saw the room calendars: degraded, with the
    reason of each, while one cannot be read."""
    try:
        status = SyncStatus.read(status_path)
    except (OSError, ValidationError):
        return ComponentStatus("calendar", endpoint, False, None, "no sync round yet")
    degraded = status.degraded
    detail = "; ".join(
        f"{thing}: degraded: {room.reason or room.state.value}" for thing, room in degraded.items()
    )
    return ComponentStatus("calendar", endpoint or status.base_url, not degraded, None, detail)


def status_as_json(statuses: list[ComponentStatus]) -> dict[str, object]:
    return {
        "healthy": all(status.healthy for status in statuses),
        "components": [asdict(status) for status in statuses],
    }
