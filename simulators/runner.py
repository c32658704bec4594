"""Play a scenario: every device on its own MQTT connection, on the simulated clock.

``run_scenario`` is what ``citytwin simulate`` calls once the scenario's devices are
provisioned. It returns after ``duration_s`` wall seconds or when ``stop`` is set: devices
then publish a retained ``offline`` status, flush their buffers and disconnect, and the
ground-truth file is closed with still-open intervals marked ``"end": null``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulators.calendar import BookingWriter, CalendarAccount
from simulators.clock import SimClock
from simulators.devices import DeviceContext, SimDevice, make_device
from simulators.devices.base import Planned, RunCounters
from simulators.devices.camera import Camera
from simulators.errors import ScenarioError, SimulatorError
from simulators.faults import FaultInjector
from simulators.groundtruth import GroundTruth
from simulators.link import DeviceLink, LinkStats
from simulators.scenario import Scenario
from simulators.schedule import days_from
from simulators.video import VideoPool
from simulators.world import World
from twins.registry import Registry

logger = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 15.0


@dataclass(slots=True, frozen=True)
class Progress:
    """How a run is doing; handed to the progress callback about once a second."""

    sim_time: datetime
    elapsed_s: float
    messages: int
    messages_per_s: float
    devices_online: int
    devices: int
    incidents_fired: int
    buffered: int
    dropped: int
    streams: int
    live: bool


@dataclass(slots=True, frozen=True)
class RunSummary:
    """What a finished run did."""

    scenario: str
    sim_start: datetime
    sim_end: datetime
    wall_s: float
    devices: int
    messages: int
    by_channel: dict[str, int]
    dropped: int
    reconnects: int
    incidents_fired: int
    ground_truth: Path
    truth_counts: dict[str, int]
    streams: dict[str, str] = field(default_factory=dict)
    bookings_written: int = 0
    """Room bookings written into the CalDAV calendars (0 without a calendar)."""
    bookings_failed: int = 0


class _FinishedError(Exception):
    """Raised inside the device task group when the run's time is up."""


