"""Camera scenes rendered with numpy: a counter desk, a corridor, a gate — and real people.

People are cut from the public-domain photographs that ship inside the scikit-image wheel
(``astronaut.png``, public domain, NASA; ``camera.png``, CC0), so a real person detector
can be scored honestly on what the scenario says is in view: the officer behind the desk,
a citizen at the counter, people in a corridor, an intruder at a school gate at night.
Nothing is downloaded: the files are read from the installed package.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simulators.scenario import CameraScene

Image = npt.NDArray[np.uint8]


@dataclass(slots=True, frozen=True)
class SceneState:
    """Who is in view of a camera at one moment (``at``: that moment on the scenario's clock,
    None for "now, by the wall clock")."""

    scene: CameraScene
    officer: bool = False
    citizen: bool = False
    people: int = 0
    night: bool = False
    at: float | None = None


def _skimage_photo(name: str) -> Image:
    import skimage
    from skimage import io

    path = Path(skimage.__file__).parent / "data" / name
    image: Image = np.asarray(io.imread(path), dtype=np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3]


@lru_cache(maxsize=4)
def _photos() -> dict[str, Image]:
    # crops around the person in each photograph (rows, columns)
    return {
        "officer": _skimage_photo("astronaut.png")[0:512, 20:370],
        "visitor": _skimage_photo("camera.png")[40:512, 0:330],
    }


@lru_cache(maxsize=64)
def sprite(name: str, height: int) -> Image:
    """The person ``name`` scaled to ``height`` pixels (cached; resizing is the costly part)."""
    import av

    photo = _photos()[name]
    width = max(2, round(photo.shape[1] * height / photo.shape[0]))
    # swscale (through PyAV) does the area-averaging resize
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo), format="rgb24")
    scaled = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    return np.asarray(scaled.to_ndarray(), dtype=np.uint8)


class SceneRenderer:
    """Draws frames of one size; backgrounds are drawn once per scene."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._backgrounds = {scene: self._background(scene) for scene in CameraScene}

    def _background(self, scene: CameraScene) -> Image:
        h, w = self.height, self.width
        image = np.empty((h, w, 3), dtype=np.uint8)
        if scene is CameraScene.COUNTER_DESK:
            image[:] = (214, 205, 184)  # wall
            image[int(h * 0.72) :] = (120, 120, 124)  # floor
            image[int(h * 0.06) : int(h * 0.16), int(w * 0.3) : int(w * 0.7)] = (30, 70, 150)
        elif scene is CameraScene.CORRIDOR:
            image[:] = (200, 200, 196)
            floor = np.linspace(0.55, 1.0, h - int(h * 0.55))[:, None]
            image[int(h * 0.55) :] = (np.array([150, 140, 130]) * floor[:, :, None]).astype(
                np.uint8
            )
            for x in range(0, w, max(8, w // 8)):
                image[int(h * 0.2) : int(h * 0.55), x : x + 2] = (170, 170, 166)
        else:
            image[: int(h * 0.45)] = (170, 190, 215)  # sky
            image[int(h * 0.45) :] = (95, 105, 90)  # yard
            image[int(h * 0.3) : int(h * 0.45)] = (180, 60, 50)  # school building
        return image

    def render(self, state: SceneState, frame: int) -> Image:
        image = self._backgrounds[state.scene].copy()
        h, w = self.height, self.width
        if state.scene is CameraScene.COUNTER_DESK:
            if state.officer:
                self._paste(image, sprite("officer", int(h * 0.62)), w // 2, int(h * 0.18))
            image[int(h * 0.62) : int(h * 0.8)] = (110, 72, 40)  # the desk, over the officer
            if state.citizen:
                self._paste(image, sprite("visitor", int(h * 0.55)), int(w * 0.82), int(h * 0.5))
        elif state.scene is CameraScene.CORRIDOR:
            for i in range(min(state.people, 4)):
                x = int(w * (0.15 + 0.25 * i))
                self._paste(image, sprite("visitor", int(h * (0.55 - 0.05 * i))), x, int(h * 0.3))
        else:
            bars = slice(int(h * 0.45), int(h * 0.75))
            for x in range(0, w, max(6, w // 20)):
                image[bars, x : x + 2] = (40, 40, 40)
            for i in range(min(state.people, 3)):
                x = int(w * (0.4 + 0.2 * i))
                self._paste(image, sprite("visitor", int(h * 0.55)), x, int(h * 0.38))
        if state.night:
            image = (image * 0.55).astype(np.uint8)
        # a moving tick so the stream visibly advances
        tick = frame % max(1, w // 4)
        image[h - 4 : h - 1, tick * 4 : tick * 4 + 4] = 255
        return image

    @staticmethod
    def _paste(image: Image, person: Image, center_x: int, top: int) -> None:
        h, w = image.shape[:2]
        ph, pw = person.shape[:2]
        left = center_x - pw // 2
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + pw, w), min(top + ph, h)
        if x1 <= x0 or y1 <= y0:
            return
        image[y0:y1, x0:x1] = person[y0 - top : y1 - top, x0 - left : x1 - left]
