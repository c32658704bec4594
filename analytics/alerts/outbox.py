"""The notice outbox: every transition, whoever made it, handed over once it is committed.

A transition's history row is written with ``notice_pending`` in the transaction that
makes it — a signal opening or resolving an alert, the escalation, an operator
acknowledging through the HTTP API in another process. `TransitionOutbox.dispatch` reads
the pending rows in history order, hands them to the caller (the analytics process:
notifiers, the device twin's ``alerts`` summary, the KPI windows) and only then clears
the flag. So one process tells people about every transition, and a crash between the two
hands the same transitions over again: notices are sent at least once (the retained MQTT
state overwrites itself; webhook receivers drop a repeat by the alert id and transition).

This flag is separate from the points' ``point_pending`` (`analytics.alerts.export`), so
notices never wait for InfluxDB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analytics.alerts.records import Alert, HistoryEntry
from analytics.alerts.store import AlertStore
from analytics.alerts.tables import AlertRow, HistoryRow

logger = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Transition:
    """One committed transition and the alert as it stands now."""

    alert: Alert
    entry: HistoryEntry


TransitionHandler = Callable[[list[Transition]], None]
"""Takes a batch of transitions in history order; must not block (queue, mark, return)."""


class TransitionOutbox:
    """Reads pending transitions of the store and clears them once handed over."""

    def __init__(self, store: AlertStore, *, sites: Sequence[str] = (), batch: int = 500) -> None:
        """``sites``: only the transitions of these sites' alerts (empty: all), so that
        processes splitting the province each tell of their own."""
        self.store = store
        self.sites = tuple(sites)
        self.batch = batch

    async def dispatch(self, handle: TransitionHandler) -> int:
        """Hand every pending transition to ``handle``; the number handed over."""
        total = 0
        while True:
            transitions = await self.store.run(self._pending)
            if not transitions:
                return total
            handle(transitions)
            ids = [transition.entry.id for transition in transitions]
            await self.store.run(partial(self._done, ids=ids))
            total += len(transitions)

    async def pending(self) -> list[Transition]:
        """The next batch ``dispatch`` would hand over, left pending."""
        return await self.store.run(self._pending)

    def _pending(self, session: Session) -> list[Transition]:
        query = (
            select(HistoryRow, AlertRow)
            .join(AlertRow, AlertRow.id == HistoryRow.alert_id)
            .where(HistoryRow.notice_pending.is_(True))
        )
        if self.sites:
            query = query.where(AlertRow.site.in_(self.sites))
        rows = session.execute(query.order_by(HistoryRow.id).limit(self.batch)).all()
        return [
            Transition(Alert.from_row(alert), HistoryEntry.from_row(entry)) for entry, alert in rows
        ]

    def _done(self, session: Session, *, ids: list[int]) -> None:
        session.execute(
            update(HistoryRow).where(HistoryRow.id.in_(ids)).values(notice_pending=False)
        )
