"""Fixtures of the analytics process's tests: real broker, InfluxDB, twin service and
ingest (tests/ingest's), a rule directory of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.conftest import make_ingest, make_site, twin_service

__all__ = ["make_ingest", "make_site", "twin_service"]

FLOOD_RULES = """\
site: "thaibinh.*"
kind: sensor
rules:
  - {id: flood, type: threshold, field: water_level_cm, above: 100, clear_at: 90, severity: major}
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A rule directory with one rule: water above 100 cm is a major flood alert."""
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "flood.yaml").write_text(FLOOD_RULES, encoding="utf-8")
    return directory
