"""The rule engine: facts in, `AlertSignal`s out, everything in event time.

Inputs arrive in whatever order ingest batches and the video hub publish them. The engine
keeps them in one reorder buffer (a heap ordered by event time and a fixed tie-break) and
releases them only once the **watermark** — the newest event time seen minus
``allowed_lateness_s`` — has passed them. Released facts go to their device's evaluators
in event-time order; evaluators' deadlines (minimum durations, grace periods, silence,
office openings) fire when the watermark passes them, interleaved with the facts in time
order. So any arrival order within the lateness gives the same signals, and the signals
do not depend on how fast the input came (×1 or ×60).

A fact whose time the watermark has already passed is *late* (a device's offline buffer
flushed on reconnect): it is counted (`late_events`) and placed at the newest event time
seen — when, in event time, the platform learnt of it — behind the device's earlier
facts and in ``seq`` order. Nothing is lost; its placement is approximate.
docs/rules.md says why this design and not re-evaluation.

**Live, the watermark may instead be held in wall time** (``hold_s``): it is then the
newest event time the engine had seen ``hold_s`` seconds *of its own clock* ago. An input
is released ``hold_s`` after it arrived, at ×1 as at ×60, and an input overtaken by a
newer one by less than ``hold_s`` is still placed right: the tolerance and the delay are
both the wall-clock skew of the links, independent of the scenario's speed. The process
calls ``tick`` to let time pass where nothing arrives.

Server-stamped inputs (status birth and last will carry no ``ts``, so ingest stamps them
with its receive time, which at ×60 is hours ahead of the devices' time) are placed at
the newest device time seen, and never move the watermark.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics.alerts.model import AlertSignal
from analytics.rules.config import OfficerAbsenceRule
from analytics.rules.evaluators import EVALUATORS, Evaluator, Subject
from analytics.rules.evaluators.counters import OfficerAbsenceEvaluator
from analytics.rules.inputs import Fact, Input, fact_of
from analytics.rules.ruleset import BoundRule, Rules
from twins.events import EventBatch, NormalizedEvent
from twins.kinds import DeviceKind
from twins.presence import PresenceEvent
from twins.zones import ZoneType

logger = logging.getLogger(__name__)

DEFAULT_LATENESS_S = 30.0


@dataclass(slots=True, frozen=True)
class DeviceInfo:
    """What the registry says of a device (its kind, site, sector and attributes)."""

    thing: str
    kind: DeviceKind
    site: str
    sector: str
    attributes: Mapping[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(slots=True)
class EngineStats:
    facts: int = 0
    late_events: int = 0
    """Inputs later than the lateness, placed at the newest event time."""
    late_dropped: int = 0
    """Inputs later than the lateness and older than their device's latest: dropped."""
    signals: int = 0
    ignored: int = 0


