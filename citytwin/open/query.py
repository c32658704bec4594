"""The subset of NGSI-LD's query language the open API answers, parsed into typed filters.

    q            attribute comparisons joined by ``;`` (and):  ``pm25>35;deviceState=="online"``
                 operators ``== != < > <= >=``; values are numbers, ``true``/``false`` or
                 double-quoted text; ``|``, parentheses, ranges (``..``), lists and paths
                 into values are refused with a 400 that says so
    georel       ``near;maxDistance==METRES``, ``near;minDistance==METRES``, ``within``
    geometry     ``Point`` (with near) or ``Polygon`` (with within)
    coordinates  GeoJSON coordinates, lon/lat in degrees: ``[106.33,20.45]``
    geoproperty  ``location`` only
    limit/offset paging, at most 1000 entities a page

A comparison on an attribute an entity lacks does not match (as in the specification);
order operators compare numbers with numbers and text with text (ISO times sort as text).
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shapely.geometry import Point, Polygon

from citytwin.open.problems import bad_parameter

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
EARTH_RADIUS_M = 6_371_008.8
TERM = re.compile(
    r"^\s*(?P<attr>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>.+?)\s*$"
)
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
QUOTED = re.compile(r'"[^"]*"')
DISTANCE = re.compile(r"^near;(?P<which>maxDistance|minDistance)==(?P<metres>\d+(\.\d+)?)$")

Scalar = float | str | bool


class Operator(StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    GT = ">"
    LE = "<="
    GE = ">="


@dataclass(slots=True, frozen=True)
class Comparison:
    attribute: str
    operator: Operator
    value: Scalar

    def matches(self, entity: Mapping[str, Any]) -> bool:
        """Does the entity (simplified form) satisfy this comparison?"""
        if self.attribute not in entity:
            return False
        actual = entity[self.attribute]
        if isinstance(actual, list):
            return any(self._compare(item) for item in actual)
        return self._compare(actual)

    def _compare(self, actual: object) -> bool:
        """Numbers with numbers, text with text, booleans only for (in)equality; any other
        pairing is unequal and unordered."""
        wanted = self.value
        if isinstance(actual, bool) or isinstance(wanted, bool):
            pair: tuple[float, float] | tuple[str, str] | None = None
            same = type(actual) is type(wanted) and actual == wanted
        elif isinstance(actual, int | float) and isinstance(wanted, float):
            pair, same = (float(actual), wanted), float(actual) == wanted
        elif isinstance(actual, str) and isinstance(wanted, str):
            pair, same = (actual, wanted), actual == wanted
        else:
            pair, same = None, False
        if self.operator is Operator.EQ:
            return same
        if self.operator is Operator.NE:
            return not same
        if pair is None:
            return False
        return ORDERINGS[self.operator](*pair)


ORDERINGS: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.LT: operator.lt,
    Operator.GT: operator.gt,
    Operator.LE: operator.le,
    Operator.GE: operator.ge,
}


def _value(text: str, term: str) -> Scalar:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    if NUMBER.match(text):
        return float(text)
    raise bad_parameter(
        "q",
        f"the value {text!r} of {term!r} is not a number, true/false or double-quoted text"
        " (ranges, lists and unquoted text are not supported)",
    )


def parse_q(text: str) -> tuple[Comparison, ...]:
    """``temperature>30;deviceState=="online"`` → its comparisons; 400 naming ``q``."""
    if not text.strip():
        raise bad_parameter("q", "is empty")
    unquoted = QUOTED.sub('""', text)
    for unsupported, what in (("|", "'|' (or)"), ("(", "parentheses"), ("..", "ranges")):
        if unsupported in unquoted:
            raise bad_parameter(
                "q", f"{what} in {text!r} is not supported: join comparisons with ';' (and)"
            )
    comparisons = []
    for term in text.split(";"):
        match = TERM.match(term)
        if match is None:
            raise bad_parameter(
                "q",
                f"{term!r} is not <attribute><op><value> with op one of ==, !=, <, >, <=, >="
                " (comparisons joined by ';')",
            )
        comparisons.append(
            Comparison(match["attr"], Operator(match["op"]), _value(match["value"], term))
        )
    return tuple(comparisons)


class GeoRelation(StrEnum):
    NEAR = "near"
    WITHIN = "within"


@dataclass(slots=True, frozen=True)
class GeoQuery:
    relation: GeoRelation
    point: Point | None = None
    polygon: Polygon | None = None
    max_distance: float | None = None
    min_distance: float | None = None

    def matches(self, entity: Mapping[str, Any]) -> bool:
        """Does the entity's ``location`` (simplified form) satisfy the relation?"""
        location = entity.get("location")
        if not isinstance(location, Mapping) or location.get("type") != "Point":
            return False
        lon, lat = location["coordinates"]
        if self.relation is GeoRelation.WITHIN:
            assert self.polygon is not None
            return bool(self.polygon.covers(Point(lon, lat)))
        assert self.point is not None
        distance = haversine_m(self.point.x, self.point.y, lon, lat)
        if self.max_distance is not None and distance > self.max_distance:
            return False
        return not (self.min_distance is not None and distance < self.min_distance)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (shapely's planes know no metres on a sphere)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _position(item: object) -> tuple[float, float]:
    if (
        not isinstance(item, list)
        or len(item) != 2
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in item)
    ):
        raise bad_parameter("coordinates", f"{json.dumps(item)} is not a [longitude, latitude]")
    lon, lat = float(item[0]), float(item[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad_parameter(
            "coordinates", f"[{lon}, {lat}] is outside longitude -180..180, latitude -90..90"
        )
    return lon, lat


def parse_geo(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str | None
) -> GeoQuery | None:
    """The geo-query of the four parameters, or None when none is given."""
    if georel is None and geometry is None and coordinates is None:
        if geoproperty not in {None, "location"}:
            raise bad_parameter("geoproperty", f"{geoproperty!r}: only 'location' is supported")
        return None
    if georel is None:
        raise bad_parameter("georel", "is needed with geometry and coordinates")
    if geometry is None:
        raise bad_parameter("geometry", "is needed with georel (Point or Polygon)")
    if coordinates is None:
        raise bad_parameter("coordinates", "is needed with georel")
    if geoproperty not in {None, "location"}:
        raise bad_parameter("geoproperty", f"{geoproperty!r}: only 'location' is supported")
    try:
        parsed = json.loads(coordinates)
    except json.JSONDecodeError as exc:
        raise bad_parameter("coordinates", f"{coordinates!r} is not JSON ({exc.msg})") from None
    distance = DISTANCE.match(georel)
    if distance is not None:
        if geometry != "Point":
            raise bad_parameter("geometry", f"{geometry!r}: near needs a Point")
        lon, lat = _position(parsed)
        metres = float(distance["metres"])
        which = distance["which"]
        return GeoQuery(
            GeoRelation.NEAR,
            point=Point(lon, lat),
            max_distance=metres if which == "maxDistance" else None,
            min_distance=metres if which == "minDistance" else None,
        )
    if georel == "within":
        if geometry != "Polygon":
            raise bad_parameter("geometry", f"{geometry!r}: within needs a Polygon")
        if not isinstance(parsed, list) or not parsed or not isinstance(parsed[0], list):
            raise bad_parameter(
                "coordinates", "a Polygon is a list of rings: [[[lon,lat],[lon,lat],…]]"
            )
        rings = [[_position(p) for p in ring] if isinstance(ring, list) else [] for ring in parsed]
        outer = rings[0]
        if len(outer) < 4 or outer[0] != outer[-1]:
            raise bad_parameter(
                "coordinates",
                "a Polygon's ring needs 4 or more positions, the last equal to the first",
            )
        polygon = Polygon(outer, rings[1:])
        if not polygon.is_valid:
            raise bad_parameter("coordinates", "the Polygon crosses itself")
        return GeoQuery(GeoRelation.WITHIN, polygon=polygon)
    raise bad_parameter(
        "georel",
        f"{georel!r} is not supported: use near;maxDistance==METRES, near;minDistance==METRES"
        " or within",
    )


def parse_count(name: str, text: str | None, default: int, maximum: int) -> int:
    """A non-negative integer parameter (limit, offset) up to ``maximum``."""
    if text is None:
        return default
    if not text.isdigit():
        raise bad_parameter(name, f"{text!r} is not a whole number ≥ 0")
    value = int(text)
    if value > maximum:
        raise bad_parameter(name, f"{value} is more than {maximum}")
    return value
