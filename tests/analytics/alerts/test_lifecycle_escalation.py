"""Escalation on a fake clock: an alert nobody acknowledges within its severity's deadline
is raised one step, marked at the next level and recorded; then again, up to the limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.alerts.lifecycle import ESCALATION_ACTOR, AlertLifecycle
from analytics.alerts.model import AlertState, Severity
from analytics.alerts.records import Action, Alert
from analytics.alerts.settings import EscalationSettings
from tests.analytics.alerts.support import FakeClock, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]


@pytest.fixture
def escalation() -> EscalationSettings:
    return EscalationSettings(
        warning=timedelta(minutes=30),
        major=timedelta(minutes=10),
        critical=timedelta(minutes=5),
        max_level=3,
    )


async def _open(lifecycle: AlertLifecycle, severity: Severity = Severity.MAJOR) -> Alert:
    applied = await lifecycle.apply(signal(severity=severity))
    assert applied.alert is not None
    return applied.alert


async def test_nothing_escalates_before_its_deadline(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle)
    clock.advance(minutes(10) - timedelta(seconds=1))

    assert await lifecycle.escalate_due() == []
    assert (await lifecycle.get(alert.id)).escalation_level == 0


async def test_an_unacknowledged_alert_escalates_one_step_at_its_deadline(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle, Severity.MAJOR)
    clock.advance(minutes(10))

    [escalated] = await lifecycle.escalate_due()
    assert escalated.id == alert.id
    assert (escalated.severity, escalated.escalation_level) == (Severity.CRITICAL, 1)
    assert escalated.state is AlertState.OPEN
    assert escalated.escalate_at == clock.now + minutes(5)  # the critical deadline now
    entry = (await lifecycle.history(alert.id))[-1]
    assert (entry.action, entry.actor, entry.at) == (Action.ESCALATED, ESCALATION_ACTOR, clock.now)
    assert (entry.severity, entry.escalation_level) == (Severity.CRITICAL, 1)
    assert entry.details["severity_from"] == "major"
    assert await lifecycle.escalate_due() == []  # not twice for one deadline


async def test_escalation_repeats_up_to_the_last_level_and_stops(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle, Severity.WARNING)
    levels = []
    for _ in range(6):
        clock.advance(minutes(30))
        levels += [(a.escalation_level, a.severity) for a in await lifecycle.escalate_due()]

    assert levels == [(1, Severity.MAJOR), (2, Severity.CRITICAL), (3, Severity.CRITICAL)]
    final = await lifecycle.get(alert.id)
    assert (final.escalation_level, final.escalate_at) == (3, None)


async def test_an_acknowledged_alert_does_not_escalate(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle)
    clock.advance(minutes(9))
    await lifecycle.acknowledge(alert.id, actor="operator-lan")
    clock.advance(minutes(60))

    assert await lifecycle.escalate_due() == []
    assert (await lifecycle.get(alert.id)).severity is Severity.MAJOR


async def test_a_resolved_alert_does_not_escalate(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle)
    await lifecycle.apply(signal(active=False, at=alert.opened_at + minutes(2)))
    clock.advance(minutes(60))
    assert await lifecycle.escalate_due() == []


async def test_severities_without_a_deadline_never_escalate(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle, Severity.INFO)  # info: no deadline by default
    assert alert.escalate_at is None
    clock.advance(timedelta(days=2))
    assert await lifecycle.escalate_due() == []


async def test_the_deadline_runs_from_when_the_centre_learnt_of_the_alert(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    """A signal dated an hour ago (a device's buffer flushed late) still leaves operators
    the whole deadline."""
    late = await lifecycle.apply(signal(at=clock.now - timedelta(hours=1)))
    assert late.alert is not None
    assert late.alert.escalate_at == clock.now + minutes(10)
    assert await lifecycle.escalate_due() == []


async def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        EscalationSettings(major=timedelta(0))
