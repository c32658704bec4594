"""The one backoff of citytwin: delays that double up to a cap, started over after success.

Every loop that reconnects or retries (the broker sessions of ingest and the simulators,
InfluxDB writes and spool replay, the supervisor's restarts, twin provisioning, camera
streams) takes its delays from a `Backoff`::

    backoff = Backoff(first=0.2, maximum=5.0)
    while True:
        try:
            await connect()
        except OSError:
            await asyncio.sleep(backoff.next_delay())
        else:
            backoff.reset()

A loop owns its attempts, its logging and its way to stop; only the delays are shared.
That is why this is not `stamina` or `tenacity`, which wrap one call in retries until it
succeeds or gives up: these loops run for the life of the process, start over after each
success and decide per failure whether to retry.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """``first``, ``2 × first``, … up to ``maximum`` seconds; ``reset`` starts over.

    With ``jitter`` (a fraction) each delay is drawn from ``[(1 - jitter) × d, d]`` so that
    many clients that lost the same broker do not come back in the same instant;
    ``jitter=1`` is "full jitter", AWS's advice for fleets. ``uniform`` is the randomness
    (pass a seeded ``random.Random().uniform`` for a reproducible run).
    """

    first: float
    maximum: float
    jitter: float = 0.0
    uniform: Callable[[float, float], float] = random.uniform
    _next: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.maximum:
            raise ValueError(f"backoff needs 0 < first ({self.first}) <= maximum ({self.maximum})")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter {self.jitter} is not a fraction in [0, 1]")
        self._next = self.first

    def next_delay(self) -> float:
        """The delay before the next attempt (and double it for the one after)."""
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        if self.jitter:
            delay *= self.uniform(1 - self.jitter, 1)
        return delay

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self._next = self.first
