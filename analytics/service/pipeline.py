"""Inputs to committed signals: the rule engine and the alert lifecycle, one step at a time.

Everything that moves the rule engine — an input, event time advanced over an idle site, a
reload of the rules — goes through `SignalPipeline` under one lock, and returns only once
every signal it released is committed in the alert store. ``committed_ms`` is then the
event time up to which the engine has evaluated *and* the store holds the outcome: the
only position the checkpoint may advance to (`CommittedCheckpoint`). So a process killed
at any instant restarts from a checkpoint whose signals are all in the store.

After a restart the feed replays from ``checkpoint − lookback`` to rebuild the rules'
state. The signals that replay gives for times before the checkpoint were committed
before the crash — or differ only because the replay began inside an episode — so they
are dropped (``stats.before_checkpoint``); those at or after it are applied, and the
lifecycle turns the ones already stored into ``duplicate``. Nothing is lost, nothing is
doubled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from analytics.alerts.errors import AlertInputError
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertSignal
from analytics.alerts.records import SignalOutcome
from analytics.checkpoint import Checkpoint
from analytics.rules.engine import DeviceInfo, RuleEngine
from analytics.rules.inputs import Input, StreamHealthEvent, datetime_of, ms_of
from analytics.rules.ruleset import Rules
from analytics.service.bookings import CalendarBookings
from twins.events import NormalizedEvent, TsSource

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PipelineStats:
    """What the pipeline did, for ``/health`` and the tests."""

    inputs: int = 0
    signals: int = 0
    before_checkpoint: int = 0
    """Signals of the replay dated before the checkpoint: committed before a restart."""
    refused: int = 0
    """Signals the store refused as unusable (logged)."""
    calendar_bookings: int = 0
    """Booking starts and ends handed to the rules from the rooms' calendars."""
    panel_bookings_dropped: int = 0
    """A panel's booking events of a room whose calendar says what is booked."""
    outcomes: dict[str, int] | None = None

    def count(self, outcome: SignalOutcome) -> None:
        if self.outcomes is None:
            self.outcomes = {}
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1


