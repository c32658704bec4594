"""Twin updates: merge patches coalesced per thing, applied by a few workers.

Every accepted message yields a merge patch of the twin's reported ``properties``. Patches
of one thing that arrive while an earlier one waits are folded into it, so a busy device
costs one request per window, not one per message, and the window widens by itself when
the twin service is slower than the devices. Ingest never writes ``desiredProperties``:
those belong to operators. The pending set holds at most one patch per device, so it is
bounded by the registry. A failed patch is folded back under newer ones and retried.
One request per thing at a time: a patch that falls due while the thing's previous one is
still in flight waits (folding newer patches in) until that request ends, so patches of
one thing are applied in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ingest.metrics import IngestMetrics
from twins.errors import DittoError, DittoNotFoundError, DittoUnavailableError
from twins.patches import fold_patch

logger = logging.getLogger(__name__)

Patcher = Callable[[str, dict[str, Any]], None]
"""Applies one merge patch to one thing, blocking (e.g. ``DittoClient.patch``)."""


class TwinUpdater:
    """Coalesces patches per thing and applies them with ``workers`` concurrent requests."""

    def __init__(
        self,
        patcher: Patcher,
        metrics: IngestMetrics,
        *,
        window: float,
        workers: int,
        retry_delay: float = 1.0,
    ) -> None:
        self._patcher = patcher
        self._metrics = metrics
        self._window = window
        self._workers = workers
        self._retry_delay = retry_delay
        self._pending: dict[str, dict[str, Any]] = {}
        self._received: dict[str, float] = {}
        self._due: deque[tuple[float, str]] = deque()
        self._in_flight: set[str] = set()
        self._deferred: set[str] = set()
        """Things whose pending patch fell due while a request for them was in flight."""
        self._wake = asyncio.Event()
        self.applied = 0

    def add(self, thing: str, patch: dict[str, Any], received: float) -> None:
        """Queue ``patch`` for ``thing`` (``received``: monotonic time of its message)."""
        pending = self._pending.get(thing)
        if pending is None:
            self._pending[thing] = patch
            self._received[thing] = received
            self._due.append((received + self._window, thing))
            self._wake.set()
        else:
            fold_patch(pending, patch)

    @property
    def waiting(self) -> int:
        """Things with a patch not yet applied."""
        return len(self._pending)

    async def run(self) -> None:
        """Apply patches until cancelled."""
        async with asyncio.TaskGroup() as group:
            for index in range(self._workers):
                group.create_task(self._work(), name=f"twin-patch-{index}")

    async def _work(self) -> None:
        while True:
            while not self._due:
                self._wake.clear()
                await self._wake.wait()
            due, thing = self._due[0]
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue  # another worker may have taken it meanwhile
            self._due.popleft()
            if thing in self._in_flight:
                self._deferred.add(thing)  # stays pending; due again when the request ends
                continue
            patch = self._pending.pop(thing, None)
            received = self._received.pop(thing, due)
            if patch is None:
                continue
            self._in_flight.add(thing)
            try:
                await self._apply(thing, patch, received)
            finally:
                self._in_flight.discard(thing)
                if thing in self._deferred:
                    self._deferred.discard(thing)
                    if thing in self._pending:
                        self._due.appendleft((time.monotonic(), thing))
                        self._wake.set()

    async def _apply(self, thing: str, patch: dict[str, Any], received: float) -> None:
        try:
            await asyncio.to_thread(self._patcher, thing, patch)
        except DittoNotFoundError:
            self._metrics.twin_failures.labels("not_found").inc()
            logger.warning("twin %s does not exist; its update was dropped", thing)
        except DittoUnavailableError as exc:
            self._metrics.twin_failures.labels("unavailable").inc()
            logger.warning("twin service unavailable for %s: %s; retrying", thing, exc)
            self._put_back(thing, patch, received)
            await asyncio.sleep(self._retry_delay)
        except DittoError as exc:
            self._metrics.twin_failures.labels(exc.error).inc()
            logger.error("twin service refused the update of %s: %s", thing, exc)
        else:
            self.applied += 1
            self._metrics.twin_patches.inc()
            self._metrics.twin_seconds.observe(time.monotonic() - received)

    def _put_back(self, thing: str, patch: dict[str, Any], received: float) -> None:
        newer = self._pending.pop(thing, None)
        if newer is not None:
            fold_patch(patch, newer)
        self._pending[thing] = patch
        self._received[thing] = received
        self._due.append((time.monotonic() + self._retry_delay, thing))
        self._wake.set()
