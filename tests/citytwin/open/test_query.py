"""The NGSI-LD query subset on its own: what a comparison matches, and what is refused."""

from __future__ import annotations

import pytest

from citytwin.open.problems import OpenDataError
from citytwin.open.query import parse_geo, parse_q


def matches(q: str, entity: dict[str, object]) -> bool:
    return all(comparison.matches(entity) for comparison in parse_q(q))


@pytest.mark.parametrize(
    ("q", "entity", "expected"),
    [
        ("pm25>35", {"pm25": 42}, True),
        ("pm25>35", {"pm25": 35.0}, False),
        ("pm25>=35;pm25<=35", {"pm25": 35.0}, True),
        ("pm25>35", {}, False),  # no such attribute: no match
        ("pm25!=35", {}, False),
        ('pm25>"35"', {"pm25": 42}, False),  # text is not ordered against numbers
        ('pm25!="35"', {"pm25": 42}, True),
        ('deviceState=="online"', {"deviceState": "online"}, True),
        (
            'dateObserved>="2026-12-08T03:00:00Z"',
            {"dateObserved": "2026-12-08T03:15:00.000Z"},
            True,
        ),
        ("online==true", {"online": True}, True),
        ("online==true", {"online": 1}, False),  # a number is not a boolean
        ("online!=false", {"online": True}, True),
        ('category=="sensor"', {"category": ["sensor"]}, True),  # any item of a list
    ],
)
def test_a_comparison_matches_what_the_specification_says(
    q: str, entity: dict[str, object], expected: bool
) -> None:
    assert matches(q, entity) is expected


def test_a_semicolon_always_separates_comparisons() -> None:
    with pytest.raises(OpenDataError, match="not a number") as refused:
        parse_q('name=="a;b"')
    assert refused.value.parameter == "q"


def test_a_polygon_must_be_closed_and_simple() -> None:
    bow_tie = "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]"
    with pytest.raises(OpenDataError, match="crosses itself") as refused:
        parse_geo("within", "Polygon", bow_tie, None)
    assert refused.value.parameter == "coordinates"
    with pytest.raises(OpenDataError, match="only 'location'"):
        parse_geo("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "observationSpace")
