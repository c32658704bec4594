"""Escalation: an open alert nobody acknowledged within its severity's deadline goes one
severity up and one level on, with a new deadline, until ``max_level``.

The due rows are taken ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so with several analytics
processes each escalation happens once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.alerts.model import AlertState, Severity
from analytics.alerts.records import Action, Alert
from analytics.alerts.steps import ESCALATION_ACTOR, Policy, record
from analytics.alerts.tables import AlertRow

logger = logging.getLogger(__name__)


def escalate_due(session: Session, policy: Policy, now: datetime) -> list[Alert]:
    """Escalate the open alerts whose deadline is at or before ``now``; the escalated ones."""
    rows = session.scalars(
        select(AlertRow)
        .where(AlertRow.state == AlertState.OPEN, AlertRow.escalate_at <= now)
        .order_by(AlertRow.escalate_at)
        .with_for_update(skip_locked=True)
    ).all()
    escalated = []
    for row in rows:
        before = Severity.parse(row.severity)
        after = Severity(min(before + 1, Severity.CRITICAL))
        row.severity = after.label
        row.escalation_level += 1
        more = row.escalation_level < policy.escalation.max_level
        row.escalate_at = policy.deadline(after, now) if more else None
        record(
            session,
            row,
            Action.ESCALATED,
            AlertState.OPEN,
            at=now,
            actor=ESCALATION_ACTOR,
            now=now,
            details={"severity_from": before.label, "level": row.escalation_level},
        )
        logger.warning(
            "alert %s (%s) not acknowledged in time: escalated to level %d, %s",
            row.id,
            row.key,
            row.escalation_level,
            after.label,
        )
        escalated.append(Alert.from_row(row))
    return escalated
