"""Viewers come and go without the hub growing, and a vanished viewer is reaped."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import psutil
import pytest

from tests.services import wait_until
from tests.video.conftest import TOKEN, Hub
from video.client import WhepViewer

CYCLES = 100
WARM_UP = 10
MAX_MORE_THREADS = 4
MAX_MORE_FDS = 16
MAX_MORE_RSS = 64 << 20
"""Bounds on growth over 100 cycles, after a warm-up that fills worker pools and caches."""


def footprint() -> tuple[int, int, int]:
    """Threads, open file descriptors and RSS of this process (hub and viewers alike)."""
    return (
        threading.active_count(),
        len(os.listdir("/proc/self/fd")),
        psutil.Process().memory_info().rss,
    )


async def one_viewer(hub: Hub) -> None:
    async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
        await asyncio.wait_for(viewer.first_frame.wait(), 20)
        assert await viewer.delete() == 200


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_hundred_connect_disconnect_cycles_leave_threads_fds_and_memory_bounded(
    hub: Hub,
) -> None:
    for _ in range(WARM_UP):
        await one_viewer(hub)
    threads, fds, rss = footprint()
    for _ in range(CYCLES):
        await one_viewer(hub)
    assert hub.relay.sessions == {}
    source = hub.relay.sources[hub.camera]
    assert source.viewers == 0
    after_threads, after_fds, after_rss = footprint()
    assert after_threads <= threads + MAX_MORE_THREADS
    assert after_fds <= fds + MAX_MORE_FDS
    assert after_rss <= rss + MAX_MORE_RSS, f"RSS grew by {(after_rss - rss) >> 20} MiB"


REPO = Path(__file__).resolve().parents[2]
VIEWER_PROCESS = """
import asyncio, sys
from video.client import WhepViewer

async def main() -> None:
    async with WhepViewer(sys.argv[1], token=sys.argv[2]) as viewer:
        await asyncio.wait_for(viewer.first_frame.wait(), 20)
        print("playing", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.asyncio
async def test_a_viewer_that_closes_without_delete_is_freed(hub: Hub) -> None:
    viewer = WhepViewer(hub.whep(), token=TOKEN)
    await viewer.__aenter__()
    await asyncio.wait_for(viewer.first_frame.wait(), 20)
    (session,) = hub.relay.sessions.values()
    await viewer.vanish()
    await wait_until(lambda: hub.relay.sessions == {}, within=90)
    assert session.pc.connectionState == "closed"
    assert hub.relay.sources[hub.camera].viewers == 0


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_viewer_killed_without_a_word_is_reaped_by_ice_consent(hub: Hub) -> None:
    """SIGKILL: no DELETE, no DTLS close — only consent freshness (RFC 7675) notices."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", VIEWER_PROCESS, hub.whep(), TOKEN,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"playing"
        (session,) = hub.relay.sessions.values()
        process.kill()
        await process.wait()
        await wait_until(lambda: hub.relay.sessions == {}, within=90)
        assert session.pc.connectionState == "closed"
        assert hub.relay.sources[hub.camera].viewers == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
