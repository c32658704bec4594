"""How an alert lives: signals open, update and resolve it; people acknowledge, resolve,
assign and annotate it; the clock escalates it.

    open ──acknowledge──► acknowledged ──resolve──► resolved
      │ └──────────────── resolve / condition clears ──┘
      └─ escalate (not acknowledged in time): severity +1, level +1, stays open

Every method is one store transaction (``AlertStore.run``), so a signal and everything it
causes — the alert, its history, the record of the signal — commit together or not at
all. That is what makes redelivery safe: a signal already recorded (same key, ``at`` and
``active``) changes nothing, so the rule engine may consume its events at least once.

Times: what a signal causes is dated at the signal's event time (``at``); what people and
the escalation do is dated by the clock the lifecycle is given (a fake one in tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.alerts import maintenance
from analytics.alerts.errors import (
    AlertInputError,
    AlertNotFoundError,
    EvidenceError,
    IllegalTransitionError,
)
from analytics.alerts.evidence import EvidenceStorage
from analytics.alerts.model import AlertKey, AlertSignal, AlertState, Severity
from analytics.alerts.records import (
    TRANSITIONS,
    Action,
    Alert,
    Applied,
    AppliedSignal,
    HistoryEntry,
    MaintenanceWindow,
    Resolution,
    SignalOutcome,
)
from analytics.alerts.settings import EscalationSettings
from analytics.alerts.store import AlertStore
from analytics.alerts.tables import AlertRow, HistoryRow, SignalRow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SYSTEM_ACTOR = "system"
"""The actor of what signals do (open, update, resolve when the condition clears)."""
ESCALATION_ACTOR = "escalation"
MAX_NAME = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


def _check_name(what: str, value: str) -> str:
    if not value or not value.strip():
        raise AlertInputError(f"{what} is empty")
    if len(value) > MAX_NAME:
        raise AlertInputError(f"{what} {value[:40]!r}… is longer than {MAX_NAME} characters")
    return value


def _check_signal(signal: AlertSignal) -> None:
    where = f"signal for {signal.key}"
    if signal.at.tzinfo is None:
        raise AlertInputError(f"{where}: at {signal.at.isoformat()} has no time zone")
    for part, value in (("rule", signal.key.rule), ("device", signal.key.device)):
        if not value or "|" in value:
            raise AlertInputError(f"{where}: the key's {part} {value!r} is empty or has a '|'")
    if not signal.site:
        raise AlertInputError(f"{where}: no site")


class AlertLifecycle:
    """Alerts from signals, people and the clock, kept in an ``AlertStore``."""

    def __init__(
        self,
        store: AlertStore,
        *,
        escalation: EscalationSettings | None = None,
        clock: Clock = utc_now,
        evidence: EvidenceStorage | None = None,
    ) -> None:
        self.store = store
        self.escalation = escalation or EscalationSettings()
        self.clock = clock
        self.evidence = evidence

    # ---- signals -------------------------------------------------------------------------

    async def apply(self, signal: AlertSignal, *, snapshot: bytes | None = None) -> Applied:
        """Open, update or resolve the alert of ``signal.key``; ``snapshot`` (JPEG) is kept
        as the alert's evidence when it has none yet."""
        _check_signal(signal)
        return await self.store.run(lambda session: self._apply(session, signal, snapshot))

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise AlertInputError(f"the lifecycle's clock gave a naive time {now.isoformat()}")
        return now

    def _apply(self, session: Session, signal: AlertSignal, snapshot: bytes | None) -> Applied:
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
        now = self._now()
        current = session.scalar(
            select(AlertRow)
            .where(AlertRow.key == key, AlertRow.state != AlertState.RESOLVED)
            .with_for_update()
        )
        if signal.active:
            applied = self._activate(session, signal, current, snapshot, now)
        else:
            applied = self._clear(session, signal, current, now)
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
        self,
        session: Session,
        signal: AlertSignal,
        current: AlertRow | None,
        snapshot: bytes | None,
        now: datetime,
    ) -> Applied:
        if current is not None:
            return self._update(session, current, signal, snapshot, now)
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
            id=_new_id(),
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
            escalate_at=self._deadline(signal.severity, now),
            message_vi=signal.message_vi,
            message_en=signal.message_en,
            details=dict(signal.details),
        )
        session.add(row)
        session.flush()
        self._record(session, row, Action.OPENED, None, at=signal.at, actor=SYSTEM_ACTOR, now=now)
        if snapshot is not None:
            self._keep_snapshot(session, row, signal.at, snapshot, now)
        logger.info("alert %s opened for %s (%s)", row.id, signal.key, row.severity)
        late_clear = self._later_clear(session, signal)
        if late_clear is not None:
            # the condition had cleared before this (delayed) onset arrived
            self._resolve(session, row, late_clear.at, SYSTEM_ACTOR, Resolution.AUTO, now)
            late_clear.outcome = SignalOutcome.RESOLVED
            late_clear.alert_id = row.id
        return Applied(SignalOutcome.OPENED, Alert.from_row(row))

    def _later_clear(self, session: Session, signal: AlertSignal) -> SignalRow | None:
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
        self,
        session: Session,
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
        self._record(
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
            self._keep_snapshot(session, row, signal.at, snapshot, now)
        return Applied(SignalOutcome.UPDATED, Alert.from_row(row))

    def _clear(
        self, session: Session, signal: AlertSignal, current: AlertRow | None, now: datetime
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
        self._resolve(session, current, signal.at, SYSTEM_ACTOR, Resolution.AUTO, now)
        return Applied(SignalOutcome.RESOLVED, Alert.from_row(current))

    # ---- people --------------------------------------------------------------------------

    async def acknowledge(self, alert_id: str, *, actor: str, note: str | None = None) -> Alert:
        """An operator has seen the alert and takes it on; only an open alert can be."""
        _check_name("the acknowledging actor", actor)

        def work(session: Session) -> Alert:
            row = self._row(session, alert_id)
            if row.state != AlertState.OPEN:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is {row.state}{_since(row)}: only an open"
                    " alert can be acknowledged"
                )
            now = self._now()
            row.state = AlertState.ACKNOWLEDGED
            row.acknowledged_at, row.acknowledged_by = now, actor
            row.escalate_at = None
            self._record(
                session,
                row,
                Action.ACKNOWLEDGED,
                AlertState.OPEN,
                at=now,
                actor=actor,
                now=now,
                note=note,
            )
            return Alert.from_row(row)

        return await self.store.run(work)

    async def resolve(
        self, alert_id: str, *, actor: str, false_alarm: bool = False, note: str | None = None
    ) -> Alert:
        """An operator closes the alert, as handled or as a false alarm."""
        _check_name("the resolving actor", actor)
        resolution = Resolution.FALSE_ALARM if false_alarm else Resolution.MANUAL

        def work(session: Session) -> Alert:
            row = self._row(session, alert_id)
            if row.state == AlertState.RESOLVED:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is already resolved{_since(row)}"
                )
            now = self._now()
            self._resolve(session, row, now, actor, resolution, now, note=note)
            return Alert.from_row(row)

        return await self.store.run(work)

    async def assign(
        self, alert_id: str, *, assignee: str, actor: str, note: str | None = None
    ) -> Alert:
        """Give the alert to someone (replacing the previous assignee)."""
        _check_name("the assigning actor", actor)
        _check_name("the assignee", assignee)

        def work(session: Session) -> Alert:
            row = self._row(session, alert_id)
            if row.state == AlertState.RESOLVED:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is resolved{_since(row)}: it cannot be assigned"
                )
            now = self._now()
            previous, row.assignee = row.assignee, assignee
            self._record(
                session,
                row,
                Action.ASSIGNED,
                AlertState(row.state),
                at=now,
                actor=actor,
                now=now,
                note=note,
                details={"assignee": assignee, "previous": previous},
            )
            return Alert.from_row(row)

        return await self.store.run(work)

    async def note(self, alert_id: str, *, actor: str, text: str) -> Alert:
        """Add a note to the alert's history, in any state (resolved alerts too)."""
        _check_name("the noting actor", actor)
        if not text.strip():
            raise AlertInputError(f"note on alert {alert_id}: the text is empty")

        def work(session: Session) -> Alert:
            row = self._row(session, alert_id)
            now = self._now()
            self._record(
                session,
                row,
                Action.NOTED,
                AlertState(row.state),
                at=now,
                actor=actor,
                now=now,
                note=text,
            )
            return Alert.from_row(row)

        return await self.store.run(work)

    async def attach_evidence(self, alert_id: str, jpeg: bytes, *, actor: str) -> Alert:
        """Keep ``jpeg`` as the alert's evidence (replacing the link to an earlier one)."""
        _check_name("the actor", actor)
        evidence = self.evidence
        if evidence is None:
            raise AlertInputError(f"alert {alert_id}: no evidence storage is configured")

        def work(session: Session) -> Alert:
            row = self._row(session, alert_id)
            now = self._now()
            row.evidence_path = evidence.save(row.id, now, jpeg)
            self._record(
                session,
                row,
                Action.EVIDENCE,
                AlertState(row.state),
                at=now,
                actor=actor,
                now=now,
                details={"path": row.evidence_path},
            )
            return Alert.from_row(row)

        return await self.store.run(work)

    # ---- the clock -----------------------------------------------------------------------

    async def escalate_due(self) -> list[Alert]:
        """Escalate every open alert whose acknowledgement deadline has passed: severity one
        step up (at most critical), escalation level +1, a new deadline for the new
        severity (none past ``max_level``). The caller notifies again, at the new level."""
        return await self.store.run(self._escalate_due)

    def _escalate_due(self, session: Session) -> list[Alert]:
        now = self._now()
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
            more = row.escalation_level < self.escalation.max_level
            row.escalate_at = self._deadline(after, now) if more else None
            self._record(
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

    # ---- maintenance windows ---------------------------------------------------------------

    async def add_maintenance(
        self,
        *,
        site: str,
        starts_at: datetime,
        ends_at: datetime,
        reason: str,
        actor: str,
        device: str | None = None,
    ) -> MaintenanceWindow:
        """Suppress opening alerts of ``site`` (or of one ``device`` of it) between
        ``starts_at`` (inclusive) and ``ends_at`` (exclusive), in event time."""
        _check_name("the actor", actor)
        maintenance.check_window(site, device, starts_at, ends_at)
        return await self.store.run(
            lambda session: maintenance.add_window(
                session,
                site=site,
                device=device,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                actor=actor,
                now=self._now(),
            )
        )

    async def remove_maintenance(self, window_id: int) -> None:
        await self.store.run(lambda session: maintenance.delete_window(session, window_id))

    async def maintenance_windows(self, site: str | None = None) -> list[MaintenanceWindow]:
        return await self.store.run(lambda session: maintenance.list_windows(session, site))

    # ---- reading ---------------------------------------------------------------------------

    async def get(self, alert_id: str) -> Alert:
        return await self.store.run(lambda session: Alert.from_row(self._row(session, alert_id)))

    async def history(self, alert_id: str) -> list[HistoryEntry]:
        """Everything that happened to the alert, oldest first."""

        def work(session: Session) -> list[HistoryEntry]:
            self._row(session, alert_id)
            rows = session.scalars(
                select(HistoryRow).where(HistoryRow.alert_id == alert_id).order_by(HistoryRow.id)
            )
            return [HistoryEntry.from_row(row) for row in rows]

        return await self.store.run(work)

    async def active_alerts(self, site: str | None = None) -> list[Alert]:
        """Open and acknowledged alerts, oldest first."""

        def work(session: Session) -> list[Alert]:
            query = select(AlertRow).where(AlertRow.state != AlertState.RESOLVED)
            if site is not None:
                query = query.where(AlertRow.site == site)
            rows = session.scalars(query.order_by(AlertRow.opened_at, AlertRow.id))
            return [Alert.from_row(row) for row in rows]

        return await self.store.run(work)

    async def alerts_of(self, key: AlertKey) -> list[Alert]:
        """Every alert ever raised for ``key``, oldest first."""

        def work(session: Session) -> list[Alert]:
            rows = session.scalars(
                select(AlertRow)
                .where(AlertRow.key == str(key))
                .order_by(AlertRow.opened_at, AlertRow.recorded_at)
            )
            return [Alert.from_row(row) for row in rows]

        return await self.store.run(work)

    async def signals_of(self, key: AlertKey) -> list[AppliedSignal]:
        """Every signal applied for ``key`` with what it did (suppressed ones included)."""

        def work(session: Session) -> list[AppliedSignal]:
            rows = session.scalars(
                select(SignalRow).where(SignalRow.key == str(key)).order_by(SignalRow.id)
            )
            return [AppliedSignal.from_row(row) for row in rows]

        return await self.store.run(work)

    # ---- shared steps ------------------------------------------------------------------------

    def _row(self, session: Session, alert_id: str) -> AlertRow:
        row = session.get(AlertRow, alert_id, with_for_update=True)
        if row is None:
            raise AlertNotFoundError(f"no alert with id {alert_id!r}")
        return row

    def _deadline(self, severity: Severity, now: datetime) -> datetime | None:
        if self.escalation.max_level == 0:
            return None
        deadline = self.escalation.deadline(severity)
        return None if deadline is None else now + deadline

    def _resolve(
        self,
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
        self._record(
            session,
            row,
            Action.RESOLVED,
            before,
            at=at,
            actor=actor,
            now=now,
            note=note,
            resolution=resolution,
        )
        logger.info("alert %s (%s) resolved (%s) by %s", row.id, row.key, resolution, actor)

    def _keep_snapshot(
        self, session: Session, row: AlertRow, at: datetime, jpeg: bytes, now: datetime
    ) -> None:
        """Keep a signal's snapshot; a failure is logged and noted, never loses the alert."""
        if self.evidence is None:
            logger.warning("alert %s: a snapshot came but no evidence storage is set", row.id)
            return
        try:
            row.evidence_path = self.evidence.save(row.id, at, jpeg)
        except EvidenceError as exc:
            logger.warning("alert %s: snapshot not kept: %s", row.id, exc)
            self._record(
                session,
                row,
                Action.NOTED,
                AlertState(row.state),
                at=at,
                actor=SYSTEM_ACTOR,
                now=now,
                note=f"snapshot not kept: {exc}",
            )
            return
        self._record(
            session,
            row,
            Action.EVIDENCE,
            AlertState(row.state),
            at=at,
            actor=SYSTEM_ACTOR,
            now=now,
            details={"path": row.evidence_path},
        )

    def _record(
        self,
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
            )
        )


def _since(row: AlertRow) -> str:
    """`` (resolved by X at T)`` / `` (acknowledged by X at T)`` for refusals."""
    if row.state == AlertState.RESOLVED and row.resolved_at is not None:
        return (
            f" (resolved as {row.resolution} by {row.resolved_by} at {row.resolved_at.isoformat()})"
        )
    if row.state == AlertState.ACKNOWLEDGED and row.acknowledged_at is not None:
        return f" (acknowledged by {row.acknowledged_by} at {row.acknowledged_at.isoformat()})"
    return ""
