"""What presence analytics costs per camera, and how right it is.

    .venv/bin/python benchmarks/presence_bench.py [--cameras 95] [--seconds 120]
        [--detect-width 640] [--hog-scale 1.2] [--baseline-hog-scale 1.05] [--no-capacity]

Capacity: ``--cameras`` cameras (the ``thaibinh`` scenario has 95) analysed in one thread
(one core) at 1 sample/s of scenario time, 320x240 frames from the simulators' renderer
with sensor noise. CPU time (``time.process_time``) per sample of ``CameraPresence.sample``
— motion gate, detection when due, zones, hysteresis — for three scenes:

- quiet: an empty desk, nothing moves (detection only every ``idle_check_seconds``);
- seated: the officer at the desk, still (detection every ``recheck_seconds``);
- busy: the officer comes and goes every sample (detection on every sample).

Each scene is also measured, in the same run, with HOG's pyramid ``--baseline-hog-scale``
apart (OpenCV's usual 1.05, the default before 2026-12-04), and the ratio printed.

Decoding the streams is the hub's cost, not counted here; the hub with presence on,
decoding and analysing 95 RTSP streams as a mix, is measured by presence_mix_bench.py.

Accuracy, against the scenes' ground truth:

- desk cameras watching counters with ``officer_absent`` intervals, gates at night with
  ``intrusion`` intervals: precision and recall of presence per zone and sample, and the
  error of each enter/leave time (changes are dated at the capture time they happened) —
  on the rendered frames, and on the same frames through H.264 as the simulators stream
  them (libx264 crf 28: what the hub sees of a simulated camera);
- real photographs: people in scikit-image's astronaut and camera images as positives,
  its photos without people as negatives, detector only.

Prints its figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import skimage

from analytics.presence.camera import CameraPresence, ZoneChange
from analytics.presence.detector import PersonDetector
from analytics.presence.settings import PresenceSettings
from tests.analytics.scenes import (
    DESK_ZONE,
    GATE_ZONE,
    MORNING,
    Interval,
    frames,
    through_h264,
)
from twins.zones import Zone

POSITIVES = ("astronaut.png", "camera.png")
NEGATIVES = (
    "coffee.png", "chelsea.png", "horse.png", "motorcycle_left.png", "motorcycle_right.png",
    "rocket.jpg", "brick.png", "grass.png", "gravel.png", "moon.png", "page.png", "text.png",
    "coins.png", "clock_motion.png", "logo.png", "retina.jpg", "hubble_deep_field.jpg",
    "cell.png", "ihc.png", "microaneurysms.png", "phantom.png", "color.png",
)  # fmt: skip

SETTINGS = PresenceSettings()
"""The ``video.presence`` settings measured (defaults; ``--detect-width`` changes one)."""

# 30 minutes of a desk camera: the officer away for 5 min (officer_absent) and on a 2 min break
DESK_TRUTH = [Interval(0, 600), Interval(900, 1500), Interval(1620, 1800)]
# 30 minutes of a school gate at night: two intrusions
GATE_TRUTH = [Interval(300, 480), Interval(1200, 1260)]


def cpu_per_sample(
    scene: str, truth: list[Interval], cameras: int, seconds: float, settings: PresenceSettings
) -> float:
    """Mean CPU seconds per sample over ``cameras`` cameras of the scene."""
    zone = DESK_ZONE if scene == "desk" else GATE_ZONE
    detector = PersonDetector(settings.detect_width, settings.hog_threshold, settings.hog_scale)
    streams = [
        (
            CameraPresence([zone], settings, detector),
            frames(truth, seconds=seconds, start=MORNING, scene=scene),
        )
        for _ in range(cameras)
    ]
    used = 0.0
    samples = 0
    for _step in range(round(seconds)):
        for presence, stream in streams:
            at, grey = next(stream)
            began = time.process_time()
            presence.sample(grey, at)
            used += time.process_time() - began
            samples += 1
    return used / samples


def capacity(cameras: int, seconds: float, baseline: PresenceSettings) -> None:
    print(
        f"capacity: {cameras} cameras, 1 sample/s, 320x240, one thread;"
        f" baseline hog_scale {baseline.hog_scale}"
    )
    busy = [Interval(t, t + 1) for t in range(0, round(seconds), 2)]
    for name, scene, truth, count in (
        ("quiet (empty desk)", "desk", [], cameras),
        ("seated officer, still", "desk", [Interval(0, seconds)], min(cameras, 20)),
        ("busy (comes and goes every sample)", "desk", busy, min(cameras, 5)),
    ):
        cost = cpu_per_sample(scene, truth, count, seconds, SETTINGS)
        before = cpu_per_sample(scene, truth, count, seconds, baseline)
        print(
            f"  {name:38s} {cost * 1000:7.2f} ms CPU per sample = {cost * 100:5.2f} % of a core"
            f" per camera; {cameras} such cameras: {cost * cameras * 100:6.1f} % of a core;"
            f" baseline {before * 1000:7.2f} ms, ratio {cost / before:.2f}"
        )


def intervals(changes: list[ZoneChange], end: float) -> list[Interval]:
    found: list[Interval] = []
    entered: float | None = None
    for change in changes:
        if change.present:
            entered = change.at - MORNING
        elif entered is not None:
            found.append(Interval(entered, change.at - MORNING))
            entered = None
    if entered is not None:
        found.append(Interval(entered, end))
    return found


def score(
    name: str, scene: str, zone: Zone, truth: list[Interval], start: float, h264: bool = False
) -> None:
    seconds = 1800.0
    presence = CameraPresence([zone], SETTINGS)
    changes: list[ZoneChange] = []
    tp = fp = fn = 0
    samples = frames(truth, seconds=seconds, start=start, scene=scene)
    for at, grey in through_h264(samples) if h264 else samples:
        result = presence.sample(grey, at)
        changes.extend(result.changes)
        t = at - start
        inside = any(i.start <= t < i.end for i in truth)
        seen = result.readings[0].present
        tp += inside and seen
        fp += seen and not inside
        fn += inside and not seen
    shifted = [
        ZoneChange(c.zone, c.type, c.present, c.people, c.at - start + MORNING, c.watched)
        for c in changes
    ]
    found = intervals(shifted, seconds)
    errors = []
    for real in truth:
        near = min(found, key=lambda f: abs(f.start - real.start), default=None)
        if near is not None:
            if real.start > 0:
                errors.append(abs(near.start - real.start))
            if real.end < seconds:
                errors.append(abs(near.end - real.end))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print(
        f"  {name:34s} precision {precision:.3f}  recall {recall:.3f}  intervals"
        f" {len(found)} (truth {len(truth)})  enter/leave error mean"
        f" {statistics.fmean(errors) if errors else float('nan'):.1f} s,"
        f" max {max(errors, default=float('nan')):.1f} s; detections {presence.detections}"
    )


def photos() -> None:
    folder = Path(skimage.__file__).parent / "data"
    detector = PersonDetector(SETTINGS.detect_width, SETTINGS.hog_threshold, SETTINGS.hog_scale)
    found = {}
    for name in POSITIVES + NEGATIVES:
        image = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
        found[name] = len(detector.detect(np.asarray(image, np.uint8)))
    hits = [name for name in POSITIVES if found[name]]
    false = [f"{name} ({found[name]})" for name in NEGATIVES if found[name]]
    print(f"  photographs: positives found {len(hits)}/{len(POSITIVES)}: {', '.join(hits)}")
    print(
        f"  photographs: negatives with a false person {len(false)}/{len(NEGATIVES)}:"
        f" {', '.join(false) or 'none'}"
    )


def main() -> None:
    global SETTINGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=95)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--detect-width", type=int, default=SETTINGS.detect_width)
    parser.add_argument("--hog-scale", type=float, default=SETTINGS.hog_scale)
    parser.add_argument("--baseline-hog-scale", type=float, default=1.05)
    parser.add_argument("--no-capacity", action="store_true", help="accuracy only")
    args = parser.parse_args()
    SETTINGS = SETTINGS.model_copy(
        update={"detect_width": args.detect_width, "hog_scale": args.hog_scale}
    )
    print(
        f"video.presence.detect_width = {SETTINGS.detect_width}, hog_scale = {SETTINGS.hog_scale}"
    )
    if not args.no_capacity:
        baseline = SETTINGS.model_copy(update={"hog_scale": args.baseline_hog_scale})
        capacity(args.cameras, args.seconds, baseline)
    print("accuracy (30 min of scenario time per scene, 1 sample/s)")
    score("desk, officer_absent 600-900 s", "desk", DESK_ZONE, DESK_TRUTH, MORNING)
    night = MORNING + 15 * 3600
    score("gate at 23:00, intrusions", "gate", GATE_ZONE, GATE_TRUTH, night)
    score("desk, through H.264", "desk", DESK_ZONE, DESK_TRUTH, MORNING, h264=True)
    score("gate at 23:00, through H.264", "gate", GATE_ZONE, GATE_TRUTH, night, h264=True)
    photos()


if __name__ == "__main__":
    main()
