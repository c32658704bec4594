"""paho-mqtt driven by the asyncio event loop, with manual acknowledgements.

Why not aiomqtt: ingest must acknowledge a message only after its point is in InfluxDB or
in the spool, which needs paho's ``manual_ack`` and ``Client.ack``; aiomqtt 2.5 exposes
neither, and its per-message ``asyncio.Queue`` plus async iteration costs more CPU than the
whole rest of the pipeline (NOTES.md: ~25k msgs/s CPU-bound for an empty subscriber).
So this module does what aiomqtt does inside — paho's documented external-loop API
(``loop_read``/``loop_write``/``loop_misc`` with ``add_reader``/``add_writer``) — and hands
messages over in lists. Every paho call happens on the event-loop thread except the
blocking TCP connect, which runs in a worker thread while no socket callback is installed.
No thread callback is bridged into asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.errors import MqttError

logger = logging.getLogger(__name__)

MAX_PACKETS_PER_READ = 2000
"""Packets read per readable event before yielding to other tasks."""


@dataclass(slots=True, frozen=True)
class Received:
    """One PUBLISH from the broker; ``generation`` names the connection it came on."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    retain: bool


class MqttSession(contextlib.AbstractAsyncContextManager["MqttSession"]):
    """One MQTT v5 connection with a persistent session, reconnecting until closed.

    ``batches()`` yields lists of received messages; ``ack`` acknowledges one once the
    caller has stored it; ``publish`` sends without waiting. While the consumer is behind
    (``max_pending`` messages not yet taken) the socket is not read: the broker keeps the
    rest (backpressure instead of an unbounded queue).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        client_id: str,
        subscriptions: Sequence[str],
        keepalive: int = 30,
        session_expiry: int = 86_400,
        max_pending: int = 20_000,
        manual_ack: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self.keepalive = keepalive
        self.session_expiry = session_expiry
        self.max_pending = max_pending
        self.generation = 0
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._pending: list[Received] = []
        self._has_pending = asyncio.Event()
        self._paused = False
        self._reading = False
        self._sock: socket.socket | None = None
        self._lost = asyncio.Event()
        self._closing = False
        self._refused: str | None = None
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        self._client.username_pw_set(username, password)
        self._client.connect_timeout = 5.0
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._tasks: list[asyncio.Task[None]] = []
        self.received_total = 0

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> MqttSession:
        self._tasks = [
            asyncio.create_task(self._maintain(), name=f"mqtt-connection-{self.client_id}"),
            asyncio.create_task(self._keepalive(), name=f"mqtt-keepalive-{self.client_id}"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.connected.is_set():
            # flush pending acks and publishes, then say goodbye (the session stays)
            with contextlib.suppress(OSError):
                self._write()
            self._client.disconnect()
            with contextlib.suppress(OSError):
                self._write()
        self._drop_socket()

    async def wait_subscribed(self, within: float) -> None:
        """Wait until the broker acknowledged the subscriptions (raises on refusal)."""
        async with asyncio.timeout(within):
            while not self.subscribed.is_set():
                if self._refused:
                    raise MqttError(self._refused)
                await asyncio.sleep(0.02)
        if self._refused:
            raise MqttError(self._refused)

    async def _maintain(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                await self._connect_once()
            except (OSError, MqttError) as exc:
                logger.warning(
                    "MQTT broker %s:%d not reachable as %s: %s; retrying in %.1f s",
                    self.host,
                    self.port,
                    self.client_id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            await self._lost.wait()
            self._lost.clear()
            if not self._closing:
                logger.warning(
                    "lost the MQTT connection to %s:%d; reconnecting", self.host, self.port
                )
                await asyncio.sleep(0.1)

    async def _connect_once(self) -> None:
        client = self._client
        client.on_socket_register_write = None
        client.on_socket_unregister_write = None
        client.on_socket_close = None
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry
        properties.ReceiveMaximum = 65_535
        await asyncio.to_thread(
            client.connect,
            self.host,
            self.port,
            self.keepalive,
            clean_start=False,
            properties=properties,
        )
        sock = client.socket()
        if not isinstance(sock, socket.socket):
            raise MqttError(f"no socket after connecting to {self.host}:{self.port}")
        self._sock = sock
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.on_socket_close = self._on_socket_close
        self._start_reading()
        if client.want_write():
            self._loop.add_writer(sock, self._write)
        try:
            async with asyncio.timeout(10):
                await self.connected.wait()
        except TimeoutError:
            self._drop_socket()
            raise MqttError(f"no CONNACK from {self.host}:{self.port} within 10 s") from None
        if self._refused:
            refused = self._refused
            self._drop_socket()
            raise MqttError(refused)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._sock is not None:
                self._client.loop_misc()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock)
                self._loop.remove_writer(sock)
        self._reading = False
        if self.connected.is_set():
            self.connected.clear()
            self.subscribed.clear()
            self.generation += 1
            self._lost.set()

    # --- paho callbacks (all on the loop thread) -----------------------------------------

    def _on_connect(
        self, _c: paho.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self._refused = f"broker {self.host}:{self.port} refused {self.client_id}: {reason}"
            self.connected.set()
            return
        self._refused = None
        self.generation += 1
        logger.info(
            "connected to MQTT %s:%d as %s (session present: %s)",
            self.host,
            self.port,
            self.client_id,
            flags.session_present,
        )
        options = SubscribeOptions(qos=1)
        self._client.subscribe([(topic, options) for topic in self.subscriptions])
        self.connected.set()

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        refused = [
            f"{topic} ({reason})"
            for topic, reason in zip(self.subscriptions, reasons, strict=False)
            if reason.is_failure
        ]
        if refused:
            self._refused = f"broker {self.host}:{self.port} refused subscriptions: {refused}"
            logger.error("%s", self._refused)
        self.subscribed.set()

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if not self._closing:
            logger.warning("MQTT %s:%d disconnected: %s", self.host, self.port, reason)
        self._drop_socket()

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        self._pending.append(
            Received(
                message.topic,
                bytes(message.payload),
                message.mid,
                message.qos,
                self.generation,
                message.retain,
            )
        )

    def _on_register_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        if self._sock is not None:
            self._loop.add_writer(self._sock, self._write)

    def _on_unregister_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        if self._sock is not None:
            self._loop.remove_writer(self._sock)

    def _on_socket_close(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._drop_socket()

    # --- reading and writing ---------------------------------------------------------------

    def _start_reading(self) -> None:
        if self._sock is not None and not self._reading:
            self._loop.add_reader(self._sock, self._read)
            self._reading = True

    def _read(self) -> None:
        client = self._client
        before = len(self._pending)
        for _ in range(MAX_PACKETS_PER_READ):
            count = len(self._pending)
            if client.loop_read() != paho.MQTT_ERR_SUCCESS or self._sock is None:
                self._drop_socket()
                break
            if len(self._pending) == count:
                break  # nothing more to read (or a non-PUBLISH packet)
        received = len(self._pending) - before
        if received:
            self.received_total += received
            self._has_pending.set()
        if len(self._pending) >= self.max_pending and self._sock is not None and self._reading:
            self._loop.remove_reader(self._sock)
            self._reading = False
            self._paused = True

    def _write(self) -> None:
        if self._client.loop_write() != paho.MQTT_ERR_SUCCESS:
            self._drop_socket()

    async def batches(self) -> AsyncIterator[list[Received]]:
        """Received messages, in order, as lists (never empty)."""
        while True:
            await self._has_pending.wait()
            self._has_pending.clear()
            batch, self._pending = self._pending, []
            if self._paused:
                self._paused = False
                self._start_reading()
            if batch:
                yield batch

    # --- sending ----------------------------------------------------------------------------

    def ack(self, generation: int, mid: int, qos: int) -> None:
        """Acknowledge a message taken on connection ``generation`` (later ones: ignored —
        the broker redelivers whatever the old connection left unacknowledged)."""
        if qos and generation == self.generation and self._sock is not None:
            self._client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> bool:
        """Queue a PUBLISH; False when there is no connection right now."""
        if self._sock is None or not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=qos)
        return info.rc == paho.MQTT_ERR_SUCCESS
