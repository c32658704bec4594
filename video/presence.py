"""Presence analytics fed by the hub: sampled frames of cameras with zones, off the loop.

A camera is analysed while its twin's ``features/zones/properties/zones`` holds at least
one valid zone: its source then gets a frame sink (and decodes, see ``video.source``).
The source hands on a sample every ``1 / presence.sample_fps`` s — the luma plane of the
``yuv420p`` frame, copied on the event loop (a grey picture for free, and no frame shared
with viewers is reformatted) — in a bounded queue per camera that drops the oldest. One
worker thread runs ``analytics.presence.camera.CameraPresence`` on the samples (OpenCV
releases the GIL); the results come back to the loop and go out:

- the twin's ``features/presence/properties``: ``zones`` (per zone ``{type, present,
  people, since, watched}``), ``intrusion`` and ``zoneErrors`` — when something changes;
- InfluxDB ``camera_presence`` (tags ``namespace``, ``device``, ``zone``, ``zone_type``;
  fields ``people``, ``present``), a point per zone and sample, at the capture time;
- a ``twins.presence.PresenceEvent`` per change on ``…/video/presence/{ns}/{name}``, QoS 1
  (``video.presence_events``).

Zones are reread every ``ZONES_REFRESH_SECONDS``: an edit takes effect without a restart,
a bad zone is refused (logged, and written to ``zoneErrors``) while the others keep
working.

Samples are taken by the hub's clock (one per period of wall time: that is what they
cost), but dated by the camera's: a frame with a capture stamp burned in (the simulators'
cameras) is dated by the stamp's scenario time, and its stamp strip is masked before the
motion gate and the detector see it; a frame without one by when the hub decoded it
(``analytics.presence.capture``). Zone hours, the twin's ``since``, the InfluxDB points and
the events' ``at`` all use that event time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
from av.video.frame import VideoFrame

from analytics.presence.camera import CameraPresence, SampleResult, ZoneChange, ZoneReading
from analytics.presence.capture import CaptureClock
from analytics.presence.detector import PersonDetector
from analytics.presence.settings import PresenceSettings
from ingest.errors import IngestError
from ingest.influx import InfluxV1Client
from ingest.lineprotocol import FieldValue, encode_line, escape_tag
from twins.client import DittoClient
from twins.errors import DittoError, DittoNotFoundError
from twins.presence import PresenceEvent
from twins.zones import ZoneError, parse_zones
from video.health import iso
from video.hub import twin_call
from video.presence_events import PresencePublisher
from video.source import CameraSource

logger = logging.getLogger(__name__)

MEASUREMENT = "camera_presence"
ZONES_REFRESH_SECONDS = 5.0
INFLUX_FLUSH_SECONDS = 1.0

Grey = np.ndarray[Any, np.dtype[np.uint8]]


def luma(frame: VideoFrame) -> Grey:
    """The Y plane of a ``yuv420p`` frame as a grey picture (a copy, without padding)."""
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.line_size * frame.height]
    return rows.reshape(frame.height, plane.line_size)[:, : frame.width].copy()


@dataclass(slots=True)
class CameraAnalysis:
    """One analysed camera: its sink, its queue of samples, its presence, what was written."""

    camera: str
    presence: CameraPresence
    samples: deque[tuple[float, Grey]]
    """(decode time, luma) of the samples waiting for the worker."""
    wake: asyncio.Event
    period: float
    dropped: int = 0
    written: dict[str, Any] = field(default_factory=dict)
    clock: CaptureClock = field(default_factory=CaptureClock)

    def analyse(self, grey: Grey, decoded_at: float) -> SampleResult | None:
        """Date ``grey`` by its capture stamp and analyse it (worker thread); None when
        its damaged stamp makes it unusable."""
        at = self.clock.date(grey, decoded_at)
        return None if at is None else self.presence.sample(grey, at)

    def __call__(self, frame: VideoFrame) -> None:
        """The sample sink (event loop; the source picks one frame per period): queue it,
        dropping the oldest."""
        at = time.time()
        if len(self.samples) == self.samples.maxlen:
            self.dropped += 1
        self.samples.append((at, luma(frame)))
        self.wake.set()


def analyse_all(
    batch: list[tuple[CameraAnalysis, float, Grey]],
) -> list[tuple[CameraAnalysis, SampleResult]]:
    """Analyse samples of several cameras in one go (the worker thread), each dated by its
    capture stamp; a sample whose damaged stamp makes it unusable gives no result."""
    results = []
    for analysis, decoded_at, grey in batch:
        result = analysis.analyse(grey, decoded_at)
        if result is not None:
            results.append((analysis, result))
    return results


def reading_json(reading: ZoneReading) -> dict[str, Any]:
    return {
        "type": reading.type.value,
        "present": reading.present,
        "people": reading.people,
        "since": iso(reading.since),
        "watched": reading.watched,
    }


def influx_lines(camera: str, result: SampleResult) -> list[str]:
    namespace, _, name = camera.partition(":")
    lines = []
    for reading in result.readings:
        series = (
            f"{MEASUREMENT},namespace={escape_tag(namespace)},device={escape_tag(name)}"
            f",zone={escape_tag(reading.zone)},zone_type={reading.type.value}"
        )
        fields: list[tuple[str, FieldValue]] = [
            ("people", reading.people),
            ("present", reading.present),
        ]
        line = encode_line(series, fields, int(result.at * 1e9))
        if line is not None:
            lines.append(line)
    return lines


def presence_event(camera: str, change: ZoneChange) -> PresenceEvent:
    return PresenceEvent(
        thing=camera,
        zone=change.zone,
        zone_type=change.type,
        present=change.present,
        people=change.people,
        at=datetime.fromtimestamp(change.at, UTC),
        watched=change.watched,
    )


class PresenceAnalytics:
    """Presence of every camera of the hub that has zones (run as one task)."""

    def __init__(
        self,
        sources: Mapping[str, CameraSource],
        settings: PresenceSettings,
        *,
        twin_client: Callable[[], DittoClient] | None,
        influx: InfluxV1Client | None,
        events: PresencePublisher | None,
    ) -> None:
        self.sources = sources
        self.settings = settings
        self.cameras: dict[str, CameraAnalysis] = {}
        self.zone_errors: dict[str, list[ZoneError]] = {}
        self._detector: PersonDetector | None = None
        self._raw: dict[str, Any] = {}
        """Each camera's ``zones`` property as last read."""
        self._twin_client = twin_client
        self._influx = influx
        self._events = events
        self._wake = asyncio.Event()
        self._lines: list[str] = []

    async def run(self) -> None:
        if not self.settings.enabled or self._twin_client is None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="presence")
        try:
            with self._twin_client() as client:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._follow_zones(client, executor), name="presence-zones")
                    group.create_task(self._analyse(client, executor), name="presence-analyse")
                    group.create_task(self._flush_every(), name="presence-influx")
                    if self._events is not None:
                        group.create_task(self._events.run(), name="presence-events")
        finally:
            for analysis in self.cameras.values():
                self.sources[analysis.camera].remove_frame_sink(analysis)
            executor.shutdown(wait=True, cancel_futures=True)

    # -- zones -----------------------------------------------------------------------------

    async def _follow_zones(self, client: DittoClient, executor: ThreadPoolExecutor) -> None:
        while True:
            for camera in self.sources:
                try:
                    raw = await asyncio.to_thread(
                        twin_call, partial(client.get, camera, "features/zones/properties/zones")
                    )
                except DittoNotFoundError:
                    raw = []
                except DittoError as exc:
                    logger.warning("%s: zones not read (%s); retrying", camera, exc)
                    continue
                await self._set_zones(client, executor, camera, raw)
            await asyncio.sleep(ZONES_REFRESH_SECONDS)

    async def _set_zones(
        self, client: DittoClient, executor: ThreadPoolExecutor, camera: str, raw: Any
    ) -> None:
        first = camera not in self._raw
        if not first and self._raw[camera] == raw:
            return
        self._raw[camera] = raw
        if first and raw in (None, []):
            return
        analysis = self.cameras.get(camera)
        zones, errors = parse_zones(camera, raw)
        for error in errors:
            logger.warning("zone refused: %s", error)
        self.zone_errors[camera] = errors
        loop = asyncio.get_running_loop()
        if analysis is None and zones:
            if self._detector is None:  # one for every camera: the worker uses it in turn
                settings = self.settings
                detector = partial(
                    PersonDetector,
                    settings.detect_width,
                    settings.hog_threshold,
                    settings.hog_scale,
                )
                self._detector = await loop.run_in_executor(executor, detector)
            presence = CameraPresence(zones, self.settings, self._detector)
            analysis = CameraAnalysis(
                camera,
                presence,
                deque(maxlen=self.settings.queue_samples),
                self._wake,
                1 / self.settings.sample_fps,
            )
            self.cameras[camera] = analysis
            self.sources[camera].add_frame_sink(analysis, every=analysis.period)
            logger.info("%s: presence in %d zones", camera, len(zones))
        elif analysis is not None:
            await loop.run_in_executor(executor, analysis.presence.set_zones, zones)
        patch: dict[str, Any] = {"zoneErrors": [str(error) for error in errors]}
        if analysis is not None and not zones:
            self.sources[camera].remove_frame_sink(analysis)
            del self.cameras[camera]
            patch["zones"] = dict.fromkeys(analysis.written.get("zones", {}))
            patch["intrusion"] = False
        await self._patch(client, camera, patch)

    # -- samples ---------------------------------------------------------------------------

    async def _analyse(self, client: DittoClient, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            # every waiting sample in one hand-over: beside ~100 camera threads each round
            # trip to the worker waits for the GIL, and a quiet camera's analysis is ~1 ms
            batch = [
                (analysis, *analysis.samples.popleft())
                for analysis in list(self.cameras.values())
                for _ in range(len(analysis.samples))
            ]
            results = await loop.run_in_executor(executor, analyse_all, batch)
            for analysis, result in results:
                await self._report(client, analysis, result)

    async def _report(
        self, client: DittoClient, analysis: CameraAnalysis, result: SampleResult
    ) -> None:
        camera = analysis.camera
        self._lines.extend(influx_lines(camera, result))
        zones = {reading.zone: reading_json(reading) for reading in result.readings}
        intrusion = CameraPresence.intrusion(result.readings)
        patch: dict[str, Any] = {}
        written = analysis.written.get("zones", {})
        if zones != written:  # zones no longer watched are deleted (null in a merge patch)
            patch["zones"] = {**dict.fromkeys(set(written) - set(zones)), **zones}
        if intrusion != analysis.written.get("intrusion"):
            patch["intrusion"] = intrusion
        if patch and await self._patch(client, camera, patch):
            analysis.written.update(patch)
            analysis.written["zones"] = zones
        for change in result.changes:
            logger.info(
                "%s: zone %s %s (%d people)",
                camera, change.zone, "entered" if change.present else "left", change.people,
            )  # fmt: skip
            if self._events is not None:
                self._events.publish(presence_event(camera, change))

    async def _patch(self, client: DittoClient, camera: str, patch: dict[str, Any]) -> bool:
        call = partial(client.patch, camera, "features/presence/properties", patch)
        try:
            await asyncio.to_thread(twin_call, call)
        except DittoError as exc:
            logger.warning("%s: presence not written to the twin: %s", camera, exc)
            return False
        return True

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(INFLUX_FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        lines, self._lines = self._lines, []
        if self._influx is None or not lines:
            return
        body = ("\n".join(lines) + "\n").encode()
        try:
            await self._influx.write(self._influx.compress(body), policy=None)
        except IngestError as exc:
            logger.warning("%d presence points not written to InfluxDB: %s", len(lines), exc)