class SignalPipeline:
    """One rule engine feeding one alert lifecycle; every step commits before it returns."""

    def __init__(
        self,
        engine: RuleEngine,
        lifecycle: AlertLifecycle,
        *,
        resume_ms: int | None,
        on_input: Callable[[Input], None] | None = None,
        after_commit: Callable[[], None] | None = None,
        bookings: CalendarBookings | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        """``bookings``: the rooms' calendars, whose booking starts and ends are handed to
        the engine before the first input at or after them (`analytics.service.bookings`)."""
        self.engine = engine
        self.bookings = bookings
        self.lifecycle = lifecycle
        self.resume_ms = resume_ms
        """The checkpoint this process started from: replayed signals before it are old."""
        self.stats = PipelineStats()
        self._on_input = on_input
        self._after_commit = after_commit
        self._wall = wall
        self._lock = asyncio.Lock()
        self._committed: int | None = None
        self._input_max_ts: int | None = None
        self._input_wall = wall()
        self._hub_waiting: dict[str, StreamHealthEvent] = {}

    @property
    def committed_ms(self) -> int | None:
        """Event time up to which every signal is in the store (None: nothing yet)."""
        return self._committed

    async def handle(self, item: Input) -> None:
        """One input: pushed into the engine, its released signals committed."""
        async with self._lock:
            if isinstance(item, NormalizedEvent) and self.bookings is not None:
                if item.ts_source is TsSource.DEVICE:
                    await self._bookings_until(item.ts)
                if self.bookings.replaces(item):
                    self.stats.panel_bookings_dropped += 1
                    return
            await self._push(item)
            if self._hub_waiting and self.engine.max_ts is not None:
                waiting, self._hub_waiting = self._hub_waiting, {}
                for event in waiting.values():
                    await self._push(self._placed(event, self.engine.max_ts))

    async def handle_hub_clock(self, event: StreamHealthEvent) -> None:
        """Stream health, dated by the video hub's wall clock rather than by a device.

        At ×1 the two agree; in a simulation at ×60 the hub's ``healthSince`` is hours
        ahead of the devices' time and would carry the watermark past every device (all
        of them late, their inputs placed or dropped). So, as the engine does with
        server-stamped status messages, an event ahead of the newest device time is
        placed at it, and one that comes before any device time waits for the first.
        """
        async with self._lock:
            newest = self.engine.max_ts
            if newest is None:
                self._hub_waiting[event.thing] = event
                return
            await self._push(self._placed(event, newest))

    @staticmethod
    def _placed(event: StreamHealthEvent, newest: int) -> StreamHealthEvent:
        if ms_of(event.at) <= newest:
            return event
        return event.model_copy(update={"at": datetime_of(newest)})

    async def _bookings_until(self, ts_ms: int) -> None:
        assert self.bookings is not None
        for event in await self.bookings.due(ts_ms):
            self.stats.calendar_bookings += 1
            await self._push(event)

    async def _push(self, item: Input) -> None:
        self.stats.inputs += 1
        if self._on_input is not None:
            self._on_input(item)
        await self._commit(self.engine.push(item))
        max_ts = self.engine.max_ts
        if max_ts is not None and (self._input_max_ts is None or max_ts > self._input_max_ts):
            self._input_max_ts = max_ts
            self._input_wall = self._wall()

    async def advance_idle(self, idle_seconds: float) -> None:
        """Move event time on by the wall time passed since the newest input, once no input
        has come for ``idle_seconds``: a silent site still reaches its deadlines."""
        async with self._lock:
            if self._input_max_ts is None:
                return
            elapsed = self._wall() - self._input_wall
            if elapsed < idle_seconds:
                return
            target = self._input_max_ts + round(elapsed * 1000) - self.engine.lateness_ms
            frontier = self.engine.frontier
            if frontier is not None and target <= frontier:
                return
            if self.bookings is not None:
                await self._bookings_until(target)
            await self._commit(self.engine.advance_to(target))

    async def tick(self) -> None:
        """Release what the engine has held long enough (its wall-time hold)."""
        async with self._lock:
            await self._commit(self.engine.tick())

    async def switch(self, rules: Rules) -> None:
        """Reloaded rules take over; the alerts of changed or removed rules are cleared."""
        async with self._lock:
            await self._commit(self.engine.apply(rules))
            logger.info("rule engine now on rules version %d", rules.version)

    async def know(self, devices: Iterable[DeviceInfo]) -> None:
        """The registry changed: the engine takes its devices between two inputs."""
        async with self._lock:
            self.engine.know(devices)

    async def flush(self) -> None:
        """Release everything buffered (the end of a replay in tests and benchmarks)."""
        async with self._lock:
            await self._commit(self.engine.flush())

    async def _commit(self, signals: Iterable[AlertSignal]) -> None:
        applied = False
        for signal in signals:
            self.stats.signals += 1
            if self.resume_ms is not None and ms_of(signal.at) < self.resume_ms:
                self.stats.before_checkpoint += 1
                logger.debug("signal %s at %s is before the checkpoint", signal.key, signal.at)
                continue
            try:
                result = await self.lifecycle.apply(signal)
            except AlertInputError as exc:  # a rule's signal the store cannot keep
                self.stats.refused += 1
                logger.error("signal %s refused by the alert store: %s", signal.key, exc)
                continue
            self.stats.count(result.outcome)
            applied = True
        self._committed = self.engine.frontier
        if applied and self._after_commit is not None:
            self._after_commit()


class CommittedCheckpoint:
    """A checkpoint that never saves past what the pipeline has committed.

    The feed saves the newest event time it has handed over; events still in the engine's
    reorder buffer have produced no signal yet, so the position written is the lower of
    that and the pipeline's ``committed_ms``. It never moves back: while a restarted
    process replays its lookback, its frontier is behind the checkpoint it started from,
    and saving that would let a second restart apply replayed signals the first one
    rightly dropped.
    """

    def __init__(self, inner: Checkpoint, pipeline: Callable[[], int | None]) -> None:
        self._inner = inner
        self._committed = pipeline
        self._saved: int | None = None

    def load(self) -> int | None:
        self._saved = self._inner.load()
        return self._saved

    def save(self, event_ms: int) -> None:
        committed = self._committed()
        if committed is None:
            return
        position = min(event_ms, committed)
        if self._saved is not None and position <= self._saved:
            return
        self._inner.save(position)
        self._saved = position
