"""The hot path: one raw MQTT message in; a point, a twin patch, an event or a dead letter out.

``Pipeline.handle`` is synchronous and never raises for a bad message: every refusal
becomes a dead letter with a reason code. The caller acknowledges every message (accepted
or not) once the batch it belongs to is durable.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ingest.lineprotocol import encode_line, series_key
from ingest.mapping import (
    DeviceContext,
    availability_line,
    event_dict,
    line_of,
    quality_event,
)
from ingest.metrics import IngestMetrics
from ingest.registry_file import RegistryFile
from ingest.sequence import SequenceTracker, SeqVerdict
from ingest.settings import IngestSettings
from ingest.twin_updates import TwinUpdater
from twins.errors import ContractError, ContractReason
from twins.kinds import REPORT_INTERVAL_SECONDS
from twins.patches import fold_patch, reported_patch, stale_patch
from twins.payloads import Status, parse_payload
from twins.registry import Registry
from twins.thing_id import ThingId
from twins.topics import Channel, deadletter_topic, event_topic, parse_topic

logger = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int], bool]
"""Sends (topic, payload, qos) on MQTT without waiting; False when it could not."""

QUALITY = "device_sequence"
DEAD_LETTER_PAYLOAD_BYTES = 4096
"""How much of a refused payload its dead letter carries (``payload_bytes`` says the size)."""
DEADLETTER_LOG_SECONDS = 60.0
"""After the first dead letter of a (device, reason), at most one log line per this period."""
_DEADLETTER_LOG_KEYS = 10_000
"""Bound of the (device, reason) pairs remembered for logging."""


def check_ts_window(
    ts_ms: int, now_ms: int, max_future_seconds: float, max_past_seconds: float
) -> tuple[ContractReason, str] | None:
    """``(reason, message)`` when ``ts_ms`` is too far ahead of or behind ``now_ms``."""
    ahead = (ts_ms - now_ms) / 1000
    if ahead > max_future_seconds:
        return ContractReason.TS_FUTURE, (
            f"ts {ts_ms} is {ahead:.0f} s ahead of the server clock"
            f" (at most {max_future_seconds:.0f} s)"
        )
    if -ahead > max_past_seconds:
        return ContractReason.TS_PAST, (
            f"ts {ts_ms} is {-ahead:.0f} s behind the server clock"
            f" (at most {max_past_seconds:.0f} s)"
        )
    return None


@dataclass(slots=True)
class Batch:
    """Points and acknowledgements that become durable together, in arrival order."""

    started: float
    lines: list[str] = field(default_factory=list)
    acks: list[tuple[int, int, int]] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    quality: dict[str, list[int]] = field(default_factory=dict)
    messages: int = 0
    newest_ts_ms: int = 0


@dataclass(slots=True)
class _Route:
    context: DeviceContext
    channel: Channel
    event_topic: str


class Pipeline:
    """Validates and maps device messages for one ingest process."""

    def __init__(
        self,
        registry: Registry,
        settings: IngestSettings,
        metrics: IngestMetrics,
        *,
        publish: Publish,
        twins: TwinUpdater | None,
        registry_file: RegistryFile | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._publish = publish
        self._twins = twins
        self._clock = clock
        self._registry_file = registry_file
        self._deadletter_logged: dict[tuple[str, ContractReason], list[float]] = {}
        self._routes: dict[str, _Route] = {}
        self._contexts: dict[ThingId, DeviceContext] = {}
        self.sequences = SequenceTracker()
        self.last_seen: dict[str, tuple[float, DeviceContext]] = {}
        self.stale: set[str] = set()
        self.counts: dict[str, int] = {}
        self.accepted = 0
        self.duplicates = 0
        self.use_registry(registry)

    def use_registry(self, registry: Registry) -> None:
        """Switch to a new registry (devices added or removed by provisioning)."""
        self._contexts = {device.thing_id: DeviceContext.of(device) for device in registry}
        self._routes = {}

    def _route(self, topic: str, payload: bytes, received_ms: int) -> _Route | None:
        try:
            parsed = parse_topic(topic)
        except ContractError as exc:
            self.dead_letter(None, ContractReason.TOPIC, str(exc), topic, payload, received_ms)
            return None
        context = self._contexts.get(parsed.thing_id)
        if context is None and self._registry_file is not None:
            # provisioning may have just added it: look at the file before refusing (one
            # stat, on the dead-letter path only; the file is parsed only when it changed)
            registry = self._registry_file.refresh()
            if registry is not None:
                self.use_registry(registry)
                context = self._contexts.get(parsed.thing_id)
        if context is None:
            self.dead_letter(
                parsed.thing_id,
                ContractReason.UNKNOWN_DEVICE,
                f"device {parsed.thing_id} on {topic!r} is not in the registry",
                topic,
                payload,
                received_ms,
            )
            return None
        route = _Route(
            context, parsed.channel, event_topic(context.device.kind.value, parsed.thing_id)
        )
        self._routes[topic] = route
        return route

    def handle(self, topic: str, payload: bytes, batch: Batch) -> None:
        """Check one message and add what it becomes to ``batch`` (or dead-letter it)."""
        now = self._clock()
        received_ms = int(now * 1000)
        batch.messages += 1
        route = self._routes.get(topic)
        if route is None:
            route = self._route(topic, payload, received_ms)
            if route is None:
                return
        context = route.context
        channel = route.channel
        self.counts[channel] = self.counts.get(channel, 0) + 1
        try:
            message = parse_payload(context.device.thing_id, context.device.kind, channel, payload)
        except ContractError as exc:
            self.dead_letter(
                context.device.thing_id,
                exc.reason,
                f"{exc} (topic {topic!r})",
                topic,
                payload,
                received_ms,
            )
            return
        ts_ms = message.ts_ms
        from_device = ts_ms is not None
        if ts_ms is None:
            ts_ms = received_ms
        else:
            refused = check_ts_window(
                ts_ms,
                received_ms,
                self.settings.max_future_seconds,
                self.settings.max_past_seconds,
            )
            if refused is not None:
                self.dead_letter(
                    context.device.thing_id,
                    refused[0],
                    f"{refused[1]}: {context.thing} on {topic!r}",
                    topic,
                    payload,
                    received_ms,
                )
                return
        thing = context.thing
        if message.seq is not None:
            check = self.sequences.check(thing, message.seq, message.ts_ms)
            if check.verdict is SeqVerdict.DUPLICATE:
                self._quality(batch, thing, 0)
                self.duplicates += 1
                return
            if check.missing:
                self._quality(batch, thing, 1, check.missing)
        elif isinstance(message.data, Status) and message.data.state == "online":
            self.sequences.forget(thing)  # a birth: the device (re)started counting
        self.accepted += 1
        line = line_of(context, message, ts_ms)
        if line is not None:
            batch.lines.append(line)
        if ts_ms > batch.newest_ts_ms:
            batch.newest_ts_ms = ts_ms
        seen = time.monotonic()
        self.last_seen[thing] = (seen, context)
        was_stale = thing in self.stale
        if self._twins is not None:
            patch = reported_patch(message, ts_ms)
            if was_stale:
                fold_patch(patch, stale_patch(False))
            self._twins.add(thing, patch, seen)
        if was_stale:
            self.stale.discard(thing)
            self.metrics.stale_devices.set(len(self.stale))
        if self.settings.events_enabled:
            events = batch.events.get(route.event_topic)
            if events is None:
                events = batch.events[route.event_topic] = []
            events.append(event_dict(context, message, ts_ms, from_device))

    def sequences_dropped(self) -> int:
        """Messages dropped as duplicates since start."""
        return self.duplicates

    def _quality(self, batch: Batch, thing: str, index: int, amount: int = 1) -> None:
        counts = batch.quality.get(thing)
        if counts is None:
            counts = batch.quality[thing] = [0, 0]
        counts[index] += amount

    def finish(self, batch: Batch) -> None:
        """Add the batch's sequence-quality points and metrics (call once, when taken)."""
        for channel, count in self.counts.items():
            self.metrics.messages.labels(channel).inc(count)
        self.counts.clear()
        self.metrics.accepted.inc(self.accepted)
        self.accepted = 0
        if not batch.quality:
            return
        now_ms = int(self._clock() * 1000)
        for thing, (duplicates, missing) in batch.quality.items():
            context = self.last_seen.get(thing, (0.0, None))[1] or self._context_of(thing)
            if context is None:
                continue
            name = context.thing
            if duplicates:
                self.metrics.duplicates.labels(name).inc(duplicates)
            if missing:
                self.metrics.gaps.labels(name).inc(missing)
            series = series_key(QUALITY, context.tags)
            line = encode_line(
                series, [("duplicates", duplicates), ("missing", missing)], now_ms * 1_000_000
            )
            if line is not None:
                batch.lines.append(line)
            if self.settings.events_enabled:
                topic = event_topic(context.device.kind.value, context.device.thing_id)
                batch.events.setdefault(topic, []).append(
                    quality_event(context, duplicates, missing, now_ms)
                )

    def _context_of(self, thing: str) -> DeviceContext | None:
        try:
            return self._contexts.get(ThingId.parse(thing))
        except ValueError:
            return None

    def dead_letter(
        self,
        thing_id: ThingId | None,
        reason: ContractReason,
        detail: str,
        topic: str,
        payload: bytes,
        received_ms: int,
    ) -> None:
        """Log, count and republish a refused message on its dead-letter topic."""
        known = thing_id is not None and thing_id in self._contexts
        device = str(thing_id) if known else "_unknown"
        self.metrics.deadletters.labels(device, reason).inc()
        self._log_dead_letter(str(thing_id) if thing_id is not None else "_unknown", reason, detail)
        # the dead letter must fit the broker's packet limit whatever came in: a refused
        # 200 kB payload, base64-encoded, would otherwise get ingest disconnected on every
        # (re)send of it
        kept = payload[:DEAD_LETTER_PAYLOAD_BYTES]
        try:
            payload.decode("utf-8")
            # a cut may split the last character: drop that fragment only
            text, encoding = kept.decode("utf-8", errors="ignore"), "text"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        body = orjson.dumps(
            {
                "reason": reason,
                "detail": detail,
                "topic": topic,
                "payload": text,
                "payload_encoding": encoding,
                "payload_bytes": len(payload),
                "truncated": len(kept) < len(payload),
                "received_at": received_ms,
            }
        )
        if not self._publish(deadletter_topic(thing_id), body, 1):
            logger.warning("dead letter of %s not published: no broker connection", topic)

    def _log_dead_letter(self, source: str, reason: ContractReason, detail: str) -> None:
        """Log the first dead letter of (source, reason), then at most one line a period."""
        now = time.monotonic()
        key = (source, reason)
        logged = self._deadletter_logged.get(key)
        if logged is None:
            if len(self._deadletter_logged) >= _DEADLETTER_LOG_KEYS:
                self._deadletter_logged.clear()
            self._deadletter_logged[key] = [now, 0.0]
            logger.warning("dead letter (%s) from %s: %s", reason, source, detail)
            return
        logged[1] += 1
        if now - logged[0] >= DEADLETTER_LOG_SECONDS:
            logger.warning(
                "dead letters (%s) from %s: %d more in the last %.0f s; latest: %s",
                reason,
                source,
                int(logged[1]),
                now - logged[0],
                detail,
            )
            logged[0], logged[1] = now, 0.0

    def find_stale(self, factor: float, after: float | None = None) -> list[DeviceContext]:
        """Devices silent for ``factor`` report intervals (or ``after`` seconds), newly
        found (marks them stale)."""
        now = time.monotonic()
        found = []
        for thing, (seen, context) in self.last_seen.items():
            if thing in self.stale:
                continue
            limit = after or factor * REPORT_INTERVAL_SECONDS[context.device.kind]
            if now - seen > limit:
                self.stale.add(thing)
                found.append(context)
        if found:
            self.metrics.stale_devices.set(len(self.stale))
        return found

    def stale_line(self, context: DeviceContext) -> str:
        """The availability point that records a device going stale."""
        return availability_line(context, "stale", int(self._clock() * 1000))
