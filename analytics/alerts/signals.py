"""What a signal does to the alerts of its key: open, update, resolve — or nothing, when it
was applied before, is covered by a maintenance window, or clears nothing.

Every signal is recorded in ``alert_signals`` with its outcome, in the transaction of what
it caused; finding that record is how a redelivered signal changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.alerts import maintenance
from analytics.alerts.errors import AlertInputError
from analytics.alerts.model import AlertSignal, AlertState, Severity
from analytics.alerts.records import Action, Alert, Applied, Resolution, SignalOutcome
from analytics.alerts.steps import SYSTEM_ACTOR, Policy, keep_snapshot, record, resolve_row
from analytics.alerts.tables import AlertRow, SignalRow

logger = logging.getLogger(__name__)


def check_signal(signal: AlertSignal) -> None:
    """AlertInputError unless ``signal`` can be stored as it is."""
    where = f"signal for {signal.key}"
    if signal.at.tzinfo is None:
        raise AlertInputError(f"{where}: at {signal.at.isoformat()} has no time zone")
    for part, value in (("rule", signal.key.rule), ("device", signal.key.device)):
        if not value or "|" in value:
            raise AlertInputError(f"{where}: the key's {part} {value!r} is empty or has a '|'")
    if not signal.site:
        raise AlertInputError(f"{where}: no site")


def apply_signal(
    session: Session, policy: Policy, signal: AlertSignal, snapshot: bytes | None, now: datetime
) -> Applied:
    """Everything ``signal`` causes, in the caller's transaction."""
    key = str(signal.key)
    seen = session.scalar(
        select(SignalRow).where(
            SignalRow.key == key, SignalRow.at == signal.at, SignalRow.active == signal.active
        )
    )
    if seen is not None:
        row = session.get(AlertRow, seen.alert_id) if seen.alert_id else None
        logger.debug("alert signal %s at %s applied before", key, signal.at.isoformat())
        return Applied(
            SignalOutcome.DUPLICATE, Alert.from_row(row) if row else None, seen.window_id
        )
    current = session.scalar(
        select(AlertRow)
        .where(AlertRow.key == key, AlertRow.state != AlertState.RESOLVED)
        .with_for_update()
    )
    if signal.active:
        applied = _activate(session, policy, signal, current, snapshot, now)
    else:
        applied = _clear(session, signal, current, now)
    session.add(
        SignalRow(
            key=key,
            at=signal.at,
            active=signal.active,
            outcome=applied.outcome,
            alert_id=applied.alert.id if applied.alert else None,
            window_id=applied.window_id,
            severity=signal.severity.label,
            site=signal.site,
            device=signal.key.device,
            received_at=now,
        )
    )
    return applied


def _activate(
    session: Session,
    policy: Policy,
    signal: AlertSignal,
    current: AlertRow | None,
    snapshot: bytes | None,
    now: datetime,
) -> Applied:
    if current is not None:
        return _update(session, policy, current, signal, snapshot, now)
    window = maintenance.window_covering(session, signal.site, signal.key.device, signal.at)
    if window is not None:
        logger.info(
            "alert %s at %s suppressed by maintenance window %d",
            signal.key,
            signal.at.isoformat(),
            window,
        )
        return Applied(SignalOutcome.SUPPRESSED, None, window)
    row = AlertRow(
        id=uuid.uuid4().hex,
        key=str(signal.key),
        rule_type=signal.rule_type,
        severity=signal.severity.label,
        state=AlertState.OPEN,
        site=signal.site,
        sector=signal.sector,
        device=signal.key.device,
        zone=signal.key.zone,
        opened_at=signal.at,
        recorded_at=now,
        last_signal_at=signal.at,
        escalation_level=0,
        escalate_at=policy.deadline(signal.severity, now),
        message_vi=signal.message_vi,
        message_en=signal.message_en,
        details=dict(signal.details),
    )
    session.add(row)
    session.flush()
    record(session, row, Action.OPENED, None, at=signal.at, actor=SYSTEM_ACTOR, now=now)
    if snapshot is not None:
        keep_snapshot(session, policy, row, signal.at, snapshot, now)
    logger.info("alert %s opened for %s (%s)", row.id, signal.key, row.severity)
    late_clear = _later_clear(session, signal)
    if late_clear is not None:
        # the condition had cleared before this (delayed) onset arrived
        resolve_row(session, row, late_clear.at, SYSTEM_ACTOR, Resolution.AUTO, now)
        late_clear.outcome = SignalOutcome.RESOLVED
        late_clear.alert_id = row.id
    return Applied(SignalOutcome.OPENED, Alert.from_row(row))


def _later_clear(session: Session, signal: AlertSignal) -> SignalRow | None:
    """A clear of this key after ``signal.at`` that found no alert, with no onset in
    between: the episode ``signal`` begins had ended before ``signal`` arrived."""
    key = str(signal.key)
    clear = session.scalar(
        select(SignalRow)
        .where(
            SignalRow.key == key,
            SignalRow.active.is_(False),
            SignalRow.at > signal.at,
            SignalRow.outcome == SignalOutcome.NO_ALERT,
        )
        .order_by(SignalRow.at)
        .limit(1)
    )
    if clear is None:
        return None
    onset_between = session.scalar(
        select(SignalRow.id).where(
            SignalRow.key == key,
            SignalRow.active.is_(True),
            SignalRow.at > signal.at,
            SignalRow.at < clear.at,
        )
    )
    return clear if onset_between is None else None


def _update(
    session: Session,
    policy: Policy,
    row: AlertRow,
    signal: AlertSignal,
    snapshot: bytes | None,
    now: datetime,
) -> Applied:
    details: dict[str, Any] = {"signal_at": signal.at.isoformat()}
    previous = Severity.parse(row.severity)
    if signal.severity > previous:
        row.severity = signal.severity.label
        details["severity_from"] = previous.label
    row.message_vi, row.message_en = signal.message_vi, signal.message_en
    row.details = dict(signal.details)
    row.last_signal_at = max(row.last_signal_at, signal.at)
    record(
        session,
        row,
        Action.UPDATED,
        AlertState(row.state),
        at=signal.at,
        actor=SYSTEM_ACTOR,
        now=now,
        details=details,
    )
    if snapshot is not None and row.evidence_path is None:
        keep_snapshot(session, policy, row, signal.at, snapshot, now)
    return Applied(SignalOutcome.UPDATED, Alert.from_row(row))


def _clear(
    session: Session, signal: AlertSignal, current: AlertRow | None, now: datetime
) -> Applied:
    if current is None:
        return Applied(SignalOutcome.NO_ALERT, None)
    if signal.at < current.opened_at:
        logger.info(
            "alert %s: clear of %s at %s is older than its opening; ignored",
            current.id,
            signal.key,
            signal.at.isoformat(),
        )
        return Applied(SignalOutcome.STALE, Alert.from_row(current))
    resolve_row(session, current, signal.at, SYSTEM_ACTOR, Resolution.AUTO, now)
    return Applied(SignalOutcome.RESOLVED, Alert.from_row(current))


# ---- people --------------------------------------------------------------------------
