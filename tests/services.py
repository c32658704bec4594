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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion

from citytwin.accounts import Access, AclRule, BrokerAccount, ServiceRole, role_acl
from citytwin.broker import Autosave, write_mosquitto_config
from citytwin.credentials import new_secret
from citytwin.influxd import write_influxd_config
from citytwin.paths import StatePaths
from citytwin.provisioning import ProvisionReport, provision
from twins.registry import Registry, RegistrySpec


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
    """A server process a test can stop, start, restart and kill.

    ``start`` and ``stop`` hold a lock, so a ``Watchdog`` restarting a server that died on
    its own never races a test that stops or restarts it on purpose.
    """

    name: str
    argv: list[str]
    port: int
    log: Path
    pid_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    stopped: bool = field(default=True, init=False)
    """True from a ``stop`` until the next ``start``: a process gone meanwhile was stopped."""
    lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def start(self) -> None:
        with self.lock:
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            if self.pid_file is not None:  # as the supervisor does: provisioning SIGHUPs it
                self.pid_file.write_text(f"{self.process.pid}\n")
            self.stopped = False
            wait_for_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        with self.lock:
            self.stopped = True
            if self.process is None or self.process.poll() is not None:
                return
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self) -> None:
        with self.lock:
            self.stop()
            self.start()

    def died(self) -> int | None:
        """The exit status of a process that ended without ``stop`` (None: running or
        stopped on purpose)."""
        with self.lock:
            if self.stopped or self.process is None:
                return None
            return self.process.poll()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@dataclass(frozen=True)
class Crash:
    """A session-wide server that died on its own: when, how, and the end of its log."""

    name: str
    at: float
    returncode: int
    log_tail: str

    def __str__(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.at))
        how = f"signal {-self.returncode}" if self.returncode < 0 else f"code {self.returncode}"
        ended = f"its log ended:\n{self.log_tail}"
        return f"{self.name} died at {when} ({how}) and was restarted; {ended}"


class Watchdog:
    """Restarts a session-wide server that dies on its own, as ``citytwin up``'s supervisor
    does in production, so one crash of a third-party server fails the test it happened
    in — not every later test of the session. Each crash is kept (``crashes``) for the
    test report, with the end of the server's log."""

    def __init__(self, managed: ManagedProcess, interval: float = 0.2) -> None:
        self.managed = managed
        self.interval = interval
        self.crashes: list[Crash] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"watchdog-{managed.name}", daemon=True
        )

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            with self.managed.lock:
                returncode = self.managed.died()
                if returncode is None:
                    continue
                at, tail = time.time(), _tail(self.managed.log)
                try:
                    self.managed.start()
                except (OSError, TimeoutError) as exc:
                    tail += f"\n(the restart failed: {exc})"
                    return
                finally:
                    self.crashes.append(Crash(self.managed.name, at, returncode, tail))


def _tail(log: Path, size: int = 3000) -> str:
    with contextlib.suppress(OSError), log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - size))
        return file.read().decode(errors="replace")
    return "(no log)"


TESTER_ACL = (AclRule(Access.READWRITE, "#"),)
"""A tester's account may read and write everything (no such account exists outside tests)."""


@dataclass
class Broker:
    """A real Mosquitto with a password file and ACL, as ``citytwin up`` configures it.

    Every client's id is its user name, as in production: two connections with one account
    take each other over, so each client of a test gets an account of its own
    (``account``).
    """

    paths: StatePaths
    port: int
    managed: ManagedProcess
    host: str = "127.0.0.1"
    accounts: list[BrokerAccount] = field(default_factory=list)

    def provision(self, registry: Registry) -> ProvisionReport:
        """Provision ``registry`` (replacing the devices) with every account made so far."""
        return provision(registry, self.paths, self.accounts)

    def account(self, role: ServiceRole | None = None, name: str | None = None) -> BrokerAccount:
        """A new account with the ACL of a citytwin service ``role``, or — without one — a
        tester's that may do anything; returns once the broker accepts it."""
        username = name or f"{role.value if role else 'tester'}-{uuid.uuid4().hex[:10]}"
        account = BrokerAccount(
            username, new_secret(), role_acl(role) if role is not None else TESTER_ACL
        )
        self.accounts.append(account)
        provision(Registry(RegistrySpec()), self.paths, self.accounts, add_only=True)
        self.wait_accepted(account.username, account.password)
        return account

    def wait_accepted(self, username: str, password: str, timeout: float = 10.0) -> None:
        """Until the broker accepts the login (it rereads its files on SIGHUP, at once but
        asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            client.username_pw_set(username, password)
            client.connect(self.host, self.port)
            reason = _connack(client)
            client.disconnect()
            for _ in range(40):  # sends the DISCONNECT; paho closes the socket
                if client.socket() is None:
                    break
                client.loop(0.05)
            if reason == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker refuses {username!r} after {timeout} s")
            time.sleep(0.05)


def stop_client(client: mqtt.Client) -> None:
    """Disconnect a paho client run by ``loop_start`` and release its sockets now.

    paho 2.2 keeps the wake-up socket pair of ``loop_start`` until the client is garbage
    collected, which pytest reports as an unclosed socket in whichever test runs then.
    """
    client.disconnect()
    client.loop_stop()
    client._reset_sockets()


def _connack(client: mqtt.Client) -> int:
    """Run the client's loop until its CONNACK; the return code (0: accepted)."""
    codes: list[int] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: codes.append(reason.value)
    deadline = time.monotonic() + 5
    while not codes and time.monotonic() < deadline:
        client.loop(0.05)
    return codes[0] if codes else -1


