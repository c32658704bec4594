"""Finding people in a grey frame, offline, with what ships inside opencv-python-headless.

Two detectors, because cameras see people two ways: OpenCV's HOG pedestrian detector
(``HOGDescriptor_getDefaultPeopleDetector``, Dalal–Triggs, trained on INRIA Person) finds
standing, whole bodies (a gate, a corridor); an officer seated behind a counter shows a
head and shoulders, which it misses, so the Haar cascades ``haarcascade_frontalface_alt2``
and ``haarcascade_profileface`` (Viola–Jones, Intel's, in ``cv2.data.haarcascades``) find
faces, on the frame at half the detector's width (the profile cascade also on its mirror
image: it knows faces turned one way). Both come from the installed wheel; nothing is
downloaded. A face counts as a person at its box; a face inside a body counts once.
OpenCV releases the GIL while it detects, so a worker thread does this off the event loop.

The face picture is scaled from the frame itself, not from HOG's enlarged copy: enlarging
a 320-wide camera to 640 and halving it again blurred it enough that a dark, compressed
profile face (the simulators' gate at night, through H.264) was no longer found.

Faces are looked for in the whole frame, not only around the zones, although the three
cascades are most of a detection's cost: a cascade scans a grid that starts at the
picture's corner, and a crop moves the grid — the gate's marginal night face was found
in 37 of 60 samples in a crop around the zone against 59 of 60 in the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]

FACE_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")


@dataclass(slots=True, frozen=True)
class PersonBox:
    """A person found, in normalised frame coordinates (0–1, y down)."""

    left: float
    top: float
    right: float
    bottom: float
    source: str
    """``hog`` (a whole body) or ``face``."""

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    def overlaps(self, other: PersonBox) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )


def scaled(grey: Grey, width: int) -> Grey:
    """``grey`` scaled to ``width`` pixels (itself when it is that wide already)."""
    scale = width / grey.shape[1]
    if abs(scale - 1) <= 0.01:
        return grey
    size = (width, max(1, round(grey.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(grey, size, interpolation=interpolation), np.uint8)


class PersonDetector:
    """HOG bodies on a frame scaled to ``width`` pixels, Haar faces at half that width."""

    def __init__(
        self,
        width: int = 640,
        hog_threshold: float = 0.6,
        hog_scale: float = 1.2,
    ) -> None:
        self._width = width
        self._hog_threshold = hog_threshold
        self._hog_scale = hog_scale
        self._hog = cv2.HOGDescriptor()
        people = np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
        self._hog.setSVMDetector(people)
        folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self._faces = [cv2.CascadeClassifier(str(folder / name)) for name in FACE_CASCADES]
        for name, cascade in zip(FACE_CASCADES, self._faces, strict=True):
            if cascade.empty():
                raise RuntimeError(f"OpenCV's cascade {name} is missing from {folder}")

    def detect(self, grey: Grey) -> list[PersonBox]:
        """The people in ``grey`` (any size)."""
        image = scaled(grey, self._width)
        h, w = image.shape[:2]
        found: list[PersonBox] = []
        rects, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self._hog_threshold,
            winStride=(8, 8),
            padding=(8, 8),
            scale=self._hog_scale,
        )
        for (x, y, bw, bh), _weight in zip(rects, np.ravel(weights), strict=True):
            found.append(PersonBox(x / w, y / h, (x + bw) / w, (y + bh) / h, "hog"))
        for face in self._faces_in(scaled(grey, self._width // 2)):
            if not any(face.overlaps(person) for person in found):
                found.append(face)
        return found

    def _faces_in(self, small: Grey) -> list[PersonBox]:
        h, w = small.shape[:2]
        mirrored = np.asarray(cv2.flip(small, 1))
        frontal, profile = self._faces
        faces: list[PersonBox] = []
        # the profile cascade knows faces turned one way: look in the mirror for the other
        for cascade, picture, flipped in (
            (frontal, small, False),
            (profile, small, False),
            (profile, mirrored, True),
        ):
            for x, y, bw, bh in cascade.detectMultiScale(
                picture, scaleFactor=1.1, minNeighbors=4, minSize=(16, 16)
            ):
                left = w - x - bw if flipped else x
                faces.append(PersonBox(left / w, y / h, (left + bw) / w, (y + bh) / h, "face"))
        return faces
