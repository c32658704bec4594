"""Decoding for analytics: only the packets the samples need, and still the pictures.

The plan is fed a camera's packet timeline (keyframe or not, stream time); on a real RTSP
stream the hub's source hands a sample sink one picture per period while skipping the
packets no sample needs, and a viewer that needs every frame still gets every frame.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest
from av.video.frame import VideoFrame
from pydantic import ValidationError

from tests.services import wait_until
from tests.video.streams import RtspRelay
from video.sampling import SamplePlan
from video.settings import VideoSettings
from video.source import CameraSource


def run(plan: SamplePlan, fps: int, gop_seconds: float, seconds: float) -> list[float]:
    """Feed ``seconds`` of a stream to ``plan``; the stream times of its samples."""
    gop = round(fps * gop_seconds)
    samples = []
    for index in range(round(seconds * fps)):
        at, keyframe = index / fps, index % gop == 0
        if plan.wants(keyframe, at) and plan.take(at, keyframe):
            samples.append(at)
    return samples


def gaps(samples: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in itertools.pairwise(samples)]


@pytest.mark.parametrize("fps", [5, 10])
def test_with_a_keyframe_every_sample_period_only_keyframes_are_decoded(fps: int) -> None:
    plan = SamplePlan(1.0)
    samples = run(plan, fps, 1.0, 30)
    # the first GOP decodes whole (its keyframe interval is not known yet), then keyframes
    assert samples[0] == 0.0
    assert samples[2:] == [float(second) for second in range(1, 30)]
    assert (plan.decoded, plan.skipped) == (30 + fps - 1, 29 * fps - 29)


def test_with_a_keyframe_every_two_periods_the_end_of_each_gop_is_skipped() -> None:
    plan = SamplePlan(1.0)
    samples = run(plan, 10, 2.0, 30)
    assert 30 <= len(samples) <= 31  # one a second
    assert all(0.75 <= gap <= 1.25 for gap in gaps(samples[3:]))
    # the keyframe and the frames up to the sample about a second later
    assert 0.4 < plan.skipped / (30 * 10) < 0.6


def test_decoding_every_frame_gives_the_same_samples() -> None:
    sampled, every = SamplePlan(1.0), SamplePlan(1.0, skip=False)
    assert run(sampled, 10, 2.0, 30) == run(every, 10, 2.0, 30)
    assert (every.decoded, every.skipped) == (300, 0)


def test_keyframes_more_frequent_than_samples_are_not_each_a_sample() -> None:
    plan = SamplePlan(1.0)
    samples = run(plan, 10, 0.4, 30)
    assert 29 <= len(samples) <= 31
    assert min(gaps(samples)) >= 0.75
    assert plan.decoded == 75 + 3  # every keyframe; the first GOP whole


def test_a_camera_that_starts_mid_gop_ends_up_sampled_on_its_keyframes() -> None:
    plan = SamplePlan(1.0)
    samples = []
    for index in range(3, 300):  # joined at 0.3 s, keyframes at whole seconds
        at, keyframe = index / 10, index % 10 == 0
        if plan.wants(keyframe, at) and plan.take(at, keyframe):
            samples.append(at)
    assert samples[-20:] == [float(second) for second in range(10, 30)]
    assert max(gaps(samples)) <= 1.0


def test_a_stream_clock_that_goes_back_starts_the_plan_over() -> None:
    plan = SamplePlan(1.0)
    first = run(plan, 5, 1.0, 30)
    again = run(plan, 5, 1.0, 10)  # a file started over at its beginning
    assert again[0] == 0.0  # not held back by the grid of the 30 s before
    assert len(again) >= len(first) / 3


def test_bad_decoding_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"decoding\.analytics\n.*'sampled' or 'every_frame'"):
        VideoSettings.model_validate({"decoding": {"analytics": "keyframes"}})
    with pytest.raises(ValidationError, match=r"decoding\.threads\n.*greater than or equal to 1"):
        VideoSettings.model_validate({"decoding": {"threads": 0}})
    with pytest.raises(ValidationError, match=r"decoding\.sample_slack\n.*less than 1"):
        VideoSettings.model_validate({"decoding": {"sample_slack": 1.5}})
    with pytest.raises(ValidationError, match=r"decoding\.skip\n.*Extra inputs"):
        VideoSettings.model_validate({"decoding": {"skip": True}})


@pytest.mark.asyncio
async def test_a_sample_sink_on_a_real_stream_gets_pictures_while_packets_are_skipped(
    relay_server: RtspRelay,
) -> None:
    """320x240 at 10 fps, a keyframe every second (as an RTSP camera sends it)."""
    path = f"test.s{uuid.uuid4().hex[:10]}/cam-01"
    publisher = relay_server.publish(path, fps=10, gop=10)
    relay_server.wait_published(path)
    source = CameraSource(
        "test.sampling:cam-01", relay_server.url(path), VideoSettings(), asyncio.get_running_loop()
    )
    samples: list[VideoFrame] = []
    frames: list[VideoFrame] = []
    source.start()
    try:
        source.add_frame_sink(samples.append, every=1.0)
        await wait_until(lambda: len(samples) >= 8, 60)
        decoded, skipped = source.decoding
        assert skipped > decoded  # past the first GOP, keyframes only: 1 packet in 10
        assert all((s.width, s.height, s.format.name) == (320, 240, "yuv420p") for s in samples)
        # a viewer that needs every frame: everything decodes, the samples go on
        source.add_frame_sink(frames.append)
        before = len(samples)
        await wait_until(lambda: len(samples) >= before + 3, 60)
        assert len(frames) > 3 * (len(samples) - before)  # 10 pictures a sample
        source.remove_frame_sink(frames.append)
        source.remove_frame_sink(samples.append)
        with pytest.raises(ValueError, match=r"test\.sampling:cam-01: a sample period must be"):
            source.add_frame_sink(samples.append, every=0)
    finally:
        source.stop()
        await asyncio.to_thread(source.join, 10)
        publisher.kill()
