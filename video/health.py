"""Stream health into each camera's twin and into InfluxDB.

Every ``health_interval_seconds`` each source is measured. The twin's
``features/stream/properties`` get ``health`` (``up``/``down``), ``healthSince``,
``receivedFps``, ``receivedKbps``, ``lastFrameAt``, ``lastError`` and ``viewers``: at
once when up/down changes, otherwise every ``twin_refresh_seconds``. InfluxDB gets one
``camera_stream`` point per camera and interval (tags ``namespace``, ``device``; fields
``up``, ``fps``, ``bitrate_kbps``, ``viewers``, ``frame_age_s``). Health figures are
measurements of the hub, not device data: a write that fails is logged and not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ingest.errors import IngestError
from ingest.influx import InfluxV1Client
from ingest.lineprotocol import FieldValue, encode_line, escape_tag
from twins.client import DittoClient
from twins.errors import DittoError
from video.hub import twin_call
from video.settings import VideoSettings
from video.source import CameraSource, StreamHealth, StreamState

logger = logging.getLogger(__name__)

MEASUREMENT = "camera_stream"


def iso(epoch: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds, as twins show times."""
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def twin_properties(health: StreamHealth, viewers: int) -> dict[str, Any]:
    """The merge patch of ``features/stream/properties`` for ``health``."""
    return {
        "health": health.state.value,
        "healthSince": iso(health.since),
        "receivedFps": health.fps,
        "receivedKbps": health.kbps,
        "lastFrameAt": iso(health.last_frame_at),
        "lastError": health.error,
        "viewers": viewers,
    }


def influx_line(camera: str, health: StreamHealth, viewers: int, now: float) -> str | None:
    namespace, _, name = camera.partition(":")
    series = f"{MEASUREMENT},namespace={escape_tag(namespace)},device={escape_tag(name)}"
    age = None if health.last_frame_at is None else round(max(0.0, now - health.last_frame_at), 3)
    fields: list[tuple[str, FieldValue]] = [
        ("up", health.state is StreamState.UP),
        ("fps", float(health.fps)),
        ("bitrate_kbps", float(health.kbps)),
        ("viewers", viewers),
    ]
    if age is not None:
        fields.append(("frame_age_s", age))
    return encode_line(series, fields, int(now * 1e9))


class HealthReporter:
    """Measures every source and reports it (run as one task)."""

    def __init__(
        self,
        sources: Mapping[str, CameraSource],
        settings: VideoSettings,
        *,
        viewers: Callable[[str], int],
        twin_client: Callable[[], DittoClient] | None,
        influx: InfluxV1Client | None,
    ) -> None:
        self.sources = sources
        self.settings = settings
        self.latest: dict[str, StreamHealth] = {}
        self._viewers = viewers
        self._twin_client = twin_client
        self._influx = influx
        self._written: dict[str, tuple[StreamState, float]] = {}

    async def run(self) -> None:
        client = self._twin_client() if self._twin_client else None
        try:
            while True:
                await self.tick(client)
                await asyncio.sleep(self.settings.health_interval_seconds)
        finally:
            if client is not None:
                client.close()

    async def tick(self, client: DittoClient | None) -> None:
        now = time.time()
        lines: list[str] = []
        due: dict[str, dict[str, Any]] = {}
        for camera, source in self.sources.items():
            health = source.health()
            self.latest[camera] = health
            viewers = self._viewers(camera)
            line = influx_line(camera, health, viewers, now)
            if line is not None:
                lines.append(line)
            written = self._written.get(camera)
            if (
                written is None
                or written[0] is not health.state
                or now - written[1] >= self.settings.twin_refresh_seconds
            ):
                due[camera] = twin_properties(health, viewers)
        if client is not None and due:
            await asyncio.to_thread(self._patch_twins, client, due, now)
        if self._influx is not None and lines:
            await self._write(lines)

    def _patch_twins(self, client: DittoClient, due: dict[str, dict[str, Any]], now: float) -> None:
        for camera, properties in due.items():
            try:
                twin_call(partial(client.patch, camera, "features/stream/properties", properties))
            except DittoError as exc:
                logger.warning("%s: stream health not written to the twin: %s", camera, exc)
                continue
            self._written[camera] = (StreamState(properties["health"]), now)

    async def _write(self, lines: list[str]) -> None:
        assert self._influx is not None
        body = ("\n".join(lines) + "\n").encode()
        try:
            await self._influx.write(self._influx.compress(body), policy=None)
        except IngestError as exc:
            logger.warning(
                "stream health of %d cameras not written to InfluxDB: %s",
                len(lines),
                exc,
            )
