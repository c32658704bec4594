"""`Notifier`: the one object the lifecycle calls, fanning each notice out to every target.

    async with Notifier(settings, dead_letters=path, broker=login) as notifier:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(notifier.run(), name="notify")
            ...
            notifier.notify(notice)      # from the lifecycle, never waits

It owns the HTTP client of the webhooks (httpx, one pool for every receiver, redirects not
followed) and builds one sender per enabled webhook and channel and, with a broker login
and ``mqtt.enabled``, the alerts-topic publisher; ``run`` runs their tasks in one task
group until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

import httpx

from analytics.notify.channels import ChannelSender
from analytics.notify.deadletters import DeadLetterLog
from analytics.notify.delivery import QueuedSender, Sleep, Wall
from analytics.notify.mqtt import AlertTopicPublisher, BrokerLogin
from analytics.notify.notice import AlertNotice
from analytics.notify.settings import NotifySettings
from analytics.notify.webhooks import USER_AGENT, WebhookSender

logger = logging.getLogger(__name__)


class Notifier:
    """Every notification target of one analytics process."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        dead_letters: Path,
        broker: BrokerLogin | None = None,
        sleep: Sleep | None = None,
        wall: Wall | None = None,
    ) -> None:
        self._settings = settings
        self.dead_letters = DeadLetterLog(dead_letters)
        self._broker = broker
        self._sleep = sleep
        self._wall = wall
        self._stack = contextlib.AsyncExitStack()
        self.senders: dict[str, QueuedSender] = {}
        self.topic: AlertTopicPublisher | None = None

    async def __aenter__(self) -> Self:
        settings = self._settings
        client = await self._stack.enter_async_context(
            httpx.AsyncClient(
                timeout=settings.delivery.timeout_seconds,
                follow_redirects=False,
                headers={"user-agent": USER_AGENT},
            )
        )
        for name, subscription in settings.webhooks.items():
            if subscription.enabled:
                self.senders[f"webhook:{name}"] = WebhookSender(
                    name, subscription, settings.delivery, client, self.dead_letters,
                    sleep=self._sleep, wall=self._wall,
                )  # fmt: skip
        zone = ZoneInfo(settings.timezone)
        console = str(settings.console_url) if settings.console_url else None
        for name, channel in settings.channels.items():
            if channel.enabled:
                self.senders[f"channel:{name}"] = ChannelSender(
                    name, channel, settings.delivery, self.dead_letters, zone=zone,
                    console_url=console, sleep=self._sleep, wall=self._wall,
                )  # fmt: skip
        if self._broker is not None and settings.mqtt.enabled:
            self.topic = AlertTopicPublisher(self._broker, settings.mqtt)
        logger.info(
            "notifications: %d webhook(s), %d channel(s), alerts topic %s",
            sum(1 for s in self.senders.values() if isinstance(s, WebhookSender)),
            sum(1 for s in self.senders.values() if isinstance(s, ChannelSender)),
            "on" if self.topic else "off",
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def notify(self, notice: AlertNotice) -> None:
        """Hand ``notice`` to every target that wants it; returns at once."""
        if self.topic is not None:
            self.topic.publish(notice)
        for sender in self.senders.values():
            sender.offer(notice)

    async def run(self) -> None:
        """Every target's task, until cancelled (with no target at all, just that)."""
        if self.topic is None and not self.senders:
            await asyncio.Event().wait()
        async with asyncio.TaskGroup() as tasks:
            if self.topic is not None:
                tasks.create_task(self.topic.run(), name="notify-mqtt")
            for key, sender in self.senders.items():
                tasks.create_task(sender.run(), name=f"notify-{key}")

    async def drain(self) -> None:
        """Until every notice given so far is delivered or dead-lettered (tests, shutdown)."""
        for sender in self.senders.values():
            await sender.drain()
        if self.topic is not None:
            await self.topic.drain()
