"""Two analytics processes on one database (two stores, two engines): however their
transactions interleave, one key never has two open alerts and one signal counts once."""

from __future__ import annotations

import asyncio

import pytest

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState
from analytics.alerts.records import SignalOutcome
from analytics.alerts.store import AlertStore
from tests.analytics.alerts.support import DESK, T0, FakeClock, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]


async def test_racing_onsets_of_one_key_open_one_alert(store_url: str) -> None:
    stores = [await AlertStore.connect(store_url) for _ in range(2)]
    try:
        lifecycles = [AlertLifecycle(store, clock=FakeClock()) for store in stores]
        for round_ in range(5):
            at = T0 + minutes(10 * round_)
            outcomes = await asyncio.gather(
                lifecycles[0].apply(signal(at=at)),
                lifecycles[1].apply(signal(at=at + minutes(1))),
                lifecycles[0].apply(signal(at=at)),  # the same signal, redelivered
                lifecycles[1].apply(signal(at=at)),  # … and to the other process
            )
            kinds = sorted(applied.outcome for applied in outcomes)
            assert kinds.count(SignalOutcome.OPENED) == 1
            assert kinds.count(SignalOutcome.DUPLICATE) == 2
            await lifecycles[round_ % 2].apply(signal(active=False, at=at + minutes(5)))

        alerts = await lifecycles[0].alerts_of(DESK)
        assert len(alerts) == 5
        assert {alert.state for alert in alerts} == {AlertState.RESOLVED}
    finally:
        for store in stores:
            await asyncio.to_thread(store.close)
