"""The analytics process's own health as points of the ``platform`` measurement.

Ingest writes its figures and the broker's there (docs/ingest.md); the platform board
reads analytics' beside them: events taken from the feed, signals the rules raised,
notices sent, and how far the committed event time lags the clock. Counts are per report
period, as ingest's. A report InfluxDB cannot take is logged and dropped: the next one
carries the next period, and the alert store keeps what matters.

    platform,source=analytics,worker=W  events=…i,invalid=…i,signals=…i,notices=…i,…
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from analytics.feed import FeedStats
from analytics.service.pipeline import PipelineStats
from ingest.lineprotocol import FieldValue, encode_line, series_key

MEASUREMENT = "platform"


@dataclass
class AnalyticsReport:
    """Turns the process's running totals into one point per call."""

    worker: str
    clock: Callable[[], float]
    _before: dict[str, int] = field(default_factory=dict)

    def line(
        self, feed: FeedStats, pipeline: PipelineStats, notices: int, committed_ms: int | None
    ) -> str | None:
        """The point of the period since the previous call (``committed_ms``: the event
        time the pipeline committed)."""
        return self.line_of(
            {
                "events": feed.live + feed.replayed, "invalid": feed.invalid,
                "duplicates": feed.duplicates, "inputs": pipeline.inputs,
                "signals": pipeline.signals, "notices": notices,
            },
            committed_ms,
        )  # fmt: skip

    def line_of(self, totals: Mapping[str, int], committed_ms: int | None) -> str | None:
        """As ``line``, from running counts by field name."""
        now = self.clock()
        fields: list[tuple[str, FieldValue]] = [
            (name, max(value - self._before.get(name, 0), 0)) for name, value in totals.items()
        ]
        self._before = dict(totals)
        if committed_ms:
            fields.append(("event_time_lag_seconds", max(now - committed_ms / 1000, 0.0)))
        tags = {"source": "analytics", "worker": self.worker}
        return encode_line(series_key(MEASUREMENT, tags), fields, int(now * 1e9))
