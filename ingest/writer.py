"""The durable sink: a batch is in InfluxDB or in the disk spool before anything is acked.

``store`` writes a batch to InfluxDB, retrying 5xx and timeouts with exponential backoff;
when that fails it appends the batch to the spool and marks InfluxDB down. While the spool
holds anything, new batches go behind it (order is kept) and ``replay`` drains it oldest
first, probing InfluxDB with backoff. When the spool is full, ``store`` waits: the writer
stops, its queue fills, ingest stops taking MQTT messages and the broker holds the rest.
"""

from __future__ import annotations

import asyncio
import logging

from ingest.errors import (
    InfluxRejectedError,
    InfluxTooLargeError,
    InfluxUnavailableError,
    SpoolError,
)
from ingest.influx import InfluxV1Client
from ingest.metrics import IngestMetrics
from ingest.settings import IngestSettings
from ingest.spool import DiskSpool, SpoolFullError, SpoolRecord
from twins.backoff import Backoff

logger = logging.getLogger(__name__)


class DurableWriter:
    """Writes batches to InfluxDB, or to the spool while it is down, in order."""

    def __init__(
        self,
        influx: InfluxV1Client,
        spool: DiskSpool,
        settings: IngestSettings,
        metrics: IngestMetrics,
    ) -> None:
        self._influx = influx
        self._spool = spool
        self._settings = settings
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.influx_up = spool.empty
        metrics.spool_bytes.set(spool.size_bytes)
        if not spool.empty:
            self._wake.set()

    @property
    def spool_empty(self) -> bool:
        """True when nothing waits in the spool."""
        return self._spool.empty

    async def store(self, lines: list[str]) -> None:
        """Return once ``lines`` are in InfluxDB or fsynced in the spool."""
        if not lines:
            return
        body = await asyncio.to_thread(self._influx.compress, "\n".join(lines).encode())
        points = len(lines)
        if self.influx_up and self._spool.empty:
            try:
                await self._write_with_retries(body, points)
            except InfluxUnavailableError as exc:
                logger.error(
                    "InfluxDB cannot take writes to %r (%s); spooling to %s until it can",
                    self._influx.database,
                    exc,
                    self._spool.directory,
                )
                self.influx_up = False
            else:
                return
        await self._append(body, points)
        self._wake.set()

    async def _write_with_retries(self, body: bytes, points: int) -> None:
        first, retries = self._settings.retry_backoff_seconds, self._settings.write_retries
        backoff = Backoff(first=first, maximum=first * 2**retries)
        for attempt in range(retries + 1):
            try:
                await self._write_splitting(body, points)
                return
            except InfluxUnavailableError as exc:
                if attempt == retries:
                    raise
                self._metrics.write_retries.inc()
                delay = backoff.next_delay()
                logger.warning(
                    "InfluxDB write failed (%s); retry %d in %.1f s", exc, attempt + 1, delay
                )
                await asyncio.sleep(delay)

    async def _write_splitting(self, body: bytes, points: int) -> int:
        """Write ``body``; on 413 write it in halves; return the points written. Points
        InfluxDB refuses (400) are counted and logged; ``InfluxUnavailableError``
        propagates (nothing is lost: a retry writes the same points again, and they
        overwrite themselves)."""
        try:
            await self._influx.write(body)
        except InfluxRejectedError as exc:
            self._metrics.points_rejected.inc(points)
            logger.error("InfluxDB refused a batch of %d points: %s", points, exc)
            return 0
        except InfluxTooLargeError as exc:
            text = await asyncio.to_thread(self._influx.decompress, body)
            lines = text.split(b"\n")
            if len(lines) < 2:
                self._metrics.points_rejected.inc(points)
                logger.error("InfluxDB refused a single point as too large: %s", exc)
                return 0
            half = len(lines) // 2
            logger.warning("%s; writing it as two batches of %d lines", exc, half)
            written = 0
            for part in (lines[:half], lines[half:]):
                part_body = await asyncio.to_thread(self._influx.compress, b"\n".join(part))
                written += await self._write_splitting(part_body, len(part))
            return written
        self._metrics.points_written.inc(points)
        return points

    async def _append(self, body: bytes, points: int) -> None:
        while True:
            try:
                async with self._lock:
                    await asyncio.to_thread(self._spool.append, body, points)
            except SpoolFullError as exc:
                logger.error("%s; waiting for InfluxDB to drain it", exc)
                self._wake.set()
                await asyncio.sleep(1.0)
                continue
            except SpoolError as exc:
                # cannot make the batch durable: retry the spool (and InfluxDB) until one works
                logger.error("%s; retrying in 1 s", exc)
                await asyncio.sleep(1.0)
                if self._spool.empty and await self._influx.ping():
                    try:
                        await self._write_splitting(body, points)
                    except InfluxUnavailableError:
                        continue
                    return
                continue
            self._metrics.points_spooled.inc(points)
            self._metrics.spool_bytes.set(self._spool.size_bytes)
            return

    async def replay(self) -> None:
        """Drain the spool into InfluxDB whenever it holds anything; runs until cancelled."""
        backoff = Backoff(first=self._settings.retry_backoff_seconds, maximum=5.0)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                try:
                    async with self._lock:
                        record: SpoolRecord | None = await asyncio.to_thread(self._spool.peek)
                except SpoolError as exc:
                    # corruption before the end: the data stays on disk for an operator;
                    # new batches keep going to the spool until it is full (then the broker
                    # holds the rest)
                    logger.critical("replay stopped: %s; retrying in 60 s", exc)
                    await asyncio.sleep(60.0)
                    continue
                if record is None:
                    break
                try:
                    written = await self._write_splitting(record.body, record.points)
                except InfluxUnavailableError as exc:
                    # 401/403/404 need an operator: say so loudly each time
                    level = logging.ERROR if (exc.status or 500) < 500 else logging.WARNING
                    delay = backoff.next_delay()
                    logger.log(
                        level,
                        "replay: InfluxDB cannot take writes yet (%s); next try in %.1f s",
                        exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                self._metrics.points_replayed.inc(written)
                backoff.reset()
                try:
                    async with self._lock:
                        await asyncio.to_thread(self._spool.pop, record)
                except SpoolError as exc:
                    # the record is in InfluxDB and replay moves on; the cursor catches up
                    # with the next pop (a full disk or a permission changed underneath)
                    logger.error("replay: %s", exc)
                self._metrics.spool_bytes.set(self._spool.size_bytes)
            if not self.influx_up:
                logger.info("spool drained; writing to InfluxDB directly again")
            self.influx_up = True
