"""Reading alerts the way an inbox does: filtered, ordered by urgency, a page at a time,
and what changed since a reader last looked.

The history is the change log: every change of an alert (a signal's update included) is
a row of ``alert_history`` with an increasing id, so ``changes_after(id)`` finds every
alert touched since ``id`` with one indexed range read — cheap enough for an HTTP app to
ask every second on behalf of its open inboxes, whichever process (``citytwin
analytics``, another HTTP app) made the change.

These are reads inside the caller's transaction (``AlertStore.run``), like the
lifecycle's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from analytics.alerts.errors import AlertInputError
from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.alerts.records import Alert
from analytics.alerts.tables import AlertRow, HistoryRow

MAX_PAGE = 500

_SEVERITY_RANK = case(
    {severity.label: int(severity) for severity in Severity}, value=AlertRow.severity, else_=0
)
"""Severity as stored (its label) ranked as its number, for ordering by urgency."""


@dataclass(slots=True, frozen=True)
class AlertFilter:
    """Which alerts to read; an empty set means any. ``since``/``until`` bound the alert's
    onset (``opened_at``, event time): since inclusive, until exclusive."""

    site: str | None = None
    states: frozenset[AlertState] = field(default_factory=frozenset)
    severities: frozenset[Severity] = field(default_factory=frozenset)
    rule_types: frozenset[RuleType] = field(default_factory=frozenset)
    device: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        """AlertInputError naming the bound that is unusable."""
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise AlertInputError(f"{name} {value.isoformat()} has no time zone")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise AlertInputError(
                f"until {self.until.isoformat()} is not after since {self.since.isoformat()}"
            )


@dataclass(slots=True, frozen=True)
class AlertPage:
    """One page of a filtered list, most urgent first, and how many match in all."""

    alerts: list[Alert]
    total: int
    limit: int
    offset: int


@dataclass(slots=True, frozen=True)
class AlertChanges:
    """The alerts changed after a history id, as they are now, and the last id seen."""

    alerts: list[Alert]
    last_id: int


Query = TypeVar("Query", bound=Select[Any])


def _where(query: Query, wanted: AlertFilter) -> Query:
    if wanted.site is not None:
        query = query.where(AlertRow.site == wanted.site)
    if wanted.states:
        query = query.where(AlertRow.state.in_(sorted(wanted.states)))
    if wanted.severities:
        query = query.where(AlertRow.severity.in_(sorted(s.label for s in wanted.severities)))
    if wanted.rule_types:
        query = query.where(AlertRow.rule_type.in_(sorted(wanted.rule_types)))
    if wanted.device is not None:
        query = query.where(AlertRow.device == wanted.device)
    if wanted.since is not None:
        query = query.where(AlertRow.opened_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AlertRow.opened_at < wanted.until)
    return query


def find_alerts(
    session: Session, wanted: AlertFilter, *, limit: int = 50, offset: int = 0
) -> AlertPage:
    """Alerts matching ``wanted``: not resolved first, then by severity (highest first),
    then newest onset first."""
    wanted.check()
    if not 1 <= limit <= MAX_PAGE:
        raise AlertInputError(f"limit {limit} is not between 1 and {MAX_PAGE}")
    if offset < 0:
        raise AlertInputError(f"offset {offset} is negative")
    total = session.scalar(_where(select(func.count()).select_from(AlertRow), wanted)) or 0
    query = _where(select(AlertRow), wanted).order_by(
        case((AlertRow.state == AlertState.RESOLVED, 1), else_=0),
        _SEVERITY_RANK.desc(),
        AlertRow.opened_at.desc(),
        AlertRow.id,
    )
    rows = session.scalars(query.limit(limit).offset(offset))
    return AlertPage([Alert.from_row(row) for row in rows], total, limit, offset)


def latest_change(session: Session) -> int:
    """The id of the newest history entry (0 when there is none)."""
    return session.scalar(select(func.max(HistoryRow.id))) or 0


def changes_after(session: Session, history_id: int, *, limit: int = 200) -> AlertChanges:
    """The alerts changed after ``history_id`` (at most ``limit`` history entries are
    read; ask again from ``last_id`` for the rest), in the order they last changed."""
    entries = session.execute(
        select(HistoryRow.id, HistoryRow.alert_id)
        .where(HistoryRow.id > history_id)
        .order_by(HistoryRow.id)
        .limit(limit)
    ).all()
    if not entries:
        return AlertChanges([], history_id)
    last_change: dict[str, int] = {}
    for entry_id, alert_id in entries:
        last_change[alert_id] = entry_id
    rows = session.scalars(select(AlertRow).where(AlertRow.id.in_(sorted(last_change))))
    ordered = sorted(rows, key=lambda row: last_change[row.id])
    return AlertChanges([Alert.from_row(row) for row in ordered], entries[-1][0])
