"""The alert store on both its backends: a SQLite file per test, and a database per test
in one real PostgreSQL for the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.settings import EscalationSettings
from analytics.alerts.store import AlertStore
from tests.analytics.alerts.support import FakeClock
from tests.postgres import Postgres, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL 15 cluster, run as the unprivileged postgres user."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, unique_name: str) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'alerts' / 'alerts.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    server.create_database(unique_name)
    return server.url(unique_name)


@pytest_asyncio.fixture
async def store(store_url: str) -> AsyncIterator[AlertStore]:
    async with await AlertStore.connect(store_url) as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def escalation() -> EscalationSettings:
    return EscalationSettings()


@pytest.fixture
def lifecycle(
    store: AlertStore, clock: FakeClock, escalation: EscalationSettings, tmp_path: Path
) -> AlertLifecycle:
    return AlertLifecycle(
        store,
        escalation=escalation,
        clock=clock,
        evidence=DiskEvidenceStorage(tmp_path / "evidence"),
    )
