"""Maintenance windows suppress opening alerts of a site or of one device, in event time;
each suppressed signal is recorded with the window that suppressed it."""

from __future__ import annotations

import pytest

from analytics.alerts.errors import AlertInputError, AlertNotFoundError
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey, AlertState
from analytics.alerts.records import SignalOutcome
from tests.analytics.alerts.support import DESK, T0, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]

OTHER_CAMERA = AlertKey(DESK.rule, "thaibinh.hcc/cam-04", "desk-5")


async def test_a_site_window_suppresses_every_device_of_the_site(
    lifecycle: AlertLifecycle,
) -> None:
    window = await lifecycle.add_maintenance(
        site="thaibinh.hcc",
        starts_at=T0 - minutes(30),
        ends_at=T0 + minutes(30),
        reason="camera firmware upgrade",
        actor="admin-tuan",
    )
    for key in (DESK, OTHER_CAMERA):
        applied = await lifecycle.apply(signal(key=key))
        assert (applied.outcome, applied.alert, applied.window_id) == (
            SignalOutcome.SUPPRESSED,
            None,
            window.id,
        )
    assert await lifecycle.active_alerts() == []
    [recorded] = await lifecycle.signals_of(DESK)
    assert (recorded.outcome, recorded.window_id, recorded.at) == (
        SignalOutcome.SUPPRESSED,
        window.id,
        T0,
    )


async def test_a_device_window_leaves_the_other_devices_alone(lifecycle: AlertLifecycle) -> None:
    await lifecycle.add_maintenance(
        site="thaibinh.hcc",
        device=DESK.device,
        starts_at=T0,
        ends_at=T0 + minutes(60),
        reason="lens cleaning",
        actor="admin-tuan",
    )
    assert (await lifecycle.apply(signal(key=DESK))).outcome is SignalOutcome.SUPPRESSED
    assert (await lifecycle.apply(signal(key=OTHER_CAMERA))).outcome is SignalOutcome.OPENED


async def test_signals_outside_the_window_or_of_another_site_open_alerts(
    lifecycle: AlertLifecycle,
) -> None:
    await lifecycle.add_maintenance(
        site="thaibinh.hcc",
        starts_at=T0,
        ends_at=T0 + minutes(60),
        reason="power works",
        actor="admin-tuan",
    )
    before = await lifecycle.apply(signal(at=T0 - minutes(1)))
    assert before.outcome is SignalOutcome.OPENED
    await lifecycle.apply(signal(active=False, at=T0 - minutes(1) + minutes(0.5)))
    at_end = await lifecycle.apply(signal(at=T0 + minutes(60)))  # the end is exclusive
    assert at_end.outcome is SignalOutcome.OPENED
    elsewhere = AlertKey("hospital-intrusion", "thaibinh.hospital1/cam-01", "pharmacy")
    other_site = await lifecycle.apply(
        signal(key=elsewhere, at=T0 + minutes(5), site="thaibinh.hospital1")
    )
    assert other_site.outcome is SignalOutcome.OPENED


async def test_an_alert_open_before_the_window_still_resolves(lifecycle: AlertLifecycle) -> None:
    await lifecycle.apply(signal(at=T0 - minutes(10)))
    await lifecycle.add_maintenance(
        site="thaibinh.hcc",
        starts_at=T0,
        ends_at=T0 + minutes(60),
        reason="power works",
        actor="admin-tuan",
    )
    cleared = await lifecycle.apply(signal(active=False, at=T0 + minutes(5)))
    assert cleared.outcome is SignalOutcome.RESOLVED
    assert cleared.alert is not None
    assert cleared.alert.state is AlertState.RESOLVED


async def test_a_removed_window_no_longer_suppresses(lifecycle: AlertLifecycle) -> None:
    window = await lifecycle.add_maintenance(
        site="thaibinh.hcc",
        starts_at=T0 - minutes(5),
        ends_at=T0 + minutes(60),
        reason="x",
        actor="admin-tuan",
    )
    assert [w.id for w in await lifecycle.maintenance_windows("thaibinh.hcc")] == [window.id]
    await lifecycle.remove_maintenance(window.id)
    assert await lifecycle.maintenance_windows() == []
    assert (await lifecycle.apply(signal())).outcome is SignalOutcome.OPENED
    with pytest.raises(AlertNotFoundError, match=f"no maintenance window with id {window.id}"):
        await lifecycle.remove_maintenance(window.id)


async def test_a_window_that_ends_before_it_starts_is_refused(lifecycle: AlertLifecycle) -> None:
    refusal = r"'thaibinh\.hcc': ends_at .* is not after starts_at"
    with pytest.raises(AlertInputError, match=refusal):
        await lifecycle.add_maintenance(
            site="thaibinh.hcc",
            starts_at=T0,
            ends_at=T0,
            reason="x",
            actor="admin-tuan",
        )
    assert await lifecycle.maintenance_windows() == []
