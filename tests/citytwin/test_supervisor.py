"""The supervisor restarts a killed child and leaves nothing behind when it stops."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from functools import partial
from pathlib import Path

import pytest

from citytwin.accounts import BrokerAccount
from citytwin.broker import write_mosquitto_config
from citytwin.credentials import new_secret
from citytwin.paths import StatePaths
from citytwin.probes import mqtt_ready
from citytwin.provisioning import provision
from citytwin.supervisor import ChildSpec, Supervisor, SupervisorError
from tests.services import free_port, process_alive, program, wait_until
from twins.registry import Registry, RegistrySpec

pytestmark = pytest.mark.asyncio(loop_scope="function")


def mosquitto_spec(root: Path) -> ChildSpec:
    paths = StatePaths(root)
    port = free_port()
    conf = write_mosquitto_config(paths, "127.0.0.1", port)
    password = new_secret()
    provision(Registry(RegistrySpec()), paths, [BrokerAccount("svc", password, ())])
    return ChildSpec(
        name="mosquitto",
        argv=[program("mosquitto"), "-c", str(conf)],
        health=partial(mqtt_ready, "127.0.0.1", port, "svc", password),
    )


async def test_killed_child_is_restarted_and_serves_again(tmp_path: Path) -> None:
    spec = mosquitto_spec(tmp_path)
    stop = asyncio.Event()
    async with Supervisor([spec], tmp_path / "logs", tmp_path / "run") as supervisor:
        child = supervisor.children[0]
        runner = asyncio.create_task(supervisor.run_until(stop))
        first_pid = child.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        await wait_until(lambda: child.pid != first_pid and child.restarts == 1)
        await wait_until(lambda: child.process is not None and child.process.returncode is None)
        assert await spec.health() or await _eventually(spec)
        assert (tmp_path / "run" / "mosquitto.pid").read_text().strip() == str(child.pid)
        stop.set()
        await runner
    assert not process_alive(first_pid)
    assert child.pid is not None
    assert not process_alive(child.pid)
    assert not (tmp_path / "run" / "mosquitto.pid").exists()


async def _eventually(spec: ChildSpec) -> bool:
    for _ in range(100):
        if await spec.health():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_stop_terminates_the_whole_process_group(tmp_path: Path) -> None:
    """A child's own children (e.g. a shell's sleep) go too."""
    marker = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {marker}; wait"
    spec = ChildSpec(name="shell", argv=["/bin/sh", "-c", script], health=partial(_exists, marker))
    stop = asyncio.Event()
    async with Supervisor([spec], tmp_path / "logs", tmp_path / "run") as supervisor:
        grandchild = int(marker.read_text())
        assert process_alive(grandchild)
        stop.set()
        await supervisor.run_until(stop)
    await wait_until(lambda: not process_alive(grandchild), within=5)


async def _exists(path: Path) -> bool:
    """A health probe: the file exists and says something."""
    return await asyncio.to_thread(lambda: path.exists() and path.read_text().strip() != "")


async def test_child_that_never_becomes_healthy_is_reported_and_stopped(tmp_path: Path) -> None:
    spec = ChildSpec(
        name="sleeper",
        argv=[sys.executable, "-c", "import time; time.sleep(300)"],
        health=partial(_exists, tmp_path / "never"),
        start_timeout=1.0,
    )
    with pytest.raises(SupervisorError, match=r"sleeper was not healthy after 1 s"):
        async with Supervisor([spec], tmp_path / "logs", tmp_path / "run"):
            pass
    assert not (tmp_path / "run" / "sleeper.pid").exists()


async def test_child_that_exits_at_start_names_its_log(tmp_path: Path) -> None:
    spec = ChildSpec(
        name="broken",
        argv=[sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"],
        health=partial(_exists, tmp_path / "never"),
    )
    with pytest.raises(SupervisorError, match=r"broken exited with code 3.*broken\.log"):
        async with Supervisor([spec], tmp_path / "logs", tmp_path / "run"):
            pass
    assert "bad config" in (tmp_path / "logs" / "broken.log").read_text()
