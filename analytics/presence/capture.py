"""When a sample was taken: the camera's burned-in capture stamp, else when it was decoded.

A camera that draws its capture time into its top rows (``twins.capture_stamp``; the
simulators' cameras do) is dated by the stamp's **scenario** time — the event time of what
the picture shows — so presence intervals, zone hours and event times follow the camera's
clock: a scenario run at ×60 gives the intervals a run at ×1 gives. A camera without a
stamp is dated by the decode time, which is within a frame interval and the network's delay
of when it took the frame.

The stamp's cells change every frame; left in the picture they would be "motion" on every
sample and keep the detector busy on a still scene. So a stamped camera's strip is painted
one grey (``MASK_LEVEL``) before the motion gate and the detector see the frame.

Once a camera has stamped, a frame whose stamp does not read (damaged by a lost packet) is
skipped rather than dated by the decode time, which in an accelerated or replayed scenario
is hours away from the stamps around it; after ``UNSTAMPED_SAMPLES`` such samples in a row
the camera is taken to have stopped stamping and is dated by decode time again.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.presence.detector import Grey
from twins.capture_stamp import read, strip_height

MASK_LEVEL = 128
UNSTAMPED_SAMPLES = 5


@dataclass(slots=True)
class CaptureClock:
    """One camera's way of dating its samples (call from one thread at a time)."""

    stamped: bool = False
    """The camera's recent frames carried a stamp."""
    misses: int = 0
    """Samples in a row whose stamp did not read, while ``stamped``."""
    skipped: int = 0
    """Samples skipped for a damaged stamp, in all."""

    def date(self, grey: Grey, decoded_at: float) -> float | None:
        """The event time of ``grey`` (epoch seconds), masking its stamp in place; None
        when the sample should be skipped (a stamped camera's stamp did not read)."""
        stamp = read(grey)
        if stamp is not None:
            self.stamped, self.misses = True, 0
        elif self.stamped:
            self.misses += 1
            if self.misses < UNSTAMPED_SAMPLES:
                self.skipped += 1
                mask(grey)
                return None
            self.stamped, self.misses = False, 0
        if self.stamped:
            mask(grey)
        return decoded_at if stamp is None else stamp.scenario


def mask(grey: Grey) -> None:
    """Paint the capture stamp's strip of ``grey`` one grey, in place."""
    grey[: strip_height(grey.shape[1])] = MASK_LEVEL
