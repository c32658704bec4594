"""The steps every change of an alert is made of, inside the caller's transaction: the
history entry, resolving, keeping a snapshot, the next escalation deadline.

Signals (``signals``), the escalation (``escalation``) and operators' actions
(``lifecycle``) all change alerts through these, so a transition looks the same in the
history — and in InfluxDB — whoever caused it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from analytics.alerts.errors import AlertNotFoundError, EvidenceError
from analytics.alerts.evidence import EvidenceStorage
from analytics.alerts.model import AlertState, Severity
from analytics.alerts.records import TRANSITIONS, Action, Resolution
from analytics.alerts.settings import EscalationSettings
from analytics.alerts.tables import AlertRow, HistoryRow

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
"""The actor of what signals do (open, update, resolve when the condition clears)."""
ESCALATION_ACTOR = "escalation"


@dataclass(slots=True, frozen=True)
class Policy:
    """What the steps need besides the session: deadlines and where snapshots go."""

    escalation: EscalationSettings
    evidence: EvidenceStorage | None

    def deadline(self, severity: Severity, now: datetime) -> datetime | None:
        """When an alert of ``severity`` escalates if unacknowledged (None: never)."""
        if self.escalation.max_level == 0:
            return None
        deadline = self.escalation.deadline(severity)
        return None if deadline is None else now + deadline


def load(session: Session, alert_id: str) -> AlertRow:
    """The alert row, locked for this transaction; AlertNotFoundError if there is none."""
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise AlertNotFoundError(f"no alert with id {alert_id!r}")
    return row


def record(
    session: Session,
    row: AlertRow,
    action: Action,
    from_state: AlertState | None,
    *,
    at: datetime,
    actor: str,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    resolution: Resolution | None = None,
) -> None:
    """A history entry with the alert's state after the action; transitions are also
    queued as InfluxDB points (``point_pending``) and as notices (``notice_pending``)."""
    session.add(
        HistoryRow(
            alert_id=row.id,
            at=at,
            recorded_at=now,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=row.state,
            severity=row.severity,
            escalation_level=row.escalation_level,
            resolution=resolution,
            note=note,
            details=details or {},
            point_pending=action in TRANSITIONS,
            notice_pending=action in TRANSITIONS,
        )
    )


def resolve_row(
    session: Session,
    row: AlertRow,
    at: datetime,
    actor: str,
    resolution: Resolution,
    now: datetime,
    note: str | None = None,
) -> None:
    before = AlertState(row.state)
    row.state = AlertState.RESOLVED
    row.resolved_at, row.resolved_by, row.resolution = at, actor, resolution
    row.escalate_at = None
    record(
        session, row, Action.RESOLVED, before, at=at, actor=actor, now=now, note=note,
        resolution=resolution,
    )  # fmt: skip
    logger.info("alert %s (%s) resolved (%s) by %s", row.id, row.key, resolution, actor)


def keep_snapshot(
    session: Session, policy: Policy, row: AlertRow, at: datetime, jpeg: bytes, now: datetime
) -> None:
    """Keep a signal's snapshot; a failure is logged and noted, never loses the alert."""
    if policy.evidence is None:
        logger.warning("alert %s: a snapshot came but no evidence storage is set", row.id)
        return
    state = AlertState(row.state)
    try:
        row.evidence_path = policy.evidence.save(row.id, at, jpeg)
    except EvidenceError as exc:
        logger.warning("alert %s: snapshot not kept: %s", row.id, exc)
        record(
            session, row, Action.NOTED, state, at=at, actor=SYSTEM_ACTOR, now=now,
            note=f"snapshot not kept: {exc}",
        )  # fmt: skip
        return
    record(
        session, row, Action.EVIDENCE, state, at=at, actor=SYSTEM_ACTOR, now=now,
        details={"path": row.evidence_path},
    )  # fmt: skip


def since(row: AlertRow) -> str:
    """`` (resolved as … by X at T)`` / `` (acknowledged by X at T)``, for refusals."""
    if row.state == AlertState.RESOLVED and row.resolved_at is not None:
        when = row.resolved_at.isoformat()
        return f" (resolved as {row.resolution} by {row.resolved_by} at {when})"
    if row.state == AlertState.ACKNOWLEDGED and row.acknowledged_at is not None:
        when = row.acknowledged_at.isoformat()
        return f" (acknowledged by {row.acknowledged_by} at {when})"
    return ""
