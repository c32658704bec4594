"""A device link against a broker that stops answering, as a gateway meets it in the field."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from citytwin.provisioning import load_device_credentials
from simulators.link import DeviceLink, LinkStats
from tests.services import Broker, start_broker, wait_until
from tests.simulators.conftest import recording
from twins.kinds import DeviceKind
from twins.payloads import SensorTelemetry
from twins.registry import Registry, RegistrySpec
from twins.thing_id import ThingId
from twins.topics import Channel


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own: it is frozen on purpose, which others must not feel."""
    server = start_broker(tmp_path / "mosquitto")
    yield server
    server.managed.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    server.managed.stop()


def _registry(namespace: str) -> Registry:
    return Registry(
        RegistrySpec.model_validate(
            {
                "sites": [
                    {
                        "id": namespace,
                        "name": "Link test",
                        "sector": "health",
                        "devices": [{"name": "env-01", "kind": "sensor"}],
                    }
                ]
            }
        )
    )


@pytest.mark.asyncio
async def test_a_stalled_broker_costs_a_reconnect_not_the_device(
    own_broker: Broker, unique_name: str
) -> None:
    """A publish nobody acknowledges ends the session; the link reconnects and loses nothing."""
    namespace = f"link.{unique_name}"
    own_broker.provision(_registry(namespace))
    entry = load_device_credentials(own_broker.paths)[f"{namespace}:env-01"]
    stats = LinkStats()
    link = DeviceLink(
        ThingId.parse(f"{namespace}:env-01"),
        DeviceKind.SENSOR,
        host=own_broker.host,
        port=own_broker.port,
        username=entry.username,
        password=entry.password,
        stats=stats,
        rng=random.Random(7),
        backoff=(0.05, 0.2),
        publish_timeout=0.5,
    )

    def measure(value: float) -> None:
        link.send(Channel.TELEMETRY, SensorTelemetry(temperature_c=value), 0.0)

    broker_process = own_broker.managed.process
    assert broker_process is not None
    async with recording(own_broker, f"citytwin/{namespace}") as recorder:
        running = asyncio.create_task(link.run())
        for value in range(5):
            measure(value)
        await wait_until(lambda: stats.published == 5)

        broker_process.send_signal(signal.SIGSTOP)
        for value in range(5, 10):
            measure(value)
        await asyncio.sleep(1.5)  # three publish time-outs' worth of silence
        broker_process.send_signal(signal.SIGCONT)

        for value in range(10, 15):
            measure(value)
        link.finish(0.0)
        await asyncio.wait_for(running, 30)

    assert running.exception() is None
    assert stats.connect_failures >= 1, "the unacknowledged publish ended the session"
    assert link.sessions >= 2, "and the link connected again"
    telemetry = [
        orjson.loads(message.payload)
        for message in recorder.messages
        if message.topic.value.endswith("/telemetry") and isinstance(message.payload, bytes)
    ]
    # QoS 1 may deliver a message twice across the reconnect; none may be missing
    assert sorted({body["seq"] for body in telemetry}) == list(range(1, 16))
    assert stats.dropped == 0
