"""What webhooks and channels share: a bounded queue of notices worked by one task.

`Notifier.notify` only puts a notice in the queue (``offer``), so a slow or dead receiver
never holds up the engine or the other targets; the task delivers one notice at a time,
in order, with its own attempts. A full queue gives the notice to the dead letters rather
than growing without bound; so does a stop with notices still waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from analytics.notify.deadletters import DeadLetter, DeadLetterLog, GiveUpReason, TargetKind
from analytics.notify.notice import AlertNotice
from analytics.notify.settings import DeliverySettings, NoticeFilter
from twins.backoff import Backoff

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Wall = Callable[[], float]


class QueuedSender(ABC):
    """A target with a filter, a queue and a delivery task (``run``)."""

    kind: TargetKind

    def __init__(
        self,
        name: str,
        wants: NoticeFilter,
        delivery: DeliverySettings,
        dead_letters: DeadLetterLog,
        *,
        sleep: Sleep | None = None,
        wall: Wall | None = None,
    ) -> None:
        self.name = name
        self._wants = wants
        self._delivery = delivery
        self._dead_letters = dead_letters
        self._sleep: Sleep = sleep or asyncio.sleep
        self._wall: Wall = wall or time.time
        self._queue: asyncio.Queue[AlertNotice] = asyncio.Queue(delivery.queue_size)
        self.delivered = 0
        self.given_up = 0

    def offer(self, notice: AlertNotice) -> bool:
        """Queue ``notice`` if the target wants it; never waits. True when queued."""
        if not self._wants.matches(notice):
            return False
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.give_up(notice, GiveUpReason.QUEUE_FULL, 0, f"{self._queue.qsize()} waiting")
            return False
        return True

    def backoff(self) -> Backoff:
        """The delays between attempts of one notice."""
        return Backoff(self._delivery.first_retry_seconds, self._delivery.max_retry_seconds)

    async def run(self) -> None:
        """Deliver queued notices until cancelled; what is left then (the notice in flight
        too) is dead-lettered, to be sent again by hand."""
        try:
            while True:
                notice = await self._queue.get()
                try:
                    await self.deliver(notice)
                except asyncio.CancelledError:
                    self.give_up(notice, GiveUpReason.STOPPED, 0, "the notifier stopped")
                    raise
                finally:
                    self._queue.task_done()
        finally:
            while not self._queue.empty():
                left = self._queue.get_nowait()
                self._queue.task_done()
                self.give_up(left, GiveUpReason.STOPPED, 0, "the notifier stopped")

    async def drain(self) -> None:
        """Until every queued notice has been delivered or given up on."""
        await self._queue.join()

    @abstractmethod
    async def deliver(self, notice: AlertNotice) -> bool:
        """All attempts at one notice; True when delivered (False: dead-lettered)."""

    def give_up(
        self,
        notice: AlertNotice,
        reason: GiveUpReason,
        attempts: int,
        last_error: str,
        delivery_id: str = "",
    ) -> None:
        self.given_up += 1
        self._dead_letters.add(
            DeadLetter(
                at=datetime.fromtimestamp(self._wall(), UTC),
                kind=self.kind,
                target=self.name,
                reason=reason,
                attempts=attempts,
                last_error=last_error,
                delivery_id=delivery_id,
                notice=notice,
            )
        )
