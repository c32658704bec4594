"""The benchmark's cheap viewer: a real WHEP session whose pictures arrive undecoded."""

from __future__ import annotations

import asyncio

import pytest

from tests.services import wait_until
from tests.video.conftest import TOKEN, Hub
from video.client import WhepViewer, undecoded_video

WITHIN_S = 20.0


@pytest.mark.asyncio
async def test_an_undecoded_viewer_receives_whole_access_units_from_a_keyframe_on(
    hub: Hub,
) -> None:
    cheap = WhepViewer(hub.whep(), token=TOKEN)
    try:
        with undecoded_video():
            await cheap.__aenter__()
            await asyncio.wait_for(cheap.first_frame.wait(), WITHIN_S)
        # outside the block viewers decode; the first keeps its receiver's choice
        async with WhepViewer(hub.whep(), token=TOKEN) as decoding:
            before = cheap.frames
            # the camera sends a keyframe every 2 s: a second one proves the stream goes on
            await wait_until(lambda: cheap.keyframes >= 2 and decoding.decoded >= 5, WITHIN_S)
            assert cheap.frames > before
            assert cheap.codec == "video/H264"
            assert cheap.starts_decodable is True  # SPS and an IDR picture first
            assert cheap.decoded == 0
            assert decoding.frames == decoding.decoded
            assert decoding.keyframes == 0  # decoded pictures are not inspected
    finally:
        await cheap.close()
