"""Twin updates against the real twin service: one request per thing at a time, in order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ingest.metrics import IngestMetrics
from ingest.twin_updates import TwinUpdater
from tests.ingest.conftest import Site, TwinService

pytestmark = pytest.mark.timeout(60)


def waiting(count: int) -> dict[str, Any]:
    return {"features": {"queue": {"properties": {"waiting": count}}}}


def test_a_newer_patch_waits_for_the_request_in_flight(
    twin_service: TwinService, make_site: Callable[..., Site]
) -> None:
    site = make_site([("counter-1", "counter")])
    thing = f"{site.namespace}:counter-1"
    first_started = threading.Event()
    second_started = threading.Event()
    calls: list[dict[str, Any]] = []
    lock = threading.Lock()

    with twin_service.client() as client:

        def patcher(name: str, patch: dict[str, Any]) -> None:
            with lock:
                calls.append(patch)
                first = len(calls) == 1
            if first:
                first_started.set()
                # hold the first request until a second one for the same thing has been
                # applied (which must not happen) or a bounded while has passed
                second_started.wait(3)
                client.patch(name, "", patch)
            else:
                client.patch(name, "", patch)
                second_started.set()

        async def scenario() -> None:
            updater = TwinUpdater(patcher, IngestMetrics(), window=0.0, workers=2)
            async with asyncio.TaskGroup() as group:
                task = group.create_task(updater.run())
                updater.add(thing, waiting(1), time.monotonic())
                assert await asyncio.to_thread(first_started.wait, 10)
                updater.add(thing, waiting(2), time.monotonic())
                updater.add(thing, waiting(3), time.monotonic())
                async with asyncio.timeout(20):
                    while updater.applied < 2 or updater.waiting:  # noqa: ASYNC110 (no event to wait on)
                        await asyncio.sleep(0.02)
                task.cancel()

        asyncio.run(scenario())
        assert client.get(thing, "features/queue/properties")["waiting"] == 3
    assert calls == [waiting(1), waiting(3)]
