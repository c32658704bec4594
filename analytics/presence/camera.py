"""One camera's presence: motion-gated detection, people per zone, smoothed per zone.

Each sample is a grey frame with its capture time. The detector runs only when it can
change the answer:

- the picture moved (``MotionGate``) — someone came, went or shifted — or moved within
  the last ``settle_samples``: a person who appeared (or left) between two samples makes
  motion on one sample only, and the detector missing them on that sample (it misses a
  dark, compressed face now and then) must not leave them unseen until the next check;
- a zone is about to be entered (someone seen since a sample, not yet ``enter_samples``):
  every sample, so the samples an enter needs are detections, not one detection repeated;
- a zone is about to be left (occupied, empty since a sample): every sample, so a person
  the detector missed once is found again before ``leave_seconds`` run out;
- a zone is occupied and ``recheck_seconds`` passed since the last detection — a seated
  officer barely moves, so the person is looked for again now and then rather than
  assumed there forever (a person who leaves makes motion, which is seen at once);
- ``idle_check_seconds`` passed on a quiet camera.

Between detections the last detection stands (while nothing moves, nobody came or went).
A person is in a zone when the centre of their box is inside the zone's polygon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shapely import Point, Polygon

from analytics.presence.detector import Grey, PersonBox, PersonDetector
from analytics.presence.hysteresis import ZoneHysteresis
from analytics.presence.motion import MotionGate
from analytics.presence.settings import PresenceSettings
from twins.zones import Zone, ZoneType


@dataclass(slots=True, frozen=True)
class ZoneChange:
    """A zone entered or left (``at``: the capture time it happened)."""

    zone: str
    type: ZoneType
    present: bool
    people: int
    at: float
    watched: bool
    """Whether the zone's ``hours`` apply at ``at`` (a restricted zone: an intrusion)."""


@dataclass(slots=True, frozen=True)
class ZoneReading:
    """One zone after a sample."""

    zone: str
    type: ZoneType
    present: bool
    people: int
    since: float | None
    watched: bool


@dataclass(slots=True, frozen=True)
class SampleResult:
    """What one sample gave: every zone's state, the changes, and whether it detected."""

    at: float
    readings: tuple[ZoneReading, ...]
    changes: tuple[ZoneChange, ...]
    detected: bool
    moved: bool


class CameraPresence:
    """Presence in one camera's zones (call from one thread at a time)."""

    def __init__(
        self,
        zones: Sequence[Zone],
        settings: PresenceSettings,
        detector: PersonDetector | None = None,
    ) -> None:
        self.settings = settings
        self._detector = detector or PersonDetector(
            settings.detect_width,
            settings.hog_threshold,
            settings.hog_scale,
        )
        self._motion = MotionGate(settings.motion_width, settings.motion_fraction)
        self._zones: list[tuple[Zone, Polygon]] = []
        self._states: dict[str, ZoneHysteresis] = {}
        self._people: list[PersonBox] = []
        self._last_detection: float | None = None
        self._settling = 0
        """Samples still detected since the picture last moved."""
        self.detections = 0
        self.set_zones(zones)

    @property
    def zones(self) -> list[Zone]:
        return [zone for zone, _ in self._zones]

    def set_zones(self, zones: Sequence[Zone]) -> None:
        """Watch ``zones`` from now on; a zone kept (same id, type and polygon) keeps its state."""
        before = {zone.id: zone for zone, _ in self._zones}
        self._zones = [(zone, zone.shape()) for zone in zones]
        states: dict[str, ZoneHysteresis] = {}
        for zone in zones:
            old = before.get(zone.id)
            kept = old is not None and (old.type, old.polygon) == (zone.type, zone.polygon)
            states[zone.id] = (
                self._states[zone.id]
                if kept
                else ZoneHysteresis(self.settings.enter_samples, self.settings.leave_seconds)
            )
        self._states = states

    def _due(self, moved: bool, at: float) -> bool:
        if moved or self._settling > 0 or self._last_detection is None:
            return True
        if any(state.leaving or state.entering for state in self._states.values()):
            return True
        since = at - self._last_detection
        if any(state.present for state in self._states.values()):
            return since >= self.settings.recheck_seconds
        return since >= self.settings.idle_check_seconds

    def sample(self, grey: Grey, at: float) -> SampleResult:
        """Analyse the frame ``grey`` captured at ``at`` (epoch seconds)."""
        moved = self._motion.changed(grey)
        # a camera's first sample is "moved" (nothing to compare with) but is no change to
        # settle: a hub starting with 95 cameras must not begin with 4 detections each
        changed = moved and self._last_detection is not None
        detected = self._due(moved, at)
        self._settling = self.settings.settle_samples if changed else max(0, self._settling - 1)
        if detected:
            self._people = self._detector.detect(grey)
            self._last_detection = at
            self.detections += 1
        centres = [Point(person.centre) for person in self._people]
        readings: list[ZoneReading] = []
        changes: list[ZoneChange] = []
        for zone, shape in self._zones:
            inside = sum(1 for centre in centres if shape.contains(centre))
            state = self._states[zone.id]
            transition = state.update(inside, at)
            if transition is not None:
                changes.append(
                    ZoneChange(
                        zone.id,
                        zone.type,
                        transition.present,
                        transition.people,
                        transition.at,
                        zone.watched_at(transition.at),
                    )
                )
            watched = zone.watched_at(at)
            reading = ZoneReading(
                zone.id, zone.type, state.present, state.people, state.since, watched
            )
            readings.append(reading)
        return SampleResult(at, tuple(readings), tuple(changes), detected, moved)

    def people(self) -> list[PersonBox]:
        """The people of the latest detection."""
        return list(self._people)

    @staticmethod
    def intrusion(readings: Sequence[ZoneReading]) -> bool:
        """Someone inside a restricted zone while its hours apply."""
        return any(r.present and r.watched and r.type is ZoneType.RESTRICTED for r in readings)
