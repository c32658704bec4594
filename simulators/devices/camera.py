"""CCTV cameras: status, stream health and — when streamed — a real H.264 stream.

A camera's scene (``attributes.scene``) is a counter desk (``watches`` names the counter
whose officer it sees), a corridor (people waiting at a service centre, passers-by at a
hospital) or a gate (passers-by in the day, an intruder when a scenario says so). Cameras
in ``video.streams`` publish RTSP; the others publish status and nominal stream health only
(a camera nobody watches idles). An ``intrusion`` incident puts ``people`` intruders in view
and raises a ``motion`` event, as the cameras' own motion detection does.
"""

from __future__ import annotations

import logging
import time
import zlib

from pydantic import BaseModel

from simulators.devices.base import DeviceContext, Planned, SimDevice
from simulators.scenario import CameraScene, IncidentKind
from simulators.scenes import SceneState
from simulators.schedule import hour_of_day
from simulators.video import CameraStream
from twins.kinds import DeviceKind
from twins.payloads import CameraTelemetry, DeviceState, Motion
from twins.thing_id import ThingId
from twins.topics import Channel

NOMINAL_KBPS = 512.0
"""Stream health an idle (not encoded) camera reports: what a small real camera sends."""
PUBLISH_WAIT_S = 10.0
"""How long a streamed camera waits for its stream to be served before it announces it."""

logger = logging.getLogger(__name__)


class Camera(SimDevice):
    kind = DeviceKind.CAMERA

    def __init__(self, context: DeviceContext) -> None:
        super().__init__(context)
        attributes = context.device.attributes
        self.scene = CameraScene(str(attributes.get("scene", CameraScene.CORRIDOR.value)))
        watches = attributes.get("watches")
        self.watches = ThingId(self.thing_id.namespace, str(watches)) if watches else None
        self.video = context.scenario.video
        self.stream: CameraStream | None = None
        self._last = (time.monotonic(), 0, 0)
        self._salt = zlib.crc32(self.thing_id.name.encode())

    def state(self) -> DeviceState:
        video = self.video
        return DeviceState(
            firmware="citytwin-sim 1.0",
            report_interval_s=self.interval,
            stream_url=self.stream.url if self.stream is not None else None,
            width=video.width,
            height=video.height,
            fps=video.fps,
        )

    async def run(self) -> None:
        """A real camera advertises its stream once it serves it: a player that opens the
        announced URL at once finds video there, not a 404 from the relay."""
        if self.stream is not None and not await self.stream.wait_published(PUBLISH_WAIT_S):
            logger.warning(
                "%s: stream %s not served after %.0f s; announcing it anyway",
                self.thing_id,
                self.stream.url,
                PUBLISH_WAIT_S,
            )
        await super().run()

    def sample(self, t: float) -> BaseModel:
        if self.stream is None:
            return CameraTelemetry(fps=self.video.fps, bitrate_kbps=NOMINAL_KBPS)
        now = time.monotonic()
        before, frames, size = self._last
        elapsed = max(now - before, 1e-3)
        fps = (self.stream.frames - frames) / elapsed
        kbps = (self.stream.bytes - size) * 8 / 1000 / elapsed
        self._last = (now, self.stream.frames, self.stream.bytes)
        return CameraTelemetry(fps=round(min(fps, 240), 2), bitrate_kbps=round(kbps, 1))

    def scene_now(self) -> SceneState:
        """Who the camera sees now (called from its stream thread; reads only)."""
        world = self.context.world
        t = self.clock.now()
        hour = hour_of_day(t, self.clock.tz)
        night = hour < 6 or hour >= 18
        intruders = world.intruders.get(self.thing_id, 0)
        if self.scene is CameraScene.COUNTER_DESK:
            desk = world.counters.get(self.watches) if self.watches else None
            return SceneState(
                self.scene,
                officer=desk is not None and desk.officer_present,
                citizen=desk is not None and desk.serving is not None,
                people=intruders,
                night=night,
                at=t,
            )
        passers = 0
        if not night:
            queue = world.queues.get(self.thing_id.namespace)
            if queue is not None and queue.waiting():
                passers = min(3, 1 + queue.waiting() // 5)
            elif 7 <= hour < 17:
                # someone walks through now and then: 0–2 people, changing every few minutes
                passers = (int(t // 240) * 2654435761 + self._salt) % 3
        return SceneState(self.scene, people=passers + intruders, night=night, at=t)

    async def start_incident(self, planned: Planned) -> None:
        if planned.incident.what is IncidentKind.INTRUSION:
            self.context.world.intruders[self.thing_id] = planned.incident.people
            self.emit(Channel.EVENT, Motion(type="motion", zone=self.scene.value), planned.start)
            return
        await super().start_incident(planned)

    async def end_incident(self, planned: Planned) -> None:
        if planned.incident.what is IncidentKind.INTRUSION:
            self.context.world.intruders[self.thing_id] = 0
            return
        await super().end_incident(planned)
