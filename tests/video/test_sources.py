"""Any URL FFmpeg opens is a camera: an MP4 file's H.264 is forwarded, MJPEG is transcoded."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import free_port, serve_in_thread, wait_until
from tests.video.conftest import TOKEN, Hub, video_settings
from video.client import WhepViewer
from video.service import VideoRuntime, create_video_app

CAMERA = "test.files:cam-01"

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def make_clip(path: Path, codec_args: list[str]) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "3",
            *codec_args, str(path),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


@contextlib.contextmanager
def hub_of(url: str) -> Iterator[Hub]:
    runtime = VideoRuntime(settings=video_settings(sources={CAMERA: url}), cameras=[CAMERA])
    app = create_video_app(runtime)
    with serve_in_thread(app, free_port()) as base:
        yield Hub(base, app.state.relay, CAMERA)


async def plays(hub: Hub) -> tuple[str | None, bool]:
    async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
        await asyncio.wait_for(viewer.first_frame.wait(), 20)
        frames = viewer.frames
        # past the clip's end too: the file starts over
        await wait_until(lambda: viewer.frames >= frames + 40, 30)
        (session,) = hub.relay.sessions.values()
        return viewer.codec, session.forwarded


@pytest.mark.asyncio
async def test_an_mp4_files_h264_is_forwarded_and_plays_on_past_its_end(tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "clip.mp4",
        ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "10"],
    )
    with hub_of(str(clip)) as hub:
        codec, forwarded = await plays(hub)
    assert codec == "video/H264"
    assert forwarded  # length-prefixed H.264 turned into Annex B for the browser


@pytest.mark.asyncio
async def test_an_mjpeg_camera_is_decoded_once_and_encoded_for_its_viewer(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.avi", ["-c:v", "mjpeg", "-q:v", "5"])
    with hub_of(str(clip)) as hub:
        codec, forwarded = await plays(hub)
    assert codec == "video/VP8"
    assert not forwarded
