"""An idle change stream is not a broken one: when no camera changes for longer than the
watch's read timeout (a twin service whose keepalive comes less often), the stream-health
watch reopens quietly — no warning — and a change made afterwards still arrives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from analytics.rules.inputs import StreamHealthEvent
from analytics.service.stream_health import StreamHealthWatch
from tests.services import free_port, serve_in_thread
from twins.client import DittoClient
from twins.definitions import thing_for_device
from twins.kinds import DeviceKind, Sector
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings

pytestmark = pytest.mark.timeout(120)

PASSWORD = "twin-secret-of-the-idle-test"


@contextlib.contextmanager
def quiet_twin_service(state: Path) -> Iterator[str]:
    """The embedded twin service with a keepalive far longer than the watch's timeout."""
    store = TwinStore.open(state / "twins.sqlite3")
    settings = TwinSettings(
        username="citytwin", password=SecretStr(PASSWORD), sse_heartbeat_seconds=600
    )
    try:
        with serve_in_thread(create_twin_app(store, settings, PASSWORD), free_port()) as url:
            yield url
    finally:
        store.close()


def test_an_idle_stream_reopens_quietly_and_still_follows_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    camera = "thaibinh.idle:cam-01"
    with quiet_twin_service(tmp_path) as url:

        def client() -> DittoClient:
            return DittoClient(url, "citytwin", PASSWORD, timeout=10)

        thing = thing_for_device(camera, DeviceKind.CAMERA, "thaibinh.idle", Sector.HEALTH)
        thing.pop("policyId")
        with client() as twins:
            twins.put_thing(thing)
        seen: list[StreamHealthEvent] = []

        async def handle(event: StreamHealthEvent) -> None:
            seen.append(event)

        async def main() -> StreamHealthWatch:
            watch = StreamHealthWatch(client, handle, read_timeout_s=0.5)
            task = asyncio.create_task(watch.run())
            try:
                await _until(lambda: watch.idle_reopens >= 3, "three silences of 0.5 s")
                with client() as twins:
                    await asyncio.to_thread(
                        twins.put,
                        camera,
                        "features/stream/properties",
                        {"health": "down", "healthSince": "2026-12-08T01:00:00+00:00"},
                    )
                await _until(lambda: bool(seen), "the change after the silences")
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return watch

        caplog.set_level(logging.DEBUG, logger="analytics.service.stream_health")
        watch = asyncio.run(main())
    assert [(event.thing, event.up) for event in seen] == [(camera, False)]
    assert watch.idle_reopens >= 3
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]
    assert any("change stream reopened" in r.getMessage() for r in caplog.records)


async def _until(predicate: Callable[[], bool], what: str, seconds: float = 30) -> None:
    for _ in range(round(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {seconds:g} s for {what}")
