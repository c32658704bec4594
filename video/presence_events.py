"""Presence events to the broker, as ``citytwin-video``: a session that reconnects by itself.

The hub must run without a broker (a viewer needs none), and a broker restart must not
stop presence: events wait in a bounded queue (``QUEUE_EVENTS``; past it the oldest is
dropped, and said so) while a task connects, publishes them at QoS 1 and reconnects with
the shared backoff when the session ends. Presence state is not lost with an event: the
twin and InfluxDB carry it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import aiomqtt

from twins.backoff import Backoff
from twins.presence import PresenceEvent, presence_topic
from twins.thing_id import ThingId

logger = logging.getLogger(__name__)

QUEUE_EVENTS = 1000


class PresencePublisher:
    """Publishes queued presence events while connected (run as one task)."""

    def __init__(self, host: str, port: int, username: str | None, password: str) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password or None
        self._queue: deque[PresenceEvent] = deque(maxlen=QUEUE_EVENTS)
        self._ready = asyncio.Event()
        self.dropped = 0

    def publish(self, event: PresenceEvent) -> None:
        """Queue ``event`` (from the event loop); the oldest goes when the queue is full."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            logger.warning(
                "presence event of %s dropped: %d queued, broker %s:%d unreachable",
                self._queue[0].thing, len(self._queue), self._host, self._port,
            )  # fmt: skip
        self._queue.append(event)
        self._ready.set()

    async def run(self) -> None:
        backoff = Backoff(first=0.5, maximum=10.0, jitter=1.0)
        while True:
            try:
                async with aiomqtt.Client(
                    self._host, self._port, username=self._username,
                    password=self._password, identifier=self._username,
                ) as client:  # fmt: skip
                    backoff.reset()
                    logger.info("presence events go to %s:%d", self._host, self._port)
                    await self._drain(client)
            except aiomqtt.MqttError as exc:
                logger.warning(
                    "broker %s:%d: %s; presence events wait (%d queued)",
                    self._host, self._port, exc, len(self._queue),
                )  # fmt: skip
            await asyncio.sleep(backoff.next_delay())

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            while self._queue:  # what waited while disconnected goes first
                event = self._queue[0]
                topic = presence_topic(ThingId.parse(event.thing))
                await client.publish(topic, event.model_dump_json(), qos=1)
                if self._queue and self._queue[0] is event:
                    self._queue.popleft()  # only once the broker has it
            self._ready.clear()
            await self._ready.wait()
