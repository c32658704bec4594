"""The alerts topic on a real Mosquitto, published as the ``citytwin-analytics`` account.

What a console that subscribes late sees: the newest state of each alert, retained; a
resolved alert for its retention, then nothing; a state changed while the broker was away,
once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from analytics.alerts.model import AlertState
from analytics.notify.mqtt import BrokerLogin
from analytics.notify.notice import AlertNotice, Transition
from analytics.notify.service import Notifier
from citytwin.accounts import BrokerAccount, ServiceRole
from tests.analytics.notify.conftest import make_notice
from tests.analytics.notify.support import drained, running
from tests.services import Broker, start_broker, wait_until
from twins.topics import PLATFORM, alert_topic

SENTINEL = "zz-sentinel"
RETENTION = 3


def analytics_login(broker: Broker) -> BrokerLogin:
    account = broker.account(role=ServiceRole.ANALYTICS)
    return BrokerLogin(broker.host, broker.port, account.username, account.password)


def site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def config(retention: int = 3600) -> dict[str, Any]:
    return {"mqtt": {"resolved_retention_seconds": retention}}


async def retained(
    broker: Broker,
    site: str,
    tester: BrokerAccount | None = None,
    expiries: dict[str, int] | None = None,
) -> dict[str, AlertNotice]:
    """What a subscriber arriving now is given for ``site``, up to the sentinel alert (which
    the test publishes last, so that its arrival means the retained set has been sent);
    ``expiries`` gets the message expiry interval the broker still gives each."""
    tester = tester or broker.account()
    found: dict[str, AlertNotice] = {}
    async with aiomqtt.Client(
        broker.host, broker.port, username=tester.username, password=tester.password,
        identifier=tester.username, protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:  # fmt: skip
        await client.subscribe(f"{PLATFORM}/alerts/{site}/#", qos=1)
        async with asyncio.timeout(20):
            async for message in client.messages:
                assert message.retain, f"{message.topic} arrived live, not retained"
                notice = AlertNotice.model_validate_json(bytes(message.payload))
                assert str(message.topic) == alert_topic(notice.site, notice.alert_id)
                if notice.alert_id == SENTINEL:
                    return found
                found[notice.alert_id] = notice
                expiry = getattr(message.properties, "MessageExpiryInterval", None)
                if expiries is not None and expiry is not None:
                    expiries[notice.alert_id] = expiry
    raise AssertionError("unreachable")


def sentinel(site: str) -> AlertNotice:
    return make_notice(alert_id=SENTINEL, site=site)


@contextlib.asynccontextmanager
async def publishing(
    broker: Broker, dead_letters: Path, retention: int = 3600
) -> AsyncIterator[Notifier]:
    async with running(config(retention), dead_letters, broker=analytics_login(broker)) as n:
        yield n


@pytest.mark.asyncio
async def test_a_late_subscriber_gets_each_alerts_newest_state(
    broker: Broker, dead_letter_file: Path
) -> None:
    where = site()
    opened = make_notice(alert_id="a-1", site=where)
    acknowledged = opened.model_copy(
        update={"state": AlertState.ACKNOWLEDGED, "transition": Transition.ACKNOWLEDGED,
                "actor": "nguyen.van.an"}
    )  # fmt: skip
    other = make_notice(alert_id="a-2", site=where, zone="")
    async with publishing(broker, dead_letter_file) as notifier:
        for notice in (opened, acknowledged, other, sentinel(where)):
            notifier.notify(notice)
        await drained(notifier)
    assert await retained(broker, where) == {"a-1": acknowledged, "a-2": other}


@pytest.mark.asyncio
async def test_a_resolved_alert_stays_retained_until_its_retention_ends(
    broker: Broker, dead_letter_file: Path
) -> None:
    where = site()
    resolved = make_notice(
        alert_id="a-1", site=where, state=AlertState.RESOLVED, transition=Transition.RESOLVED
    )
    tester, later = broker.account(), broker.account()  # accounts take a while: made first
    expiries: dict[str, int] = {}
    async with publishing(broker, dead_letter_file, retention=RETENTION) as notifier:
        notifier.notify(resolved)
        notifier.notify(sentinel(where))
        await drained(notifier)
        assert await retained(broker, where, tester, expiries) == {"a-1": resolved}
        assert 0 < expiries["a-1"] <= RETENTION  # the broker counts it down
        await asyncio.sleep(RETENTION + 1.5)  # the broker's own clock expires it
        notifier.notify(sentinel(where))
        await drained(notifier)
    assert await retained(broker, where, later) == {}


@pytest.mark.asyncio
async def test_without_retention_a_resolved_alert_is_cleared_at_once(
    broker: Broker, dead_letter_file: Path
) -> None:
    where = site()
    opened = make_notice(alert_id="a-1", site=where)
    resolved = opened.model_copy(
        update={"state": AlertState.RESOLVED, "transition": Transition.RESOLVED}
    )
    tester = broker.account()
    async with (
        publishing(broker, dead_letter_file, retention=0) as notifier,
        aiomqtt.Client(
            broker.host, broker.port, username=tester.username, password=tester.password,
            identifier=tester.username,
        ) as live,
    ):  # fmt: skip
        await live.subscribe(alert_topic(where, "a-1"), qos=1)
        notifier.notify(opened)
        await drained(notifier)
        notifier.notify(resolved)
        notifier.notify(sentinel(where))
        await drained(notifier)
        payloads = []
        async with asyncio.timeout(20):
            async for message in live.messages:
                payloads.append(bytes(message.payload))
                if len(payloads) == 3:
                    break
    # a live subscriber sees it opened, resolved, then the clearing (empty) message …
    assert [AlertNotice.model_validate_json(p).state for p in payloads[:2]] == [
        AlertState.OPEN, AlertState.RESOLVED,
    ]  # fmt: skip
    assert payloads[2] == b""
    # … and a late one nothing
    assert await retained(broker, where) == {}


@pytest.mark.asyncio
async def test_states_wait_while_the_broker_is_away(tmp_path: Path) -> None:
    own = start_broker(tmp_path / "mosquitto")
    try:
        where = site()
        opened = make_notice(alert_id="a-1", site=where)
        escalated = opened.model_copy(
            update={"transition": Transition.ESCALATED, "escalation_level": 1}
        )
        async with publishing(own, tmp_path / "dead.jsonl") as notifier:
            assert notifier.topic is not None
            topic = notifier.topic
            await wait_until(lambda: topic.connected)
            own.managed.stop()
            await wait_until(lambda: not topic.connected)
            for notice in (opened, escalated, sentinel(where)):
                notifier.notify(notice)
            await asyncio.sleep(1.0)  # tries to publish, fails, tries to reconnect
            assert topic.published == 0
            own.managed.start()
            await drained(notifier, within=60)
            assert topic.published == 2  # the alert's newest state and the sentinel
        assert await retained(own, where) == {"a-1": escalated}
    finally:
        own.managed.stop()
