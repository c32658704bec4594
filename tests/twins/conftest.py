"""The embedded twin service, served for real by uvicorn in a thread (httpx's pattern)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from tests.services import free_port, serve_in_thread
from twins.client import DittoClient
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinRole, TwinSettings, TwinUser

SERVICE_PASSWORD = "service-secret"
USERS = {
    "alice": "alice-secret",
    "bob": "bob-secret",
    "olga": "olga-secret",
    "adam": "adam-secret",
}
ROLES = {"olga": TwinRole.OPERATOR, "adam": TwinRole.ADMIN}


@dataclass(slots=True, frozen=True)
class TwinServer:
    """A running twin service: its base URL, who may log in, and the namespaces that
    provisioning owns (a test adds its own namespace to make it provisioned)."""

    url: str
    settings: TwinSettings
    store: TwinStore
    provisioned: set[str] = field(default_factory=set)

    def client(self, user: str = "citytwin") -> DittoClient:
        password = SERVICE_PASSWORD if user == "citytwin" else USERS[user]
        return DittoClient(self.url, user, password)

    def session(self, user: str = "citytwin") -> requests.Session:
        password = SERVICE_PASSWORD if user == "citytwin" else USERS[user]
        session = requests.Session()
        session.auth = (user, password)
        return session


@pytest.fixture(scope="session")
def twin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinServer]:
    state = tmp_path_factory.mktemp("twins")
    settings = TwinSettings(
        users={
            name: TwinUser(password=SecretStr(password), role=ROLES.get(name, TwinRole.VIEWER))
            for name, password in USERS.items()
        },
        sse_heartbeat_seconds=1.0,
    )
    store = TwinStore.open(Path(state) / "twins.sqlite")
    provisioned: set[str] = set()
    app = create_twin_app(store, settings, SERVICE_PASSWORD, lambda: provisioned)
    with serve_in_thread(app, free_port()) as url:
        yield TwinServer(url, settings, store, provisioned)
    store.close()


@pytest.fixture
def namespace() -> str:
    """A namespace of its own for each test (aiomqtt's unique_topic idea)."""
    return f"test.n{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(twin_server: TwinServer) -> Iterator[DittoClient]:
    with twin_server.client() as ditto:
        yield ditto


@pytest.fixture
def http(twin_server: TwinServer) -> Iterator[requests.Session]:
    with twin_server.session() as session:
        yield session
