"""The ingest service: MQTT in; InfluxDB, twins and the event bus out.

    MqttSession ──lists──▶ Pipeline.handle ──▶ Batch ──queue──▶ DurableWriter ──▶ InfluxDB
         ▲                      │    │                             │  (or DiskSpool)
         └──── ack (after durable) ◀───────────────────────────────┘
                                │    └──▶ TwinUpdater (coalesced merge patches) ──▶ twins
                                └──▶ dead letters (at once); normalized events (after durable)

One process, one event loop; several processes split the load through an MQTT v5 shared
subscription. ``run(runtime)`` runs until SIGTERM/SIGINT or ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ingest.influx import InfluxV1Client
from ingest.metrics import IngestMetrics, serve_metrics
from ingest.mqtt import MqttSession
from ingest.pipeline import Batch, Pipeline
from ingest.platform import BROKER_TOPICS, SYS_PREFIX, PlatformReport
from ingest.registry_file import RegistryFile
from ingest.runtime import IngestRuntime
from ingest.spool import DiskSpool
from ingest.twin_updates import TwinUpdater
from ingest.writer import DurableWriter
from twins.client import DittoClient
from twins.patches import stale_patch
from twins.topics import ROOT, Channel

logger = logging.getLogger(__name__)

INGESTED_CHANNELS = (
    Channel.TELEMETRY,
    Channel.EVENT,
    Channel.STATE,
    Channel.STATUS,
    Channel.CMD_ACK,
)
DRAIN_SECONDS = 15.0
EVENT_MESSAGE_BYTES = 128 * 1024
"""Largest normalized-events message: half the embedded broker's 256 KiB packet limit."""
"""How long a stopping ingest waits for queued batches to become durable."""


def subscriptions(group: str | None) -> list[str]:
    """The topic filters ingest subscribes to: one per device channel (so that nothing
    under ``citytwin/$platform`` — dead letters, events — comes back), and the broker's
    ``$SYS`` figures of the platform board (never shared: every worker sees them)."""
    filters = [f"{ROOT}/+/+/{channel.value}" for channel in INGESTED_CHANNELS]
    if group:
        filters = [f"$share/{group}/{topic}" for topic in filters]
    return [*filters, *BROKER_TOPICS]


