"""Fixtures of ingest tests: the twin service in a thread, a namespace with devices, ingest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from citytwin.accounts import ServiceRole
from tests.ingest.support import IngestProcess, create_twins, write_registry
from tests.services import Broker, Influx, free_port, serve_in_thread
from twins.client import DittoClient
from twins.registry import Registry
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings

TWIN_USER = "citytwin"
TWIN_PASSWORD = "twin-secret-for-tests"


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
    with serve_in_thread(app, free_port()) as url:
        yield TwinService(url, TWIN_USER, TWIN_PASSWORD)
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

    def make(
        site: Site,
        *,
        twins: bool = True,
        wait_ready: bool = True,
        runtime_overrides: dict[str, Any] | None = None,
        **settings: Any,
    ) -> IngestProcess:
        account = broker.account(ServiceRole.INGEST)
        runtime = {
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "mqtt_username": account.username,
            "mqtt_password": account.password,
            "influx_url": influx.url,
            "influx_username": influx.username,
            "influx_password": influx.password,
            "influx_database": site.database,
            "twins_url": twin_service.url if twins else None,
            "twins_username": twin_service.username,
            "twins_password": twin_service.password,
            "registry_path": str(site.registry_path),
            "spool_dir": str(tmp_path / "spool"),
            "settings": {
                "session_expiry_seconds": 60,
                "batch_seconds": 0.05,
                "stale_check_seconds": 0.5,
                **settings,
            },
        }
        runtime.update(runtime_overrides or {})
        process = IngestProcess(runtime, tmp_path)
        process.start(wait_ready=wait_ready)
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()
