"""Helpers for simulator tests: the smoke scenario in a namespace of its own, a recorder."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from citytwin.provisioning import load_device_credentials
from simulators.scenario import Scenario, load_scenario, scenario_path
from tests.services import Broker, free_port
from twins.registry import Registry


def smoke_scenario(tmp_path: Path, namespace: str) -> Scenario:
    """The bundled smoke scenario with its site renamed to ``namespace`` and free ports
    (RTSP and RTP)."""
    text = scenario_path("smoke").read_text(encoding="utf-8").replace("smoke.hcc", namespace)
    path = tmp_path / "smoke.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    video = scenario.video.model_copy(
        update={
            "client_port": free_port(),
            "source_port": free_port(),
            "rtp_start_port": free_udp_range(),
        }
    )
    return scenario.model_copy(update={"video": video})


def free_udp_range(count: int = 200) -> int:
    """The first of ``count`` consecutive UDP ports on loopback that nothing holds now: an
    RTSP relay's RTP ports, away from other relays' (the shared 20000 of the default);
    picked at random, so that two relays asking one after the other get apart."""
    for _ in range(100):
        start = random.randrange(21000, 60000 - count, 2)
        sockets: list[socket.socket] = []
        try:
            for port in range(start, start + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return start
    raise RuntimeError("no free range of UDP ports")


async def forget_statuses(broker: Broker, registry: Registry) -> None:
    """Clear the retained statuses a scenario's devices left on the session's broker: a
    later test's ingest would take them for messages of devices it does not know."""
    account = broker.account()
    async with aiomqtt.Client(
        broker.host, broker.port, username=account.username, password=account.password
    ) as client:
        for device in registry:
            topic = f"citytwin/{device.thing_id.namespace}/{device.thing_id.name}/status"
            await client.publish(topic, b"", qos=1, retain=True)


def provision(broker: Broker, scenario: Scenario) -> dict[str, tuple[str, str]]:
    broker.provision(Registry(scenario.registry_spec()))
    return {
        thing_id: (entry.username, entry.password)
        for thing_id, entry in load_device_credentials(broker.paths).items()
    }


@dataclass
class Recorder:
    """Every message under a topic prefix, as a tester's account sees it."""

    messages: list[aiomqtt.Message] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def recording(broker: Broker, prefix: str) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    account = broker.account()
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        username=account.username,
        password=account.password,
        max_queued_incoming_messages=100_000,
    )
    async with client:
        await client.subscribe(f"{prefix}/#", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                if message.topic.value == f"{prefix}/_end/status":
                    recorder.ended.set()
                else:
                    recorder.messages.append(message)

        async with asyncio.TaskGroup() as group:
            task = group.create_task(collect(), name="recorder")
            try:
                yield recorder
                # a last message of our own proves everything before it has arrived
                await client.publish(f"{prefix}/_end/status", b"end", qos=1)
                await recorder.ended.wait()
            finally:
                task.cancel()


@pytest.fixture
def namespace(unique_name: str) -> str:
    return f"smoke.{unique_name}"
