"""A real Radicale per test (tests stop it to see the sync degrade), a room with a twin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Radicale, start_radicale


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = start_radicale(tmp_path / "radicale")
    yield server
    server.managed.stop()
