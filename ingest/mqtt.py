"""paho-mqtt driven by the asyncio event loop, with manual acknowledgements.

Why not aiomqtt: ingest must acknowledge a message only after its point is in InfluxDB or
in the spool, which needs paho's ``manual_ack`` and ``Client.ack``; aiomqtt 2.5 exposes
neither, and its per-message ``asyncio.Queue`` plus async iteration costs more CPU than the
whole rest of the pipeline (``benchmarks/ingest_bench.py`` measures an aiomqtt subscriber
beside this session in every run: ~100 µs of CPU per message against 4.7; docs/performance.md).
So this module does what aiomqtt does inside — paho's documented external-loop API
(``loop_read``/``loop_write``/``loop_misc`` with ``add_reader``/``add_writer``) — and hands
messages over in lists. Every paho call happens on the event-loop thread except the
blocking TCP connect, which runs in a worker thread while no socket callback is installed.
No thread callback is bridged into asyncio.

The socket is read here, not by paho: ``MqttSession`` takes whatever the socket holds in
one ``recv`` and splits it into packets with ``ingest.mqtt_codec`` (why, with the figure,
is in its docstring); a QoS 0/1 PUBLISH becomes a ``Received`` directly, every other
packet (CONNACK, SUBACK, PUBACK, PINGRESP, DISCONNECT, anything unusual) is handed to paho
whole, which handles it as before. A packet the codec refuses (a broken length, a PUBLISH
whose fields overrun it) is a protocol error: the connection is dropped and the session
reconnects, so the broker sends the unacknowledged messages again.
Acknowledgements of one durable batch leave as one write (``ack_all``).

While the consumer is behind, the socket is still read: PUBLISH packets are held back
whole, in order, and every other packet still reaches paho — a PINGRESP or the CONNACK of a
reconnect must not wait for the consumer, or paho drops the connection by keepalive and
every unacknowledged message comes again. The broker sends at most ``ReceiveMaximum``
unacknowledged QoS 1 messages, which bounds what is held; QoS 0 messages (no such window)
are dropped past ``max_held_bytes``, as the broker itself drops them for a slow reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.errors import MqttError, MqttPacketError
from ingest.mqtt_codec import PUBLISH, Received, decode_publish, packet_bounds
from twins.backoff import Backoff

logger = logging.getLogger(__name__)

RECV_BYTES = 256 * 1024
"""Bytes taken from the socket per readable event (a few thousand PUBLISH packets)."""

_PUBACK = 0x40
_PUBACK_PACKET = struct.Struct("!BBH")
_PUBLISH_QOS2 = 0x04
"""QoS 2 bit of a PUBLISH header: such packets (never granted here) go through paho."""
_PUBLISH_QOS = 0x06
"""QoS bits of a PUBLISH header (none set: QoS 0, which a slow reader may lose)."""
MAX_HELD_BYTES = 64 * 1024 * 1024
"""PUBLISH bytes held back while the consumer is behind, past which QoS 0 ones are dropped."""
_POLL_ERRORS = (RuntimeError, OSError, ValueError)
"""What ``add_reader``/``add_writer``/``remove_*`` raise for a socket the loop cannot watch:
uvloop closes its poll handle when the peer resets the connection ("handler is closed")."""


class _Client(paho.Client):
    """paho fed whole packets by ``MqttSession`` instead of reading the socket itself."""

    _feed: bytes = b""
    _at_eof: bool = False

    def _sock_recv(self, bufsize: int) -> bytes:
        feed = self._feed
        if not feed:
            if self._at_eof:
                return b""  # paho: connection lost
            raise BlockingIOError
        self._feed = feed[bufsize:]
        return feed[:bufsize]

    def handle_packet(self, packet: bytes) -> MQTTErrorCode:
        """Let paho handle one whole packet as if it had read it from the socket."""
        self._feed = packet
        try:
            return self.loop_read()
        finally:
            self._feed = b""

    def connection_lost(self) -> None:
        """The socket is closed or failed: let paho run its usual disconnect handling."""
        self._at_eof = True
        try:
            self.loop_read()
        finally:
            self._at_eof = False

    def bytes_received(self) -> None:
        """Note incoming traffic for paho's keepalive (it no longer reads the socket)."""
        self._last_bytes_received = time.monotonic()

    def queue_pubacks(self, mids: Iterable[int]) -> None:
        """Queue the PUBACKs of ``mids`` as one write (success: no reason code needed)."""
        pack = _PUBACK_PACKET.pack
        packet = b"".join([pack(_PUBACK, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(_PUBACK, packet, 0, 0)


class MqttSession(contextlib.AbstractAsyncContextManager["MqttSession"]):
    """One MQTT v5 connection with a persistent session, reconnecting until closed.

    ``batches()`` yields lists of received messages; ``ack`` acknowledges one once the
    caller has stored it; ``publish`` sends without waiting. While the consumer is behind
    (``max_pending`` messages not yet taken) PUBLISH packets are held back undecoded and
    unacknowledged, so the broker's in-flight window stops it (backpressure instead of an
    unbounded queue), while the connection itself (pings, CONNACK, SUBACK) goes on.
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
        max_held_bytes: int = MAX_HELD_BYTES,
        manual_ack: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self.keepalive = keepalive
        self.session_expiry = session_expiry
        self.max_pending = max_pending
        self.max_held_bytes = max_held_bytes
        self.generation = 0
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._pending: list[Received] = []
        self._has_pending = asyncio.Event()
        self._held: deque[bytes] = deque()
        """Runs of whole PUBLISH packets read past ``max_pending``, oldest first."""
        self._held_bytes = 0
        self._dropping = False
        self._reading = False
        self._sock: socket.socket | None = None
        self._lost = asyncio.Event()
        """Set when an accepted connection ends (never by a refused or failed attempt)."""
        self._connack = asyncio.Event()
        """Set when the attempt in progress got its CONNACK or lost its socket."""
        self._closing = False
        self._refused: str | None = None
        """Why the broker refused the current attempt's CONNACK (retried)."""
        self._refused_subscriptions: str | None = None
        """Why the broker refused the subscriptions (fatal: `wait_subscribed` raises)."""
        self._buffer = b""
        self._client = _Client(
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
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.received_total = 0
        self.dropped_total = 0
        """QoS 0 messages dropped because more than ``max_held_bytes`` were held back."""

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> MqttSession:
        group = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._tasks = [
            group.create_task(self._maintain(), name=f"mqtt-connection-{self.client_id}"),
            group.create_task(self._keepalive(), name=f"mqtt-keepalive-{self.client_id}"),
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
        await self._stack.aclose()  # the task group waits for both
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
                if self._refused_subscriptions:
                    raise MqttError(self._refused_subscriptions)
                await asyncio.sleep(0.02)
        if self._refused_subscriptions:
            raise MqttError(self._refused_subscriptions)

    async def _maintain(self) -> None:
        backoff = Backoff(first=0.1, maximum=5.0)
        while not self._closing:
            try:
                await self._connect_once()
            except (OSError, MqttError) as exc:
                delay = backoff.next_delay()
                logger.log(
                    logging.ERROR if self._refused else logging.WARNING,
                    "MQTT broker %s:%d not reachable as %s: %s; retrying in %.1f s",
                    self.host,
                    self.port,
                    self.client_id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            await self._lost.wait()
            if not self._closing:
                logger.warning(
                    "lost the MQTT connection to %s:%d; reconnecting", self.host, self.port
                )
                await asyncio.sleep(0.1)

    async def _connect_once(self) -> None:
        # a fresh state for this attempt: no socket, no reader, no CONNACK, nothing lost
        self._drop_socket()
        self._lost.clear()
        self._connack.clear()
        self._refused = None
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
        self._buffer = b""
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.on_socket_close = self._on_socket_close
        self._start_reading()
        if client.want_write():
            self._watch(self._loop.add_writer, self._write)
        try:
            async with asyncio.timeout(10):
                await self._connack.wait()
        except TimeoutError:
            self._drop_socket()
            raise MqttError(f"no CONNACK from {self.host}:{self.port} within 10 s") from None
        if self._refused:
            refused = self._refused
            self._drop_socket()
            raise MqttError(refused)
        if not self.connected.is_set():
            self._drop_socket()
            raise MqttError(f"{self.host}:{self.port} closed the connection before CONNACK")

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._sock is not None:
                self._client.loop_misc()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            # each on its own: removing also forgets a poll handle uvloop closed, which
            # would otherwise refuse a new socket that gets the same descriptor
            with contextlib.suppress(*_POLL_ERRORS):
                self._loop.remove_reader(sock)
            with contextlib.suppress(*_POLL_ERRORS):
                self._loop.remove_writer(sock)
        self._reading = False
        self._buffer = b""
        self._held.clear()  # unacknowledged: the broker sends them again
        self._held_bytes = 0
        self._connack.set()  # wakes an attempt waiting for its CONNACK
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
            self._connack.set()
            return
        self._refused = None
        self._refused_subscriptions = None
        self.generation += 1
        logger.info(
            "connected to MQTT %s:%d as %s (session present: %s)",
            self.host,
            self.port,
            self.client_id,
            flags.session_present,
        )
        # Retained messages (a device's birth or will) only when the subscription is new:
        # the persistent session already took each one live, and a resubscription on
        # every reconnect would present days-old births as news
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        self._client.subscribe([(topic, options) for topic in self.subscriptions])
        self.connected.set()
        self._connack.set()

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        refused = [
            f"{topic} ({reason})"
            for topic, reason in zip(self.subscriptions, reasons, strict=False)
            if reason.is_failure
        ]
        if refused:
            self._refused_subscriptions = (
                f"broker {self.host}:{self.port} refused subscriptions: {refused}"
            )
            logger.error("%s", self._refused_subscriptions)
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
        self._watch(self._loop.add_writer, self._write)

    def _on_unregister_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._watch(self._loop.remove_writer)

    def _on_socket_close(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._drop_socket()

    # --- reading and writing ---------------------------------------------------------------

    def _start_reading(self) -> None:
        if self._sock is not None and not self._reading:
            self._reading = self._watch(self._loop.add_reader, self._read)

    def _watch(self, change: Callable[..., object], *callback: Callable[[], None]) -> bool:
        """``change`` the loop's watch of the socket; False (connection lost) if it cannot.

        Under uvloop a reset connection closes the socket's poll handle and the next
        ``add_writer`` raises RuntimeError — from inside ``publish`` or ``ack_all`` it would
        end the caller's task and the whole task group. A socket that cannot be watched is
        a lost connection: drop it and reconnect, as for a read that failed.
        """
        sock = self._sock
        if sock is None:
            return False
        try:
            change(sock, *callback)
        except _POLL_ERRORS as exc:
            logger.warning(
                "MQTT %s:%d: the event loop cannot watch the socket (%s: %s); reconnecting",
                self.host,
                self.port,
                type(exc).__name__,
                exc,
            )
            self._drop_socket()
            # paho closes its side later: this may run inside a paho call or callback
            self._loop.call_soon(self._close_client_socket, sock)
            return False
        return True

    def _close_client_socket(self, sock: socket.socket) -> None:
        """Let paho handle the loss of ``sock`` if it still uses it (not reentrantly)."""
        if self._client.socket() is sock:
            self._client.connection_lost()

    def _read(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            data = sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return
        except OSError as exc:
            logger.warning("reading from MQTT %s:%d failed: %s", self.host, self.port, exc)
            data = b""
        if not data:
            self._client.connection_lost()
            self._drop_socket()
            return
        self._client.bytes_received()
        self._buffer = self._buffer + data if self._buffer else data
        self._parse()

    def _parse(self) -> None:
        """Take packets up to ``max_pending`` waiting messages; hold the PUBLISHes beyond.

        Held packets come first, in order, once the consumer has taken some; whatever
        does not fit is held behind them, and non-PUBLISH packets still go to paho.
        """
        pending = self._pending
        before = len(pending)
        room = self.max_pending - before
        held = self._held
        while held and room > 0:
            run = held.popleft()
            pos, room = self._split(run, room)
            self._held_bytes -= pos
            if pos < len(run):
                held.appendleft(run[pos:])
        buffer = self._buffer
        pos = 0
        if not held and room > 0:
            pos, room = self._split(buffer, room)
        if pos < len(buffer) and self._sock is not None:
            pos = self._hold(buffer, pos)
        self._buffer = buffer[pos:] if pos < len(buffer) else b""
        if not held:
            self._held_bytes = 0
            self._dropping = False
        received_count = len(pending) - before
        if received_count:
            self.received_total += received_count
            self._has_pending.set()

    def _split(self, buffer: bytes, room: int) -> tuple[int, int]:
        """Take packets from ``buffer`` until ``room`` messages were taken or a packet is
        incomplete; returns where it stopped and the room left."""
        size = len(buffer)
        pending = self._pending
        generation = self.generation
        client = self._client
        pos = 0
        while pos < size and room > 0:
            try:
                bounds = packet_bounds(buffer, pos, size)
                if bounds is None:
                    break  # the packet is not all here yet
                start, end = bounds
                header = buffer[pos]
                if header & 0xF0 == PUBLISH and not header & _PUBLISH_QOS2:
                    pending.append(decode_publish(header, buffer, start, end, generation))
                    room -= 1
                    pos = end
                    continue
            except MqttPacketError as exc:
                self._protocol_error(exc)
                return size, room  # the rest belongs to a connection that is gone
            # anything else (CONNACK, SUBACK, PUBACK, PINGRESP, a QoS 2 PUBLISH): paho, whole
            packet = buffer[pos:end]
            pos = end
            if client.handle_packet(packet) or self._sock is None:
                self._drop_socket()
                return size, room  # the rest belongs to a connection that is gone
            generation = self.generation
        return pos, room

    def _hold(self, buffer: bytes, pos: int) -> int:
        """Hold back the PUBLISH packets of ``buffer[pos:]`` and hand the others to paho;
        returns where the incomplete rest starts.

        The consumer is behind, but paho must still see the PINGRESP, SUBACK or CONNACK.
        """
        size = len(buffer)
        run = pos  # consecutive held PUBLISH packets are kept as one slice
        while pos < size:
            try:
                bounds = packet_bounds(buffer, pos, size)
            except MqttPacketError as exc:
                self._protocol_error(exc)
                return size
            if bounds is None:
                break
            end = bounds[1]
            header = buffer[pos]
            publish = header & 0xF0 == PUBLISH
            if publish and (header & _PUBLISH_QOS or self._held_bytes < self.max_held_bytes):
                self._held_bytes += end - pos
                pos = end
                continue
            if run < pos:
                self._held.append(buffer[run:pos])
            packet = buffer[pos:end]
            pos = run = end
            if publish:
                self._drop_qos0()
                continue
            if self._client.handle_packet(packet) or self._sock is None:
                self._drop_socket()
                return size
        if run < pos:
            self._held.append(buffer[run:pos])
        return pos

    def _protocol_error(self, exc: MqttPacketError) -> None:
        """The broker sent a packet the codec refuses: nothing after it can be trusted, so
        the connection is dropped (MQTT's rule for a malformed packet) and the session
        reconnects; whatever was not acknowledged comes again."""
        logger.error(
            "MQTT %s:%d sent a malformed packet (%s); reconnecting", self.host, self.port, exc
        )
        self._client.connection_lost()
        self._drop_socket()

    def _drop_qos0(self) -> None:
        """Lose a QoS 0 message past ``max_held_bytes``: it has no in-flight window that
        would stop the broker, and at most once allows it (the broker does the same)."""
        self.dropped_total += 1
        if not self._dropping:
            self._dropping = True
            logger.warning(
                "MQTT %s:%d: consumer behind with %d bytes held back; dropping QoS 0 messages",
                self.host,
                self.port,
                self._held_bytes,
            )

    def _write(self) -> None:
        if self._client.loop_write() != paho.MQTT_ERR_SUCCESS:
            self._drop_socket()

    async def batches(self) -> AsyncIterator[list[Received]]:
        """Received messages, in order, as lists (never empty)."""
        while True:
            await self._has_pending.wait()
            self._has_pending.clear()
            batch, self._pending = self._pending, []
            if self._held:
                self._parse()  # what the socket delivered beyond max_pending
            if batch:
                yield batch

    # --- sending ----------------------------------------------------------------------------

    def ack(self, generation: int, mid: int, qos: int) -> None:
        """Acknowledge a message taken on connection ``generation`` (later ones: ignored —
        the broker redelivers whatever the old connection left unacknowledged)."""
        if qos and generation == self.generation and self._sock is not None:
            self._client.ack(mid, qos)

    def ack_all(self, acks: Iterable[tuple[int, int, int]]) -> None:
        """Acknowledge (generation, mid, qos) of many messages in one write, as ``ack``."""
        if self._sock is None:
            return
        generation = self.generation
        mids = []
        for taken_on, mid, qos in acks:
            if taken_on != generation or not qos:
                continue
            if qos == 1:
                mids.append(mid)
            else:
                self._client.ack(mid, qos)
        self._client.queue_pubacks(mids)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> bool:
        """Queue a PUBLISH; False when there is no connection right now."""
        if self._sock is None or not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=qos)
        return info.rc == paho.MQTT_ERR_SUCCESS
