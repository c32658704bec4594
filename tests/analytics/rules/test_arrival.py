"""The wall-time hold against how inputs really arrive: an ingest batch at a time, worked
through one input after another by an analytics process that may be slower than the run.

Ingest publishes a batch as one message per device, all at once; a batch spans as much
time as ingest took to make the previous one durable — under load seconds of wall time,
minutes of event time at ×60. The engine must take a batch's inputs as arriving together,
however long it takes to handle them, or a device late in the batch looks silent.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from analytics.alerts.model import AlertSignal
from analytics.feed import ArrivalClock
from analytics.rules.engine import RuleEngine
from analytics.rules.inputs import Input
from analytics.rules.ruleset import DEFAULTS, Rules, RuleSet
from tests.analytics.rules.feed import Device, local, ms
from twins.kinds import DeviceKind, Sector
from twins.payloads import CameraTelemetry

HOLD_S = 0.3
HANDLING_S = 0.2
"""Wall time analytics takes per input (a loaded machine committing each one)."""
REPORT = dt.timedelta(seconds=30)
BATCH = 6
"""Reports per device in one ingest batch: three minutes of event time, 3 s of wall at ×60."""


@cache
def rules() -> Rules:
    return RuleSet.load(DEFAULTS / "thaibinh").current


class FakeWall:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Analytics:
    """An engine fed like the live process: messages received at once, handled slowly."""

    def __init__(self, clock: ArrivalClock | None, wall: FakeWall) -> None:
        self.wall = wall
        self.arrivals = clock
        self.engine = RuleEngine(
            rules(), allowed_lateness_s=0, hold_s=HOLD_S, clock=clock if clock else wall
        )
        self.signals: list[AlertSignal] = []

    def deliver(self, *messages: list[Input]) -> None:
        """One ingest batch: one broker message per device, received together."""
        if self.arrivals is not None:
            for _ in messages:
                self.arrivals.received()
        for message in messages:
            for item in message:
                self.wall.now += HANDLING_S
                self.signals += self.engine.tick()
                self.signals += self.engine.push(item)
            if self.arrivals is not None:
                self.arrivals.handled()

    def idle(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.1)):
            self.wall.now += 0.1
            self.signals += self.engine.tick()

    def offline(self) -> list[tuple[str, bool, int]]:
        return [
            (s.key.device, s.active, ms(s.at))
            for s in self.signals
            if s.key.rule == "camera-offline"
        ]


def cameras() -> tuple[Device, Device]:
    return (
        Device("thaibinh.hcc:cam-corridor-01", DeviceKind.CAMERA, Sector.PUBLIC_ADMINISTRATION),
        Device("thaibinh.hcc:cam-desk-07", DeviceKind.CAMERA, Sector.PUBLIC_ADMINISTRATION),
    )


def reports(device: Device, batch: int) -> list[Input]:
    first = local("09:00") + batch * BATCH * REPORT
    body = CameraTelemetry(fps=5, bitrate_kbps=512)
    return [device.telemetry(body, first + i * REPORT) for i in range(BATCH)]


def run(clock: ArrivalClock | None, wall: FakeWall, batches: int = 6) -> Analytics:
    analytics = Analytics(clock, wall)
    a, b = cameras()
    for batch in range(batches):
        analytics.deliver(reports(a, batch), reports(b, batch))
    analytics.idle(1.0)
    return analytics


def test_a_device_late_in_a_slowly_handled_batch_is_not_offline() -> None:
    # both cameras report every 30 s without a gap; handled at 0.2 s an input, the second
    # camera's reports reach the engine 1.2–2.2 s after the first's newest of the same batch
    wall = FakeWall()
    assert run(ArrivalClock(wall), wall).offline() == []


def test_judged_on_the_wall_clock_of_handling_the_same_batches_flap() -> None:
    # what the engine did when it stamped an input's arrival when it got to it: the
    # second camera "silent" for 90 s at every batch, and back at its queued report
    wall = FakeWall()
    flaps = run(None, wall).offline()
    assert flaps
    assert {device for device, _, _ in flaps} == {"thaibinh.hcc:cam-desk-07"}


def test_a_device_that_dies_is_still_offline_90_s_after_its_last_report() -> None:
    wall = FakeWall()
    analytics = run(ArrivalClock(wall), wall, batches=3)
    a, _ = cameras()
    last = ms(local("09:00") + (3 * BATCH - 1) * REPORT)
    for batch in range(3, 6):  # the second camera's power is cut: the first reports on
        analytics.deliver(reports(a, batch))
    analytics.idle(1.0)
    assert analytics.offline() == [("thaibinh.hcc:cam-desk-07", True, last + 90_000)]
