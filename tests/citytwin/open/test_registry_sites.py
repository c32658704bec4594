"""The sites the open API places sensors by: read again when the registry changes, and a
broken registry keeps what the last good one said."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citytwin.open.sensors import Position, RegistrySites

GOOD = """
sites:
  - id: tb.hcc
    name: Trung tâm Phục vụ hành chính công
    sector: public_administration
    lat: 20.447
    lon: 106.336
    devices:
      - {name: counter-01, kind: counter}
      - {name: counter-02, kind: counter}
"""


def rewrite(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stamp, stamp))


def test_a_changed_registry_is_read_again_and_a_broken_one_is_not_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "registry.yaml"
    rewrite(path, GOOD, 1_000)
    sites = RegistrySites(path)
    first = sites()
    assert first.positions == {"tb.hcc": Position(106.336, 20.447)}
    assert first.counters == {"tb.hcc": 2}
    rewrite(path, GOOD.replace("lat: 20.447", "lat: 20.5"), 2_000)
    assert sites().positions["tb.hcc"] == Position(106.336, 20.5)
    rewrite(path, GOOD.replace("kind: counter}", "kind: teapot}"), 3_000)
    assert sites().positions["tb.hcc"] == Position(106.336, 20.5)
    assert "not read again" in caplog.text
    assert "registry.yaml:9: sites[0].devices[0].kind" in caplog.text  # line and field
