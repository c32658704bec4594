"""Video tests: a real RTSP relay fed by ffmpeg, the real twin service, the hub's real app."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.services import Influx, free_port, serve_in_thread
from tests.twins.conftest import SERVICE_PASSWORD, USERS, TwinServer
from tests.video.streams import Publisher, RtspRelay, have_rtsp, rtsp_relay
from twins.definitions import default_policy, thing_for_device
from twins.kinds import DeviceKind, Sector
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings, TwinUser
from video.relay import Relay
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings

TOKEN = "viewer-token-for-tests"


@pytest.fixture(scope="session")
def relay_server() -> Iterator[RtspRelay]:
    if not have_rtsp():
        pytest.skip("needs rtsp-server-perl and ffmpeg")
    with rtsp_relay() as relay:
        yield relay


@pytest.fixture(scope="session")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinServer]:
    """The embedded twin service, as in tests/twins (alice may read cameras, bob may not)."""
    state = tmp_path_factory.mktemp("video-twins")
    settings = TwinSettings(
        users={name: TwinUser(password=SecretStr(password)) for name, password in USERS.items()}
    )
    store = TwinStore.open(Path(state) / "twins.sqlite")
    app = create_twin_app(store, settings, SERVICE_PASSWORD)
    with serve_in_thread(app, free_port()) as url:
        yield TwinServer(url, settings, store)
    store.close()


@dataclass
class Camera:
    """A camera twin and the ffmpeg that plays the camera."""

    thing_id: str
    url: str
    publisher: Publisher


@pytest.fixture
def camera(relay_server: RtspRelay, twins: TwinServer) -> Iterator[Camera]:
    namespace = f"test.v{uuid.uuid4().hex[:10]}"
    thing_id = f"{namespace}:cam-01"
    path = f"{namespace}/cam-01"
    url = relay_server.url(path)
    thing = thing_for_device(thing_id, DeviceKind.CAMERA, namespace, Sector.HEALTH)
    thing["features"]["stream"]["properties"]["url"] = url
    with twins.client() as client:
        client.put_policy(default_policy(thing_id, "nginx:citytwin", readers=("nginx:alice",)))
        client.put_thing(thing)
    publisher = relay_server.publish(path)
    relay_server.wait_published(path)
    try:
        yield Camera(thing_id, url, publisher)
    finally:
        publisher.kill()


@dataclass
class Hub:
    """The hub's app served on loopback."""

    url: str
    relay: Relay
    camera: str

    def whep(self, camera: str | None = None) -> str:
        return f"{self.url}/whep/{camera or self.camera}"


def video_settings(**overrides: Any) -> VideoSettings:
    return VideoSettings(tokens={"tests": SecretStr(TOKEN)}, **overrides)


@contextlib.contextmanager
def serve_hub(
    camera: Camera,
    twins: TwinServer,
    influx: Influx | None = None,
    database: str = "",
    token_key: str = "",
    **settings: Any,
) -> Iterator[Hub]:
    """The hub for ``camera``, its URL read from the twin, health written back to it."""
    runtime = VideoRuntime(
        settings=video_settings(**settings),
        cameras=[camera.thing_id],
        twins_url=twins.url,
        twins_password=SERVICE_PASSWORD,
        influx_url=influx.url if influx else None,
        influx_database=database,
        influx_username=influx.username if influx else "",
        influx_password=SecretStr(influx.password if influx else ""),
        token_key=SecretStr(token_key),
    )
    app = create_video_app(runtime)
    with serve_in_thread(app, free_port()) as url:
        yield Hub(url, app.state.relay, camera.thing_id)


@pytest.fixture
def hub(camera: Camera, twins: TwinServer) -> Iterator[Hub]:
    with serve_hub(camera, twins) as running:
        yield running
