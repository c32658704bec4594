"""Enter after N positive samples, leave after M seconds empty — per zone.

A detector misses a frame now and then and finds a ghost now and then; presence must not
flicker with it. A zone is **entered** after ``enter_samples`` consecutive samples with
someone inside and **left** once it has been empty for ``leave_seconds``. The change is
dated when it really happened — the first of the positive samples, the first empty one —
not when it was confirmed, so intervals do not drift by the smoothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Transition:
    """A zone entered (``present``) or left, at the capture time it happened."""

    present: bool
    at: float
    people: int


class ZoneHysteresis:
    """One zone's smoothed presence."""

    def __init__(self, enter_samples: int, leave_seconds: float) -> None:
        self._enter_samples = enter_samples
        self._leave_seconds = leave_seconds
        self.present = False
        self.since: float | None = None
        self.people = 0
        self._positive_run = 0
        self._first_positive: float | None = None
        self._empty_since: float | None = None

    @property
    def leaving(self) -> bool:
        """Present, but empty since a sample: a leave is pending (or a detection missed)."""
        return self.present and self._empty_since is not None

    @property
    def entering(self) -> bool:
        """Not present, but someone seen since a sample: an enter is pending (or a ghost)."""
        return not self.present and self._positive_run > 0

    def update(self, people: int, at: float) -> Transition | None:
        """Feed one sample (``people`` inside at capture time ``at``); the change, if any."""
        if people > 0:
            self._empty_since = None
            if self._positive_run == 0:
                self._first_positive = at
            self._positive_run += 1
            self.people = people if self.present else self.people
            if not self.present and self._positive_run >= self._enter_samples:
                assert self._first_positive is not None
                self.present, self.since, self.people = True, self._first_positive, people
                return Transition(True, self._first_positive, people)
            return None
        self._positive_run = 0
        if not self.present:
            return None
        if self._empty_since is None:
            self._empty_since = at
        if at - self._empty_since >= self._leave_seconds:
            left_at = self._empty_since
            self.present, self.since, self.people = False, left_at, 0
            self._empty_since = None
            return Transition(False, left_at, 0)
        return None
