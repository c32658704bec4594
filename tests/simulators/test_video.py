"""A simulated camera's stream opens in a standard client (ffprobe) as H.264 of its size."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiomqtt
import pytest

from simulators.runner import run_scenario
from tests.services import Broker
from tests.simulators.conftest import provision, smoke_scenario

FFPROBE_TIMEOUT_S = 30.0


async def ffprobe(url: str) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rw_timeout", "10000000",
        "-show_entries", "stream=codec_name,width,height,pix_fmt", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), FFPROBE_TIMEOUT_S)
    assert process.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None, reason="needs rtsp-server-perl")
@pytest.mark.asyncio
async def test_ffprobe_opens_a_simulated_camera_as_h264_of_the_configured_size(
    broker: Broker, tmp_path: Path, namespace: str
) -> None:
    scenario = smoke_scenario(tmp_path, namespace)
    scenario = scenario.model_copy(
        update={"video": scenario.video.model_copy(update={"width": 352, "height": 288})}
    )
    credentials = provision(broker, scenario)
    stop = asyncio.Event()
    watcher = aiomqtt.Client(
        broker.host, broker.port, username=broker.service_user, password=broker.service_password
    )
    async with watcher, asyncio.TaskGroup() as group:
        await watcher.subscribe(f"citytwin/{namespace}/cam-desk-01/state", qos=1)
        run = group.create_task(
            run_scenario(
                scenario,
                mqtt_host=broker.host,
                mqtt_port=broker.port,
                credentials=credentials,
                speed=60,
                ground_truth_path=tmp_path / "ground-truth.jsonl",
                stop=stop,
            )
        )
        try:
            async for message in watcher.messages:  # the camera says where its stream is
                assert isinstance(message.payload, bytes)
                url = json.loads(message.payload)["data"]["stream_url"]
                break
            probe = await ffprobe(url)
        finally:
            stop.set()
        summary = await run
    assert probe["streams"] == [
        {"codec_name": "h264", "width": 352, "height": 288, "pix_fmt": "yuv420p"}
    ]
    assert summary.streams[f"{namespace}:cam-desk-01"] == url
