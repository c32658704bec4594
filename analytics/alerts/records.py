"""What the lifecycle hands back: alerts, their history, maintenance windows — plain frozen
records read from the store's rows, so callers never hold a database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from analytics.alerts.model import AlertKey, AlertState, RuleType, Severity
from analytics.alerts.tables import AlertRow, HistoryRow, MaintenanceWindowRow, SignalRow


class Resolution(StrEnum):
    """How an alert was resolved."""

    AUTO = "auto"
    """The condition cleared (a signal with ``active=False``)."""
    MANUAL = "manual"
    """An operator resolved it."""
    FALSE_ALARM = "false_alarm"
    """An operator resolved it as a false alarm (the KPIs' false-alert share)."""


class Action(StrEnum):
    """What a history entry records."""

    OPENED = "opened"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    ASSIGNED = "assigned"
    NOTED = "noted"
    EVIDENCE = "evidence"


TRANSITIONS = frozenset({Action.OPENED, Action.ACKNOWLEDGED, Action.RESOLVED, Action.ESCALATED})
"""The actions that are transitions: each is also an InfluxDB ``alert`` point."""


class SignalOutcome(StrEnum):
    """What applying one signal did."""

    OPENED = "opened"
    UPDATED = "updated"
    """The key's open (or acknowledged) alert took the signal; no second alert."""
    RESOLVED = "resolved"
    DUPLICATE = "duplicate"
    """The same signal (key, ``at``, ``active``) was applied before: nothing changed."""
    SUPPRESSED = "suppressed"
    """A maintenance window covers the device at the signal's time: no alert."""
    NO_ALERT = "no_alert"
    """The condition cleared while no alert of the key was open (resolved by hand, or
    suppressed)."""
    STALE = "stale"
    """The condition cleared at a time before the open alert began: an older episode's."""


@dataclass(slots=True, frozen=True)
class Alert:
    """An alert as stored."""

    id: str
    key: AlertKey
    rule_type: RuleType
    severity: Severity
    state: AlertState
    site: str
    sector: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: Resolution | None
    assignee: str | None
    escalation_level: int
    escalate_at: datetime | None
    evidence_path: str | None
    message_vi: str
    message_en: str
    details: dict[str, Any]

    @property
    def device(self) -> str:
        return self.key.device

    @property
    def zone(self) -> str:
        return self.key.zone

    @classmethod
    def from_row(cls, row: AlertRow) -> Alert:
        return cls(
            id=row.id,
            key=AlertKey.parse(row.key),
            rule_type=RuleType(row.rule_type),
            severity=Severity.parse(row.severity),
            state=AlertState(row.state),
            site=row.site,
            sector=row.sector,
            opened_at=row.opened_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            resolution=Resolution(row.resolution) if row.resolution else None,
            assignee=row.assignee,
            escalation_level=row.escalation_level,
            escalate_at=row.escalate_at,
            evidence_path=row.evidence_path,
            message_vi=row.message_vi,
            message_en=row.message_en,
            details=dict(row.details),
        )


@dataclass(slots=True, frozen=True)
class HistoryEntry:
    """One line of an alert's history: who did what, when, with the state after it."""

    id: int
    alert_id: str
    at: datetime
    actor: str
    action: Action
    from_state: AlertState | None
    to_state: AlertState
    severity: Severity
    escalation_level: int
    resolution: Resolution | None
    note: str | None
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: HistoryRow) -> HistoryEntry:
        return cls(
            id=row.id,
            alert_id=row.alert_id,
            at=row.at,
            actor=row.actor,
            action=Action(row.action),
            from_state=AlertState(row.from_state) if row.from_state else None,
            to_state=AlertState(row.to_state),
            severity=Severity.parse(row.severity),
            escalation_level=row.escalation_level,
            resolution=Resolution(row.resolution) if row.resolution else None,
            note=row.note,
            details=dict(row.details),
        )


@dataclass(slots=True, frozen=True)
class AppliedSignal:
    """A signal as the store recorded it, with what it did."""

    key: AlertKey
    at: datetime
    active: bool
    outcome: SignalOutcome
    alert_id: str | None
    window_id: int | None

    @classmethod
    def from_row(cls, row: SignalRow) -> AppliedSignal:
        return cls(
            key=AlertKey.parse(row.key),
            at=row.at,
            active=row.active,
            outcome=SignalOutcome(row.outcome),
            alert_id=row.alert_id,
            window_id=row.window_id,
        )


@dataclass(slots=True, frozen=True)
class Applied:
    """The answer of ``AlertLifecycle.apply``: what the signal did and the alert it touched
    (None when it opened nothing)."""

    outcome: SignalOutcome
    alert: Alert | None
    window_id: int | None = None


@dataclass(slots=True, frozen=True)
class MaintenanceWindow:
    """A period in which a site, or one device of it, opens no alerts."""

    id: int
    site: str
    device: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str

    @classmethod
    def from_row(cls, row: MaintenanceWindowRow) -> MaintenanceWindow:
        return cls(
            id=row.id,
            site=row.site,
            device=row.device,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            reason=row.reason,
            created_by=row.created_by,
        )
