"""A simulated camera's stream opens in a standard client (ffprobe) as H.264 of its size."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import av
import numpy as np
import pytest
from pydantic import ValidationError

from simulators.runner import run_scenario
from simulators.scenario import CameraScene, VideoSettings
from simulators.scenes import SceneState
from simulators.video import VideoPool
from tests.services import Broker, free_port, process_alive
from tests.simulators.conftest import free_udp_range, provision, smoke_scenario
from twins.capture_stamp import CaptureStamp, read
from twins.thing_id import ThingId

FFPROBE_TIMEOUT_S = 30.0


async def ffprobe(url: str, attempts: int = 20) -> dict[str, object]:
    """ffprobe's answer for ``url``. A camera says where its stream is as it starts it; the
    relay serves the path once the camera's first packets are in, a moment later, and
    answers 404 until then — so a player tries again, as the hub does."""
    for attempt in range(attempts):
        process = await asyncio.create_subprocess_exec(
            "ffprobe", "-v", "error", "-rw_timeout", "10000000",
            "-show_entries", "stream=codec_name,width,height,pix_fmt", "-of", "json", url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), FFPROBE_TIMEOUT_S)
        if process.returncode != 0 and b"404 Not Found" in err and attempt < attempts - 1:
            await asyncio.sleep(0.5)
            continue
        assert process.returncode == 0, err.decode()
        break
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
    account = broker.account()
    watcher = aiomqtt.Client(
        broker.host, broker.port, username=account.username, password=account.password
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
            probe = await ffprobe(url, attempts=1)  # and it plays at once: no 404 to retry
        finally:
            stop.set()
        summary = await run
    assert probe["streams"] == [
        {"codec_name": "h264", "width": 352, "height": 288, "pix_fmt": "yuv420p"}
    ]
    assert summary.streams[f"{namespace}:cam-desk-01"] == url


RELAY_HOLDER = """
import asyncio, sys
from simulators.scenario import VideoSettings
from simulators.video import VideoPool

async def main() -> None:
    settings = VideoSettings(client_port=int(sys.argv[1]), source_port=int(sys.argv[2]))
    async with VideoPool(settings) as pool:
        print(pool._server.pid, flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None, reason="needs rtsp-server-perl")
def test_the_relay_dies_with_a_killed_simulator() -> None:
    """SIGKILL gives the simulator no time to stop the relay; the kernel must do it."""
    with subprocess.Popen(
        [sys.executable, "-c", RELAY_HOLDER, str(free_port()), str(free_port())],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    ) as simulator:
        try:
            assert simulator.stdout is not None
            relay_pid = int(simulator.stdout.readline())
            assert process_alive(relay_pid)
            simulator.kill()
            simulator.wait(10)
            deadline = time.monotonic() + 10
            while process_alive(relay_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not process_alive(relay_pid), "the RTSP relay outlived its simulator"
        finally:
            simulator.kill()


STALE_SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=stale\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n"
)


def _announce(source_url: str) -> str:
    """ANNOUNCE ``source_url`` and close without TEARDOWN, like a publisher that failed."""
    parts = urlsplit(source_url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), 5) as conn:
        conn.sendall(
            f"ANNOUNCE {source_url} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(STALE_SDP)}\r\n\r\n{STALE_SDP}".encode()
        )
        return conn.recv(1024).decode().splitlines()[0]


# 2026-12-02 23:00 in Asia/Ho_Chi_Minh: a night of the scenario's, hours before the test runs
SCENARIO_NIGHT = 1_796_227_200.0


