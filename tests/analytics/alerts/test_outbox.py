"""The notice outbox: every transition handed over once, in order, whoever made it; a
process of some sites takes only theirs."""

from __future__ import annotations

import pytest

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey
from analytics.alerts.outbox import Transition, TransitionOutbox
from analytics.alerts.records import Action
from analytics.alerts.store import AlertStore
from tests.analytics.alerts.support import T0, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]

HCC = AlertKey("desk-absence", "thaibinh.hcc:counter-07")
TIEPDAN = AlertKey("desk-absence", "thaibinh.tiepdan:counter-01")


class Taken:
    def __init__(self) -> None:
        self.transitions: list[Transition] = []

    def __call__(self, batch: list[Transition]) -> None:
        self.transitions.extend(batch)

    def steps(self) -> list[tuple[str, Action, str]]:
        return [(t.alert.site, t.entry.action, t.entry.actor) for t in self.transitions]


async def test_transitions_are_handed_over_once_in_order_and_by_site(
    store: AlertStore, lifecycle: AlertLifecycle
) -> None:
    opened = await lifecycle.apply(signal(key=HCC, site="thaibinh.hcc"))
    await lifecycle.apply(signal(key=TIEPDAN, site="thaibinh.tiepdan"))
    await lifecycle.apply(signal(key=HCC, site="thaibinh.hcc", at=T0 + minutes(1)))  # update
    assert opened.alert is not None
    await lifecycle.acknowledge(opened.alert.id, actor="operator-minh")  # a person's action
    await lifecycle.apply(signal(False, T0 + minutes(5), key=HCC, site="thaibinh.hcc"))

    hcc, tiepdan = Taken(), Taken()
    assert await TransitionOutbox(store, sites=["thaibinh.hcc"]).dispatch(hcc) == 3
    assert hcc.steps() == [
        ("thaibinh.hcc", Action.OPENED, "system"),
        ("thaibinh.hcc", Action.ACKNOWLEDGED, "operator-minh"),
        ("thaibinh.hcc", Action.RESOLVED, "system"),
    ]  # the update is no transition
    assert await TransitionOutbox(store, sites=["thaibinh.hcc"]).dispatch(hcc) == 0  # once
    assert await TransitionOutbox(store).dispatch(tiepdan) == 1  # the other site's waited
    assert tiepdan.steps() == [("thaibinh.tiepdan", Action.OPENED, "system")]
