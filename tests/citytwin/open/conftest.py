"""One small province served by the real app for the open-data tests of this folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.citytwin.open.city import OpenCity, running_city
from tests.services import Influx


@pytest.fixture(scope="package")
def city(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[OpenCity]:
    namespace = f"open{uuid.uuid4().hex[:8]}"
    with running_city(
        tmp_path_factory.mktemp("open-city"), influx, namespace, anonymous_rate="100000/minute"
    ) as running:
        yield running
