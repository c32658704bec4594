"""The simulated clock: accelerated from the past, then live, never ahead of real time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from simulators.clock import SimClock, rfc3339, utc_offset
from simulators.errors import SimulatorError

VIETNAM = timezone(timedelta(hours=7))


class FakeWall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_working_day_passes_in_nine_minutes_at_x60() -> None:
    wall = FakeWall(datetime(2026, 11, 26, 9, 0, tzinfo=VIETNAM).timestamp())
    start = datetime(2026, 11, 25, 7, 0, tzinfo=VIETNAM).timestamp()
    clock = SimClock(start, 60, tz=VIETNAM, wall=wall)
    wall.now += 9 * 60
    assert clock.datetime(clock.now()) == datetime(2026, 11, 25, 16, 0, tzinfo=VIETNAM)
    assert clock.wall_at(clock.now()) == pytest.approx(wall.now)


def test_the_scenario_starts_at_its_start_when_the_devices_begin() -> None:
    """Building 178 devices and their connections takes seconds, minutes of scenario at
    ×60: begun afterwards, the first moment a device lives is the scenario's start, so its
    state is not dated ahead of the reports it would otherwise catch up with."""
    wall = FakeWall(datetime(2026, 11, 26, 9, 0, tzinfo=VIETNAM).timestamp())
    start = datetime(2026, 11, 25, 7, 0, tzinfo=VIETNAM).timestamp()
    clock = SimClock(start, 60, tz=VIETNAM, wall=wall)
    wall.now += 4  # setting up
    assert clock.now() == pytest.approx(start + 240)
    clock.begin()
    assert clock.now() == pytest.approx(start)
    wall.now += 9 * 60
    assert clock.datetime(clock.now()) == datetime(2026, 11, 25, 16, 0, tzinfo=VIETNAM)


def test_a_live_clock_is_not_moved_by_beginning() -> None:
    wall = FakeWall(1_000_000.0)
    clock = SimClock(wall.now, 1, tz=VIETNAM, wall=wall)
    wall.now += 4
    clock.begin()
    assert clock.now() == wall.now


def test_sim_time_catches_up_then_runs_live_and_never_ahead() -> None:
    wall = FakeWall(1_000_000.0)
    clock = SimClock(wall.now - 5900, 60, tz=VIETNAM, wall=wall)
    for step in range(0, 400, 7):
        wall.now = 1_000_000.0 + step
        assert clock.now() <= wall.now
    wall.now = 1_000_000.0 + 100  # 5900 / 59 s: caught up
    assert clock.now() == pytest.approx(wall.now)
    assert clock.live
    wall.now += 3600
    assert clock.now() == wall.now


def test_wall_time_of_a_sim_moment_round_trips() -> None:
    wall = FakeWall(2_000_000.0)
    clock = SimClock(wall.now - 86_400, 60, tz=VIETNAM, wall=wall)
    for sim in (wall.now - 86_400, wall.now - 40_000, wall.now - 10, wall.now + 500):
        assert clock.sim_at(clock.wall_at(sim)) == pytest.approx(sim)


def test_starting_in_the_future_is_refused() -> None:
    wall = FakeWall(3_000_000.0)
    with pytest.raises(SimulatorError, match="ahead of real time"):
        SimClock(wall.now + 3600, 60, tz=VIETNAM, wall=wall)


def test_timestamps_carry_the_vietnam_offset() -> None:
    moment = datetime(2026, 11, 25, 11, 5, tzinfo=VIETNAM).timestamp()
    assert rfc3339(moment, utc_offset("+07:00")) == "2026-11-25T11:05:00.000+07:00"
