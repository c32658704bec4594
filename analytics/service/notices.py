"""A committed transition as the notice people are sent (`analytics.notify.AlertNotice`)."""

from __future__ import annotations

from analytics.alerts.lifecycle import ESCALATION_ACTOR, SYSTEM_ACTOR
from analytics.alerts.outbox import Transition as CommittedTransition
from analytics.alerts.records import Action
from analytics.notify.notice import AlertNotice, Transition

_TRANSITIONS = {
    Action.OPENED: Transition.OPENED,
    Action.ACKNOWLEDGED: Transition.ACKNOWLEDGED,
    Action.RESOLVED: Transition.RESOLVED,
    Action.ESCALATED: Transition.ESCALATED,
}


EVIDENCE_PATH = "/api/alerts/{alert_id}/evidence"
"""Where the HTTP app serves an alert's snapshot (`citytwin.api.alerts`)."""


def evidence_url(alert_id: str, console_url: str | None) -> str:
    """The snapshot's URL on the console (a path on it when its address is not set)."""
    path = EVIDENCE_PATH.format(alert_id=alert_id)
    return f"{console_url.rstrip('/')}{path}" if console_url else path


def notice_of(committed: CommittedTransition, console_url: str | None = None) -> AlertNotice | None:
    """The notice of one transition, with the state, severity and level *after* it (a
    batch replayed late still tells each step as it was); None for an action that is not
    a transition. A camera alert's snapshot, once kept, is linked as ``evidence_url``."""
    alert, entry = committed.alert, committed.entry
    transition = _TRANSITIONS.get(entry.action)
    if transition is None:
        return None
    person = entry.actor not in (SYSTEM_ACTOR, ESCALATION_ACTOR)
    return AlertNotice(
        alert_id=alert.id,
        rule=alert.key.rule,
        device=alert.key.device,
        zone=alert.key.zone,
        rule_type=alert.rule_type,
        state=entry.to_state,
        transition=transition,
        severity=entry.severity,
        site=alert.site,
        sector=alert.sector,
        opened_at=alert.opened_at,
        at=entry.at,
        message_vi=alert.message_vi,
        message_en=alert.message_en,
        escalation_level=entry.escalation_level,
        actor=entry.actor if person else None,
        assignee=alert.assignee,
        evidence_url=evidence_url(alert.id, console_url) if alert.evidence_path else None,
    )
