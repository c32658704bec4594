"""Fixtures of ingest tests: the twin service in a thread, a namespace with devices, ingest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from tests.ingest.support import IngestProcess, create_twins, write_registry
from tests.services import Broker, Influx, free_port
from twins.client import DittoClient
from twins.registry import Registry
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings

TWIN_USER = "citytwin"
TWIN_PASSWORD = "twin-secret-for-tests"


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the thread is not the main thread
        pass


@dataclass
class TwinService:
    url: str
    username: str
    password: str

    def client(self) -> DittoClient:
        return DittoClient(self.url, self.username, self.password, timeout=10)


@pytest.fixture(scope="session")
def twin_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinService]:
    """The embedded twin service (uvicorn in a thread, SQLite in a temp dir)."""
    store = TwinStore.open(tmp_path_factory.mktemp("twins") / "twins.sqlite3")
    settings = TwinSettings(username=TWIN_USER, password=SecretStr(TWIN_PASSWORD))
    app = create_twin_app(store, settings, TWIN_PASSWORD)
    port = free_port()
    server = _ThreadServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="twin-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the twin service did not start"
        time.sleep(0.01)
    yield TwinService(f"http://127.0.0.1:{port}", TWIN_USER, TWIN_PASSWORD)
    server.should_exit = True
    thread.join(10)
    store.close()


@dataclass
class Site:
    """A test's own namespace: registry file, provisioned devices, twins, database."""

    namespace: str
    registry: Registry
    registry_path: Path
    database: str


@pytest.fixture
def make_site(
    broker: Broker, twin_service: TwinService, database: str, tmp_path: Path, unique_name: str
) -> Callable[..., Site]:
    def make(devices: list[tuple[str, str]], *, twins: bool = True) -> Site:
        namespace = f"thaibinh.{unique_name}"
        path = tmp_path / "registry.yaml"
        registry = write_registry(path, namespace, devices)
        broker.provision(registry)
        if twins:
            with twin_service.client() as client:
                create_twins(client, registry)
        return Site(namespace, registry, path, database)

    return make


@pytest.fixture
def make_ingest(
    broker: Broker, influx: Influx, twin_service: TwinService, tmp_path: Path, unique_name: str
) -> Iterator[Callable[..., IngestProcess]]:
    started: list[IngestProcess] = []

    def make(site: Site, *, twins: bool = True, **settings: Any) -> IngestProcess:
        runtime = {
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "mqtt_username": broker.service_user,
            "mqtt_password": broker.service_password,
            "influx_url": influx.url,
            "influx_database": site.database,
            "twins_url": twin_service.url if twins else None,
            "twins_username": twin_service.username,
            "twins_password": twin_service.password,
            "registry_path": str(site.registry_path),
            "spool_dir": str(tmp_path / "spool"),
            "settings": {
                "client_id": f"ingest-{unique_name}",
                "session_expiry_seconds": 60,
                "batch_seconds": 0.05,
                "stale_check_seconds": 0.5,
                **settings,
            },
        }
        process = IngestProcess(runtime, tmp_path)
        process.start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()
