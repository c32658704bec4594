"""The simulated clock: sim time runs ``speed`` times faster than wall time, from the past.

A scenario starts in the past (07:00 of the previous working day), so that at ×60 a
working day passes in about nine minutes and no message is ever stamped ahead of real
time. When the accelerated clock catches up with the wall clock it goes on at ×1: the
simulators then run live. Times are epoch seconds (floats) throughout; only what is shown
to people is a ``datetime``.

    sim(w) = start + speed · (w − w0)        while that is before w
    sim(w) = w                               afterwards (live)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from simulators.errors import SimulatorError


class SimClock:
    """Maps simulated time to wall time and back; ``wall`` is injectable for tests."""

    def __init__(
        self,
        start: float,
        speed: float,
        *,
        tz: timezone,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise SimulatorError(f"speed must be positive, not {speed}")
        self._wall = wall
        self.wall_start = wall()
        if start > self.wall_start + 1.0:
            raise SimulatorError(
                f"simulated time would start at {datetime.fromtimestamp(start, tz):%F %T},"
                " ahead of real time; start in the past"
            )
        self.start = start
        self.speed = speed
        self.tz = tz
        self._anchor(self.wall_start)

    def _anchor(self, wall_start: float) -> None:
        self.wall_start = wall_start
        gap = wall_start - self.start
        # the wall time at which accelerated sim time reaches real time (then: live)
        speed = self.speed
        self.catch_up_wall = wall_start + gap / (speed - 1) if speed > 1 else float("inf")
        if speed == 1:
            self.catch_up_wall = wall_start if gap <= 0 else float("inf")

    def begin(self) -> None:
        """Simulated time starts now, at ``start``: the devices are built and their
        connections opened before they run, and at ×60 the seconds that takes would be
        minutes of scenario that every device plays back at once on its first moment —
        its state dated then, ahead of the reports it catches up with. A live clock
        (simulated time is real time) is left alone."""
        if not self.live:
            self._anchor(self._wall())

    def sim_at(self, wall: float) -> float:
        """Simulated epoch seconds at wall epoch seconds ``wall``."""
        if wall >= self.catch_up_wall:
            return wall
        return self.start + self.speed * (wall - self.wall_start)

    def wall_at(self, sim: float) -> float:
        """Wall epoch seconds at which simulated time reaches ``sim``."""
        accelerated = self.wall_start + (sim - self.start) / self.speed
        if accelerated >= self.catch_up_wall:
            return max(sim, self.catch_up_wall)
        return accelerated

    def now(self) -> float:
        """Simulated epoch seconds now."""
        return self.sim_at(self._wall())

    def wall_now(self) -> float:
        return self._wall()

    def datetime(self, sim: float) -> datetime:
        """``sim`` as an aware datetime in the scenario's time zone."""
        return datetime.fromtimestamp(sim, self.tz)

    @property
    def live(self) -> bool:
        """True once simulated time has caught up with real time."""
        return self._wall() >= self.catch_up_wall

    async def sleep_until(self, sim: float) -> None:
        """Sleep until simulated time reaches ``sim`` (returns at once if it has)."""
        while True:
            delay = self.wall_at(sim) - self._wall()
            if delay <= 0:
                return
            await asyncio.sleep(min(delay, 5.0))


def rfc3339(sim: float, tz: timezone) -> str:
    """``2026-11-25T11:05:00.000+07:00`` — how the simulators stamp and log times."""
    return datetime.fromtimestamp(sim, tz).isoformat(timespec="milliseconds")


def utc_offset(text: str) -> timezone:
    """``+07:00`` → a fixed-offset time zone."""
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
