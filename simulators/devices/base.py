"""What every simulated device does: report on its interval, play its incidents.

A device lives in simulated time: it sleeps until the next simulated moment something
happens (``SimClock.sleep_until``), so the same scenario and seed produce the same
messages, with the same timestamps, at any speed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from simulators.calendar import BookingWriter
from simulators.clock import SimClock
from simulators.faults import FaultInjector
from simulators.groundtruth import GroundTruth
from simulators.link import DeviceLink
from simulators.scenario import HostileKind, Incident, IncidentKind, Scenario
from simulators.world import World
from twins.kinds import REPORT_INTERVAL_SECONDS, DeviceKind
from twins.payloads import DeviceState
from twins.registry import RegisteredDevice
from twins.thing_id import ThingId
from twins.topics import Channel

logger = logging.getLogger(__name__)

FIRMWARE = "citytwin-sim 1.0"
GARBAGE_KINDS = (HostileKind.BAD_JSON, HostileKind.OVERSIZE, HostileKind.WRONG_TOPIC)


@dataclass(slots=True, frozen=True)
class Planned:
    """A scenario incident of one device, placed in simulated time."""

    incident: Incident
    start: float
    end: float | None

    def active(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(slots=True)
class RunCounters:
    incidents_fired: int = 0


@dataclass(slots=True)
class DeviceContext:
    """Everything a simulated device works with."""

    device: RegisteredDevice
    scenario: Scenario
    clock: SimClock
    link: DeviceLink
    world: World
    truth: GroundTruth
    rng: random.Random
    faults: FaultInjector
    incidents: list[Planned]
    counters: RunCounters
    calendar: BookingWriter | None = None
    """The run's CalDAV writer: rooms book there, not on their panel (None: on the panel)."""


class SimDevice:
    """Base of the simulated devices: state at start, telemetry on interval, incidents."""

    kind: ClassVar[DeviceKind]

    def __init__(self, context: DeviceContext) -> None:
        self.context = context
        self.thing_id: ThingId = context.device.thing_id
        self.clock = context.clock
        self.rng = context.rng
        self.link = context.link
        self.truth = context.truth
        self.interval = REPORT_INTERVAL_SECONDS[self.kind]
        self.skew_s = 0.0

    # --- to override -----------------------------------------------------------------------

    def state(self) -> DeviceState:
        return DeviceState(firmware=FIRMWARE, report_interval_s=self.interval)

    def sample(self, t: float) -> BaseModel:
        """The telemetry body at simulated time ``t``."""
        raise NotImplementedError

    async def behave(self) -> None:
        """What the device does besides reporting (queues, bookings); nothing by default."""

    # --- shared -----------------------------------------------------------------------------

    def emit(self, channel: Channel, data: BaseModel, t: float) -> None:
        """Send ``data`` stamped with the device's own (possibly skewed) clock."""
        ts = t + self.skew_s
        payload = self.link.send(channel, data, ts)
        if payload is not None:
            self.context.faults.after(channel, payload, data, ts)

    def active(self, what: IncidentKind, t: float) -> Planned | None:
        for planned in self.context.incidents:
            if planned.incident.what is what and planned.active(t):
                return planned
        return None

    async def run(self) -> None:
        # powered on at the scenario's start: dated later (the moment this task first ran)
        # the state would be ahead of the reports the device then catches up with, and its
        # timeline out of order from its first message
        self.emit(Channel.STATE, self.state(), self.clock.start)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._report(), name=f"report {self.thing_id}")
            group.create_task(self.behave(), name=f"behave {self.thing_id}")
            for planned in self.context.incidents:
                if planned.start >= self.clock.start:
                    group.create_task(
                        self._incident(planned), name=f"{planned.incident.what} {self.thing_id}"
                    )

    async def _report(self) -> None:
        # devices powered on at once do not report in lockstep
        t = self.clock.start + self.rng.uniform(0, self.interval)
        while True:
            await self.clock.sleep_until(t)
            if self.link.powered:
                self.emit(Channel.TELEMETRY, self.sample(t), t)
            t += self.interval

    async def _incident(self, planned: Planned) -> None:
        incident = planned.incident
        await self.clock.sleep_until(planned.start)
        self.context.counters.incidents_fired += 1
        logger.info("%s: incident %s fires", self.thing_id, incident.what)
        t = planned.start
        details: dict[str, object] = {"incident": incident.what.value}
        what = incident.what
        if what is IncidentKind.OFFICER_ABSENT:
            return  # the counter records the absence with its other ones
        if what in (IncidentKind.GARBAGE, IncidentKind.BURST):
            self._one_shot(planned)
            return
        handle = self.truth.begin(self._truth_name(what), self.thing_id, t, details)
        await self.start_incident(planned)
        if planned.end is None:
            return
        await self.clock.sleep_until(planned.end)
        await self.end_incident(planned)
        self.truth.end(handle, planned.end)

    @staticmethod
    def _truth_name(what: IncidentKind) -> str:
        if what in (IncidentKind.DEVICE_DIES, IncidentKind.NETWORK_OUTAGE):
            return "device_offline"
        return what.value

    def _one_shot(self, planned: Planned) -> None:
        t = planned.start
        count = planned.incident.count
        if planned.incident.what is IncidentKind.BURST:
            sample = self.sample(t)
            for i in range(count):
                self.emit(Channel.TELEMETRY, sample, t + i / 1000)
            self.truth.interval("burst", self.thing_id, t, t, {"count": count})
            return
        sample = self.sample(t)
        for i in range(count):
            kind = GARBAGE_KINDS[i % len(GARBAGE_KINDS)]
            self.context.faults.send(kind, Channel.TELEMETRY, sample, t, source="incident")
        self.truth.interval("garbage", self.thing_id, t, t, {"count": count})

    async def start_incident(self, planned: Planned) -> None:
        what = planned.incident.what
        if what is IncidentKind.DEVICE_DIES:
            self.link.power_off()
        elif what is IncidentKind.NETWORK_OUTAGE:
            self.link.cut()
        elif what is IncidentKind.CLOCK_SKEW:
            self.skew_s = planned.incident.skew_s

    async def end_incident(self, planned: Planned) -> None:
        what = planned.incident.what
        if what is IncidentKind.DEVICE_DIES:
            self.link.power_on()
            self.emit(Channel.STATE, self.state(), planned.end or self.clock.now())
        elif what is IncidentKind.NETWORK_OUTAGE:
            self.link.restore()
        elif what is IncidentKind.CLOCK_SKEW:
            self.skew_s = 0.0