class IngestService:
    """Wires the parts of one ingest worker together and runs them."""

    def __init__(self, runtime: IngestRuntime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.metrics = IngestMetrics()
        self.metrics_port = 0
        self.ready = asyncio.Event()
        self._batch = Batch(time.monotonic())

    async def run(self, stop: asyncio.Event) -> None:
        runtime, settings = self.runtime, self.settings
        registry_file = RegistryFile(runtime.registry_path)
        database_ready = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            self.metrics_port = stack.enter_context(
                serve_metrics(
                    self.metrics,
                    settings.metrics_host,
                    settings.metrics_port,
                    settings.metrics_password.get_secret_value(),
                )
            )
            influx = await stack.enter_async_context(
                InfluxV1Client(
                    str(runtime.influx_url),
                    runtime.influx_database,
                    username=runtime.influx_username,
                    password=runtime.influx_password.get_secret_value(),
                    token=runtime.influx_token.get_secret_value(),
                    timeout=settings.write_timeout_seconds,
                    gzip_level=settings.gzip_level,
                )
            )
            spool = DiskSpool(
                runtime.spool_dir,
                max_bytes=settings.spool_max_bytes,
                segment_bytes=settings.spool_segment_bytes,
            )
            writer = DurableWriter(influx, spool, settings, self.metrics)
            twins: TwinUpdater | None = None
            if runtime.twins_url is not None:
                ditto = stack.enter_context(
                    DittoClient(
                        str(runtime.twins_url),
                        runtime.twins_username,
                        runtime.twins_password.get_secret_value(),
                        pool_size=settings.twin_workers,
                    )
                )
                twins = TwinUpdater(
                    lambda thing, patch: ditto.patch(thing, "", patch),
                    self.metrics,
                    window=settings.twin_window_seconds,
                    workers=settings.twin_workers,
                )
            session = await stack.enter_async_context(
                MqttSession(
                    host=runtime.mqtt_host,
                    port=runtime.mqtt_port,
                    username=runtime.mqtt_username,
                    password=runtime.mqtt_password.get_secret_value(),
                    client_id=runtime.mqtt_username,  # the broker makes them one anyway
                    subscriptions=subscriptions(settings.shared_group),
                    keepalive=runtime.mqtt_keepalive,
                    session_expiry=settings.session_expiry_seconds,
                    max_pending=max(2 * settings.batch_size, 1000),
                )
            )
            pipeline = Pipeline(
                registry_file.registry,
                settings,
                self.metrics,
                publish=session.publish,
                twins=twins,
                registry_file=registry_file,
            )
            queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=settings.max_batches_in_flight)
            report = PlatformReport(self.metrics, runtime.mqtt_username, clock=time.time)

            async def take_and_put() -> None:
                batch, self._batch = self._batch, Batch(time.monotonic())
                pipeline.finish(batch)
                self.metrics.queued_batches.set(queue.qsize() + 1)
                await queue.put(batch)

            async def consume() -> None:
                # not before the database, its policies and its CQ exist: a backlog would
                # otherwise meet a missing database (the broker keeps it meanwhile)
                await database_ready.wait()
                size = settings.batch_size
                async for received in session.batches():
                    for message in received:
                        if message.topic.startswith(SYS_PREFIX):
                            report.broker.observe(message.topic, message.payload, time.time())
                            session.ack(message.generation, message.mid, message.qos)
                            continue
                        batch = self._batch
                        pipeline.handle(message.topic, message.payload, batch)
                        batch.acks.append((message.generation, message.mid, message.qos))
                        if len(batch.lines) >= size:
                            await take_and_put()

            async def flush_on_time() -> None:
                period = settings.batch_seconds
                while True:
                    await asyncio.sleep(period / 4)
                    batch = self._batch
                    if batch.messages and time.monotonic() - batch.started >= period:
                        await take_and_put()
                    elif not batch.messages:
                        batch.started = time.monotonic()

            async def write() -> None:
                while True:
                    batch = await queue.get()
                    try:
                        await self._make_durable(batch, writer, session)
                    finally:
                        queue.task_done()
                        self.metrics.queued_batches.set(queue.qsize())

            async def watch() -> None:
                while True:
                    await asyncio.sleep(settings.stale_check_seconds)
                    self.metrics.mqtt_connected.set(1 if session.connected.is_set() else 0)
                    for context in pipeline.find_stale(
                        settings.stale_factor, settings.stale_after_seconds
                    ):
                        logger.warning("device %s is stale (silent too long)", context.thing)
                        self._batch.lines.append(pipeline.stale_line(context))
                        self._batch.messages += 1
                        if twins is not None:
                            twins.add(context.thing, stale_patch(True), time.monotonic())
                    registry = registry_file.refresh()
                    if registry is not None:
                        pipeline.use_registry(registry)

            async def report_platform() -> None:
                await database_ready.wait()
                while True:
                    await asyncio.sleep(settings.platform_seconds)
                    self.metrics.mqtt_connected.set(1 if session.connected.is_set() else 0)
                    lines = report.lines()
                    self._batch.lines.extend(lines)
                    self._batch.messages += 1

            async def prepare_database() -> None:
                if not runtime.manage_database:
                    database_ready.set()
                    return
                while True:
                    try:
                        await influx.setup(
                            runtime.raw_retention_days, runtime.rollup_retention_days
                        )
                        logger.info(
                            "InfluxDB %r ready: raw %d d, rollup_1m %d d",
                            runtime.influx_database,
                            runtime.raw_retention_days,
                            runtime.rollup_retention_days,
                        )
                        database_ready.set()
                        return
                    except Exception as exc:  # any failure: InfluxDB not up yet; retry
                        logger.warning("cannot prepare InfluxDB yet (%s); retrying in 2 s", exc)
                        await asyncio.sleep(2.0)

            async with asyncio.TaskGroup() as group:
                tasks: dict[str, asyncio.Task[Any]] = {}

                def start(name: str, factory: Callable[[], Any]) -> None:
                    tasks[name] = group.create_task(factory(), name=f"ingest-{name}")

                start("database", prepare_database)
                start("consume", consume)
                start("flush", flush_on_time)
                start("write", write)
                start("replay", writer.replay)
                start("watch", watch)
                start("platform", report_platform)
                if twins is not None:
                    start("twins", twins.run)
                await session.wait_subscribed(within=3600)
                # What startup built (modules, models, registry, clients) lives as long as
                # the process: keep it out of the collector's full passes, which otherwise
                # rescan it every few seconds under load and paused the event loop for
                # 25-118 ms each time (docs/performance.md, "Where the twin tail comes from")
                gc.freeze()
                self.ready.set()
                self.metrics.ready.set(1)
                self.metrics.mqtt_connected.set(1)
                logger.info("ingest %s ready", runtime.mqtt_username)
                await stop.wait()
                logger.info("ingest %s stopping: draining batches", runtime.mqtt_username)
                tasks["consume"].cancel()
                tasks["flush"].cancel()
                if self._batch.messages:
                    await take_and_put()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DRAIN_SECONDS):
                        await queue.join()
                for task in tasks.values():
                    task.cancel()

    async def _make_durable(
        self, batch: Batch, writer: DurableWriter, session: MqttSession
    ) -> None:
        started = time.monotonic()
        await writer.store(batch.lines)
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        for topic, events in batch.events.items():
            for message in event_messages(events):
                session.publish(topic, message, 0)
        session.ack_all(batch.acks)
        self.metrics.lag_seconds.observe(time.monotonic() - batch.started)
        if batch.newest_ts_ms:
            self.metrics.device_lag_seconds.set(time.time() - batch.newest_ts_ms / 1000)


def event_messages(
    events: list[dict[str, Any]], limit: int = EVENT_MESSAGE_BYTES
) -> Iterator[bytes]:
    """``{"events": [...]}`` messages of at most ``limit`` bytes, events in order.

    One device's backlog can hold thousands of events in a batch; in one message they would
    pass the broker's packet limit and get ingest disconnected before it acknowledges
    the batch, so the backlog would come again, forever.
    """
    head, tail = b'{"events":[', b"]}"
    parts: list[bytes] = []
    size = len(head) + len(tail)
    for event in events:
        encoded = orjson.dumps(event)
        if parts and size + len(encoded) + 1 > limit:
            yield head + b",".join(parts) + tail
            parts, size = [], len(head) + len(tail)
        parts.append(encoded)
        size += len(encoded) + 1
    if parts:
        yield head + b",".join(parts) + tail


async def run(runtime: IngestRuntime, stop: asyncio.Event | None = None) -> None:
    """Run one ingest worker until SIGTERM/SIGINT (or ``stop``, when given, is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await IngestService(runtime).run(stop)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
