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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.video.conftest import TOKEN, Hub

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
