"""``citytwin analytics``: events in, alerts, notices, twin summaries and KPIs out.

    EventFeed (MQTT live, InfluxDB replay) ─┐                  escalation ─┐
    CalendarBookings (InfluxDB `booking`)  ─┤
    StreamHealthWatch (camera twins)       ─┼─► SignalPipeline ──────────► AlertLifecycle
    RuleSet ◄── rules dir (poll, SIGHUP) ───┘   (RuleEngine)   operators ─┘ (HTTP app) │
                                                                                       ▼
    AlertStore history ── TransitionOutbox ──► Notifier, twin `alerts`, KPI windows
                       └─ AlertPointExporter ─► InfluxDB `alert`           (KpiEngine)

Every part runs as a named task of one task group; SIGTERM/SIGINT set the stop event, and
the context managers close the store, the clients and the notifier's queues. The pipeline
commits each signal before the checkpoint may pass it, so a SIGKILL at any instant loses
nothing, and the lifecycle makes a replayed signal change nothing (docs/alerts.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from analytics.alerts.errors import AlertError, AlertExportError
from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.export import AlertPointExporter, InfluxPointWriter
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.outbox import Transition, TransitionOutbox
from analytics.alerts.store import AlertStore
from analytics.checkpoint import FileCheckpoint
from analytics.feed import ArrivalClock, EventFeed, FeedSettings
from analytics.kpis.engine import KpiEngine
from analytics.kpis.influx import KpiInflux
from analytics.notify.mqtt import BrokerLogin
from analytics.notify.service import Notifier
from analytics.rules.engine import DeviceInfo, RuleEngine
from analytics.rules.inputs import Input
from analytics.rules.ruleset import RuleSet
from analytics.service.bookings import CalendarBookings
from analytics.service.health import serve_health
from analytics.service.notices import notice_of
from analytics.service.pipeline import CommittedCheckpoint, SignalPipeline
from analytics.service.platform import AnalyticsReport
from analytics.service.runtime import AnalyticsRuntime
from analytics.service.snapshots import HubRoutes, SnapshotTaker
from analytics.service.stream_health import StreamHealthWatch
from analytics.service.summaries import AlertSummaries
from ingest.influx import InfluxV1Client
from twins.client import DittoClient
from twins.events import NormalizedEvent
from twins.registry import Registry

logger = logging.getLogger(__name__)

EVENT_CLOCK_SECONDS = 1.0
"""How often an idle site's event time is moved on."""
DRAIN_SECONDS = 10.0
"""How long a stopping process waits for its notices to be delivered."""


