"""The embedded twin service, served for real by uvicorn in a thread (httpx's pattern)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import uvicorn
from pydantic import SecretStr

from twins.client import DittoClient
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings, TwinUser

SERVICE_PASSWORD = "service-secret"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


@dataclass(slots=True, frozen=True)
class TwinServer:
    """A running twin service: its base URL and who may log in."""

    url: str
    settings: TwinSettings
    store: TwinStore

    def client(self, user: str = "citytwin") -> DittoClient:
        password = SERVICE_PASSWORD if user == "citytwin" else USERS[user]
        return DittoClient(self.url, user, password)

    def session(self, user: str = "citytwin") -> requests.Session:
        password = SERVICE_PASSWORD if user == "citytwin" else USERS[user]
        session = requests.Session()
        session.auth = (user, password)
        return session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_in_thread(server: uvicorn.Server) -> Iterator[None]:
    thread = threading.Thread(target=server.run, name="twin-service", daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def twin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinServer]:
    state = tmp_path_factory.mktemp("twins")
    settings = TwinSettings(
        users={name: TwinUser(password=SecretStr(password)) for name, password in USERS.items()},
        sse_heartbeat_seconds=1.0,
    )
    store = TwinStore.open(Path(state) / "twins.sqlite")
    app = create_twin_app(store, settings, SERVICE_PASSWORD)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = _Server(config)
    yield from _serving(server, TwinServer(f"http://127.0.0.1:{port}", settings, store))
    store.close()


def _serving(server: uvicorn.Server, twin: TwinServer) -> Iterator[TwinServer]:
    for _ in serve_in_thread(server):
        yield twin


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
