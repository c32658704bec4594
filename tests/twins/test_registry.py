"""The site/device registry file: thing ids from sites, mistakes named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from twins.kinds import DeviceKind, Sector
from twins.registry import Registry
from twins.thing_id import ThingId
from twins.yaml_source import YamlModelError

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sites.yaml"


def test_the_documented_example_loads() -> None:
    registry = Registry.load(EXAMPLE)
    counter = registry.get(ThingId.parse("thaibinh.hcc:counter-07"))
    assert counter is not None
    assert counter.kind is DeviceKind.COUNTER
    assert counter.sector is Sector.PUBLIC_ADMINISTRATION
    assert counter.attributes == {"service": "land"}
    assert len(registry) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sites:\n  - id: thaibinh.hcc\n    name: HCC\n    sector: banking\n",
            ":4: sites[0].sector: Input should be 'health'",
        ),
        (
            "sites:\n  - id: thaibinh.hcc\n    name: HCC\n    sector: health\n    devices:\n"
            "      - {name: cam-01, kind: camera}\n      - {name: cam/02, kind: camera}\n",
            ":7: sites[0].devices[1].name: String should match pattern",
        ),
        (
            "sites:\n  - id: thaibinh.hcc\n    name: HCC\n    sector: health\n    colour: red\n",
            ":5: sites[0].colour: unknown field (check the spelling)",
        ),
        ("sites:\n  - id: [unclosed\n", ":3: not valid YAML"),
        (
            "sites:\n  - {id: a.b, name: A, sector: health}\n"
            "  - {id: a.b, name: B, sector: health}\n",
            "site id 'a.b' appears twice",
        ),
    ],
)
def test_mistakes_are_named_by_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(text)
    with pytest.raises(YamlModelError) as caught:
        Registry.load(path)
    assert any(expected in line for line in caught.value.problems), caught.value.problems
    assert all(line.startswith(str(path)) for line in caught.value.problems)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(YamlModelError, match=r"nope\.yaml: cannot read"):
        Registry.load(tmp_path / "nope.yaml")