def decoded_stamps(
    url: str, count: int, attempts: int = 10
) -> list[tuple[tuple[int, int], CaptureStamp | None]]:
    """The size and capture stamp of ``count`` frames decoded from ``url`` (retrying the
    open while the relay has not yet announced the stream)."""
    for _ in range(attempts):
        try:
            with av.open(url, timeout=(5, 5)) as container:
                found = []
                for frame in container.decode(video=0):
                    grey = np.asarray(frame.to_ndarray(format="gray"), np.uint8)
                    found.append(((frame.width, frame.height), read(grey)))
                    if len(found) == count:
                        return found
        except (av.FFmpegError, OSError):
            time.sleep(0.5)
    raise AssertionError(f"{url} never played {count} frames")


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None, reason="needs rtsp-server-perl")
@pytest.mark.asyncio
async def test_a_camera_streams_again_after_a_failed_publish_left_its_path_mounted() -> None:
    client_port = free_port()
    settings = VideoSettings(
        client_port=client_port,
        source_port=free_port(),
        rtp_start_port=40000 + client_port % 20000 // 2 * 2,
    )
    thing = ThingId.parse("stale.t1:cam-desk-01")
    async with VideoPool(settings) as pool:
        source_url = f"rtsp://127.0.0.1:{settings.source_port}/stale.t1/cam-desk-01"
        assert _announce(source_url).endswith("200 OK")
        assert _announce(source_url).endswith("403 Forbidden")  # the relay keeps the path
        stream = pool.add(thing, lambda: SceneState(scene=CameraScene.COUNTER_DESK))
        deadline = time.monotonic() + FFPROBE_TIMEOUT_S
        while stream.frames < 10:
            assert time.monotonic() < deadline, "the camera never published on its path"
            await asyncio.sleep(0.2)
        probe = await ffprobe(stream.url)
    assert probe["streams"] == [
        {"codec_name": "h264", "width": 320, "height": 240, "pix_fmt": "yuv420p"}
    ]


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None, reason="needs rtsp-server-perl")
@pytest.mark.asyncio
async def test_a_640x480_stream_carries_each_frames_wall_and_scenario_time() -> None:
    settings = VideoSettings(
        width=640,
        height=480,
        fps=10,
        gop_s=1,
        client_port=free_port(),
        source_port=free_port(),
        rtp_start_port=free_udp_range(),
    )
    rendered: list[float] = []

    def scene() -> SceneState:  # the scenario's clock at ×60: a minute per frame
        at = SCENARIO_NIGHT + 60.0 * len(rendered)
        rendered.append(at)
        return SceneState(CameraScene.GATE, people=1, night=True, at=at)

    before = time.time()
    async with VideoPool(settings) as pool:
        stream = pool.add(ThingId("sim.stamp", "cam-gate-01"), scene)
        frames = await asyncio.to_thread(decoded_stamps, stream.url, 12)
    after = time.time()
    assert {size for size, _ in frames} == {(640, 480)}
    stamps = [stamp for _, stamp in frames]
    assert None not in stamps, "a decoded frame lost its capture stamp"
    scenario = [stamp.scenario for stamp in stamps if stamp is not None]
    assert set(scenario) <= set(rendered)  # each frame dated by the scene it shows
    assert all(a < b for a, b in itertools.pairwise(scenario))  # frame by frame
    assert all(before <= stamp.wall <= after for stamp in stamps if stamp is not None)


def test_a_frame_too_narrow_for_the_capture_stamp_is_refused_with_the_way_out() -> None:
    with pytest.raises(ValidationError, match=r"at least 160 pixels wide.*capture_stamp: false"):
        VideoSettings(width=128, height=96)
    assert VideoSettings(width=128, height=96, capture_stamp=False).width == 128


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None, reason="needs rtsp-server-perl")
@pytest.mark.asyncio
async def test_two_relays_side_by_side_each_serve_their_camera() -> None:
    """rtsp-server-perl alone resets its RTP ports to 20000 whenever it has no stream, so
    a second relay beside a serving one bound the first's ports and served nothing."""
    first = free_udp_range(40)
    pools = [
        VideoSettings(client_port=free_port(), source_port=free_port(), rtp_start_port=start)
        for start in (first, first + 20)
    ]
    scene = SceneState(CameraScene.CORRIDOR, people=1)
    async with VideoPool(pools[0]) as one, VideoPool(pools[1]) as two:
        streams = [
            pool.add(ThingId("sim.pair", f"cam-{i}"), lambda: scene)
            for i, pool in enumerate((one, two))
        ]
        played = [await asyncio.to_thread(decoded_stamps, s.url, 3) for s in streams]
    assert [len(frames) for frames in played] == [3, 3]
