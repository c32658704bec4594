"""MqttSession against a real Mosquitto: a consumer stalled for several keepalives keeps its
connection and loses nothing; under uvloop a broker killed again and again only makes the
session reconnect; a malformed packet costs the connection, not the session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import uvloop
from paho.mqtt.enums import CallbackAPIVersion

from citytwin.accounts import BrokerAccount
from ingest.mqtt import MqttSession
from ingest.mqtt_codec import Received
from tests.services import Broker, start_broker, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def new_session(broker: Broker, topic: str, **options: Any) -> MqttSession:
    """A session of an account of its own subscribed to ``topic`` (as ingest's)."""
    account = broker.account()
    return MqttSession(
        host=broker.host,
        port=broker.port,
        username=account.username,
        password=account.password,
        client_id=account.username,
        subscriptions=[topic],
        session_expiry=60,
        **options,
    )


def publish_all(broker: Broker, account: BrokerAccount, topic: str, count: int) -> None:
    """Publish ``0..count-1`` to ``topic`` at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(account.username, account.password)
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, str(i).encode(), qos=1) for i in range(count)]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.loop_stop()
        client.disconnect()


def acks(batch: list[Received]) -> list[tuple[int, int, int]]:
    return [(message.generation, message.mid, message.qos) for message in batch]


def test_a_consumer_stalled_for_several_keepalives_keeps_the_connection_and_loses_nothing(
    broker: Broker, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingest.mqtt")
    topics = [f"citytwin/{unique_name}/p{i}" for i in range(3)]
    per_publisher = 400
    keepalive = 2
    publishers = [broker.account() for _ in topics]

    async def scenario() -> None:
        async with new_session(
            broker, f"citytwin/{unique_name}/#", keepalive=keepalive, max_pending=50
        ) as session:
            await session.wait_subscribed(10)
            await asyncio.gather(
                *(
                    asyncio.to_thread(publish_all, broker, account, topic, per_publisher)
                    for account, topic in zip(publishers, topics, strict=True)
                )
            )
            # nobody takes a batch for four keepalives: PINGREQ/PINGRESP must go on
            await asyncio.sleep(4 * keepalive)
            assert session.connected.is_set()
            assert session.generation == 1, "the session reconnected while the consumer stalled"
            assert session.received_total == 50, "more decoded than max_pending: no backpressure"

            received: list[Received] = []
            batches = session.batches()
            async with asyncio.timeout(30):
                while len(received) < len(topics) * per_publisher:
                    batch = await anext(batches)
                    received += batch
                    session.ack_all(acks(batch))
            with pytest.raises(TimeoutError):  # and nothing comes again
                async with asyncio.timeout(1.5):
                    received += await anext(batches)
            assert session.generation == 1

        for topic in topics:
            payloads = [int(m.payload) for m in received if m.topic == topic]
            assert payloads == list(range(per_publisher)), f"{topic}: lost, doubled or reordered"
        assert len(received) == len(topics) * per_publisher

    asyncio.run(scenario())
    connects = [r for r in caplog.records if r.getMessage().startswith("connected to MQTT")]
    assert len(connects) == 1
    assert not [r for r in caplog.records if "lost the MQTT connection" in r.getMessage()]


async def publish_forever(session: MqttSession, topic: str, sent: list[int]) -> None:
    """QoS 1 publishes, ~2,000/s while connected (they come back: the session subscribes)."""
    while True:
        for _ in range(10):
            if session.publish(topic, b"x" * 512, qos=1):
                sent.append(session.generation)
        await asyncio.sleep(0.005)


async def consume(session: MqttSession, received: list[int]) -> None:
    """Take every batch, note its connection, acknowledge it at once."""
    async for batch in session.batches():
        received.extend(message.generation for message in batch)
        session.ack_all(acks(batch))


@contextlib.asynccontextmanager
async def running(*coroutines: Any) -> AsyncIterator[None]:
    """Run ``coroutines`` in the background for the block; their failure is the test's."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coroutine) for coroutine in coroutines]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


def test_under_uvloop_a_broker_killed_and_restarted_only_makes_the_session_reconnect(
    tmp_path: Path, unique_name: str
) -> None:
    own = start_broker(tmp_path / "mosquitto")  # the session-wide broker stays untouched
    topic = f"citytwin/{unique_name}/echo"

    async def scenario() -> None:
        sent: list[int] = []
        received: list[int] = []
        session = new_session(own, topic, keepalive=5)
        async with (
            session,
            running(publish_forever(session, topic, sent), consume(session, received)),
        ):
            previous = 0
            for restart in range(6):
                await wait_until(
                    lambda: session.subscribed.is_set() and session.generation > previous,  # noqa: B023
                    within=30,
                )
                generation = previous = session.generation
                await wait_until(
                    lambda: received.count(generation) >= 200,  # noqa: B023
                    within=20,
                )
                if restart < 5:
                    await asyncio.to_thread(own.managed.stop, signal.SIGKILL)
                    await asyncio.to_thread(own.managed.start)
        assert len(set(received)) >= 6, "messages on every connection"

    try:
        uvloop.run(scenario())
    finally:
        own.managed.stop()


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(b"\x32\x06\x00\x09abc\x00", id="a PUBLISH whose topic runs past it"),
        pytest.param(b"\x30\xff\xff\xff\xff\x01", id="a remaining length over 4 bytes"),
    ],
)
def test_a_malformed_packet_drops_the_connection_and_the_session_goes_on(
    broker: Broker, unique_name: str, malformed: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes the broker never sends, as if the socket had delivered them: the session logs
    what was wrong, reconnects and takes the next messages."""
    topic = f"citytwin/{unique_name}/after"

    async def scenario() -> list[int]:
        session = new_session(broker, topic)
        async with session:
            await session.wait_subscribed(10)
            generation = session.generation
            session._buffer = malformed  # what one recv returned
            session._parse()
            await wait_until(
                lambda: session.subscribed.is_set() and session.generation > generation
            )
            await asyncio.to_thread(publish_all, broker, broker.account(), topic, 50)
            received: list[int] = []
            async for batch in session.batches():
                received += [int(message.payload) for message in batch]
                session.ack_all(acks(batch))
                if len(received) >= 50:
                    return received
        return received

    with caplog.at_level(logging.ERROR, logger="ingest.mqtt"):
        received = uvloop.run(scenario())
    assert sorted(received) == list(range(50))
    assert "sent a malformed packet" in caplog.text
