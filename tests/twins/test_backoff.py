"""The one backoff: doubling delays up to a cap, started over after a success, with jitter."""

from __future__ import annotations

import random

import pytest

from twins.backoff import Backoff


def test_delays_double_up_to_the_cap_and_start_over_after_a_success() -> None:
    backoff = Backoff(first=0.5, maximum=3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_full_jitter_spreads_each_delay_below_its_step_reproducibly() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(first=1.0, maximum=8.0, jitter=1.0, uniform=random.Random(seed).uniform)
        return [backoff.next_delay() for _ in range(6)]

    first = delays(7)
    assert first == delays(7)
    assert all(0 <= delay <= step for delay, step in zip(first, [1, 2, 4, 8, 8, 8], strict=True))
    assert len(set(first)) == len(first)


@pytest.mark.parametrize(
    ("first", "maximum", "jitter"), [(0.0, 1.0, 0.0), (2.0, 1.0, 0.0), (1.0, 2.0, 1.5)]
)
def test_a_backoff_that_cannot_work_is_refused(first: float, maximum: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(first=first, maximum=maximum, jitter=jitter)
