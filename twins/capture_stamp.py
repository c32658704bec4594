"""A camera frame's capture time, burned into its top rows as black and white cells.

A camera says when it took a frame by drawing it: the wall-clock time and the scenario
(event) time in milliseconds, as 120 cells across the top of the picture. What reads a
decoded frame — the hub's presence analytics, a browser's canvas — can then date the
frame by the camera's clock instead of by when it happened to be decoded, which gives

- presence events at the camera's event time, so an accelerated run of a scenario yields
  the same presence intervals as a run at ×1; and
- glass-to-glass latency: the page compares the burned wall time with its own clock.

Drawn rather than carried in SEI because a browser cannot read SEI from a WebRTC track,
and because a picture survives every transcoding the relay may do.

Layout: cells of ``width // CELLS_PER_ROW`` pixels square, ``ROWS`` rows of
``CELLS_PER_ROW`` cells from the top-left corner; cell *i* is row ``i // 40``, column
``i % 40``. The 120 cells are an 8-cell marker ``10110010``, then 48 bits of wall-clock ms
since the epoch, 48 bits of scenario ms since the epoch, and the CRC-16/XMODEM of those 12
bytes; most significant bit first, white (255) for 1, black (0) for 0. A cell reads as 1
when the mean of its central half is above mid-grey, so H.264 at the simulators' bitrates
keeps it intact. ``citytwin/console/static/capture_stamp.js`` reads the same layout.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CELLS_PER_ROW = 40
ROWS = 3
MARKER = (1, 0, 1, 1, 0, 0, 1, 0)
TIME_BITS = 48
MIN_CELL = 4


@dataclass(slots=True, frozen=True)
class CaptureStamp:
    """When a frame was taken: by the wall clock and by the scenario's clock, in seconds."""

    wall: float
    scenario: float


def cell_size(width: int) -> int:
    """The side of one cell, in pixels, for a frame ``width`` pixels wide."""
    return width // CELLS_PER_ROW


def strip_height(width: int) -> int:
    """How many rows at the top of a frame ``width`` wide the stamp covers."""
    return cell_size(width) * ROWS


def _bits(stamp: CaptureStamp) -> list[int]:
    wall_ms = round(stamp.wall * 1000)
    scenario_ms = round(stamp.scenario * 1000)
    for name, value in (("wall", wall_ms), ("scenario", scenario_ms)):
        if not 0 <= value < 1 << TIME_BITS:
            raise ValueError(f"capture stamp: {name} time {value} ms does not fit 48 bits")
    payload = wall_ms.to_bytes(6, "big") + scenario_ms.to_bytes(6, "big")
    crc = binascii.crc_hqx(payload, 0)
    word = int.from_bytes(payload + crc.to_bytes(2, "big"), "big")
    count = len(payload) * 8 + 16
    return [*MARKER, *((word >> (count - 1 - i)) & 1 for i in range(count))]


def burn(picture: npt.NDArray[np.uint8], stamp: CaptureStamp) -> None:
    """Draw ``stamp`` into ``picture`` in place (grey ``H×W`` or colour ``H×W×C``).

    Raises ``ValueError`` when the picture is too small to carry the cells legibly.
    """
    height, width = picture.shape[:2]
    cell = cell_size(width)
    if cell < MIN_CELL or height < strip_height(width):
        raise ValueError(f"capture stamp: a {width}x{height} frame is too small to carry it")
    for index, bit in enumerate(_bits(stamp)):
        row, column = divmod(index, CELLS_PER_ROW)
        picture[row * cell : (row + 1) * cell, column * cell : (column + 1) * cell] = (
            255 if bit else 0
        )


def read(grey: npt.NDArray[np.uint8]) -> CaptureStamp | None:
    """The stamp drawn in a grey (luma) frame, or None when there is none or it is damaged."""
    height, width = grey.shape[:2]
    cell = cell_size(width)
    if cell < MIN_CELL or height < strip_height(width):
        return None
    strip = grey[: strip_height(width), : cell * CELLS_PER_ROW].astype(np.float32)
    quarter = max(1, cell // 4)
    # every cell's central half, averaged: shape (ROWS, CELLS_PER_ROW)
    cells = strip.reshape(ROWS, cell, CELLS_PER_ROW, cell)[
        :, quarter : cell - quarter, :, quarter : cell - quarter
    ].mean(axis=(1, 3))
    bits = (cells.reshape(-1) > 127.5).astype(np.uint8).tolist()
    if tuple(bits[: len(MARKER)]) != MARKER:
        return None
    word = 0
    for bit in bits[len(MARKER) :]:
        word = word << 1 | bit
    raw = word.to_bytes(14, "big")
    payload, crc = raw[:12], int.from_bytes(raw[12:], "big")
    if binascii.crc_hqx(payload, 0) != crc:
        return None
    wall_ms = int.from_bytes(payload[:6], "big")
    scenario_ms = int.from_bytes(payload[6:], "big")
    return CaptureStamp(wall=wall_ms / 1000, scenario=scenario_ms / 1000)
