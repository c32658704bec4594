"""What crosses the API's boundary: request and response bodies as pydantic models (the
OpenAPI description is made from them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.alerts.records import Action, Alert, HistoryEntry, MaintenanceWindow, Resolution


class SeverityName(StrEnum):
    """Severities by their words, as the API and InfluxDB spell them (``Severity.label``)."""

    INFO = "info"
    WARNING = "warning"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def severity(self) -> Severity:
        return Severity.parse(self.value)


class AlertBody(BaseModel):
    """An alert as stored, with links to its history and evidence."""

    id: str
    key: str = Field(description="rule|device|zone: one alert per key is open at a time")
    rule: str
    device: str
    zone: str
    rule_type: RuleType
    severity: str = Field(description="info, warning, major or critical")
    state: AlertState
    site: str
    sector: str
    opened_at: datetime = Field(description="when the condition began (event time)")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: Resolution | None
    assignee: str | None
    escalation_level: int
    escalate_at: datetime | None
    message_vi: str
    message_en: str
    details: dict[str, Any]
    evidence: str | None = Field(description="URL of the JPEG snapshot, if there is one")

    @classmethod
    def of(cls, alert: Alert) -> AlertBody:
        return cls(
            id=alert.id,
            key=str(alert.key),
            rule=alert.key.rule,
            device=alert.device,
            zone=alert.zone,
            rule_type=alert.rule_type,
            severity=alert.severity.label,
            state=alert.state,
            site=alert.site,
            sector=alert.sector,
            opened_at=alert.opened_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            resolved_at=alert.resolved_at,
            resolved_by=alert.resolved_by,
            resolution=alert.resolution,
            assignee=alert.assignee,
            escalation_level=alert.escalation_level,
            escalate_at=alert.escalate_at,
            message_vi=alert.message_vi,
            message_en=alert.message_en,
            details=alert.details,
            evidence=f"/api/alerts/{alert.id}/evidence" if alert.evidence_path else None,
        )


class AlertListBody(BaseModel):
    """A page of alerts: not resolved first, then most severe, then newest."""

    total: int = Field(description="alerts matching the filters, on every page")
    limit: int
    offset: int
    alerts: list[AlertBody]


class HistoryBody(BaseModel):
    """One line of an alert's history."""

    id: int
    at: datetime
    actor: str
    action: Action
    from_state: AlertState | None
    to_state: AlertState
    severity: str
    escalation_level: int
    resolution: Resolution | None
    note: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryBody:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            from_state=entry.from_state,
            to_state=entry.to_state,
            severity=entry.severity.label,
            escalation_level=entry.escalation_level,
            resolution=entry.resolution,
            note=entry.note,
            details=entry.details,
        )


class ActionBody(BaseModel):
    """An optional note with an action (acknowledge)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=4000, description="kept in the history")


class ManualResolution(StrEnum):
    """How an operator resolves: handled, or a false alarm (the KPIs' false-alert share)."""

    MANUAL = Resolution.MANUAL.value
    FALSE_ALARM = Resolution.FALSE_ALARM.value


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: ManualResolution = Field(
        ManualResolution.MANUAL, description="manual (handled) or false_alarm"
    )
    note: str | None = Field(None, max_length=4000)


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=200, description="who takes the alert")
    note: str | None = Field(None, max_length=4000)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class MaintenanceBody(BaseModel):
    """A maintenance window to add: the site (or one device of it) opens no alerts."""

    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=200)
    device: str | None = Field(None, min_length=1, max_length=200, description="none: the site")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class MaintenanceWindowBody(BaseModel):
    id: int
    site: str
    device: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str

    @classmethod
    def of(cls, window: MaintenanceWindow) -> MaintenanceWindowBody:
        return cls.model_validate(window, from_attributes=True)  # the same fields
