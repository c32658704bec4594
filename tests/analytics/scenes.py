"""Simulated camera scenes over scenario time, for presence tests and the benchmark.

Frames come from the simulators' own renderer (people cut from scikit-image's photos), so
what a scene's timeline says is in view is the ground truth the detector is scored on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np
import numpy.typing as npt

from simulators.scenario import CameraScene
from simulators.scenes import SceneRenderer, SceneState
from twins.zones import Zone

Grey = npt.NDArray[np.uint8]

# 2026-12-03 08:00 in Asia/Ho_Chi_Minh (UTC+7)
MORNING = 1_796_259_600.0

DESK_ZONE = Zone.model_validate(
    {"id": "officer", "type": "desk", "polygon": [[0.3, 0.1], [0.7, 0.1], [0.7, 0.7], [0.3, 0.7]]}
)
GATE_ZONE = Zone.model_validate(
    {
        "id": "yard",
        "type": "restricted",
        "polygon": [[0.2, 0.3], [0.95, 0.3], [0.95, 1.0], [0.2, 1.0]],
        "hours": {"start": "22:00", "end": "05:00"},
    }
)


@dataclass(slots=True, frozen=True)
class Interval:
    """Someone in view from ``start`` to ``end`` (scenario seconds from the scene's start)."""

    start: float
    end: float


def desk_state(present: bool) -> SceneState:
    return SceneState(CameraScene.COUNTER_DESK, officer=present)


def gate_state(present: bool) -> SceneState:
    return SceneState(CameraScene.GATE, people=1 if present else 0, night=True)


def frames(
    present: Sequence[Interval],
    *,
    seconds: float,
    start: float,
    sample_period: float = 1.0,
    size: tuple[int, int] = (320, 240),
    scene: str = "desk",
) -> Iterator[tuple[float, Grey]]:
    """``(capture time, grey frame)`` every ``sample_period`` scenario seconds, with a
    little sensor noise (seeded) so the picture is never exactly still."""
    renderer = SceneRenderer(*size)
    noise = np.random.default_rng(7)
    make = desk_state if scene == "desk" else gate_state
    rendered: dict[bool, Grey] = {}
    steps = round(seconds / sample_period)
    for step in range(steps):
        t = step * sample_period
        inside = any(i.start <= t < i.end for i in present)
        if inside not in rendered:
            rgb = renderer.render(make(inside), 0)
            rendered[inside] = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
        grain = noise.integers(-3, 4, size=rendered[inside].shape, dtype=np.int16)
        yield start + t, np.clip(rendered[inside] + grain, 0, 255).astype(np.uint8)


def through_h264(
    samples: Iterator[tuple[float, Grey]], fps: int = 5, sample_period: float = 1.0
) -> Iterator[tuple[float, Grey]]:
    """``samples`` as the hub sees them from a simulated camera: each the last of the
    ``fps * sample_period`` frames of its period (the picture held), encoded as the
    simulators encode (libx264 ultrafast, zerolatency, crf 28, a keyframe every 2 s),
    decoded, the luma plane kept."""
    encoder = av.CodecContext.create("libx264", "w")
    first = next(samples)
    encoder.height, encoder.width = first[1].shape
    encoder.pix_fmt, encoder.time_base = "yuv420p", Fraction(1, fps)
    encoder.thread_count = 1
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(2 * fps), "crf": "28"}
    decoder = av.CodecContext.create("h264", "r")
    index = 0
    for at, grey in itertools.chain([first], samples):
        picture = av.VideoFrame.from_ndarray(grey, format="gray").reformat(format="yuv420p")
        decoded = []
        for _ in range(max(1, round(fps * sample_period))):
            frame = av.VideoFrame.from_ndarray(picture.to_ndarray(), format="yuv420p")
            frame.pts, index = index, index + 1
            decoded += [d for packet in encoder.encode(frame) for d in decoder.decode(packet)]
        if decoded:
            yield at, np.asarray(decoded[-1].to_ndarray(format="gray"), np.uint8)
