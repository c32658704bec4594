"""Samples dated by the camera's burned-in capture stamp, and the stamp kept out of motion."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from analytics.presence.camera import CameraPresence, ZoneChange
from analytics.presence.capture import MASK_LEVEL, UNSTAMPED_SAMPLES, CaptureClock
from analytics.presence.detector import Grey
from analytics.presence.settings import PresenceSettings
from tests.analytics.scenes import DESK_ZONE, MORNING, Interval, frames
from twins.capture_stamp import CaptureStamp, burn, strip_height

DECODED = MORNING + 86_400.0  # the hub decodes a day after the scenario's morning


def stamped(truth: list[Interval], seconds: float) -> Iterator[tuple[float, Grey]]:
    """The desk scene's frames with their scenario time burned in."""
    for at, grey in frames(truth, seconds=seconds, start=MORNING):
        burn(grey, CaptureStamp(wall=DECODED, scenario=at))
        yield at, grey


def test_a_stamped_sample_is_dated_by_its_scenario_time_and_its_strip_masked() -> None:
    clock = CaptureClock()
    at, grey = next(stamped([], 1))
    assert clock.date(grey, DECODED) == at
    assert (grey[: strip_height(grey.shape[1])] == MASK_LEVEL).all()
    assert (grey[strip_height(grey.shape[1]) :] != MASK_LEVEL).any()


def test_an_unstamped_sample_is_dated_when_it_was_decoded_and_left_alone() -> None:
    clock = CaptureClock()
    _, grey = next(frames([], seconds=1, start=MORNING))
    before = grey.copy()
    assert clock.date(grey, DECODED) == DECODED
    assert (grey == before).all()


def test_a_damaged_stamp_skips_the_sample_until_the_camera_has_clearly_stopped() -> None:
    clock = CaptureClock()
    pictures = [grey for _, grey in stamped([], UNSTAMPED_SAMPLES + 1)]
    assert clock.date(pictures[0], DECODED) == MORNING
    plain = [grey for _, grey in frames([], seconds=UNSTAMPED_SAMPLES, start=MORNING)]
    dated = [clock.date(grey, DECODED + i) for i, grey in enumerate(plain)]
    assert dated == [None] * (UNSTAMPED_SAMPLES - 1) + [DECODED + UNSTAMPED_SAMPLES - 1]
    assert clock.skipped == UNSTAMPED_SAMPLES - 1


def presence_of(samples: Iterator[tuple[float, Grey]]) -> tuple[list[ZoneChange], int]:
    clock = CaptureClock()
    presence = CameraPresence([DESK_ZONE], PresenceSettings())
    changes: list[ZoneChange] = []
    for index, (_, grey) in enumerate(samples):
        at = clock.date(grey, DECODED + index)
        assert at is not None
        changes.extend(presence.sample(grey, at).changes)
    return changes, presence.detections


def test_the_changing_stamp_of_a_still_seated_officer_is_not_motion() -> None:
    """Every frame's stamp differs; unmasked, the detector would run on every sample."""
    changes, detections = presence_of(stamped([Interval(0, 300)], 300))
    assert [(c.present, c.at) for c in changes] == [(True, MORNING)]
    assert detections <= 300 / PresenceSettings().recheck_seconds + 5


def test_an_absence_is_dated_on_the_scenario_clock_not_the_decoders() -> None:
    truth = [Interval(0, 40), Interval(70, 120)]
    changes, _ = presence_of(stamped(truth, 120))
    assert [c.present for c in changes] == [True, False, True]
    for change, real in zip(changes, [0, 40, 70], strict=True):
        assert abs(change.at - (MORNING + real)) <= 2


def test_the_mask_leaves_a_picture_without_the_stamp_below_the_strip() -> None:
    grey = np.full((240, 320), 200, np.uint8)
    burn(grey, CaptureStamp(wall=DECODED, scenario=MORNING))
    CaptureClock().date(grey, DECODED)
    assert (grey[strip_height(320) :] == 200).all()
