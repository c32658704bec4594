"""One device's MQTT connection, behaving like a field gateway's.

Each device connects with its own provisioned credentials, announces itself with a retained
birth (``{"data": {"state": "online"}}``) on its ``status`` topic and leaves a retained last
will (``{"data": {"state": "offline"}}``) there. Messages are QoS 1; ``seq`` counts every
message the device sends and survives reconnects. While the connection is down the device
keeps measuring into a bounded buffer (the oldest message goes when it is full) and
reconnects with exponential backoff and jitter; the buffer is flushed, oldest first, when
the broker is back. A message leaves the buffer only once the broker acknowledged it.

``power_off`` drops the connection without a DISCONNECT (the broker publishes the last
will, as for a power cut) and stops the device; ``cut`` does the same to the network only,
so measurements pile up in the buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from pydantic import BaseModel

from twins.backoff import Backoff
from twins.kinds import DeviceKind
from twins.payloads import Envelope, Status, encode
from twins.thing_id import ThingId
from twins.topics import Channel, device_topic

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
ONLINE_BIRTH = b'{"data":{"state":"online"}}'
OFFLINE_WILL = b'{"data":{"state":"offline"}}'


@dataclass(slots=True, frozen=True)
class Outgoing:
    """A message waiting in a device's buffer."""

    topic: str
    payload: bytes
    channel: str
    retain: bool = False


@dataclass(slots=True)
class LinkStats:
    """Counters shared by every link of a run (one event loop, no locks needed)."""

    published: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    reconnects: int = 0
    online: int = 0
    connect_failures: int = 0


