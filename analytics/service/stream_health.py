"""Stream health of the cameras, as the video hub reports it in their twins, into the rules.

The hub writes a camera's ``features/stream/properties`` (``health``, ``healthSince``, …)
when the stream goes up or down and every few seconds besides (`video/health.py`). The
rules' ``stream_down`` evaluator reads it as `StreamHealthEvent`s dated at
``healthSince``. This watch reads every camera's current state of the process's sites
once, then follows the twins' change stream (server-sent events), and hands over a change
of ``health`` or ``healthSince`` only — the periodic refreshes repeat what it knows. A
broken stream is reopened with the shared backoff, the current state read again first, so
a change missed while it was away still arrives.

The twin client is synchronous (requests), and a change stream blocks between changes
for as long as the cameras are quiet. It is read by a daemon thread of its own that hands
each change to the event loop (``call_soon_threadsafe``): a read in the loop's executor
would hold a worker thread, and the process's exit, until the next change or heartbeat;
closing the response from the loop thread blocks on the reader the same way. The reader
closes it itself, and a stopped process does not wait for it.

A stream that stays silent for ``read_timeout_s`` (nothing changed, and a server that
sends no keepalive comment that often — the embedded twin service sends one every
``twins.sse_heartbeat_seconds``, 25 s) is not broken: it is reopened at once and quietly
(``idle_reopens``), the current state read again first. Only other failures are warnings.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import requests
import urllib3.exceptions

from analytics.rules.inputs import StreamHealthEvent
from twins.backoff import Backoff
from twins.client import DittoClient
from twins.errors import DittoError

logger = logging.getLogger(__name__)

FIELDS = "thingId,features/stream/properties"
CAMERAS = 'eq(attributes/kind,"camera")'
READ_TIMEOUT_SECONDS = 90.0
"""Silence tolerated on the change stream (the twin service sends a comment when idle)."""
IDLE = object()
"""What the reader hands over when the stream was silent for the read timeout."""

StreamHandler = Callable[[StreamHealthEvent], Awaitable[None]]


def is_idle_timeout(exc: BaseException) -> bool:
    """Whether a broken change stream only timed out waiting for the next line (requests
    wraps urllib3's ``ReadTimeoutError`` in a ``ConnectionError`` while streaming)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.Timeout | urllib3.exceptions.ReadTimeoutError):
            return True
        if any(isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in seen.args):
            return True
        seen = seen.__cause__
    return False


def stream_properties(thing: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``features/stream/properties`` of a thing or a change, if it holds any."""
    features = thing.get("features")
    if not isinstance(features, Mapping):
        return None
    stream = features.get("stream")
    if not isinstance(stream, Mapping):
        return None
    properties = stream.get("properties")
    return properties if isinstance(properties, Mapping) else None


class StreamHealthWatch:
    """Hands each camera's stream-health changes to ``handle`` (run as one task)."""

    def __init__(
        self,
        client: Callable[[], DittoClient],
        handle: StreamHandler,
        *,
        sites: Sequence[str] = (),
        read_timeout_s: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self._client_factory = client
        self._handle = handle
        self._sites = tuple(sites)
        self._read_timeout_s = read_timeout_s
        self._known: dict[str, tuple[bool, str]] = {}
        self.changes = 0
        self.idle_reopens = 0

    async def run(self) -> None:
        """Read, follow, reopen; never returns."""
        backoff = Backoff(first=0.5, maximum=30.0, jitter=1.0)
        while True:
            try:
                with self._client_factory() as client:
                    await self._read_current(client)
                    backoff.reset()
                    if await self._follow(client):
                        continue  # idle: reopened at once, nothing to report
            except DittoError as exc:
                logger.warning("stream health of the cameras not followed: %s; retrying", exc)
            await asyncio.sleep(backoff.next_delay())

    async def _read_current(self, client: DittoClient) -> None:
        things = await asyncio.to_thread(
            lambda: list(client.search(CAMERAS, namespaces=self._sites, fields=FIELDS))
        )
        for thing in things:
            await self._take(thing)

    async def _follow(self, client: DittoClient) -> bool:
        """Hand over changes until the stream ends: True when it was only idle."""
        stream = await asyncio.to_thread(
            client.watch, namespaces=self._sites, fields=FIELDS, read_timeout=self._read_timeout_s
        )
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue[dict[str, Any] | BaseException | object | None] = asyncio.Queue()
        stopping = threading.Event()

        def read() -> None:
            try:
                for change in stream:
                    if stopping.is_set():
                        break
                    loop.call_soon_threadsafe(changes.put_nowait, change)
                loop.call_soon_threadsafe(changes.put_nowait, None)
            except DittoError as exc:
                if not stopping.is_set():
                    loop.call_soon_threadsafe(
                        changes.put_nowait, IDLE if is_idle_timeout(exc) else exc
                    )
            except RuntimeError:  # the loop has closed: the process is stopping
                pass
            finally:
                stream.close()

        threading.Thread(target=read, name="analytics-stream-health", daemon=True).start()
        try:
            while True:
                change = await changes.get()
                if change is None:
                    return False  # the server closed the stream
                if change is IDLE:
                    self.idle_reopens += 1
                    logger.debug(
                        "no camera changed for %.0f s; change stream reopened", self._read_timeout_s
                    )
                    return True
                if isinstance(change, BaseException):
                    raise change
                if isinstance(change, dict):
                    await self._take(change)
        finally:
            stopping.set()

    async def _take(self, thing: Mapping[str, Any]) -> None:
        thing_id = thing.get("thingId")
        properties = stream_properties(thing)
        if not isinstance(thing_id, str) or properties is None:
            return
        try:
            event = StreamHealthEvent.from_stream_properties(thing_id, properties)
        except ValueError as exc:
            logger.warning("%s: stream health not understood: %s", thing_id, exc)
            return
        if event is None:
            return
        state = (event.up, event.at.isoformat())
        if self._known.get(thing_id) == state:
            return
        self._known[thing_id] = state
        self.changes += 1
        await self._handle(event)
