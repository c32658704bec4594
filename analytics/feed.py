"""Every normalized event at least once: what InfluxDB holds since the checkpoint, then live.

Ingest publishes normalized events at QoS 0 once they are durable in InfluxDB, so a
subscriber that was not connected has missed them for good on the broker — but not in
InfluxDB. At every (re)connection the feed

1. subscribes to the live topics first, holding what arrives in a queue;
2. replays from InfluxDB everything from ``checkpoint − lookback`` up to now (the
   lookback covers the rules' longest window and the lateness they accept, so their state
   is rebuilt, not only the events after the checkpoint);
3. then hands over the queued and later live events, skipping those the replay gave.

So a restart, a disconnect or a late start misses nothing, and an event delivered twice
(the replay overlap after a crash) reaches the handler again only across a restart,
where the alert lifecycle absorbs it: a repeated signal changes nothing.

Presence events from the video hub (QoS 1, its own topic) are handed over live; their
state is also in the camera twins and ``camera_presence``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiomqtt
from pydantic import ValidationError

from analytics.checkpoint import Checkpoint
from analytics.replay import EventReplay
from ingest.influx import InfluxV1Client
from twins.backoff import Backoff
from twins.events import EventBatch, EventChannel, NormalizedEvent
from twins.presence import PresenceEvent
from twins.topics import PLATFORM

logger = logging.getLogger(__name__)

EventHandler = Callable[[NormalizedEvent], Awaitable[None]]
PresenceHandler = Callable[[PresenceEvent], Awaitable[None]]
EventKey = tuple[str, str, int, int | None, object]
REMEMBERED_KEYS = 200_000


def event_key(event: NormalizedEvent) -> EventKey:
    """What makes two deliveries the same device message."""
    return (event.thing_id, event.channel.value, event.ts, event.seq, event.data.get("type"))


@dataclass(slots=True)
class RecentKeys:
    """The keys of the last ``limit`` events handed over (a bounded set)."""

    limit: int = REMEMBERED_KEYS
    _order: deque[EventKey] = field(default_factory=deque)
    _keys: set[EventKey] = field(default_factory=set)

    def add(self, key: EventKey) -> bool:
        """Remember ``key``; False when it was already there."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self.limit:
            self._keys.discard(self._order.popleft())
        return True


class ArrivalClock:
    """The rule engine's wall clock, read as *when the input in hand arrived*.

    The engine holds each input ``hold_s`` of this clock after its arrival, so that one
    overtaken by a newer input is still placed in order. Ingest publishes a batch as one
    message per device, all at once; while analytics works through them — seconds under
    load, every input committed before the next — its own clock would run on, and a
    device near the end of the batch would arrive, to the engine, seconds behind the
    others of the same batch: at ×60 minutes of event time, enough for the watermark to
    pass its silence deadline (an offline alert, cleared by the very message in the
    queue). So the clock stands at the broker delivery time of the oldest message not yet
    handled, and runs with the wall only when nothing is waiting.
    """

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._waiting: deque[float] = deque()

    def __call__(self) -> float:
        return self._waiting[0] if self._waiting else self._wall()

    def received(self) -> None:
        """A message came from the broker (it waits in the feed's queue)."""
        self._waiting.append(self._wall())

    def handled(self) -> None:
        """The oldest waiting message has been handed over."""
        if self._waiting:
            self._waiting.popleft()

    def reset(self) -> None:
        """A new connection: nothing of the old one waits any more."""
        self._waiting.clear()


@dataclass(slots=True, frozen=True)
class FeedSettings:
    """Where the feed connects and how far back it replays."""

    host: str
    port: int
    username: str | None
    password: str
    lookback_ms: int
    first_start_ms: int | None = None
    sites: Sequence[str] = ()
    save_every_seconds: float = 5.0


@dataclass(slots=True)
class FeedStats:
    """What the feed has handed over, for ``status`` and the tests."""

    replayed: int = 0
    live: int = 0
    duplicates: int = 0
    invalid: int = 0
    catch_ups: int = 0
    presence: int = 0


