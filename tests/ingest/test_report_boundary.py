"""The province outline a citizen report must lie in: the scenario's sites are inside,
the neighbouring cities are not."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingest.reports.boundary import BoundaryError, ProvinceBoundary

SCENARIO = Path(__file__).parents[2] / "simulators" / "scenarios" / "thaibinh.yaml"


def located(node: object) -> list[tuple[float, float]]:
    """Every (lat, lon) pair anywhere in a YAML document."""
    if isinstance(node, dict):
        here = [(float(node["lat"]), float(node["lon"]))] if {"lat", "lon"} <= node.keys() else []
        return here + [p for value in node.values() for p in located(value)]
    if isinstance(node, list):
        return [p for value in node for p in located(value)]
    return []


def test_the_scenarios_sites_lie_inside_the_shipped_outline() -> None:
    boundary = ProvinceBoundary.load()
    sites = located(yaml.safe_load(SCENARIO.read_text(encoding="utf-8")))
    assert sites, "the scenario names no coordinates"
    assert [site for site in sites if not boundary.contains(*site)] == []
    assert boundary.contains(20.4463, 106.3366)  # the provincial public-service centre


@pytest.mark.parametrize(
    ("place", "lat", "lon"),
    [
        ("Hà Nội", 21.0285, 105.8542),
        ("Hải Phòng", 20.8449, 106.6881),
        ("Nam Định, across the Red River", 20.4200, 106.1683),
        ("Hưng Yên, across the Luộc", 20.6464, 106.0511),
        ("the sea off Thái Thụy", 20.5000, 106.7500),
    ],
)
def test_places_beyond_the_rivers_and_the_coast_are_outside(
    place: str, lat: float, lon: float
) -> None:
    assert not ProvinceBoundary.load().contains(lat, lon), place


def test_an_official_outline_replaces_the_shipped_one_and_a_broken_one_is_named(
    tmp_path: Path,
) -> None:
    square = tmp_path / "square.geojson"
    square.write_text(
        '{"type": "Polygon", "coordinates": [[[105.8, 21.0], [105.9, 21.0], [105.9, 21.1],'
        " [105.8, 21.1], [105.8, 21.0]]]}",
        encoding="utf-8",
    )
    assert ProvinceBoundary.load(square).contains(21.0285, 105.8542)
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "Point", "coordinates": [1, 2]}', encoding="utf-8")
    with pytest.raises(BoundaryError, match=r"broken\.geojson: no Polygon"):
        ProvinceBoundary.load(broken)
