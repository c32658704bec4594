"""Presence per zone on real photographs and on the simulators' desk and gate scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage
from pydantic import JsonValue

from analytics.presence.camera import CameraPresence, ZoneChange
from analytics.presence.detector import Grey, PersonDetector
from analytics.presence.hysteresis import ZoneHysteresis
from analytics.presence.settings import PresenceSettings
from tests.analytics.scenes import (
    DESK_ZONE,
    GATE_ZONE,
    MORNING,
    Interval,
    frames,
    through_h264,
)
from twins.zones import Zone, parse_zones

PHOTOS = Path(skimage.__file__).parent / "data"
WHOLE_FRAME = Zone.model_validate(
    {"id": "all", "type": "desk", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}
)


def photo(name: str) -> Grey:
    image = cv2.imread(str(PHOTOS / name), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return np.asarray(image, np.uint8)


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector()


@pytest.mark.parametrize("name", ["astronaut.png", "camera.png"])
def test_a_person_in_a_real_photograph_is_found(detector: PersonDetector, name: str) -> None:
    assert detector.detect(photo(name))


@pytest.mark.parametrize("name", ["coffee.png", "chelsea.png", "horse.png", "motorcycle_left.png"])
def test_a_photograph_without_people_has_none(detector: PersonDetector, name: str) -> None:
    assert detector.detect(photo(name)) == []


def test_the_astronaut_is_present_in_a_zone_around_her_after_two_samples(
    detector: PersonDetector,
) -> None:
    presence = CameraPresence([WHOLE_FRAME], PresenceSettings(), detector)
    first = presence.sample(photo("astronaut.png"), MORNING)
    second = presence.sample(photo("astronaut.png"), MORNING + 1)
    assert not first.readings[0].present
    assert second.readings[0].present
    assert second.readings[0].since == MORNING
    assert second.changes == (
        ZoneChange("all", WHOLE_FRAME.type, True, second.readings[0].people, MORNING, True),
    )


def intervals(changes: list[ZoneChange], start: float, end: float) -> list[Interval]:
    """The present intervals the changes describe (seconds from ``start``)."""
    found: list[Interval] = []
    entered: float | None = None
    for change in changes:
        if change.present:
            entered = change.at
        elif entered is not None:
            found.append(Interval(entered - start, change.at - start))
            entered = None
    if entered is not None:
        found.append(Interval(entered - start, end - start))
    return found


def run(
    zone: Zone, truth: list[Interval], scene: str, seconds: float
) -> tuple[list[ZoneChange], CameraPresence]:
    presence = CameraPresence([zone], PresenceSettings())
    changes: list[ZoneChange] = []
    for at, grey in frames(truth, seconds=seconds, start=MORNING, scene=scene):
        changes.extend(presence.sample(grey, at).changes)
    return changes, presence


def test_an_officer_away_from_the_desk_is_absent_for_that_interval() -> None:
    """The scenario's ``officer_absent`` interval 40–70 s: presence leaves and comes back
    within a sample or two of it (changes are dated at the capture time they happened)."""
    truth = [Interval(0, 40), Interval(70, 120)]
    changes, _ = run(DESK_ZONE, truth, "desk", 120)
    found = intervals(changes, MORNING, MORNING + 120)
    assert len(found) == 2
    for seen, real in zip(found, truth, strict=True):
        assert abs(seen.start - real.start) <= 2
        assert abs(seen.end - real.end) <= 2


def test_a_seated_officer_who_does_not_move_stays_present_and_costs_few_detections() -> None:
    changes, presence = run(DESK_ZONE, [Interval(0, 300)], "desk", 300)
    assert [change.present for change in changes] == [True]
    # a still picture: detection on the first samples and every recheck_seconds only
    assert presence.detections <= 300 / PresenceSettings().recheck_seconds + 5


def test_a_quiet_empty_camera_is_not_analysed_every_sample() -> None:
    changes, presence = run(DESK_ZONE, [], "desk", 300)
    assert changes == []
    assert presence.detections <= 300 / PresenceSettings().idle_check_seconds + 3


def test_an_intruder_at_the_gate_at_night_is_present_in_the_restricted_zone() -> None:
    night = MORNING + 15 * 3600  # 23:00 local
    presence = CameraPresence([GATE_ZONE], PresenceSettings())
    changes: list[ZoneChange] = []
    readings = []
    for at, grey in frames([Interval(20, 50)], seconds=80, start=night, scene="gate"):
        result = presence.sample(grey, at)
        changes.extend(result.changes)
        readings.append(result)
    assert [(c.present, c.watched) for c in changes] == [(True, True), (False, True)]
    assert abs(changes[0].at - (night + 20)) <= 2
    assert abs(changes[1].at - (night + 50)) <= 2
    assert any(CameraPresence.intrusion(r.readings) for r in readings)
    assert not CameraPresence.intrusion(readings[-1].readings)


def test_the_gate_intruder_at_night_is_found_through_h264_and_never_lost() -> None:
    """What the hub sees of a simulated camera: the dark, compressed gate. The intruder's
    profile face is all the detectors find of him; he must be entered within the two
    samples an enter needs and not lost on any later sample (at x10 a zone is left after
    two misses in a row), with a detection on every sample."""
    night = MORNING + 15 * 3600
    presence = CameraPresence([GATE_ZONE], PresenceSettings(recheck_seconds=1))
    results = [
        presence.sample(grey, at)
        for at, grey in through_h264(
            frames([Interval(3, 40)], seconds=40, start=night, scene="gate")
        )
    ]
    changes = [change for result in results for change in result.changes]
    assert [(c.present, c.at) for c in changes] == [(True, night + 3)]
    assert all(result.detected for result in results[3:])
    assert all(result.readings[0].present for result in results[4:])


def test_a_zone_changed_keeps_the_others_and_starts_over_itself() -> None:
    presence = CameraPresence([DESK_ZONE], PresenceSettings())
    for at, grey in frames([Interval(0, 10)], seconds=5, start=MORNING):
        presence.sample(grey, at)
    moved = DESK_ZONE.model_copy(update={"polygon": ((0.0, 0.8), (0.2, 0.8), (0.2, 1.0))})
    presence.set_zones([moved, GATE_ZONE])
    assert [zone.id for zone in presence.zones] == ["officer", "yard"]
    result = presence.sample(next(iter(frames([Interval(0, 10)], seconds=1, start=MORNING)))[1],
                             MORNING + 6)  # fmt: skip
    assert [r.present for r in result.readings] == [False, False]


def test_hysteresis_ignores_a_single_ghost_and_a_short_miss() -> None:
    zone = ZoneHysteresis(enter_samples=2, leave_seconds=5)
    assert zone.update(1, 0) is None
    assert zone.update(0, 1) is None
    assert zone.update(1, 2) is None
    entered = zone.update(1, 3)
    assert entered is not None
    assert entered.present
    assert entered.at == 2
    assert zone.update(0, 4) is None
    assert zone.update(1, 6) is None
    assert zone.update(0, 7) is None
    left = zone.update(0, 12)
    assert left is not None
    assert not left.present
    assert left.at == 7


@pytest.mark.parametrize(
    ("zone", "field", "words"),
    [
        (
            {"id": "bow", "type": "desk", "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]},
            "polygon",
            "Self-intersection",
        ),
        (
            {"id": "wide", "type": "desk", "polygon": [[0, 0], [1.5, 0], [1, 1]]},
            "polygon",
            "outside the frame",
        ),
        (
            {"id": "door", "type": "gate", "polygon": [[0, 0], [1, 0], [1, 1]]},
            "type",
            "'desk' or 'restricted'",
        ),
        (
            {
                "id": "late",
                "type": "restricted",
                "polygon": [[0, 0], [1, 0], [1, 1]],
                "hours": {"start": "25:00", "end": "05:00"},
            },
            "hours.start",
            "time",
        ),
    ],
)
def test_a_bad_zone_is_refused_naming_camera_zone_and_field(
    zone: dict[str, JsonValue], field: str, words: str
) -> None:
    good: dict[str, JsonValue] = {
        "id": "ok",
        "type": "desk",
        "polygon": [[0, 0], [0.5, 0], [0.5, 0.5]],
    }
    zones, errors = parse_zones("thaibinh.hcc:cam-01", [good, zone])
    assert [z.id for z in zones] == ["ok"]
    assert len(errors) == 1
    message = str(errors[0])
    assert message.startswith(f"camera thaibinh.hcc:cam-01: zone '{zone['id']}': {field}: ")
    assert words in message
