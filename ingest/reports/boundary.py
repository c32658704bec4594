"""Whether a point lies in the province: a GeoJSON outline checked with shapely.

The package ships a simplified outline of Thái Bình (``thaibinh.geojson``); the settings'
``reports.boundary`` names an official one instead. Every polygon of the file counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
from shapely import Point, prepare
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

SHIPPED = Path(__file__).with_name("thaibinh.geojson")


class BoundaryError(ValueError):
    """The boundary file cannot be read as GeoJSON polygons (names the file)."""


@dataclass(slots=True, frozen=True)
class ProvinceBoundary:
    """The province's outline, ready for point-in-polygon checks."""

    area: BaseGeometry
    source: Path

    @classmethod
    def load(cls, path: Path | None = None) -> ProvinceBoundary:
        source = path or SHIPPED
        try:
            document = orjson.loads(source.read_bytes())
            geometries = [
                shape(feature.get("geometry") or feature)
                for feature in document.get("features", [document])
                if feature.get("geometry") or feature.get("type") in {"Polygon", "MultiPolygon"}
            ]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise BoundaryError(f"boundary {source}: not a readable GeoJSON file ({exc})") from None
        except ShapelyError as exc:
            raise BoundaryError(f"boundary {source}: {exc}") from None
        polygons = [g for g in geometries if g.geom_type in {"Polygon", "MultiPolygon"}]
        if not polygons:
            raise BoundaryError(f"boundary {source}: no Polygon or MultiPolygon in it")
        area = unary_union(polygons)
        if not area.is_valid:
            raise BoundaryError(f"boundary {source}: the outline is not a valid polygon")
        prepare(area)
        return cls(area, source)

    def contains(self, lat: float, lon: float) -> bool:
        """True when (lat, lon) lies inside or on the outline."""
        return bool(self.area.covers(Point(lon, lat)))