def start_broker(root: Path, autosave: Autosave | None = None, sys_interval: int = 2) -> Broker:
    """A broker as ``citytwin up`` configures it, but with its ``$SYS`` figures every
    ``sys_interval`` seconds (10 in production), so ingest reports them within a test."""
    paths = StatePaths(root)
    port = free_port()
    write_mosquitto_config(paths, "127.0.0.1", port, autosave, sys_interval)
    provision(Registry(RegistrySpec()), paths, [])
    paths.run.mkdir(parents=True, exist_ok=True)
    managed = ManagedProcess(
        "mosquitto",
        [program("mosquitto"), "-c", str(paths.mosquitto_conf)],
        port,
        root / "mosquitto.log",
        pid_file=paths.pid_file("mosquitto"),
    )
    managed.start()
    return Broker(paths, port, managed)


@dataclass
class Influx:
    """A real InfluxDB 1.x on loopback with authentication on, as ``citytwin up`` runs it.

    ``username``/``password`` are its admin's (tests of ingest create and drop databases).
    """

    url: str
    port: int
    managed: ManagedProcess
    username: str = "admin"
    password: str = ""

    def execute(self, influxql: str, database: str = "") -> dict[str, object]:
        """POST one InfluxQL statement as the admin; the JSON answer."""
        import json
        import urllib.parse

        fields = {"q": influxql, "epoch": "ms", **({"db": database} if database else {})}
        request = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(fields).encode()
        )
        request.add_header("Authorization", _basic(self.username, self.password))
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, object] = json.load(response)
        return result

    def query(self, database: str, influxql: str) -> dict[str, object]:
        return self.execute(influxql, database)

    def create_database(self, database: str) -> None:
        """The database with the never-expiring ``kept`` policy the stack's setup gives it
        (sector indicators are written there)."""
        self.execute(f'CREATE DATABASE "{database}"')
        self.execute(f'CREATE RETENTION POLICY "kept" ON "{database}" DURATION INF REPLICATION 1')


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def create_influx_admin(url: str, username: str = "admin") -> str:
    """Create the first user of an InfluxDB with auth on (allowed without credentials
    while it has none); returns the password."""
    import urllib.parse

    password = new_secret()
    statement = f"CREATE USER \"{username}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
    body = urllib.parse.urlencode({"q": statement}).encode()
    urllib.request.urlopen(f"{url}/query", data=body, timeout=10).close()
    return password


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
    url = f"http://127.0.0.1:{port}"
    wait_for_ping(url)
    return Influx(url, port, managed, password=create_influx_admin(url))


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


@dataclass
class Radicale:
    """A real Radicale configured as ``citytwin up`` does it (htpasswd, owner-only rights,
    filesystem storage), which a test can stop and start again on the same port."""

    paths: StatePaths
    port: int
    managed: ManagedProcess
    username: str
    password: str

    @property
    def home(self) -> str:
        """The calendar home of the account: ``{home}{calendar}/`` is one calendar."""
        return f"http://127.0.0.1:{self.port}/{self.username}/"


def start_radicale(root: Path, username: str = "citytwin") -> Radicale:
    from citytwin.radicale import radicale_argv, write_radicale_config

    paths = StatePaths(root)
    port = free_port()
    password = new_secret()
    write_radicale_config(paths, port, username, password)
    managed = ManagedProcess("radicale", radicale_argv(paths), port, root / "radicale.log")
    managed.start()
    return Radicale(paths, port, managed, username, password)
