"""Real Mosquitto and InfluxDB for tests, on free ports in temporary directories.

They are configured by the same code as ``citytwin up`` and can be stopped, restarted and
killed by reliability tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from citytwin.broker import write_mosquitto_config
from citytwin.credentials import new_secret
from citytwin.influxd import write_influxd_config
from citytwin.paths import StatePaths
from citytwin.provisioning import ProvisionReport, provision
from twins.registry import Registry, RegistrySpec

SERVICE_USER = "citytwin-service"


def free_port() -> int:
    """A TCP port nobody listens on now (and whose +2 is free too, for influxd's RPC)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port < 65000 and _is_free(port + 2):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def program(name: str) -> str:
    """Absolute path of a system program (Mosquitto lives in /usr/sbin)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if found is None:
        raise RuntimeError(f"{name} is not installed; run `make test` (it installs it)")
    return found


@dataclass
class ManagedProcess:
    """A server process a test can stop, start, restart and kill."""

    name: str
    argv: list[str]
    port: int
    log: Path
    pid_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if self.pid_file is not None:  # as the supervisor does: provisioning SIGHUPs it
            self.pid_file.write_text(f"{self.process.pid}\n")
        wait_for_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@dataclass
class Broker:
    """A real Mosquitto with a password file and ACL, as ``citytwin up`` configures it."""

    paths: StatePaths
    port: int
    service_password: str
    managed: ManagedProcess
    host: str = "127.0.0.1"
    service_user: str = SERVICE_USER

    def provision(self, registry: Registry) -> ProvisionReport:
        """Provision ``registry`` on top of what is there; SIGHUPs the broker."""
        return provision(registry, self.paths, {self.service_user: self.service_password})


def start_broker(root: Path) -> Broker:
    paths = StatePaths(root)
    port = free_port()
    write_mosquitto_config(paths, "127.0.0.1", port)
    password = new_secret()
    provision(Registry(RegistrySpec()), paths, {SERVICE_USER: password})
    paths.run.mkdir(parents=True, exist_ok=True)
    managed = ManagedProcess(
        "mosquitto",
        [program("mosquitto"), "-c", str(paths.mosquitto_conf)],
        port,
        root / "mosquitto.log",
        pid_file=paths.pid_file("mosquitto"),
    )
    managed.start()
    return Broker(paths, port, password, managed)


@dataclass
class Influx:
    """A real InfluxDB 1.x on loopback."""

    url: str
    port: int
    managed: ManagedProcess

    def query(self, database: str, influxql: str) -> dict[str, object]:
        import json
        import urllib.parse

        params = urllib.parse.urlencode({"db": database, "q": influxql, "epoch": "ms"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=10) as response:
            result: dict[str, object] = json.load(response)
        return result

    def create_database(self, database: str) -> None:
        import urllib.parse

        body = urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'}).encode()
        urllib.request.urlopen(f"{self.url}/query", data=body, timeout=10).close()


def start_influx(root: Path) -> Influx:
    paths = StatePaths(root)
    port = free_port()
    write_influxd_config(paths, port)
    managed = ManagedProcess(
        "influxd",
        [program("influxd"), "-config", str(paths.influx_conf)],
        port,
        root / "influxd.log",
    )
    managed.start()
    wait_for_ping(f"http://127.0.0.1:{port}")
    return Influx(f"http://127.0.0.1:{port}", port, managed)


def wait_for_ping(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/ping", timeout=1) as response,
        ):
            if response.status == 204:
                return
        time.sleep(0.1)
    raise TimeoutError(f"InfluxDB at {url} did not answer /ping")


class ThreadServer(uvicorn.Server):
    """uvicorn in a test's thread (only the main thread may install signal handlers)."""

    def install_signal_handlers(self) -> None:
        pass


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """Serve an ASGI ``app`` on ``127.0.0.1:port`` for the ``with`` block; yields its URL."""
    server = ThreadServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the app on port {port} did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


async def wait_until(condition: Callable[[], bool], within: float = 20.0) -> None:
    """Poll ``condition`` until it holds: for state of other processes, with no event to await."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - nothing to await but the condition itself
            await asyncio.sleep(0.02)
