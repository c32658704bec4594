"""Motion gating: whether a camera's picture changed since the previous sample.

Frame differencing on a grey frame scaled down to ``motion_width`` pixels (blurred, so
sensor noise and compression speckle do not count): a pixel changed when it differs from
the previous sample by more than ``PIXEL_DELTA`` grey levels, and the picture moved when
at least ``fraction`` of them changed. It costs a resize and a subtraction — far below a
detector's cost, so a quiet camera costs almost nothing.

Not MOG2: a mixture-of-Gaussians background keeps several modes per pixel, so once an
officer has sat there and left, both pictures are "background" and the officer's return
is no motion at all (seen on the simulators' desk scene: a return after 30 s went unseen
until the idle check). Differencing against the previous sample sees every change; a
still person is covered by the periodic re-detection of ``analytics.presence.camera``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]

PIXEL_DELTA = 20


class MotionGate:
    """One camera's previous sample; ``changed`` per sample."""

    def __init__(self, width: int, fraction: float) -> None:
        self._width = width
        self._fraction = fraction
        self._previous: Grey | None = None
        self.last_fraction = 0.0

    def changed(self, grey: Grey) -> bool:
        """Whether ``grey`` differs from the previous sample (the first: yes)."""
        height = max(1, round(grey.shape[0] * self._width / grey.shape[1]))
        resized = cv2.resize(grey, (self._width, height), interpolation=cv2.INTER_AREA)
        small: Grey = np.asarray(cv2.GaussianBlur(resized, (5, 5), 0), np.uint8)
        previous, self._previous = self._previous, small
        if previous is None or previous.shape != small.shape:
            self.last_fraction = 1.0
            return True
        moving = int(np.count_nonzero(cv2.absdiff(small, previous) > PIXEL_DELTA))
        self.last_fraction = moving / small.size
        return bool(self.last_fraction >= self._fraction)
