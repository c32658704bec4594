"""The camera hub: one ``CameraSource`` per camera of this shard, and where each streams.

A camera's URL comes from ``video.sources`` when configured there, else from its twin:
``features/stream/properties/url``, or else the URL the camera reported in its state
message (``features/configuration/properties/streamUrl``, written by ingest). Twins are
reread every ``URL_REFRESH_SECONDS``, so a camera that reports a new URL is followed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from twins.client import DittoClient
from twins.errors import DittoError, DittoNotFoundError, DittoUnavailableError
from video.settings import VideoSettings
from video.source import CameraSource

logger = logging.getLogger(__name__)

URL_REFRESH_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0


T = TypeVar("T")


def twin_call(call: Callable[[], T]) -> T:
    """One twin request, sent once more if it found no server (runs in a worker thread).

    The hub's twin clients are idle for seconds between requests; the server closes idle
    keep-alive connections (uvicorn after 5 s) and ``requests`` can pick one it has just
    closed, which fails at once. A second attempt opens a fresh connection.
    """
    try:
        return call()
    except DittoUnavailableError:
        return call()


def stream_url_of(thing: dict[str, Any]) -> str | None:
    """Where a camera's twin says its stream is (None when it does not say)."""
    features = thing.get("features") or {}
    stream = (features.get("stream") or {}).get("properties") or {}
    configuration = (features.get("configuration") or {}).get("properties") or {}
    for url in (stream.get("url"), configuration.get("streamUrl")):
        if isinstance(url, str) and url:
            return url
    return None


class VideoHub:
    """The cameras this process pulls (an async context manager starting their threads)."""

    def __init__(
        self,
        cameras: Sequence[str],
        settings: VideoSettings,
        twin_client: Callable[[], DittoClient] | None = None,
    ) -> None:
        self.cameras = list(dict.fromkeys(cameras))
        self.settings = settings
        self.sources: dict[str, CameraSource] = {}
        self._twin_client = twin_client

    async def __aenter__(self) -> VideoHub:
        loop = asyncio.get_running_loop()
        for camera in self.cameras:
            source = CameraSource(camera, self.settings.sources.get(camera), self.settings, loop)
            self.sources[camera] = source
            source.start()
        logger.info("video hub pulls %d cameras", len(self.sources))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for source in self.sources.values():
            source.stop()
        for source in self.sources.values():
            await asyncio.to_thread(source.join, STOP_TIMEOUT_SECONDS)

    async def follow_twins(self) -> None:
        """Keep each camera's URL what its twin says (cameras not in ``video.sources``)."""
        if self._twin_client is None:
            return
        followed = [camera for camera in self.cameras if camera not in self.settings.sources]
        if not followed:
            return
        missing: set[str] = set()
        with self._twin_client() as client:
            while True:
                for camera in followed:
                    try:
                        thing = await asyncio.to_thread(
                            twin_call, partial(client.get, camera, "", fields="features")
                        )
                    except DittoNotFoundError:
                        if camera not in missing:
                            logger.warning("%s: no such twin; its stream URL is unknown", camera)
                            missing.add(camera)
                        continue
                    except DittoError as exc:
                        logger.warning("%s: twin not read (%s); retrying", camera, exc)
                        continue
                    missing.discard(camera)
                    self.sources[camera].set_url(stream_url_of(thing))
                await asyncio.sleep(URL_REFRESH_SECONDS)
