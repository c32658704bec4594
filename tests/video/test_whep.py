"""WHEP as a player that is not the console sees it: aiortc as the client, the real hub."""

from __future__ import annotations

import asyncio

import cv2
import httpx
import numpy as np
import pytest
from av.video.frame import VideoFrame

from tests.services import wait_until
from tests.twins.conftest import TwinServer
from tests.video.conftest import TOKEN, Camera, Hub, serve_hub
from video.client import WhepError, WhepViewer

FRAMES_WITHIN_S = 20.0
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def decoded_frames_increase(viewer: WhepViewer) -> None:
    await asyncio.wait_for(viewer.first_frame.wait(), FRAMES_WITHIN_S)
    before = viewer.frames
    await wait_until(lambda: viewer.frames >= before + 5, FRAMES_WITHIN_S)


@pytest.mark.asyncio
async def test_an_aiortc_whep_client_decodes_the_cameras_h264_forwarded_unchanged(
    hub: Hub,
) -> None:
    async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
        await decoded_frames_increase(viewer)
        assert viewer.codec == "video/H264"
        assert viewer.answer is not None
        assert "H264/90000" in viewer.answer
        (session,) = hub.relay.sessions.values()
        assert session.forwarded
        assert session.track.sent > 0


@pytest.mark.asyncio
async def test_an_offer_for_audio_and_video_as_most_players_send_plays_its_video(
    hub: Hub,
) -> None:
    async with WhepViewer(hub.whep(), token=TOKEN, audio=True) as viewer:
        await decoded_frames_increase(viewer)
        assert viewer.codec == "video/H264"
        assert viewer.answer is not None
        audio = viewer.answer[viewer.answer.index("m=audio") :].split("m=video")[0]
        assert "a=inactive" in audio  # no audio is sent


@pytest.mark.asyncio
async def test_a_viewer_without_h264_gets_vp8_encoded_once_decoded_and_two_do_not_crash(
    hub: Hub,
) -> None:
    async with (
        WhepViewer(hub.whep(), token=TOKEN, codec="video/VP8") as first,
        WhepViewer(hub.whep(), token=TOKEN, codec="video/VP8") as second,
    ):
        await decoded_frames_increase(first)
        await decoded_frames_increase(second)
        assert first.codec == second.codec == "video/VP8"
        assert not any(session.forwarded for session in hub.relay.sessions.values())


@pytest.mark.asyncio
async def test_an_operator_who_may_read_the_twin_watches_with_the_console_login(
    hub: Hub,
) -> None:
    async with WhepViewer(hub.whep(), auth=("alice", "alice-secret")) as viewer:
        await decoded_frames_increase(viewer)


@pytest.mark.asyncio
async def test_who_may_not_watch_is_told_so(hub: Hub) -> None:
    with pytest.raises(WhepError) as anonymous:
        async with WhepViewer(hub.whep()):
            pass
    assert anonymous.value.status == 401
    with pytest.raises(WhepError) as wrong_token:
        async with WhepViewer(hub.whep(), token="not-the-token"):
            pass
    assert wrong_token.value.status == 401
    with pytest.raises(WhepError) as wrong_password:
        async with WhepViewer(hub.whep(), auth=("alice", "wrong")):
            pass
    assert wrong_password.value.status == 401
    with pytest.raises(WhepError) as not_in_policy:
        async with WhepViewer(hub.whep(), auth=("bob", "bob-secret")):
            pass
    assert not_in_policy.value.status == 403
    assert "bob" in not_in_policy.value.text
    assert hub.relay.sessions == {}


@pytest.mark.asyncio
async def test_delete_ends_the_session_and_frees_it(hub: Hub) -> None:
    async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
        await asyncio.wait_for(viewer.first_frame.wait(), FRAMES_WITHIN_S)
        session_url = viewer.session_url
        assert session_url is not None
        (session,) = hub.relay.sessions.values()
        assert await viewer.delete() == 200
        assert hub.relay.sessions == {}
        assert session.pc.connectionState == "closed"
        async with httpx.AsyncClient(headers=BEARER) as http:
            again = await http.delete(session_url)
        assert again.status_code == 404


@pytest.mark.asyncio
async def test_an_unknown_camera_is_404(hub: Hub) -> None:
    with pytest.raises(WhepError) as unknown:
        async with WhepViewer(hub.whep("test.none:cam-99"), token=TOKEN):
            pass
    assert unknown.value.status == 404
    assert "test.none:cam-99" in unknown.value.text


