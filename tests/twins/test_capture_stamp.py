"""The capture time burned into frames survives H.264 and is refused when damaged."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from twins.capture_stamp import CaptureStamp, burn, read, strip_height

STAMP = CaptureStamp(wall=1_796_000_000.123, scenario=1_795_990_000.456)


def _noisy(width: int, height: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1280, 720)])
def test_stamp_reads_back_from_the_raw_picture(size: tuple[int, int]) -> None:
    picture = _noisy(*size)
    burn(picture, STAMP)
    assert read(picture[:, :, 0]) == STAMP


def test_stamp_survives_h264_at_a_low_bitrate() -> None:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.time_base = Fraction(1, 10)
    codec.bit_rate = 150_000
    codec.options = {"preset": "ultrafast", "tune": "zerolatency"}
    decoder = av.CodecContext.create("h264", "r")
    stamps = [
        CaptureStamp(wall=1_796_000_000 + i * 0.1, scenario=1_795_000_000 + i * 6.0)
        for i in range(20)
    ]
    read_back = []
    for i, stamp in enumerate(stamps):
        picture = _noisy(320, 240, seed=i)
        burn(picture, stamp)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        for packet in codec.encode(frame):
            for decoded in decoder.decode(packet):
                read_back.append(read(np.asarray(decoded.to_ndarray(format="gray"), np.uint8)))
    for packet in codec.encode(None):
        for decoded in decoder.decode(packet):
            read_back.append(read(np.asarray(decoded.to_ndarray(format="gray"), np.uint8)))
    assert read_back == stamps


def test_a_frame_without_a_stamp_or_with_a_damaged_one_reads_as_none() -> None:
    picture = _noisy(320, 240)
    assert read(picture[:, :, 0]) is None
    burn(picture, STAMP)
    grey = picture[:, :, 0].copy()
    grey[strip_height(320) - 8 : strip_height(320), 200:208] ^= 255  # one payload cell flipped
    assert read(grey) is None


def test_too_small_a_frame_or_time_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="80x60 frame is too small"):
        burn(np.zeros((60, 80), np.uint8), STAMP)
    with pytest.raises(ValueError, match="wall time -1000 ms"):
        burn(np.zeros((240, 320), np.uint8), CaptureStamp(wall=-1, scenario=0))
    assert read(np.zeros((10, 80), np.uint8)) is None
