"""Per-device sequence numbers: drop duplicates, count gaps.

A device numbers its messages (``seq``). A number seen recently *with the same ``ts``* is a
duplicate (a QoS 1 redelivery, a device retrying) and is dropped; a jump forward counts the
skipped numbers as missing. A device restarted its counter (a reboot) when a number comes
again with another ``ts``, when a number below the highest comes with a ``ts`` newer than
any seen, when it is 1,000 or more below the highest, or when it is 0; the pipeline also
forgets a device's numbers when its ``online`` birth arrives. A restart is checked before
the duplicate test, so a rebooted device's first messages are never dropped.
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
    newest_ts: int | None
    recent: dict[int, int | None] = field(default_factory=dict)
    """Recent numbers and the ``ts`` each came with."""
    order: deque[int] = field(default_factory=deque)

    def remember(self, seq: int, ts: int | None) -> None:
        self.recent[seq] = ts
        self.order.append(seq)
        if ts is not None and (self.newest_ts is None or ts > self.newest_ts):
            self.newest_ts = ts
        if len(self.order) > RECENT:
            self.recent.pop(self.order.popleft(), None)


@dataclass(slots=True, frozen=True)
class SeqCheck:
    """The verdict on one number and how many numbers it skipped."""

    verdict: SeqVerdict
    missing: int = 0


_NEW = SeqCheck(SeqVerdict.NEW)
_DUPLICATE = SeqCheck(SeqVerdict.DUPLICATE)
_LATE = SeqCheck(SeqVerdict.LATE)
_RESTART = SeqCheck(SeqVerdict.RESTART)
_ABSENT = -1
"""Stands for a number not remembered (``ts`` is never negative)."""


class SequenceTracker:
    """Sequence state of every device seen since start."""

    def __init__(self) -> None:
        self._devices: dict[str, _DeviceSeq] = {}

    def check(self, thing: str, seq: int, ts: int | None = None) -> SeqCheck:
        """Record ``seq`` (sent with ``ts``, ms) from ``thing``; say whether to keep it."""
        state = self._devices.get(thing)
        if state is None:
            self._start(thing, seq, ts)
            return _NEW
        if seq > state.highest:
            missing = seq - state.highest - 1
            state.highest = seq
            state.remember(seq, ts)
            return SeqCheck(SeqVerdict.NEW, missing) if missing else _NEW
        remembered = state.recent.get(seq, _ABSENT)
        if remembered == ts and remembered != _ABSENT:
            return _DUPLICATE
        if (
            remembered != _ABSENT  # the same number with another ts: counting again
            or seq == 0
            or state.highest - seq >= RESTART_BELOW
            or (ts is not None and state.newest_ts is not None and ts > state.newest_ts)
        ):
            self._start(thing, seq, ts)
            return _RESTART
        state.remember(seq, ts)
        return _LATE

    def _start(self, thing: str, seq: int, ts: int | None) -> None:
        state = self._devices[thing] = _DeviceSeq(seq, ts)
        state.remember(seq, ts)

    def forget(self, thing: str) -> None:
        """Drop the state of a device (it restarted: its numbers begin again)."""
        self._devices.pop(thing, None)
