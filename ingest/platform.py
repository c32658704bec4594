"""Ingest's own health, and the broker's, as points of the ``platform`` measurement.

Prometheus ``/metrics`` answers whoever scrapes it; the operations centre's platform board
reads InfluxDB only. So every ``platform_seconds`` ingest turns its counters into points
that go through the same durable path as device points (a batch: InfluxDB or the spool):

    platform,source=ingest,worker=W  messages=…i,accepted=…i,deadletters=…i,…  (per period)
    platform,source=ingest,worker=W,reason=R  deadletters=…i                  (per reason seen)
    platform,source=broker,worker=W  clients_connected=…i,messages_received_per_s=…,…

Counts are what happened in the period, not totals since the process started, so the board
sums them across workers and intervals without a derivative (which would need two points
per interval and would break at each restart). The broker's figures are Mosquitto's
``$SYS`` topics (totals since the broker started, every ``sys_interval``, 10 s by
default), turned into rates per second between two of them: every worker reports the same
broker, and a mean of rates stays right however many do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from ingest.lineprotocol import FieldValue, encode_line, series_key
from ingest.metrics import IngestMetrics

logger = logging.getLogger(__name__)

MEASUREMENT = "platform"
SYS_PREFIX = "$SYS/broker/"
BROKER_TOPICS = {
    f"{SYS_PREFIX}clients/connected": "clients_connected",
    f"{SYS_PREFIX}publish/messages/received": "messages_received",
    f"{SYS_PREFIX}publish/messages/sent": "messages_sent",
    f"{SYS_PREFIX}publish/messages/dropped": "messages_dropped",
    f"{SYS_PREFIX}store/messages/count": "messages_stored",
}
"""The ``$SYS`` topics ingest subscribes to, and the figure each carries."""
GAUGES = ("clients_connected", "messages_stored")
"""Broker figures that are a level, not a running total."""

_COUNTS = {
    "messages": "messages",
    "accepted": "accepted",
    "points_written": "points_written",
    "points_spooled": "points_spooled",
    "points_replayed": "points_replayed",
    "points_rejected": "points_rejected",
    "write_retries": "write_retries",
    "duplicates": "duplicates",
    "gaps": "seq_missing",
    "twin_patches": "twin_patches",
    "twin_failures": "twin_failures",
}
"""IngestMetrics counter attribute → platform field (a count per period)."""
_LEVELS = {
    "spool_bytes": "spool_bytes",
    "queued_batches": "queued_batches",
    "stale_devices": "stale_devices",
    "mqtt_connected": "mqtt_connected",
}
"""IngestMetrics gauge attribute → platform field (its value at the report)."""


def counter_total(counter: Counter) -> float:
    """The sum of a counter over all its labels."""
    return sum(
        sample.value
        for family in counter.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def deadletters_by_reason(counter: Counter) -> dict[str, float]:
    """Dead letters so far, summed over devices, by reason."""
    totals: dict[str, float] = {}
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                reason = sample.labels.get("reason", "")
                totals[reason] = totals.get(reason, 0.0) + sample.value
    return totals


def histogram_sum_count(histogram: Histogram) -> tuple[float, float]:
    """``(sum, count)`` of an unlabelled histogram."""
    total = count = 0.0
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_sum"):
                total = sample.value
            elif sample.name.endswith("_count"):
                count = sample.value
    return total, count


def gauge_value(gauge: Gauge) -> float:
    return next(s.value for f in gauge.collect() for s in f.samples)


def parse_sys_value(payload: bytes) -> float | None:
    """A ``$SYS`` payload as a number (Mosquitto sends decimal text), else None."""
    try:
        value = float(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if value >= 0 else None


@dataclass
class BrokerFigures:
    """The latest ``$SYS`` figures, and the totals at the previous report (for rates)."""

    latest: dict[str, tuple[float, float]] = field(default_factory=dict)
    """figure → (value, when it arrived)."""
    reported: dict[str, tuple[float, float]] = field(default_factory=dict)

    def observe(self, topic: str, payload: bytes, now: float) -> bool:
        """Take a ``$SYS`` message; False when it is not one of BROKER_TOPICS or not a
        number (logged)."""
        figure = BROKER_TOPICS.get(topic)
        if figure is None:
            return False
        value = parse_sys_value(payload)
        if value is None:
            logger.warning("broker figure on %r is not a number: %r", topic, payload[:64])
            return False
        self.latest[figure] = (value, now)
        return True

    def fields(self) -> list[tuple[str, FieldValue]]:
        """The broker's levels, and the rate per second of each total since the last
        report (none for a total seen once; a smaller total means the broker restarted,
        and counts from zero)."""
        fields: list[tuple[str, FieldValue]] = []
        for figure, (value, at) in sorted(self.latest.items()):
            if figure in GAUGES:
                fields.append((figure, int(value)))
                continue
            before = self.reported.get(figure)
            if before is not None and at > before[1]:
                previous = before[0] if value >= before[0] else 0.0
                fields.append((f"{figure}_per_s", (value - previous) / (at - before[1])))
            if before is None or at > before[1]:
                self.reported[figure] = (value, at)
        return fields


@dataclass
class PlatformReport:
    """Turns ingest's metrics into ``platform`` lines, one report per call."""

    metrics: IngestMetrics
    worker: str
    broker: BrokerFigures = field(default_factory=BrokerFigures)
    clock: Callable[[], float] = field(default=lambda: 0.0)
    _counts: dict[str, float] = field(default_factory=dict)
    _reasons: dict[str, float] = field(default_factory=dict)
    _lag: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        self._take()  # what happened before the first report belongs to no period

    def _take(self) -> tuple[dict[str, float], dict[str, float], tuple[float, float]]:
        counts = {name: counter_total(getattr(self.metrics, name)) for name in _COUNTS}
        reasons = deadletters_by_reason(self.metrics.deadletters)
        lag = histogram_sum_count(self.metrics.lag_seconds)
        previous = self._counts, self._reasons, self._lag
        self._counts, self._reasons, self._lag = counts, reasons, lag
        return previous

    def lines(self) -> list[str]:
        """The points of the period since the previous call."""
        before_counts, before_reasons, before_lag = self._take()
        counts, reasons, lag = self._counts, self._reasons, self._lag
        time_ns = int(self.clock() * 1e9)
        fields: list[tuple[str, FieldValue]] = [
            (_COUNTS[name], int(max(counts[name] - before_counts.get(name, 0.0), 0)))
            for name in _COUNTS
        ]
        new_reasons = {
            reason: int(total - before_reasons.get(reason, 0.0))
            for reason, total in reasons.items()
            if total > before_reasons.get(reason, 0.0)
        }
        fields.append(("deadletters", sum(new_reasons.values())))
        fields += [(field, int(gauge_value(getattr(self.metrics, name))))
                   for name, field in _LEVELS.items()]  # fmt: skip
        lag_sum, lag_count = lag[0] - before_lag[0], lag[1] - before_lag[1]
        if lag_count > 0:
            fields.append(("lag_seconds", lag_sum / lag_count))
        fields.append(("device_lag_seconds", gauge_value(self.metrics.device_lag_seconds)))
        tags = {"source": "ingest", "worker": self.worker}
        lines = [encode_line(series_key(MEASUREMENT, tags), fields, time_ns)]
        for reason, count in sorted(new_reasons.items()):
            series = series_key(MEASUREMENT, {**tags, "reason": reason})
            lines.append(encode_line(series, [("deadletters", count)], time_ns))
        broker = self.broker.fields()
        if broker:
            series = series_key(MEASUREMENT, {"source": "broker", "worker": self.worker})
            lines.append(encode_line(series, broker, time_ns))
        return [line for line in lines if line is not None]