async def run_scenario(
    scenario: Scenario,
    *,
    mqtt_host: str,
    mqtt_port: int,
    credentials: Mapping[str, tuple[str, str]],
    speed: float | None = None,
    duration_s: float | None = None,
    ground_truth_path: Path,
    progress: Callable[[Progress], None] | None = None,
    stop: asyncio.Event | None = None,
    faults: str | None = None,
    video: bool = True,
    start: float | None = None,
    progress_interval_s: float = 1.0,
    calendar: CalendarAccount | None = None,
) -> RunSummary:
    """Run ``scenario`` against the broker; see the module docstring.

    ``credentials`` maps each thing id to its (username, password). ``speed`` defaults to
    the scenario's; ``start`` (epoch seconds) overrides where simulated time starts;
    ``faults`` names one of the scenario's fault profiles; ``calendar``: the rooms'
    CalDAV calendars, where the rooms' bookings are written (without it the rooms' panels
    announce them, `simulators.calendar`).
    """
    registry = Registry(scenario.registry_spec())
    missing = sorted(str(d.thing_id) for d in registry if str(d.thing_id) not in credentials)
    if missing:
        raise SimulatorError(
            f"{len(missing)} devices of scenario {scenario.name!r} have no credentials"
            f" (provision them first): {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
        )
    profile = None
    if faults is not None and faults != "none":
        profile = scenario.fault_profiles.get(faults)
        if profile is None:
            known = ", ".join(sorted(scenario.fault_profiles)) or "none defined"
            raise ScenarioError(
                [f"scenario {scenario.name!r} has no fault profile {faults!r} (profiles: {known})"]
            )
    speed = speed if speed is not None else scenario.speed
    now = time.time()
    if start is None:
        live = speed == 1 and scenario.start.at is None
        start = now if live else scenario.start_time(now)
    clock = SimClock(start, speed, tz=scenario.tz())
    world = World()
    stats = LinkStats()
    counters = RunCounters()
    streamed = scenario.streamed_cameras() if video else set()
    start_day = next(days_from(start, clock.tz))
    wall_started = time.monotonic()
    logger.info(
        "scenario %s: %d devices, ×%g from %s, ground truth in %s",
        scenario.name, len(registry), speed, clock.datetime(start), ground_truth_path,
    )  # fmt: skip

    async with contextlib.AsyncExitStack() as stack:
        truth = stack.enter_context(GroundTruth(ground_truth_path, clock.tz))
        pool = None
        if streamed:
            pool = await stack.enter_async_context(VideoPool(scenario.video))
        links: list[DeviceLink] = []
        devices: list[SimDevice] = []
        writer = BookingWriter(calendar) if calendar is not None else None
        for device in registry:
            thing = str(device.thing_id)
            username, password = credentials[thing]
            link = DeviceLink(
                device.thing_id,
                device.kind,
                host=mqtt_host,
                port=mqtt_port,
                username=username,
                password=password,
                stats=stats,
                rng=random.Random(f"{scenario.seed}:{thing}:link"),
            )
            planned = [
                Planned(incident, *incident.window(start_day, clock.tz))
                for incident in scenario.incidents
                if incident.device == thing
            ]
            context = DeviceContext(
                device=device,
                scenario=scenario,
                clock=clock,
                link=link,
                world=world,
                truth=truth,
                rng=random.Random(f"{scenario.seed}:{thing}"),
                faults=FaultInjector(
                    link,
                    truth,
                    random.Random(f"{scenario.seed}:{thing}:faults"),
                    profile if profile and _profile_fits(profile.kinds, device.kind) else None,
                ),
                incidents=planned,
                counters=counters,
                calendar=writer,
            )
            simulated = make_device(context)
            if pool is not None and isinstance(simulated, Camera) and thing in streamed:
                simulated.stream = pool.add(device.thing_id, simulated.scene_now)
            links.append(link)
            devices.append(simulated)

        def snapshot(rate: float) -> Progress:
            return Progress(
                sim_time=clock.datetime(clock.now()),
                elapsed_s=time.monotonic() - wall_started,
                messages=stats.published,
                messages_per_s=rate,
                devices_online=stats.online,
                devices=len(devices),
                incidents_fired=counters.incidents_fired,
                buffered=sum(link.buffered for link in links),
                dropped=stats.dropped,
                streams=len(pool.streams) if pool else 0,
                live=clock.live,
            )

        async def report() -> None:
            before, then = stats.published, time.monotonic()
            while True:
                await asyncio.sleep(progress_interval_s)
                moment = time.monotonic()
                rate = (stats.published - before) / max(moment - then, 1e-6)
                before, then = stats.published, moment
                if progress is not None:
                    progress(snapshot(rate))

        async def until_done() -> None:
            waiters: list[Coroutine[Any, Any, object]] = []
            if stop is not None:
                waiters.append(stop.wait())
            if duration_s is not None:
                waiters.append(asyncio.sleep(duration_s))
            if waiters:
                async with asyncio.TaskGroup() as first:
                    tasks = [first.create_task(waiter) for waiter in waiters]
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    for task in tasks:
                        task.cancel()
            else:
                await asyncio.Event().wait()
            raise _FinishedError

        try:
            async with asyncio.timeout(None) as deadline, asyncio.TaskGroup() as link_group:
                for link in links:
                    link_group.create_task(link.run(), name=f"link {link.thing_id}")
                if writer is not None:
                    link_group.create_task(writer.run(), name="calendar")
                await asyncio.sleep(0)  # every link opens its connection first
                clock.begin()
                try:
                    async with asyncio.TaskGroup() as group:
                        for simulated in devices:
                            group.create_task(simulated.run(), name=f"device {simulated.thing_id}")
                        group.create_task(report(), name="progress")
                        group.create_task(until_done(), name="until done")
                except* _FinishedError:
                    pass
                ended = clock.now()
                for link in links:
                    link.finish(ended)
                if writer is not None:
                    writer.finish()
                deadline.reschedule(asyncio.get_running_loop().time() + FLUSH_TIMEOUT_S)
        except TimeoutError:
            logger.warning("some devices could not flush within %.0f s", FLUSH_TIMEOUT_S)
        sim_end = clock.now()
        streams = {str(t): s.url for t, s in pool.streams.items()} if pool else {}

    return RunSummary(
        scenario=scenario.name,
        sim_start=clock.datetime(start),
        sim_end=clock.datetime(sim_end),
        wall_s=round(time.monotonic() - wall_started, 2),
        devices=len(devices),
        messages=stats.published,
        by_channel=dict(stats.by_channel),
        dropped=stats.dropped,
        reconnects=stats.reconnects,
        incidents_fired=counters.incidents_fired,
        ground_truth=ground_truth_path,
        truth_counts=dict(truth.counts),
        streams=streams,
        bookings_written=writer.written if writer is not None else 0,
        bookings_failed=writer.failed if writer is not None else 0,
    )


def _profile_fits(kinds: object, kind: object) -> bool:
    return kinds is None or (isinstance(kinds, list) and kind in kinds)