class DeviceLink:
    """The MQTT side of one simulated device; ``run`` keeps it connected until ``finish``."""

    def __init__(
        self,
        thing_id: ThingId,
        kind: DeviceKind,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        stats: LinkStats,
        rng: random.Random,
        buffer_size: int = 2000,
        keepalive: int = 30,
        backoff: tuple[float, float] = (0.5, 30.0),
        publish_timeout: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        self.thing_id = thing_id
        self.kind = kind
        self.seq = 0
        self.sessions = 0
        self.online = False
        self.powered = True
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._stats = stats
        self._rng = rng
        self._buffer: deque[Outgoing] = deque(maxlen=buffer_size)
        self._keepalive = keepalive
        self._backoff = backoff
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self._carrier = asyncio.Event()
        self._carrier.set()
        self._closing = False
        self._client: aiomqtt.Client | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self.status_topic = device_topic(thing_id, Channel.STATUS)

    # --- what devices call -------------------------------------------------------------

    def envelope(self, data: BaseModel, ts: float | None, *, seq: int | None = None) -> bytes:
        """The encoded message ``data`` at simulated time ``ts``; takes the next ``seq``."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        ts_ms = None if ts is None else int(ts * 1000)
        return encode(Envelope[Any](ts=ts_ms, seq=seq, data=data))

    def send(self, channel: Channel, data: BaseModel, ts: float | None) -> bytes | None:
        """Queue ``data`` on the device's ``channel``; returns the payload (None if dead)."""
        if not self.powered:
            return None
        payload = self.envelope(data, ts)
        self.send_raw(device_topic(self.thing_id, channel), payload, channel.value)
        return payload

    def send_raw(self, topic: str, payload: bytes, channel: str, *, retain: bool = False) -> None:
        """Queue bytes as they are (hostile messages, status); dropped when powered off."""
        if not self.powered:
            return
        if len(self._buffer) == self._buffer.maxlen:
            self._stats.dropped += 1
        self._buffer.append(Outgoing(topic, payload, channel, retain))
        self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def power_off(self) -> None:
        """The device dies: connection lost without a word (the broker sends the will)."""
        self.powered = False
        self._buffer.clear()
        self._cut_connection()

    def power_on(self) -> None:
        self.powered = True
        self._carrier.set()

    def cut(self) -> None:
        """The network goes away; the device keeps measuring into its buffer."""
        self._cut_connection()

    def restore(self) -> None:
        self._carrier.set()

    def finish(self, ts: float) -> None:
        """Say goodbye (retained offline status), flush, disconnect and end ``run``."""
        if self.powered:
            goodbye = Status(state="offline", reason="simulation stopped")
            self.send_raw(self.status_topic, self.envelope(goodbye, ts), "status", retain=True)
        self._closing = True
        self._carrier.set()
        self._wake.set()

    # --- the connection ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, publish, reconnect with backoff; returns after ``finish`` has flushed."""
        first, maximum = self._backoff
        # full jitter, as AWS recommends for fleets reconnecting at once
        backoff = Backoff(first=first, maximum=maximum, jitter=1.0, uniform=self._rng.uniform)
        while True:
            await self._carrier.wait()
            if self._closing and (not self._buffer or not self.powered):
                return
            try:
                await self._session()
                backoff.reset()
            except* aiomqtt.MqttError as failure:
                # a refused connect arrives bare, an unacknowledged publish (broker stalled,
                # socket gone) inside the session's task group: both mean "connect again"
                self._stats.connect_failures += 1
                logger.info(
                    "%s: connection lost or refused (%s)", self.thing_id, failure.exceptions[0]
                )
            if self._closing and not self._buffer:
                return
            if not self._carrier.is_set():
                continue
            if self._closing:
                return  # no second chance to flush at the end of a run
            await asyncio.sleep(backoff.next_delay())

    async def _session(self) -> None:
        will = aiomqtt.Will(self.status_topic, OFFLINE_WILL, qos=1, retain=True)
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            identifier=str(self.thing_id),
            protocol=aiomqtt.ProtocolVersion.V5,
            will=will,
            keepalive=self._keepalive,
            timeout=self._publish_timeout,
        )
        try:
            await self._connected(client)
        finally:
            _forget_disconnect(client)

    async def _connected(self, client: aiomqtt.Client) -> None:
        async with client:
            self.sessions += 1
            if self.sessions > 1:
                self._stats.reconnects += 1
            self._client = client
            self.online = True
            self._stats.online += 1
            try:
                async with asyncio.TaskGroup() as group:
                    self._drain_task = group.create_task(
                        self._drain(client), name=f"drain {self.thing_id}"
                    )
            finally:
                self._drain_task = None
                self._client = None
                self.online = False
                self._stats.online -= 1

    async def _drain(self, client: aiomqtt.Client) -> None:
        await client.publish(self.status_topic, ONLINE_BIRTH, qos=1, retain=True)
        self._stats.by_channel["status"] += 1
        while True:
            if not self._buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            message = self._buffer.popleft()
            try:
                await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
            except (aiomqtt.MqttError, asyncio.CancelledError):
                if len(self._buffer) == self._buffer.maxlen:
                    # full while it was in flight: it is the oldest, so it is the one to drop
                    # (appendleft would silently evict the newest instead)
                    self._stats.dropped += 1
                else:
                    self._buffer.appendleft(message)
                raise
            self._stats.published += 1
            self._stats.by_channel[message.channel] += 1

    def _cut_connection(self) -> None:
        self._carrier.clear()
        client = self._client
        if client is not None:
            # aiomqtt has no way to drop a connection without DISCONNECT (which would
            # cancel the last will), so the paho client's socket is shut down directly.
            sock = client._client.socket()
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._drain_task is not None:
            self._drain_task.cancel()


def _forget_disconnect(client: aiomqtt.Client) -> None:
    """Mark aiomqtt's "unexpected disconnection" as seen: the link already handled it."""
    disconnected = client._disconnected

    def retrieve(future: asyncio.Future[None]) -> None:
        if not future.cancelled():
            future.exception()

    if disconnected.done():
        retrieve(disconnected)
    else:
        disconnected.add_done_callback(retrieve)