def post_offer(hub: Hub, body: str, content_type: str = "application/sdp") -> httpx.Response:
    return httpx.post(
        hub.whep(), content=body, headers={**BEARER, "Content-Type": content_type}, timeout=10
    )


OFFER_WITHOUT_VIDEO = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
)


def test_a_malformed_offer_is_400_naming_what_is_wrong(hub: Hub) -> None:
    empty = post_offer(hub, "")
    assert empty.status_code == 400
    assert "empty" in empty.text
    not_sdp = post_offer(hub, "hello")
    assert not_sdp.status_code == 400
    assert "v=0" in not_sdp.text
    no_video = post_offer(hub, OFFER_WITHOUT_VIDEO)
    assert no_video.status_code == 400
    assert "m=video" in no_video.text
    wrong_type = post_offer(hub, OFFER_WITHOUT_VIDEO, "application/json")
    assert wrong_type.status_code == 415
    assert hub.relay.sessions == {}


def test_whep_options_and_patch_answer_as_the_protocol_says(hub: Hub) -> None:
    options = httpx.options(hub.whep(), timeout=10)
    assert options.status_code == 204
    assert options.headers["accept-post"] == "application/sdp"
    preflight = httpx.options(
        hub.whep(),
        headers={
            "Origin": "https://player.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    patch = httpx.patch(f"{hub.whep()}/some-session", content="a=end-of-candidates", timeout=10)
    assert patch.status_code == 405


@pytest.mark.asyncio
async def test_viewers_past_the_bound_get_503_with_retry_after(
    camera: Camera, twins: TwinServer
) -> None:
    with serve_hub(camera, twins, max_viewers_per_camera=2, max_viewers=2) as hub:
        async with WhepViewer(hub.whep(), token=TOKEN), WhepViewer(hub.whep(), token=TOKEN):
            with pytest.raises(WhepError) as refused:
                async with WhepViewer(hub.whep(), token=TOKEN):
                    pass
            assert refused.value.status == 503
            assert "max_viewers" in refused.value.text
            third = post_offer(hub, "v=0\r\n")
            assert third.status_code == 503
            assert third.headers["retry-after"] == "5"
        assert hub.relay.sessions == {}


@pytest.mark.asyncio
async def test_the_snapshot_is_the_cameras_latest_picture(hub: Hub) -> None:
    async with httpx.AsyncClient(headers=BEARER, timeout=10) as http:
        url = f"{hub.url}/api/cameras/{hub.camera}/snapshot.jpg"
        for _ in range(100):  # 503 until the camera's first keyframe has arrived
            response = await http.get(url)
            if response.status_code != 503:
                break
            await asyncio.sleep(0.2)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        assert image.shape == (240, 320, 3)
        assert image.std() > 10  # the test pattern, not a blank picture
        anonymous = await http.get(
            f"{hub.url}/api/cameras/{hub.camera}/snapshot.jpg", headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401


@pytest.mark.asyncio
async def test_analytics_get_decoded_yuv420p_frames_from_the_pull_that_feeds_forwarded_viewers(
    hub: Hub,
) -> None:
    source = hub.relay.sources[hub.camera]
    frames: list[VideoFrame] = []
    async with WhepViewer(hub.whep(), token=TOKEN) as viewer:
        await decoded_frames_increase(viewer)
        source.loop.call_soon_threadsafe(source.add_frame_sink, frames.append)
        try:
            await wait_until(lambda: len(frames) >= 5, FRAMES_WITHIN_S)
        finally:
            source.loop.call_soon_threadsafe(source.remove_frame_sink, frames.append)
        (session,) = hub.relay.sessions.values()
        assert session.forwarded
    assert {(f.format.name, f.width, f.height) for f in frames} == {("yuv420p", 320, 240)}


def test_the_camera_list_shows_each_caller_the_cameras_they_may_watch(hub: Hub) -> None:
    url = f"{hub.url}/api/cameras"
    assert httpx.get(url, timeout=10).status_code == 401
    (seen,) = httpx.get(url, auth=("alice", "alice-secret"), timeout=10).json()
    assert seen["thingId"] == hub.camera
    assert seen["whep"] == f"/whep/{hub.camera}"
    assert httpx.get(url, auth=("bob", "bob-secret"), timeout=10).json() == []
    assert len(httpx.get(url, headers=BEARER, timeout=10).json()) == 1
