"""Running a `Notifier` for the length of a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from analytics.notify.mqtt import BrokerLogin
from analytics.notify.service import Notifier
from analytics.notify.settings import NotifySettings
from tests.analytics.notify.conftest import FakeSleep


@contextlib.asynccontextmanager
async def running(
    settings: Mapping[str, object] | NotifySettings,
    dead_letters: Path,
    *,
    sleep: FakeSleep | None = None,
    wall: Any = None,
    broker: BrokerLogin | None = None,
) -> AsyncIterator[Notifier]:
    """A notifier whose tasks run until the block ends."""
    if not isinstance(settings, NotifySettings):
        settings = NotifySettings.model_validate(settings)
    async with Notifier(
        settings, dead_letters=dead_letters, broker=broker, sleep=sleep, wall=wall
    ) as notifier:
        task = asyncio.create_task(notifier.run(), name="notify")
        try:
            yield notifier
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def drained(notifier: Notifier, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        await notifier.drain()
