"""What operators do to an alert — acknowledge, resolve (as a false alarm too), assign,
note — each in the history with who and when; what they may not do is refused."""

from __future__ import annotations

import pytest

from analytics.alerts.errors import AlertInputError, AlertNotFoundError, IllegalTransitionError
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState
from analytics.alerts.records import Action, Alert, Resolution
from tests.analytics.alerts.support import FakeClock, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]


async def _open(lifecycle: AlertLifecycle) -> Alert:
    applied = await lifecycle.apply(signal())
    assert applied.alert is not None
    return applied.alert


async def test_acknowledge_records_who_and_when_and_stops_escalation(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle)
    assert alert.escalate_at is not None
    clock.advance(minutes(2))
    acked = await lifecycle.acknowledge(alert.id, actor="operator-lan", note="on my way")

    assert acked.state is AlertState.ACKNOWLEDGED
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("operator-lan", clock.now)
    assert acked.escalate_at is None
    entry = (await lifecycle.history(alert.id))[-1]
    assert (entry.action, entry.actor, entry.at, entry.note) == (
        Action.ACKNOWLEDGED,
        "operator-lan",
        clock.now,
        "on my way",
    )
    assert (entry.from_state, entry.to_state) == (AlertState.OPEN, AlertState.ACKNOWLEDGED)


@pytest.mark.parametrize("acknowledge_first", [False, True])
async def test_an_operator_resolves_an_open_or_acknowledged_alert(
    lifecycle: AlertLifecycle, clock: FakeClock, acknowledge_first: bool
) -> None:
    alert = await _open(lifecycle)
    if acknowledge_first:
        await lifecycle.acknowledge(alert.id, actor="operator-lan")
    clock.advance(minutes(10))
    resolved = await lifecycle.resolve(alert.id, actor="operator-minh", note="officer back")

    assert resolved.state is AlertState.RESOLVED
    assert resolved.resolution is Resolution.MANUAL
    assert (resolved.resolved_by, resolved.resolved_at) == ("operator-minh", clock.now)
    entry = (await lifecycle.history(alert.id))[-1]
    expected_from = AlertState.ACKNOWLEDGED if acknowledge_first else AlertState.OPEN
    assert (entry.action, entry.from_state, entry.note) == (
        Action.RESOLVED,
        expected_from,
        "officer back",
    )
    assert await lifecycle.active_alerts() == []


async def test_resolving_as_a_false_alarm_is_kept(lifecycle: AlertLifecycle) -> None:
    alert = await _open(lifecycle)
    resolved = await lifecycle.resolve(alert.id, actor="operator-lan", false_alarm=True)

    assert resolved.resolution is Resolution.FALSE_ALARM
    assert (await lifecycle.history(alert.id))[-1].resolution is Resolution.FALSE_ALARM


async def test_assign_and_reassign_keep_both_in_the_history(
    lifecycle: AlertLifecycle, clock: FakeClock
) -> None:
    alert = await _open(lifecycle)
    await lifecycle.assign(alert.id, assignee="field-team-1", actor="supervisor-ha")
    clock.advance(minutes(1))
    reassigned = await lifecycle.assign(alert.id, assignee="field-team-2", actor="supervisor-ha")

    assert reassigned.assignee == "field-team-2"
    assignments = [e for e in await lifecycle.history(alert.id) if e.action is Action.ASSIGNED]
    assert [(e.details["previous"], e.details["assignee"]) for e in assignments] == [
        (None, "field-team-1"),
        ("field-team-1", "field-team-2"),
    ]
    assert assignments[1].at == clock.now


async def test_notes_are_kept_in_order_even_after_resolution(lifecycle: AlertLifecycle) -> None:
    alert = await _open(lifecycle)
    await lifecycle.note(alert.id, actor="operator-lan", text="called the desk phone")
    await lifecycle.resolve(alert.id, actor="operator-lan")
    await lifecycle.note(alert.id, actor="supervisor-ha", text="checked the footage: ok")

    notes = [
        (e.actor, e.note) for e in await lifecycle.history(alert.id) if e.action is Action.NOTED
    ]
    assert notes == [
        ("operator-lan", "called the desk phone"),
        ("supervisor-ha", "checked the footage: ok"),
    ]


async def test_acknowledging_a_resolved_alert_is_refused_and_says_why(
    lifecycle: AlertLifecycle,
) -> None:
    alert = await _open(lifecycle)
    await lifecycle.resolve(alert.id, actor="operator-minh")
    history = await lifecycle.history(alert.id)

    with pytest.raises(IllegalTransitionError) as caught:
        await lifecycle.acknowledge(alert.id, actor="operator-lan")
    message = str(caught.value)
    assert f"alert {alert.id}" in message
    assert "is resolved (resolved as manual by operator-minh at" in message
    assert "only an open alert can be acknowledged" in message
    assert (await lifecycle.get(alert.id)).state is AlertState.RESOLVED
    assert await lifecycle.history(alert.id) == history


async def test_acknowledging_twice_is_refused(lifecycle: AlertLifecycle) -> None:
    alert = await _open(lifecycle)
    await lifecycle.acknowledge(alert.id, actor="operator-lan")
    with pytest.raises(IllegalTransitionError, match="acknowledged by operator-lan at"):
        await lifecycle.acknowledge(alert.id, actor="operator-minh")
    assert (await lifecycle.get(alert.id)).acknowledged_by == "operator-lan"


async def test_resolving_or_assigning_a_resolved_alert_is_refused(
    lifecycle: AlertLifecycle,
) -> None:
    alert = await _open(lifecycle)
    await lifecycle.apply(signal(active=False, at=alert.opened_at + minutes(3)))
    with pytest.raises(IllegalTransitionError, match="already resolved"):
        await lifecycle.resolve(alert.id, actor="operator-lan", false_alarm=True)
    with pytest.raises(IllegalTransitionError, match="cannot be assigned"):
        await lifecycle.assign(alert.id, assignee="field-team-1", actor="operator-lan")
    resolved = await lifecycle.get(alert.id)
    assert (resolved.resolution, resolved.assignee) == (Resolution.AUTO, None)


async def test_an_unknown_alert_is_named(lifecycle: AlertLifecycle) -> None:
    with pytest.raises(AlertNotFoundError, match="no alert with id 'f00'"):
        await lifecycle.acknowledge("f00", actor="operator-lan")
    with pytest.raises(AlertNotFoundError):
        await lifecycle.history("f00")


async def test_an_action_without_an_actor_is_refused(lifecycle: AlertLifecycle) -> None:
    alert = await _open(lifecycle)
    with pytest.raises(AlertInputError, match="the acknowledging actor is empty"):
        await lifecycle.acknowledge(alert.id, actor=" ")
    with pytest.raises(AlertInputError, match="the text is empty"):
        await lifecycle.note(alert.id, actor="operator-lan", text="")
    assert (await lifecycle.get(alert.id)).state is AlertState.OPEN
