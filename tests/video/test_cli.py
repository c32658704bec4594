"""`citytwin video` as `citytwin up` runs it: a process that pulls its shard of cameras."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import Influx, free_port, wait_for_port
from tests.twins.conftest import SERVICE_PASSWORD, TwinServer
from tests.video.conftest import Camera
from tests.video.test_health import stream_properties_until
from video.client import WhepViewer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def video_process(
    camera: Camera, twins: TwinServer, influx: Influx, database: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
    env |= {
        "CITYTWIN_TWINS__URL": twins.url,
        "CITYTWIN_TWINS__PASSWORD": SERVICE_PASSWORD,
        "CITYTWIN_INFLUX__URL": influx.url,
        "CITYTWIN_INFLUX__DATABASE": database,
        "CITYTWIN_VIDEO__PORT": str(port),
        "CITYTWIN_VIDEO__TOKENS": json.dumps({"wall": "wall-token"}),
    }
    with (tmp_path / "video.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "citytwin", "--state-dir", str(tmp_path / "var"),
             "video", "--camera", camera.thing_id],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.asyncio
async def test_citytwin_video_pulls_its_camera_relays_it_and_stops_on_sigterm(
    video_process: tuple[subprocess.Popen[bytes], int],
    camera: Camera,
    twins: TwinServer,
    tmp_path: Path,
) -> None:
    process, port = video_process
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=10) as http:
        health = (await http.get(f"{base}/health")).json()
    assert health["cameras"] == 1
    await stream_properties_until(twins, camera.thing_id, "up", within=30)
    async with WhepViewer(f"{base}/whep/{camera.thing_id}", token="wall-token") as viewer:
        await asyncio.wait_for(viewer.first_frame.wait(), 20)
        assert viewer.codec == "video/H264"
    process.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once it has shut down cleanly
    assert await asyncio.to_thread(process.wait, 20) in {0, -signal.SIGTERM}
    log = (tmp_path / "video.log").read_text()
    assert "Application shutdown complete." in log
