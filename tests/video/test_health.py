"""A stream that dies shows as down in its twin and InfluxDB, and comes back by itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.services import Influx
from tests.twins.conftest import TwinServer
from tests.video.conftest import TOKEN, Camera, serve_hub
from video.client import WhepViewer

WITHIN_S = 15.0


async def stream_properties_until(
    twins: TwinServer, camera: str, health: str, within: float = WITHIN_S
) -> dict[str, Any]:
    """Poll the twin (bounded) until its stream health is ``health``."""
    with twins.client() as client:
        async with asyncio.timeout(within):
            while True:
                properties: dict[str, Any] = await asyncio.to_thread(
                    client.get, camera, "features/stream/properties"
                )
                if properties.get("health") == health:
                    return properties
                await asyncio.sleep(0.2)


@pytest.mark.asyncio
async def test_a_killed_stream_is_down_in_the_twin_and_up_again_when_it_returns(
    camera: Camera, twins: TwinServer, influx: Influx, database: str
) -> None:
    with serve_hub(camera, twins, influx, database) as hub:
        up = await stream_properties_until(twins, camera.thing_id, "up")
        assert up["receivedFps"] is None or up["receivedFps"] >= 0
        assert up.get("lastError") is None  # null deletes in a merge patch
        async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
            await asyncio.wait_for(viewer.first_frame.wait(), WITHIN_S)
            camera.publisher.stop()
            down = await stream_properties_until(twins, camera.thing_id, "down")
            assert down["lastError"]
            assert down["lastFrameAt"] is not None
            camera.publisher.start()
            back = await stream_properties_until(twins, camera.thing_id, "up", within=30.0)
            assert back["healthSince"] > down["healthSince"]
            frames = viewer.frames
            async with asyncio.timeout(WITHIN_S):  # the same viewer plays the returned stream
                while viewer.frames < frames + 5:  # noqa: ASYNC110 - frames only count up
                    await asyncio.sleep(0.1)
        result = influx.query(
            database,
            f"SELECT up, fps, viewers FROM camera_stream WHERE device = 'cam-01'"
            f" AND namespace = '{camera.thing_id.partition(':')[0]}'",
        )
    answer: Any = result["results"]
    series = answer[0]["series"][0]
    values = [dict(zip(series["columns"], row, strict=True)) for row in series["values"]]
    assert {row["up"] for row in values} == {True, False}
    assert any(row["viewers"] == 1 for row in values)
