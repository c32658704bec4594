"""``citytwin video``: the hub, the relay and their HTTP API in one process.

The process serves its own HTTP API (``video.host``:``video.port``) rather than being
mounted in ``citytwin serve``: a WHEP session's peer connection lives where the camera's
packets are, and a process per shard of cameras (``video.cameras``) scales out by adding
processes. Every resource opens and closes with the app's lifespan; its tasks (reaping
sessions, measuring health, following twins' stream URLs) run in one TaskGroup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import SecretStr

from ingest.influx import InfluxV1Client
from twins.client import DittoClient
from video.auth import ViewerAuth
from video.health import HealthReporter
from video.hub import VideoHub
from video.presence import PresenceAnalytics
from video.presence_events import PresencePublisher
from video.relay import Relay
from video.settings import VideoSettings
from video.tokens import TokenSigner
from video.whep import video_router

logger = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class VideoRuntime:
    """Everything the video process needs, given explicitly."""

    settings: VideoSettings
    cameras: list[str]
    twins_url: str | None = None
    twins_username: str = "citytwin"
    twins_password: str = ""
    twins_timeout: float = 10.0
    influx_url: str | None = None
    influx_database: str = "citytwin"
    influx_username: str = ""
    influx_password: SecretStr = field(default_factory=lambda: SecretStr(""))
    influx_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    token_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    """Key of the viewer tokens the console signs (empty: such tokens are refused)."""
    mqtt_host: str | None = None
    """The broker presence events are published to (None: none published)."""
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: SecretStr = field(default_factory=lambda: SecretStr(""))

    def twin_client(self, username: str | None = None, password: str | None = None) -> DittoClient:
        assert self.twins_url is not None
        return DittoClient(
            self.twins_url,
            username or self.twins_username,
            self.twins_password if password is None else password,
            timeout=self.twins_timeout,
        )


def create_video_app(runtime: VideoRuntime) -> FastAPI:
    """The hub's HTTP app; cameras are pulled while it runs (its lifespan)."""
    settings = runtime.settings
    has_twins = runtime.twins_url is not None
    hub = VideoHub(runtime.cameras, settings, runtime.twin_client if has_twins else None)
    relay = Relay(hub.sources, settings)

    def operator_client(username: str, password: str) -> DittoClient:
        return runtime.twin_client(username, password)

    key = runtime.token_key.get_secret_value()
    auth = ViewerAuth(settings.tokens, operator_client, TokenSigner(key) if key else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            influx = None
            if runtime.influx_url:
                influx = await stack.enter_async_context(
                    InfluxV1Client(
                        runtime.influx_url,
                        runtime.influx_database,
                        username=runtime.influx_username,
                        password=runtime.influx_password.get_secret_value(),
                        token=runtime.influx_token.get_secret_value(),
                    )
                )
            events = None
            if runtime.mqtt_host:
                events = PresencePublisher(
                    runtime.mqtt_host,
                    runtime.mqtt_port,
                    runtime.mqtt_username,
                    runtime.mqtt_password.get_secret_value(),
                )
            await stack.enter_async_context(hub)
            await stack.enter_async_context(relay)
            presence = PresenceAnalytics(
                hub.sources,
                settings.presence,
                twin_client=runtime.twin_client if has_twins else None,
                influx=influx,
                events=events,
            )
            app.state.presence = presence
            reporter = HealthReporter(
                hub.sources,
                settings,
                viewers=relay.viewers_of,
                twin_client=runtime.twin_client if has_twins else None,
                influx=influx,
            )
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(relay.run(), name="reap-sessions"),
                    group.create_task(reporter.run(), name="stream-health"),
                    group.create_task(hub.follow_twins(), name="follow-twins"),
                    group.create_task(presence.run(), name="presence"),
                ]
                yield
                for task in tasks:
                    task.cancel()

    app = FastAPI(
        title="citytwin video",
        summary="Camera hub and WebRTC relay (WHEP) of the operations centre.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "DELETE", "PATCH", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-Match"],
        expose_headers=["Location", "ETag", "Link", "Accept-Post"],
    )
    app.include_router(video_router(hub, relay, auth, settings))
    app.state.hub = hub
    app.state.relay = relay

    @app.get("/health", tags=["platform"])
    async def health() -> dict[str, object]:
        """Liveness of the hub: cameras pulled and viewers connected."""
        return {"status": "ok", "cameras": len(hub.sources), "viewers": len(relay.sessions)}

    return app
