"""What the alerts of a period say: how many of each type, how fast people answered, and
the incidents that mattered most.

Response times are measured from ``opened_at`` (the event time at which the condition
began), as the KPIs ``alert_mtta`` and ``alert_mttr`` are — so the report's means agree
with the scorecard's. An alert resolved without an acknowledgement has no time to
acknowledge; one not yet resolved counts as *waiting* in both, and as an incident it
lasts until the end of the period (or now, for a period still running).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.alerts.records import Alert, Resolution
from analytics.kpis.aggregate import quantile

TOP_INCIDENTS = 10


@dataclass(slots=True, frozen=True)
class Incident:
    alert: Alert
    minutes: float
    """From opening to resolution, or to the period's end while it is not resolved."""
    ongoing: bool


@dataclass(slots=True, frozen=True)
class ResponseTimes:
    """The distribution of one response time, in minutes."""

    minutes: tuple[float, ...]
    waiting: int
    """Alerts of the period still without this response."""

    @property
    def count(self) -> int:
        return len(self.minutes)

    @property
    def mean(self) -> float | None:
        return sum(self.minutes) / len(self.minutes) if self.minutes else None

    @property
    def median(self) -> float | None:
        return quantile(self.minutes, 0.5) if self.minutes else None

    @property
    def p90(self) -> float | None:
        return quantile(self.minutes, 0.9) if self.minutes else None

    @property
    def longest(self) -> float | None:
        return max(self.minutes) if self.minutes else None


@dataclass(slots=True, frozen=True)
class AlertSummary:
    total: int
    resolved: int
    false_alarms: int
    by_type: dict[RuleType, Counter[Severity]]
    """Alerts per rule type, split by severity, most frequent type first."""
    acknowledge: ResponseTimes
    resolve: ResponseTimes
    top: tuple[Incident, ...]

    @property
    def active(self) -> int:
        return self.total - self.resolved


def _minutes(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 60)


def summarise(alerts: Sequence[Alert], until: datetime, top: int = TOP_INCIDENTS) -> AlertSummary:
    """The summary of the alerts opened in a period ending at ``until`` (or now)."""
    acknowledged: list[float] = []
    resolved: list[float] = []
    incidents: list[Incident] = []
    by_type: dict[RuleType, Counter[Severity]] = {}
    for alert in alerts:
        by_type.setdefault(alert.rule_type, Counter())[alert.severity] += 1
        if alert.acknowledged_at is not None:
            acknowledged.append(_minutes(alert.acknowledged_at, alert.opened_at))
        if alert.resolved_at is not None:
            resolved.append(_minutes(alert.resolved_at, alert.opened_at))
        ongoing = alert.state is not AlertState.RESOLVED or alert.resolved_at is None
        end = until if ongoing or alert.resolved_at is None else alert.resolved_at
        incidents.append(Incident(alert, _minutes(end, alert.opened_at), ongoing))
    open_ones = sum(1 for alert in alerts if alert.state is not AlertState.RESOLVED)
    unacknowledged = sum(1 for alert in alerts if alert.state is AlertState.OPEN)
    incidents.sort(key=lambda one: (-int(one.alert.severity), -one.minutes, one.alert.opened_at))
    return AlertSummary(
        total=len(alerts),
        resolved=len(alerts) - open_ones,
        false_alarms=sum(1 for a in alerts if a.resolution is Resolution.FALSE_ALARM),
        by_type=dict(sorted(by_type.items(), key=lambda item: (-item[1].total(), item[0]))),
        acknowledge=ResponseTimes(tuple(acknowledged), unacknowledged),
        resolve=ResponseTimes(tuple(resolved), open_ones),
        top=tuple(incidents[:top]),
    )


def severities_present(summary: AlertSummary) -> list[Severity]:
    """The severities that occur, highest first (the chart's legend)."""
    found: set[Severity] = set()
    for counts in summary.by_type.values():
        found.update(s for s, n in counts.items() if n)
    return sorted(found, reverse=True)
