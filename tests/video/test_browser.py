"""Headless Chromium plays cameras through WHEP: decoded frames increase, the codec is H.264.

Debian's /usr/bin/chromium driven by Playwright (never ``playwright install``). Liveness is
judged by frames the browser decoded (inbound-rtp ``framesDecoded`` and
``getVideoPlaybackQuality().totalVideoFrames``), not by ``currentTime``, which keeps
advancing after a server has died. A screenshot of each run is kept in the test's tmp dir,
or in ``$CITYTWIN_TEST_ARTIFACTS`` when set.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.services import free_port, serve_in_thread
from tests.video.conftest import TOKEN, Hub, video_settings
from tests.video.stamped import StampedCamera
from tests.video.streams import RtspRelay
from twins.capture_stamp import CaptureStamp, burn, cell_size, strip_height
from video.service import VideoRuntime, create_video_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PLAY_WITHIN_S = 30.0

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def player_url(hub: Hub, *, token: str | None = None) -> str:
    url = f"{hub.url}/video/player?camera={quote(hub.camera)}"
    return url + (f"&token={quote(token)}" if token else "")


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] | None = await page.evaluate("window.whepStats()")
    error = await page.evaluate("window.whep.error")
    assert error is None, f"the player failed: {error}"
    return result or {"framesDecoded": 0, "totalVideoFrames": 0, "codec": None}


async def frames_keep_increasing(page: Page, by: int = 10) -> dict[str, Any]:
    """Wait (bounded) until the page has decoded ``by`` more frames than when first playing."""
    async with asyncio.timeout(PLAY_WITHIN_S):
        first = await stats(page)
        while first["framesDecoded"] == 0:
            await asyncio.sleep(0.2)
            first = await stats(page)
        now = first
        while now["framesDecoded"] < first["framesDecoded"] + by:
            await asyncio.sleep(0.2)
            now = await stats(page)
    assert now["totalVideoFrames"] > 0
    return now


def keep_screenshot(source: Path, name: str) -> None:
    target_dir = os.environ.get("CITYTWIN_TEST_ARTIFACTS")
    if target_dir:
        Path(target_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy(source, Path(target_dir) / name)


@pytest.mark.asyncio
async def test_chromium_plays_the_camera_as_h264_with_the_console_login(
    hub: Hub, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(
        http_credentials={"username": "alice", "password": "alice-secret"}
    )
    try:
        page = await context.new_page()
        await page.goto(player_url(hub), timeout=30_000)
        played = await frames_keep_increasing(page)
        assert played["codec"] == "video/H264"
        (session,) = hub.relay.sessions.values()
        assert session.forwarded
        assert session.viewer == "user:alice"
        shot = tmp_path / "chromium-h264.png"
        await page.screenshot(path=str(shot))
        keep_screenshot(shot, "chromium-h264.png")
        assert shot.stat().st_size > 1000
        await page.evaluate("window.whepStop()")
        assert hub.relay.sessions == {}
    finally:
        await context.close()


@pytest.mark.asyncio
async def test_three_chromium_viewers_play_at_once_and_end_cleanly(
    hub: Hub, browser: Browser
) -> None:
    context = await browser.new_context()
    try:
        pages = [await context.new_page() for _ in range(3)]
        for page in pages:
            await page.goto(player_url(hub, token=TOKEN), timeout=30_000)
        for page in pages:
            played = await frames_keep_increasing(page)
            assert played["codec"] == "video/H264"
        assert len(hub.relay.sessions) == 3
        for page in pages:  # all three still decoding after the last one joined
            await frames_keep_increasing(page, by=5)
        for page in pages:
            await page.evaluate("window.whepStop()")
        assert hub.relay.sessions == {}
    finally:
        await context.close()


CAPTURE_STAMP_JS = (
    Path(__file__).resolve().parents[2] / "citytwin" / "console" / "static" / "capture_stamp.js"
)
STAMPED = "test.stamped:cam-01"
# every presented frame's stamp, read in requestVideoFrameCallback, with the page's clock
READ_STAMPS = """async (count) => {
  const video = document.getElementById("video");
  const seen = [];
  await new Promise((resolve) => {
    const onFrame = () => {
      const stamp = window.captureStamp.read(video);
      seen.push({ stamp, now: Date.now() });
      if (seen.length >= count) resolve(); else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  return seen;
}"""


@pytest.fixture
def stamped_hub(relay_server: RtspRelay) -> Iterator[Hub]:
    """A hub pulling a camera whose frames carry their capture time (no twins: a token)."""
    path = f"stamped-{uuid.uuid4().hex[:8]}"
    with StampedCamera(f"rtsp://127.0.0.1:{relay_server.source_port}/{path}"):
        relay_server.wait_published(path)
        runtime = VideoRuntime(
            settings=video_settings(sources={STAMPED: relay_server.url(path)}),
            cameras=[STAMPED],
        )
        app = create_video_app(runtime)
        with serve_in_thread(app, free_port()) as url:
            yield Hub(url, app.state.relay, STAMPED)


@pytest.mark.asyncio
async def test_chromium_reads_each_frames_capture_time_from_the_picture(
    stamped_hub: Hub, browser: Browser
) -> None:
    started = time.time()
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(player_url(stamped_hub, token=TOKEN), timeout=30_000)
        await frames_keep_increasing(page, by=5)
        await page.add_script_tag(path=str(CAPTURE_STAMP_JS))
        async with asyncio.timeout(PLAY_WITHIN_S):
            seen: list[dict[str, Any]] = await page.evaluate(READ_STAMPS, 20)
        stamps = [frame["stamp"] for frame in seen]
        assert None not in stamps, f"unreadable stamps: {seen}"
        walls = [stamp["wall"] for stamp in stamps]
        assert walls == sorted(walls)
        assert len(set(walls)) == len(walls)  # each presented frame is a newer picture
        assert all(started <= stamp["wall"] for stamp in stamps)  # drawn in this run
        assert all(frame["stamp"]["wall"] * 1000 <= frame["now"] for frame in seen)
        assert all(stamp["scenario"] == stamp["wall"] for stamp in stamps)
        await page.evaluate("window.whepStop()")
    finally:
        await context.close()


@pytest.mark.asyncio
async def test_the_page_reads_what_python_burns_and_refuses_a_damaged_stamp(
    browser: Browser,
) -> None:
    width, height = 320, 240
    picture = np.full((height, width, 3), 90, dtype=np.uint8)
    burn(picture, CaptureStamp(wall=1_796_300_000.123, scenario=1_590_000_000.5))
    strip = strip_height(width)
    rgba = np.dstack([picture, np.full((height, width), 255, np.uint8)])[:strip]
    page = await browser.new_page()
    try:
        await page.add_script_tag(path=str(CAPTURE_STAMP_JS))
        decode = "([pixels, w, h]) => window.captureStamp.decode(pixels, w, h)"
        read = await page.evaluate(decode, [rgba.reshape(-1).tolist(), width, strip])
        assert read == {"wall": 1_796_300_000.123, "scenario": 1_590_000_000.5}
        cell = cell_size(width)
        damaged = rgba.copy()
        damaged[:cell, 20 * cell : 21 * cell, :3] ^= 255  # one payload bit flipped
        assert await page.evaluate(decode, [damaged.reshape(-1).tolist(), width, strip]) is None
        blank = np.zeros_like(rgba)
        assert await page.evaluate(decode, [blank.reshape(-1).tolist(), width, strip]) is None
        crc = await page.evaluate(
            "() => window.captureStamp.crc16xmodem([...'123456789'].map((c) => c.charCodeAt(0)))"
        )
        assert crc == 0x31C3  # the CRC-16/XMODEM check value
    finally:
        await page.close()