class EventFeed:
    """Hands every normalized event to ``handle`` at least once (run as one task)."""

    def __init__(
        self,
        settings: FeedSettings,
        influx: InfluxV1Client,
        checkpoint: Checkpoint,
        handle: EventHandler,
        *,
        handle_presence: PresenceHandler | None = None,
        clock: Callable[[], float] = time.time,
        arrivals: ArrivalClock | None = None,
    ) -> None:
        """``arrivals``: the clock the rule engine holds its inputs on, told when each
        live message came and when it was handed over."""
        self._arrivals = arrivals or ArrivalClock()
        self._settings = settings
        self._replay = EventReplay(influx, sites=settings.sites)
        self._checkpoint = checkpoint
        self._handle = handle
        self._handle_presence = handle_presence
        self._clock = clock
        self._recent = RecentKeys()
        self._high_water = checkpoint.load()
        self._saved = self._high_water
        self._saved_at = clock()
        self.stats = FeedStats()
        self.caught_up = asyncio.Event()

    def topics(self) -> list[str]:
        """The live topic filters: every site's, or those of ``settings.sites``."""
        sites = list(self._settings.sites) or ["+"]
        topics = [f"{PLATFORM}/events/+/{site}/+" for site in sites]
        if self._handle_presence is not None:
            topics += [f"{PLATFORM}/video/presence/{site}/+" for site in sites]
        return topics

    async def run(self) -> None:
        """Connect, catch up, follow live; reconnect with backoff; never returns."""
        backoff = Backoff(first=0.5, maximum=10.0, jitter=1.0)
        s = self._settings
        while True:
            try:
                async with aiomqtt.Client(
                    s.host, s.port, username=s.username, password=s.password or None,
                    identifier=s.username,
                ) as client:  # fmt: skip
                    for topic in self.topics():
                        await client.subscribe(topic, qos=1)
                    queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
                    self._arrivals.reset()
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._receive(client, queue))
                        group.create_task(self._follow(queue, backoff))
            except* aiomqtt.MqttError as errors:
                logger.warning(
                    "analytics feed: broker %s:%d: %s; catching up from InfluxDB on reconnect",
                    s.host, s.port, errors.exceptions[0],
                )  # fmt: skip
            self.caught_up.clear()
            self._save(force=True)
            await asyncio.sleep(backoff.next_delay())

    async def _receive(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        async for message in client.messages:
            self._arrivals.received()
            queue.put_nowait(message)

    async def _follow(self, queue: asyncio.Queue[aiomqtt.Message], backoff: Backoff) -> None:
        await self.catch_up()
        backoff.reset()
        self.caught_up.set()
        while True:
            message = await queue.get()
            try:
                await self._take(message)
            finally:
                self._arrivals.handled()
            self._save()

    async def catch_up(self) -> None:
        """Replay from InfluxDB from ``checkpoint − lookback`` (or the first start) to now."""
        now_ms = int(self._clock() * 1000)
        if self._high_water is not None:
            since = self._high_water - self._settings.lookback_ms
        elif self._settings.first_start_ms is not None:
            since = self._settings.first_start_ms
        else:
            return
        self.stats.catch_ups += 1
        count = 0
        async for chunk in self._replay.chunks(since, now_ms):
            for event in chunk:
                if await self._deliver(event):
                    count += 1
            self._save()
        self.stats.replayed += count
        logger.info("analytics feed: replayed %d events since %d ms", count, since)

    async def _take(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        raw = payload if isinstance(payload, bytes | bytearray | str) else b""
        topic = str(message.topic)
        try:
            if topic.startswith(f"{PLATFORM}/video/presence/"):
                if self._handle_presence is not None:
                    await self._handle_presence(PresenceEvent.model_validate_json(raw))
                    self.stats.presence += 1
                return
            batch = EventBatch.model_validate_json(raw)
        except ValidationError as exc:
            self.stats.invalid += 1
            logger.error("analytics feed: %s: not an event (%s); skipped", topic, exc)
            return
        for event in batch.events:
            if event.channel is EventChannel.QUALITY:
                continue
            if await self._deliver(event):
                self.stats.live += 1

    async def _deliver(self, event: NormalizedEvent) -> bool:
        if not self._recent.add(event_key(event)):
            self.stats.duplicates += 1
            return False
        await self._handle(event)
        if self._high_water is None or event.ts > self._high_water:
            self._high_water = event.ts
        return True

    def _save(self, *, force: bool = False) -> None:
        if self._high_water is None or self._high_water == self._saved:
            return
        now = self._clock()
        if force or now - self._saved_at >= self._settings.save_every_seconds:
            self._checkpoint.save(self._high_water)
            self._saved, self._saved_at = self._high_water, now