class AnalyticsService:
    """One analytics process: its parts, wired, and the loops that drive them."""

    def __init__(self, runtime: AnalyticsRuntime, *, clock: Callable[[], float] = time.time):
        self.runtime = runtime
        self.clock = clock
        self.ruleset = RuleSet.load(runtime.rules_dir)
        """Loaded at once: a broken rule directory stops the process before it starts."""
        self.registry = Registry.load(runtime.registry_path)
        self._registry_stamp = _stamp(runtime.registry_path)
        self.registry_errors: list[str] = []
        self.reload_requested = asyncio.Event()
        self.health_port = 0
        self.notices = 0
        self._export_wanted = asyncio.Event()
        self._export_lock = asyncio.Lock()
        self._feed: EventFeed | None = None
        self._pipeline: SignalPipeline | None = None
        self._summaries: AlertSummaries | None = None
        self._kpis: KpiEngine | None = None
        self._notifier: Notifier | None = None
        self._outbox: TransitionOutbox | None = None
        self._exporter: AlertPointExporter | None = None
        self._lifecycle: AlertLifecycle | None = None
        self._streams: StreamHealthWatch | None = None
        self._snapshots: SnapshotTaker | None = None
        self._kpi_marks: list[float] = []
        self._platform = AnalyticsReport(runtime.mqtt_username, clock)
        """Event times of transitions whose KPI windows wait for their InfluxDB points."""
        self.ready = asyncio.Event()

    # ---- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run every part until ``stop`` is set."""
        rt, s = self.runtime, self.runtime.settings
        checkpoint = FileCheckpoint(rt.checkpoint_path)
        resume = checkpoint.load()
        async with contextlib.AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                await AlertStore.connect(
                    rt.alerts.store_url(rt.state_dir), rt.alerts.password.get_secret_value()
                )
            )
            lifecycle = self._lifecycle = AlertLifecycle(
                store,
                escalation=rt.alerts.escalation,
                evidence=DiskEvidenceStorage(rt.alerts.evidence_root(rt.state_dir)),
            )
            influx = await stack.enter_async_context(
                InfluxV1Client(
                    rt.influx_url,
                    rt.influx_database,
                    username=rt.influx_username,
                    password=rt.influx_password,
                    token=rt.influx_token,
                    timeout=60.0,
                )
            )
            writer = await stack.enter_async_context(
                InfluxPointWriter(
                    rt.influx_url,
                    rt.influx_database,
                    username=rt.influx_username,
                    password=rt.influx_password,
                )
            )
            self._exporter = AlertPointExporter(store, writer)
            self._outbox = TransitionOutbox(store, sites=rt.sites)
            kpi_client = await stack.enter_async_context(
                KpiInflux(
                    rt.influx_url,
                    rt.influx_database,
                    username=rt.influx_username,
                    password=rt.influx_password,
                    token=rt.influx_token,
                )
            )
            kpis = KpiEngine(kpi_client, self.registry, rt.kpis, clock=self.clock)
            self._kpis = kpis if s.compute_kpis else None
            self._notifier = await stack.enter_async_context(
                Notifier(
                    rt.notify,
                    dead_letters=rt.dead_letters,
                    broker=BrokerLogin(
                        rt.mqtt_host, rt.mqtt_port, rt.alerts_username, rt.alerts_password or None
                    ),
                )
            )
            if rt.video_url and s.snapshot_timeout_seconds > 0:
                self._snapshots = await stack.enter_async_context(
                    SnapshotTaker(
                        lifecycle,
                        HubRoutes(rt.video_url, rt.video_shards),
                        authorization=(rt.twins_username, rt.twins_password),
                        timeout_s=s.snapshot_timeout_seconds,
                    )
                )
            self._summaries = AlertSummaries(lifecycle, self._twin_client)
            stack.callback(self._summaries.close)
            arrivals = ArrivalClock()
            engine = RuleEngine(
                self.ruleset.current,
                allowed_lateness_s=s.allowed_lateness_s if s.hold_seconds is None else 0.0,
                devices=self._devices(),
                hold_s=s.hold_seconds,
                clock=arrivals,
            )
            pipeline = self._pipeline = SignalPipeline(
                engine,
                lifecycle,
                resume_ms=resume,
                on_input=self._observe,
                after_commit=self._export_wanted.set,
                bookings=CalendarBookings(
                    influx, sites=rt.sites, poll_seconds=s.bookings_poll_seconds
                ),
            )
            first_start = (
                int((self.clock() - s.start_lookback_hours * 3600) * 1000)
                if s.start_lookback_hours > 0
                else None
            )
            feed = self._feed = EventFeed(
                FeedSettings(
                    host=rt.mqtt_host,
                    port=rt.mqtt_port,
                    username=rt.mqtt_username,
                    password=rt.mqtt_password,
                    lookback_ms=round(s.lookback_minutes * 60_000),
                    first_start_ms=first_start,
                    sites=rt.sites,
                    save_every_seconds=s.checkpoint_seconds,
                ),
                influx,
                CommittedCheckpoint(checkpoint, lambda: pipeline.committed_ms),
                pipeline.handle,
                handle_presence=pipeline.handle,
                clock=self.clock,
                arrivals=arrivals,
            )
            self._streams = StreamHealthWatch(
                self._twin_client, pipeline.handle_hub_clock, sites=rt.sites
            )
            self.health_port = stack.enter_context(
                serve_health(self._report, s.health_host, s.health_port)
            )
            logger.info(
                "analytics for %s: rules %s (version %d), checkpoint %s",
                ", ".join(rt.sites) or "every site",
                rt.rules_dir,
                self.ruleset.current.version,
                resume if resume is not None else "none",
            )
            async with asyncio.TaskGroup() as group:
                notify = group.create_task(self._notifier.run(), name="notify")
                loops = [
                    group.create_task(feed.run(), name="analytics-feed"),
                    group.create_task(self._streams.run(), name="analytics-stream-health"),
                    group.create_task(self._export_loop(), name="analytics-export"),
                    group.create_task(
                        self._every(s.escalation_seconds, self._escalate),
                        name="analytics-escalation",
                    ),
                    group.create_task(self._watch_rules(), name="analytics-rules"),
                    group.create_task(
                        self._every(
                            EVENT_CLOCK_SECONDS,
                            lambda: pipeline.advance_idle(s.idle_advance_seconds),
                        ),
                        name="analytics-event-clock",
                    ),
                    group.create_task(self._ready_when_caught_up(feed), name="analytics-ready"),
                    group.create_task(
                        self._every(s.platform_seconds, partial(self._write_platform, writer)),
                        name="analytics-platform",
                    ),
                ]
                if s.hold_seconds is not None:  # the held inputs come out as time passes
                    tick = max(0.02, min(0.1, s.hold_seconds / 4))
                    loops.append(
                        group.create_task(self._every(tick, pipeline.tick), name="analytics-hold")
                    )
                if s.compute_kpis:
                    loops.append(group.create_task(kpis.run(stop), name="analytics-kpis"))
                await stop.wait()
                logger.info("analytics stopping")
                for task in loops:
                    task.cancel()
                await asyncio.gather(*loops, return_exceptions=True)
                await self._export()  # what the last steps committed
                try:
                    await asyncio.wait_for(self._notifier.drain(), DRAIN_SECONDS)
                except TimeoutError:
                    logger.warning("analytics stopped with notices undelivered (dead-lettered)")
                notify.cancel()

    async def _write_platform(self, writer: InfluxPointWriter) -> None:
        """One ``platform`` point of this process's health (analytics/service/platform.py)."""
        if self._feed is not None and self._pipeline is not None:
            pipeline = self._pipeline
            line = self._platform.line(
                self._feed.stats, pipeline.stats, self.notices, pipeline.committed_ms
            )
            if line is not None:
                await writer.write([line])

    async def _ready_when_caught_up(self, feed: EventFeed) -> None:
        await feed.caught_up.wait()
        if self._snapshots is not None:
            self._snapshots.live = True
        self.ready.set()
        logger.info("analytics caught up: %s", asdict(feed.stats))

    async def _every(self, seconds: float, step: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except AlertError as exc:
                logger.error("analytics: %s; trying again in %.0f s", exc, seconds)

    # ---- inputs --------------------------------------------------------------------------------

    def _devices(self) -> list[DeviceInfo]:
        """The registry's devices of this process's sites (for desks and silences)."""
        sites = set(self.runtime.sites)
        return [
            DeviceInfo(
                str(device.thing_id),
                device.kind,
                device.site_id,
                device.sector.value,
                dict(device.attributes),
            )
            for device in self.registry
            if not sites or device.site_id in sites
        ]

    def _observe(self, item: Input) -> None:
        if isinstance(item, NormalizedEvent) and self._kpis is not None:
            self._kpis.observe(item)

    async def _watch_rules(self) -> None:
        """Reread the rule directory and the registry on SIGHUP and every
        ``rules_poll_seconds``: new rules take over at once; a broken file is logged with
        file:line and the old rules stay; so do the registry's."""
        poll = self.runtime.settings.rules_poll_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reload_requested.wait(), poll)
            self.reload_requested.clear()
            result = await asyncio.to_thread(self.ruleset.reload)
            if result.changed and self._pipeline is not None:
                await self._pipeline.switch(self.ruleset.current)
            await self._reload_registry()

    async def _reload_registry(self) -> None:
        """Follow the registry file (``citytwin provision`` rewrites it as it creates the
        twins): a device added there is judged with its kind, sector and attributes — a new
        desk camera's ``watches`` — and counted in the KPIs, without a restart."""
        path = self.runtime.registry_path
        stamp = _stamp(path)
        if stamp == self._registry_stamp:
            return
        try:
            registry = await asyncio.to_thread(Registry.load, path)
        except ValueError as exc:  # YamlModelError names the file, line and field
            self.registry_errors = str(exc).splitlines()
            logger.error("registry %s not reloaded, the previous one stays: %s", path, exc)
            return
        finally:
            self._registry_stamp = stamp
        before = {str(device.thing_id) for device in self.registry}
        self.registry, self.registry_errors = registry, []
        if self._pipeline is not None:
            await self._pipeline.know(self._devices())
        if self._kpis is not None:
            self._kpis.registry = registry
        added = sorted({str(device.thing_id) for device in registry} - before)
        logger.info(
            "registry %s reloaded: %d devices, new: %s",
            path, len(registry), ", ".join(added) or "none",
        )  # fmt: skip

    # ---- outputs -------------------------------------------------------------------------------

    async def _escalate(self) -> None:
        if self._lifecycle is None:
            return
        escalated = await self._lifecycle.escalate_due()
        if escalated:
            self._export_wanted.set()

    async def _export_loop(self) -> None:
        seconds = self.runtime.settings.export_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._export_wanted.wait(), seconds)
            self._export_wanted.clear()
            try:
                await self._export()
            except AlertError as exc:
                logger.error("analytics: alert outbox not drained: %s", exc)

    async def _export(self) -> None:
        """Hand committed transitions to the notifiers and the twins; then the InfluxDB
        points (which wait, while InfluxDB is away, without holding notices up); then the
        KPI windows of the transitions, once their points are there to be read."""
        async with self._export_lock:
            await self._snapshots_settled()
            if self._outbox is not None:
                await self._outbox.dispatch(self._hand_over)
            if self._summaries is not None:
                await self._summaries.write_marked()
            if self._exporter is not None:
                try:
                    await self._exporter.export_pending()
                except AlertExportError as exc:
                    logger.warning("alert points wait for InfluxDB: %s", exc)
                    return
            if self._kpis is not None:
                for at in self._kpi_marks:
                    self._kpis.mark(at)
            self._kpi_marks.clear()

    async def _snapshots_settled(self) -> None:
        """Take the snapshots of the camera alerts whose opening is about to be told, so
        that their notices link them (at most the snapshot timeout)."""
        if self._snapshots is None or self._outbox is None:
            return
        await self._snapshots.take_for(await self._outbox.pending())

    def _hand_over(self, transitions: list[Transition]) -> None:
        console = self.runtime.notify.console_url
        for transition in transitions:
            notice = notice_of(transition, str(console) if console else None)
            if notice is not None and self._notifier is not None:
                self._notifier.notify(notice)
                self.notices += 1
            self._kpi_marks.append(transition.entry.at.timestamp())
        if self._summaries is not None:
            self._summaries.mark(transitions)

    def _twin_client(self) -> DittoClient:
        rt = self.runtime
        return DittoClient(
            rt.twins_url,
            rt.twins_username,
            rt.twins_password,
            timeout=rt.twins_timeout,
            pre_authenticated=rt.twins_pre_authenticated,
        )

    # ---- health --------------------------------------------------------------------------------

    def health_report(self) -> dict[str, Any]:
        """The figures of ``/health``."""
        return self._report()[1]

    def _report(self) -> tuple[bool, dict[str, Any]]:
        figures: dict[str, Any] = {
            "sites": list(self.runtime.sites),
            "rules_version": self.ruleset.current.version,
            "rule_errors": list(self.ruleset.last_errors),
            "registry_devices": len(self.registry),
            "registry_errors": list(self.registry_errors),
            "notices": self.notices,
        }
        if self._feed is not None:
            figures["feed"] = asdict(self._feed.stats)
        if self._pipeline is not None:
            figures["pipeline"] = asdict(self._pipeline.stats)
            figures["committed_ms"] = self._pipeline.committed_ms
            figures["engine"] = asdict(self._pipeline.engine.stats)
        if self._summaries is not None:
            figures["twin_summaries_written"] = self._summaries.written
        if self._streams is not None:
            figures["stream_health_changes"] = self._streams.changes
        if self._snapshots is not None:
            figures["snapshots"] = asdict(self._snapshots.stats)
        return self.ready.is_set(), figures


async def run(runtime: AnalyticsRuntime, stop: asyncio.Event | None = None) -> None:
    """Run the analytics process until SIGTERM/SIGINT (or ``stop``); SIGHUP rereads the
    rules and the registry."""
    stop = stop or asyncio.Event()
    service = AnalyticsService(runtime)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, service.reload_requested.set)
    try:
        await service.run(stop)
    except ExceptionGroup as group:  # a task failed (the store away): its error, for the CLI
        raise _first(group) from group
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a rewritten file: its modification time and size (None: unreadable)."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
