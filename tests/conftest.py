"""Session-wide real services: Mosquitto and InfluxDB on free ports in temp dirs.

Both are watched (``Watchdog``): should one die on its own, it is restarted at once, the
test it died in is told (a ``ServerCrashWarning``) and the session's report ends with the
crash and the end of the server's log.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest

from tests.services import Broker, Crash, Influx, Watchdog, start_broker, start_influx

WATCHDOGS: list[Watchdog] = []


class ServerCrashWarning(UserWarning):
    """A session-wide server died during a test (and was restarted)."""


def _crashes() -> list[Crash]:
    return [crash for watchdog in WATCHDOGS for crash in watchdog.crashes]


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real Mosquitto configured like `citytwin up` does it (auth + ACL + persistence)."""
    server = start_broker(tmp_path_factory.mktemp("mosquitto"))
    with Watchdog(server.managed) as watchdog:
        WATCHDOGS.append(watchdog)
        yield server
    server.managed.stop()


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influx]:
    """A real InfluxDB 1.x on loopback."""
    server = start_influx(tmp_path_factory.mktemp("influxdb"))
    with Watchdog(server.managed) as watchdog:
        WATCHDOGS.append(watchdog)
        yield server
    server.managed.stop()


@pytest.fixture(autouse=True)
def session_servers_stay_up() -> Iterator[None]:
    """Tell the test a session-wide server died in (its failure, if any, may be that)."""
    before = len(_crashes())
    yield
    for crash in _crashes()[before:]:
        warnings.warn(ServerCrashWarning(f"session-wide server: {crash}"), stacklevel=1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    crashes = _crashes()
    if crashes:
        terminalreporter.section("session-wide servers that died")
        for crash in crashes:
            terminalreporter.write_line(str(crash))


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: a namespace segment, a database name, a topic level."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def database(influx: Influx, unique_name: str) -> str:
    """A fresh InfluxDB database for one test."""
    influx.create_database(unique_name)
    return unique_name
