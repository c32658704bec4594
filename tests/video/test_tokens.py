"""Viewer tokens the console signs for the camera wall, checked by the real hub.

A token lists the cameras its operator may read and expires; the hub plays those cameras
to its bearer and refuses (401) a token that is expired, altered or signed with another
key, and (403) a camera the token does not list.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.twins.conftest import TwinServer
from tests.video.conftest import Camera, Hub, serve_hub
from tests.video.test_whep import decoded_frames_increase
from video.client import WhepError, WhepViewer
from video.errors import NotAuthenticatedError
from video.tokens import TokenSigner

KEY = "wall-key-for-tests"


@pytest.fixture
def keyed_hub(camera: Camera, twins: TwinServer) -> Iterator[Hub]:
    with serve_hub(camera, twins, token_key=KEY) as running:
        yield running


async def camera_list(hub: Hub, token: str) -> httpx.Response:
    """``GET /api/cameras`` of ``hub`` with ``token`` as the bearer."""
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(
            f"{hub.url}/api/cameras", headers={"Authorization": f"Bearer {token}"}
        )


def an_hour_ago() -> float:
    return time.time() - 3600


@pytest.mark.asyncio
async def test_a_signed_token_plays_the_cameras_it_lists(keyed_hub: Hub) -> None:
    token = TokenSigner(KEY).sign("operator", [keyed_hub.camera], 300)
    async with WhepViewer(keyed_hub.whep(), token=token) as viewer:
        await decoded_frames_increase(viewer)
        (session,) = keyed_hub.relay.sessions.values()
        assert session.viewer == "wall:operator"
    listed = await camera_list(keyed_hub, token)
    assert [camera["thingId"] for camera in listed.json()] == [keyed_hub.camera]


@pytest.mark.asyncio
async def test_expired_altered_or_foreign_tokens_are_refused_401(keyed_hub: Hub) -> None:
    expired = TokenSigner(KEY, clock=an_hour_ago).sign("operator", [keyed_hub.camera], 300)
    foreign = TokenSigner("another-key").sign("operator", [keyed_hub.camera], 300)
    good = TokenSigner(KEY).sign("operator", [keyed_hub.camera], 300)
    prefix, payload, signature = good.split(".")
    altered = f"{prefix}.{payload[:-2]}AA.{signature}"
    for token, says in [
        (expired, "expired"),
        (foreign, "signature"),
        (altered, "signature"),
        ("ct1.garbage", "not a ct1 viewer token"),
    ]:
        with pytest.raises(WhepError) as refused:
            async with WhepViewer(keyed_hub.whep(), token=token):
                pass
        assert refused.value.status == 401, token
        assert says in refused.value.text
        listed = await camera_list(keyed_hub, token)
        assert listed.status_code == 401
    assert keyed_hub.relay.sessions == {}


@pytest.mark.asyncio
async def test_a_camera_the_token_does_not_list_is_403(keyed_hub: Hub) -> None:
    token = TokenSigner(KEY).sign("operator", ["test.other:cam-09"], 300)
    with pytest.raises(WhepError) as refused:
        async with WhepViewer(keyed_hub.whep(), token=token):
            pass
    assert refused.value.status == 403
    assert keyed_hub.camera in refused.value.text
    listed = await camera_list(keyed_hub, token)
    assert listed.json() == []


@pytest.mark.asyncio
async def test_a_hub_without_the_key_refuses_signed_tokens(hub: Hub) -> None:
    token = TokenSigner(KEY).sign("operator", [hub.camera], 300)
    with pytest.raises(WhepError) as refused:
        async with WhepViewer(hub.whep(), token=token):
            pass
    assert refused.value.status == 401


def test_a_token_expires_at_its_lifetime() -> None:
    now = [1_000_000.0]
    signer = TokenSigner(KEY, clock=lambda: now[0])
    token = signer.sign("operator", ["a.b:cam-01"], 60)
    assert signer.verify(token).cams == ("a.b:cam-01",)
    now[0] += 59
    assert signer.verify(token).sub == "operator"
    now[0] += 1
    with pytest.raises(NotAuthenticatedError, match="expired"):
        signer.verify(token)
