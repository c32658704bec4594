"""Session-wide real services: Mosquitto and InfluxDB on free ports in temp dirs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.services import Broker, Influx, start_broker, start_influx


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real Mosquitto configured like `citytwin up` does it (auth + ACL + persistence)."""
    server = start_broker(tmp_path_factory.mktemp("mosquitto"))
    yield server
    server.managed.stop()


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influx]:
    """A real InfluxDB 1.x on loopback."""
    server = start_influx(tmp_path_factory.mktemp("influxdb"))
    yield server
    server.managed.stop()


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: a namespace segment, a database name, a topic level."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def database(influx: Influx, unique_name: str) -> str:
    """A fresh InfluxDB database for one test."""
    influx.create_database(unique_name)
    return unique_name