class RuleEngine:
    """Evaluates one `Rules` version over a stream of inputs, in event time."""

    def __init__(
        self,
        rules: Rules,
        *,
        allowed_lateness_s: float = DEFAULT_LATENESS_S,
        devices: Iterable[DeviceInfo] = (),
        hold_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``hold_s`` (live use): hold the watermark that many seconds of ``clock`` behind
        the input, instead of ``allowed_lateness_s`` of event time behind it (both may be
        combined; a live engine sets the lateness to 0)."""
        if allowed_lateness_s < 0:
            raise ValueError(f"allowed_lateness_s must be >= 0, not {allowed_lateness_s}")
        if hold_s is not None and hold_s < 0:
            raise ValueError(f"hold_s must be >= 0, not {hold_s}")
        self.rules = rules
        self.lateness_ms = round(allowed_lateness_s * 1000)
        self.hold_s = hold_s
        self._clock = clock
        self._seen: deque[tuple[float, int]] = deque()
        """Held mode: (arrival on ``clock``, newest event time then), oldest first."""
        self._held_ts: int | None = None
        """Held mode: the newest event time seen ``hold_s`` ago."""
        self.devices: dict[str, DeviceInfo] = {device.thing: device for device in devices}
        self._sectors = {thing: info.sector for thing, info in self.devices.items()}
        self.stats = EngineStats()
        self.max_ts: int | None = None
        self.frontier: int | None = None
        """Event time up to which every fact and deadline has been evaluated."""
        self._pending: list[tuple[tuple[int, str, int, int, str], int, Fact]] = []
        self._arrivals = 0
        self._unplaced: list[Fact] = []
        self._device_ts: dict[tuple[str, int], int] = {}
        """The newest time of each device's timeline (`_timeline`) the engine has taken."""
        """Event time of each device's latest evaluated input (original, before placing)."""
        self._evaluators: dict[tuple[str, str], Evaluator[Any]] = {}
        self._by_device: dict[str, list[Evaluator[Any]]] = {}
        self._deadlines: list[tuple[int, str, str]] = []
        self._desks: dict[str, tuple[str, str | None] | None] = {}

    def know(self, devices: Iterable[DeviceInfo]) -> None:
        """Take the registry's devices anew (devices added, attributes changed): what the
        registry says wins over what was learnt from events, the devices only learnt stay,
        and which counter a camera's desk is is looked up again (a new desk camera)."""
        for device in devices:
            self.devices[device.thing] = device
            self._sectors[device.thing] = device.sector
        self._desks.clear()

    # --- input -----------------------------------------------------------------------------

    @property
    def watermark(self) -> int | None:
        newest = self.max_ts if self.hold_s is None else self._held_ts
        return None if newest is None else newest - self.lateness_ms

    def push(self, item: Input) -> list[AlertSignal]:
        """Take one input; returns the signals of everything the watermark now releases."""
        self._learn(item)
        fact = fact_of(item, self._sectors)
        if fact is None:
            self.stats.ignored += 1
            return []
        self.stats.facts += 1
        if fact.server_time:
            if self.max_ts is None:
                self._unplaced.append(fact)  # placed at the first device time seen
                return []
            fact = _placed(fact, min(fact.ts, self.max_ts))
        elif self.max_ts is None or fact.ts > self.max_ts:
            first = self.max_ts is None
            self.max_ts = fact.ts
            if self.hold_s is not None:
                self._seen.append((self._clock(), fact.ts))
            if first:
                for early in self._unplaced:
                    self._buffer(_placed(early, fact.ts))
                self._unplaced.clear()
        if self.frontier is not None and fact.ts < self.frontier and self.max_ts is not None:
            if fact.ts < self._device_ts.get(_timeline(fact), fact.ts):
                # behind what its own device already said: it cannot be placed right, and
                # placed at the newest time it would replay an old value as current
                self.stats.late_dropped += 1
                logger.info(
                    "%s: input of %d dropped: later than the lateness and out of order for"
                    " the device",
                    fact.device,
                    fact.ts,
                )
                return []
            self.stats.late_events += 1
            self._device_ts[_timeline(fact)] = fact.ts
            logger.debug(
                "%s: input %d ms behind the watermark, placed at the newest event time",
                fact.device,
                self.frontier - fact.ts,
            )
            fact = dataclasses.replace(_placed(fact, self.max_ts), late=True)
        if self.frontier is not None and fact.ts <= self.frontier:
            return self._count(self._feed(fact))  # at the frontier itself (no lateness)
        self._buffer(fact)
        self._hold()
        watermark = self.watermark
        return self._count(self._release(watermark) if watermark is not None else [])

    def tick(self) -> list[AlertSignal]:
        """Let the engine's clock pass (held mode): releases what has been held for
        ``hold_s``, with the deadlines up to it. Without a hold, a no-op."""
        if self.hold_s is None:
            return []
        self._hold()
        watermark = self.watermark
        return self._count(self._release(watermark) if watermark is not None else [])

    def _hold(self) -> None:
        if self.hold_s is None:
            return
        now = self._clock()
        while self._seen and self._seen[0][0] <= now - self.hold_s:
            self._held_ts = self._seen.popleft()[1]

    def _buffer(self, fact: Fact) -> None:
        # facts with equal keys are equal but for whose clock stamped them: arrival decides
        self._arrivals += 1
        heapq.heappush(self._pending, (fact.sort_key, self._arrivals, fact))

    def push_all(self, items: Iterable[Input]) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        for item in items:
            signals += self.push(item)
        return signals

    def push_batch(self, batch: EventBatch) -> list[AlertSignal]:
        """One message of ingest's event topic."""
        return self.push_all(batch.events)

    def advance_to(self, ts_ms: int) -> list[AlertSignal]:
        """Declare that event time has reached ``ts_ms`` (an idle site's clock, the end
        of a replay): releases what is due and fires deadlines up to it."""
        if self.max_ts is None or ts_ms > self.max_ts:
            self.max_ts = ts_ms
        self._hold_at_least(ts_ms)
        return self._count(self._release(ts_ms))

    def flush(self) -> list[AlertSignal]:
        """Release everything buffered (end of input): the watermark jumps to the newest
        event time."""
        if self.max_ts is None:
            return []
        self._hold_at_least(self.max_ts)
        return self._count(self._release(self.max_ts))

    def _hold_at_least(self, ts_ms: int) -> None:
        """What was released explicitly is no longer held."""
        if self.hold_s is None:
            return
        self._held_ts = max(self._held_ts or ts_ms, ts_ms)
        while self._seen and self._seen[0][1] <= ts_ms:
            self._seen.popleft()

    # --- rules -----------------------------------------------------------------------------

    def apply(self, rules: Rules) -> list[AlertSignal]:
        """Switch to a reloaded `Rules`: evaluators of unchanged rules keep their state;
        those of changed or removed rules clear their active alerts (at the frontier) and
        start afresh on the device's next input."""
        at = self.frontier if self.frontier is not None else (self.max_ts or 0)
        kept = {bound.rule.id: bound for bound in rules.rules if bound.rule.enabled}
        signals: list[AlertSignal] = []
        for key, evaluator in sorted(self._evaluators.items()):
            bound = kept.get(key[0])
            same = (
                bound is not None
                and bound.rule == evaluator.rule
                and _same_calendar(bound, evaluator)
            )
            if not same:
                signals += evaluator.withdraw(at)
                del self._evaluators[key]
        self._by_device = {}  # rebuilt at each device's next input, keeping what was kept
        self.rules = rules
        self._desks.clear()
        return self._count(signals)

    def active(self) -> list[tuple[str, str, str]]:
        """(rule, device, zone) of every key whose condition holds now."""
        return sorted(
            (rule, thing, zone)
            for (rule, thing), evaluator in self._evaluators.items()
            for zone in evaluator.active_zones
        )

    # --- the reorder buffer ----------------------------------------------------------------

    def _release(self, watermark: int) -> list[AlertSignal]:
        if self.frontier is not None and watermark <= self.frontier:
            return []
        signals: list[AlertSignal] = []
        while self._pending and self._pending[0][2].ts <= watermark:
            _, _, fact = heapq.heappop(self._pending)
            signals += self._fire(fact.ts, inclusive=False)
            signals += self._feed(fact)
        signals += self._fire(watermark, inclusive=True)
        self.frontier = watermark
        return signals

    def _fire(self, until: int, *, inclusive: bool) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        heap = self._deadlines
        while heap and (heap[0][0] < until or (inclusive and heap[0][0] == until)):
            due, rule, thing = heapq.heappop(heap)
            evaluator = self._evaluators.get((rule, thing))
            if evaluator is None or evaluator.deadline() != due:
                continue  # superseded
            signals += evaluator.on_time(due)
            following = evaluator.deadline()
            if following is not None and following <= due:
                # an evaluator must move its deadline on when asked at it; one that does not
                # would be asked forever
                logger.error(
                    "%s: rule %s keeps its deadline %d; not asked again until its next input",
                    thing,
                    rule,
                    due,
                )
                continue
            self._schedule(evaluator)
        return signals

    def _feed(self, fact: Fact) -> list[AlertSignal]:
        if not fact.late and not fact.server_time:
            timeline = _timeline(fact)
            self._device_ts[timeline] = max(self._device_ts.get(timeline, fact.ts), fact.ts)
        signals: list[AlertSignal] = []
        for evaluator in self._targets(fact):
            signals += evaluator.on_fact(fact)
            self._schedule(evaluator)
        return signals

    def _schedule(self, evaluator: Evaluator[Any]) -> None:
        due = evaluator.deadline()
        if due is not None:
            heapq.heappush(self._deadlines, (due, evaluator.rule.id, evaluator.subject.thing))

    def _count(self, signals: list[AlertSignal]) -> list[AlertSignal]:
        self.stats.signals += len(signals)
        return signals

    # --- routing ---------------------------------------------------------------------------

    def _learn(self, item: Input) -> None:
        if isinstance(item, NormalizedEvent) and item.thing_id not in self.devices:
            self.devices[item.thing_id] = DeviceInfo(
                item.thing_id, item.kind, item.site, item.sector.value
            )
            self._sectors[item.thing_id] = item.sector.value

    def _targets(self, fact: Fact) -> list[Evaluator[Any]]:
        body = fact.body
        own = self._of_device(fact.device, fact.site, fact.kind, fact.sector)
        if isinstance(body, PresenceEvent) and body.zone_type is ZoneType.DESK:
            desk = self._desk_of(fact.device, fact.site)
            if desk is None:
                return own
            counter, zone = desk
            info = self.devices.get(counter)
            sector = info.sector if info is not None else ""
            watchers = [
                evaluator
                for evaluator in self._of_device(counter, fact.site, DeviceKind.COUNTER, sector)
                if isinstance(evaluator, OfficerAbsenceEvaluator)
            ]
            for evaluator in watchers:
                if zone is not None:
                    evaluator.desk_zone = zone
            return own + watchers
        return own

    def _of_device(
        self, thing: str, site: str, kind: DeviceKind, sector: str
    ) -> list[Evaluator[Any]]:
        found = self._by_device.get(thing)
        if found is not None:
            return found
        found = []
        subject = Subject(thing, site, kind, sector)
        for bound in self.rules.for_device(site, kind):
            if not bound.rule.watches(thing):
                continue
            key = (bound.rule.id, thing)
            evaluator = self._evaluators.get(key)
            if evaluator is None:
                cls = EVALUATORS[bound.rule.type]
                evaluator = self._evaluators[key] = cls(bound.rule, subject, bound.calendar)
            found.append(evaluator)
        self._by_device[thing] = found
        return found

    def _desk_of(self, camera: str, site: str) -> tuple[str, str | None] | None:
        """The counter whose desk ``camera`` watches, and its zone if a rule names one."""
        if camera in self._desks:
            return self._desks[camera]
        found: tuple[str, str | None] | None = None
        for bound in self.rules.for_device(site, DeviceKind.COUNTER):
            rule = bound.rule
            if not isinstance(rule, OfficerAbsenceRule):
                continue
            for counter, desk in sorted(rule.desks.items()):
                thing = desk.camera if ":" in desk.camera else f"{site}:{desk.camera}"
                if thing == camera:
                    found = (f"{site}:{counter}", desk.zone)
                    break
            if found is not None:
                break
        if found is None:
            info = self.devices.get(camera)
            watches = info.attributes.get("watches") if info is not None else None
            if watches:
                found = (f"{site}:{watches}", None)
        self._desks[camera] = found
        return found


def _placed(fact: Fact, ts: int) -> Fact:
    return dataclasses.replace(fact, ts=ts, sort_key=(ts, *fact.sort_key[1:]))


def _same_calendar(bound: BoundRule, evaluator: Evaluator[Any]) -> bool:
    old, new = evaluator.calendar, bound.calendar
    if old is None or new is None:
        return old is new
    return old.name == new.name and old.spec == new.spec


def _timeline(fact: Fact) -> tuple[str, int]:
    """Whose clock dated a fact of a device: its own messages, the video hub's presence
    and its stream health each keep their own order. The hub dates what it saw by the
    frames' capture time, behind the camera's own reports by its decoding delay — at ×60
    a second of wall time is a minute of event time — so a presence event held against
    the camera's telemetry would be dropped as out of order (every intrusion at a gate
    whose camera reported meanwhile, in the day of thaibinh against its ground truth)."""
    return fact.device, fact.sort_key[2]
