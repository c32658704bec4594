"""Fixtures of the KPI tests: a KPI client on a fresh database of the real InfluxDB, and
the session's twin service (tests/ingest's) for the rooms' booking features."""

from __future__ import annotations

import pytest

from analytics.kpis.influx import KpiInflux
from tests.ingest.conftest import twin_service
from tests.services import Influx

__all__ = ["twin_service"]


@pytest.fixture
def kpi_client_args(influx: Influx, database: str) -> dict[str, str]:
    return {
        "url": influx.url,
        "database": database,
        "username": influx.username,
        "password": influx.password,
    }


def kpi_client(args: dict[str, str]) -> KpiInflux:
    return KpiInflux(
        args["url"], args["database"], username=args["username"], password=args["password"]
    )
