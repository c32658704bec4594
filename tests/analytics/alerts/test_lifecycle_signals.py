"""Signals open, update and resolve alerts: one alert per key, redelivery changes nothing,
late and stale signals land where they belong. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analytics.alerts.errors import AlertInputError
from analytics.alerts.lifecycle import SYSTEM_ACTOR, AlertLifecycle
from analytics.alerts.model import AlertKey, AlertState, Severity
from analytics.alerts.records import Action, Resolution, SignalOutcome
from tests.analytics.alerts.support import DESK, T0, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]


async def test_an_active_signal_opens_an_alert(lifecycle: AlertLifecycle) -> None:
    applied = await lifecycle.apply(signal(details={"empty_minutes": 12}))

    assert applied.outcome is SignalOutcome.OPENED
    alert = applied.alert
    assert alert is not None
    assert (alert.state, alert.severity, alert.opened_at) == (AlertState.OPEN, Severity.MAJOR, T0)
    assert (alert.site, alert.device, alert.zone) == ("thaibinh.hcc", DESK.device, "desk-2")
    assert alert.message_vi == "Cán bộ vắng mặt tại quầy 2"
    assert alert.details == {"empty_minutes": 12}
    assert await lifecycle.active_alerts() == [alert]
    [opened] = await lifecycle.history(alert.id)
    assert (opened.action, opened.actor, opened.at, opened.to_state) == (
        Action.OPENED,
        SYSTEM_ACTOR,
        T0,
        AlertState.OPEN,
    )


async def test_a_second_signal_of_an_open_key_updates_the_one_alert(
    lifecycle: AlertLifecycle,
) -> None:
    first = await lifecycle.apply(signal(at=T0))
    second = await lifecycle.apply(
        signal(at=T0 + minutes(3), severity=Severity.CRITICAL, details={"empty_minutes": 13})
    )

    assert second.outcome is SignalOutcome.UPDATED
    assert first.alert is not None
    assert second.alert is not None
    assert second.alert.id == first.alert.id
    assert second.alert.severity is Severity.CRITICAL
    assert second.alert.details == {"empty_minutes": 13}
    assert second.alert.opened_at == T0
    assert len(await lifecycle.alerts_of(DESK)) == 1
    actions = [entry.action for entry in await lifecycle.history(first.alert.id)]
    assert actions == [Action.OPENED, Action.UPDATED]


async def test_an_acknowledged_alert_also_takes_the_next_signal(
    lifecycle: AlertLifecycle,
) -> None:
    opened = await lifecycle.apply(signal(at=T0))
    assert opened.alert is not None
    await lifecycle.acknowledge(opened.alert.id, actor="operator-lan")
    again = await lifecycle.apply(signal(at=T0 + minutes(5)))

    assert again.outcome is SignalOutcome.UPDATED
    assert again.alert is not None
    assert again.alert.id == opened.alert.id
    assert again.alert.state is AlertState.ACKNOWLEDGED


async def test_signals_of_other_zones_are_other_alerts(lifecycle: AlertLifecycle) -> None:
    other_zone = AlertKey(DESK.rule, DESK.device, "desk-3")
    a = await lifecycle.apply(signal(key=DESK))
    b = await lifecycle.apply(signal(key=other_zone))

    assert a.alert is not None
    assert b.alert is not None
    assert a.alert.id != b.alert.id
    assert len(await lifecycle.active_alerts()) == 2


async def test_the_condition_clearing_resolves_the_alert_at_its_event_time(
    lifecycle: AlertLifecycle,
) -> None:
    opened = await lifecycle.apply(signal(at=T0))
    cleared = await lifecycle.apply(signal(active=False, at=T0 + minutes(7)))

    assert cleared.outcome is SignalOutcome.RESOLVED
    alert = cleared.alert
    assert alert is not None
    assert opened.alert is not None
    assert alert.id == opened.alert.id
    assert alert.state is AlertState.RESOLVED
    assert alert.resolution is Resolution.AUTO
    assert (alert.resolved_at, alert.resolved_by) == (T0 + minutes(7), SYSTEM_ACTOR)
    assert await lifecycle.active_alerts() == []
    resolved = (await lifecycle.history(alert.id))[-1]
    assert (resolved.action, resolved.from_state, resolved.resolution) == (
        Action.RESOLVED,
        AlertState.OPEN,
        Resolution.AUTO,
    )


async def test_after_resolution_the_next_onset_opens_a_new_alert(
    lifecycle: AlertLifecycle,
) -> None:
    await lifecycle.apply(signal(at=T0))
    await lifecycle.apply(signal(active=False, at=T0 + minutes(7)))
    again = await lifecycle.apply(signal(at=T0 + minutes(30)))

    assert again.outcome is SignalOutcome.OPENED
    alerts = await lifecycle.alerts_of(DESK)
    assert [a.state for a in alerts] == [AlertState.RESOLVED, AlertState.OPEN]


async def test_a_redelivered_signal_changes_nothing(lifecycle: AlertLifecycle) -> None:
    onset, clear = signal(at=T0), signal(active=False, at=T0 + minutes(7))
    opened = await lifecycle.apply(onset)
    assert opened.alert is not None
    history = await lifecycle.history(opened.alert.id)

    again = await lifecycle.apply(onset)
    assert again.outcome is SignalOutcome.DUPLICATE
    assert again.alert == opened.alert
    assert await lifecycle.history(opened.alert.id) == history

    resolved = await lifecycle.apply(clear)
    history = await lifecycle.history(opened.alert.id)
    # the whole stream again, as after a restart that replays from an older position
    for redelivered in (onset, clear, onset):
        assert (await lifecycle.apply(redelivered)).outcome is SignalOutcome.DUPLICATE
    assert await lifecycle.alerts_of(DESK) == [resolved.alert]
    assert await lifecycle.history(opened.alert.id) == history
    assert len(await lifecycle.signals_of(DESK)) == 2


async def test_a_clear_older_than_the_open_alert_is_stale(lifecycle: AlertLifecycle) -> None:
    await lifecycle.apply(signal(at=T0))
    stale = await lifecycle.apply(signal(active=False, at=T0 - minutes(1)))

    assert stale.outcome is SignalOutcome.STALE
    assert [a.state for a in await lifecycle.alerts_of(DESK)] == [AlertState.OPEN]


async def test_a_clear_without_an_open_alert_is_recorded_and_opens_nothing(
    lifecycle: AlertLifecycle,
) -> None:
    applied = await lifecycle.apply(signal(active=False, at=T0))

    assert (applied.outcome, applied.alert) == (SignalOutcome.NO_ALERT, None)
    assert await lifecycle.alerts_of(DESK) == []
    [recorded] = await lifecycle.signals_of(DESK)
    assert (recorded.active, recorded.outcome) == (False, SignalOutcome.NO_ALERT)


async def test_an_onset_arriving_after_its_clear_is_opened_and_resolved(
    lifecycle: AlertLifecycle,
) -> None:
    """A device's offline buffer flushed out of order: the clear came first."""
    await lifecycle.apply(signal(active=False, at=T0 + minutes(9)))
    late = await lifecycle.apply(signal(at=T0))

    assert late.outcome is SignalOutcome.OPENED
    [alert] = await lifecycle.alerts_of(DESK)
    assert (alert.opened_at, alert.state, alert.resolved_at) == (
        T0,
        AlertState.RESOLVED,
        T0 + minutes(9),
    )
    assert await lifecycle.active_alerts() == []


async def test_a_signal_with_a_naive_time_is_refused(lifecycle: AlertLifecycle) -> None:
    naive = replace(signal(), at=T0.replace(tzinfo=None))
    with pytest.raises(AlertInputError, match=r"signal for hcc-desk-absence\|.*has no time zone"):
        await lifecycle.apply(naive)
    assert await lifecycle.alerts_of(DESK) == []
