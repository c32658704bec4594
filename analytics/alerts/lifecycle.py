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

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.alerts import maintenance
from analytics.alerts.errors import AlertInputError, IllegalTransitionError
from analytics.alerts.escalation import escalate_due
from analytics.alerts.evidence import EvidenceStorage
from analytics.alerts.model import AlertKey, AlertSignal, AlertState
from analytics.alerts.records import (
    Action,
    Alert,
    Applied,
    AppliedSignal,
    HistoryEntry,
    MaintenanceWindow,
    Resolution,
)
from analytics.alerts.settings import EscalationSettings
from analytics.alerts.signals import apply_signal, check_signal
from analytics.alerts.steps import (
    ESCALATION_ACTOR,
    SYSTEM_ACTOR,
    Policy,
    load,
    record,
    resolve_row,
    since,
)
from analytics.alerts.store import AlertStore
from analytics.alerts.tables import AlertRow, HistoryRow, SignalRow

__all__ = ["ESCALATION_ACTOR", "SYSTEM_ACTOR", "AlertLifecycle", "Clock", "utc_now"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_NAME = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


def _check_name(what: str, value: str) -> str:
    if not value or not value.strip():
        raise AlertInputError(f"{what} is empty")
    if len(value) > MAX_NAME:
        raise AlertInputError(f"{what} {value[:40]!r}… is longer than {MAX_NAME} characters")
    return value


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
        self._policy = Policy(self.escalation, evidence)

    # ---- signals -------------------------------------------------------------------------

    async def apply(self, signal: AlertSignal, *, snapshot: bytes | None = None) -> Applied:
        """Open, update or resolve the alert of ``signal.key``; ``snapshot`` (JPEG) is kept
        as the alert's evidence when it has none yet."""
        check_signal(signal)
        return await self.store.run(
            lambda session: apply_signal(session, self._policy, signal, snapshot, self._now())
        )

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise AlertInputError(f"the lifecycle's clock gave a naive time {now.isoformat()}")
        return now

    async def acknowledge(self, alert_id: str, *, actor: str, note: str | None = None) -> Alert:
        """An operator has seen the alert and takes it on; only an open alert can be."""
        _check_name("the acknowledging actor", actor)

        def work(session: Session) -> Alert:
            row = load(session, alert_id)
            if row.state != AlertState.OPEN:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is {row.state}{since(row)}: only an open"
                    " alert can be acknowledged"
                )
            now = self._now()
            row.state = AlertState.ACKNOWLEDGED
            row.acknowledged_at, row.acknowledged_by = now, actor
            row.escalate_at = None
            record(
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
            row = load(session, alert_id)
            if row.state == AlertState.RESOLVED:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is already resolved{since(row)}"
                )
            now = self._now()
            resolve_row(session, row, now, actor, resolution, now, note=note)
            return Alert.from_row(row)

        return await self.store.run(work)

    async def assign(
        self, alert_id: str, *, assignee: str, actor: str, note: str | None = None
    ) -> Alert:
        """Give the alert to someone (replacing the previous assignee)."""
        _check_name("the assigning actor", actor)
        _check_name("the assignee", assignee)

        def work(session: Session) -> Alert:
            row = load(session, alert_id)
            if row.state == AlertState.RESOLVED:
                raise IllegalTransitionError(
                    f"alert {alert_id} ({row.key}) is resolved{since(row)}: it cannot be assigned"
                )
            now = self._now()
            previous, row.assignee = row.assignee, assignee
            record(
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
            row = load(session, alert_id)
            now = self._now()
            record(
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
            row = load(session, alert_id)
            now = self._now()
            row.evidence_path = evidence.save(row.id, now, jpeg)
            record(
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
        return await self.store.run(
            lambda session: escalate_due(session, self._policy, self._now())
        )

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
        return await self.store.run(lambda session: Alert.from_row(load(session, alert_id)))

    async def history(self, alert_id: str) -> list[HistoryEntry]:
        """Everything that happened to the alert, oldest first."""

        def work(session: Session) -> list[HistoryEntry]:
            load(session, alert_id)
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
