"""Per-device sequence numbers: drop duplicates, count gaps.

A device numbers its messages (``seq``). A number seen recently is a duplicate (a QoS 1
redelivery, a device retrying) and is dropped; a jump forward counts the skipped numbers as
missing; a number far below the highest seen means the device restarted its counter.
The state lives in memory: after an ingest restart the first message of each device starts
afresh, and redelivered messages overwrite their own points (see `ingest.mapping`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

RECENT = 512
"""How many recent numbers per device are remembered to recognise duplicates."""

RESTART_BELOW = 1000
"""A number this far below the highest seen is taken as a counter restart."""


class SeqVerdict(StrEnum):
    """What a sequence number says about its message."""

    NEW = "new"
    DUPLICATE = "duplicate"
    LATE = "late"
    RESTART = "restart"


@dataclass(slots=True)
class _DeviceSeq:
    highest: int
    recent: set[int] = field(default_factory=set)
    order: deque[int] = field(default_factory=deque)

    def remember(self, seq: int) -> None:
        self.recent.add(seq)
        self.order.append(seq)
        if len(self.order) > RECENT:
            self.recent.discard(self.order.popleft())


@dataclass(slots=True, frozen=True)
class SeqCheck:
    """The verdict on one number and how many numbers it skipped."""

    verdict: SeqVerdict
    missing: int = 0


_NEW = SeqCheck(SeqVerdict.NEW)
_DUPLICATE = SeqCheck(SeqVerdict.DUPLICATE)
_LATE = SeqCheck(SeqVerdict.LATE)
_RESTART = SeqCheck(SeqVerdict.RESTART)


class SequenceTracker:
    """Sequence state of every device seen since start."""

    def __init__(self) -> None:
        self._devices: dict[str, _DeviceSeq] = {}

    def check(self, thing: str, seq: int) -> SeqCheck:
        """Record ``seq`` from ``thing`` and say whether to keep the message."""
        state = self._devices.get(thing)
        if state is None:
            state = self._devices[thing] = _DeviceSeq(seq)
            state.remember(seq)
            return _NEW
        if seq in state.recent:
            return _DUPLICATE
        if seq > state.highest:
            missing = seq - state.highest - 1
            state.highest = seq
            state.remember(seq)
            return SeqCheck(SeqVerdict.NEW, missing) if missing else _NEW
        if state.highest - seq >= RESTART_BELOW or seq == 0:
            fresh = self._devices[thing] = _DeviceSeq(seq)
            fresh.remember(seq)
            return _RESTART
        state.remember(seq)
        return _LATE

    def forget(self, thing: str) -> None:
        """Drop the state of a device (it restarted: its numbers begin again)."""
        self._devices.pop(thing, None)
