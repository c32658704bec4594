"""Ditto's pre-authenticated header, from the client to a service that trusts it — or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import free_port, serve_in_thread
from twins.client import DittoClient
from twins.errors import DittoUnauthorizedError
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings


def serve(tmp_path: Path, *, trusted: bool) -> Iterator[str]:
    store = TwinStore.open(tmp_path / f"twins-{trusted}.sqlite3")
    app = create_twin_app(store, TwinSettings(pre_authenticated_header=trusted), "secret")
    with serve_in_thread(app, free_port()) as url:
        yield url
    store.close()


@pytest.fixture
def trusting(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, trusted=True)


@pytest.fixture
def distrusting(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, trusted=False)


def test_a_trusting_service_accepts_the_header_instead_of_a_password(trusting: str) -> None:
    with DittoClient(trusting, "citytwin", "", pre_authenticated=True) as client:
        client.put_thing({"thingId": "thaibinh.hcc:kiosk-01", "attributes": {"site": "hcc"}})
        assert client.get("thaibinh.hcc:kiosk-01", "attributes/site") == "hcc"


def test_a_service_that_does_not_trust_it_refuses(distrusting: str) -> None:
    with (
        DittoClient(distrusting, "citytwin", "", pre_authenticated=True) as client,
        pytest.raises(DittoUnauthorizedError),
    ):
        client.count()
