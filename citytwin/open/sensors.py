"""The sensors as the open API sees them: read from the twins through an allow-list of
fields, placed on the map by their own or their site's coordinates.

Only the fields in ``TWIN_FIELDS`` ever leave the twin service for this package; the
twin's configuration (stream URLs), commands and alerts are not even fetched. The list is
reused for ``cache_seconds``: a burst of public requests costs the twin service one search.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from citytwin.open.problems import OpenDataError, ProblemType
from twins.client import DittoClient
from twins.errors import DittoError
from twins.kinds import DeviceKind
from twins.registry import Registry
from twins.yaml_source import YamlModelError

logger = logging.getLogger(__name__)

SENSOR_FILTER = 'eq(attributes/kind,"sensor")'
TWIN_FIELDS = (
    "thingId,attributes(kind,site,sector,measures,label,siteName,lat,lon),"
    "features/measurements/properties,"
    "features/connectivity/properties(online,lastSeen,stale,firmware)"
)


@dataclass(slots=True, frozen=True)
class Position:
    """WGS 84 degrees."""

    lon: float
    lat: float


@dataclass(slots=True, frozen=True)
class SensorTwin:
    """What may be published of one sensor's twin."""

    thing_id: str
    label: str | None
    site_name: str | None
    measures: tuple[str, ...]
    measurements: Mapping[str, float]
    online: bool
    stale: bool
    last_seen: str | None
    firmware: str | None
    position: Position | None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def sensor_of(thing: Mapping[str, Any], sites: Mapping[str, Position]) -> SensorTwin | None:
    """The publishable part of a twin (None when it has no thing id)."""
    thing_id = _text(thing.get("thingId"))
    if thing_id is None:
        return None
    attributes = thing.get("attributes") or {}
    features = thing.get("features") or {}
    measured = (features.get("measurements") or {}).get("properties") or {}
    connectivity = (features.get("connectivity") or {}).get("properties") or {}
    lat, lon = _number(attributes.get("lat")), _number(attributes.get("lon"))
    if lat is not None and lon is not None:
        position: Position | None = Position(lon, lat)
    else:
        position = sites.get(str(attributes.get("site", "")))
    measures = tuple(
        part.strip() for part in str(attributes.get("measures") or "").split(",") if part.strip()
    )
    numbers = {name: v for name, value in measured.items() if (v := _number(value)) is not None}
    return SensorTwin(
        thing_id=thing_id,
        label=_text(attributes.get("label")),
        site_name=_text(attributes.get("siteName")),
        measures=measures,
        measurements=numbers,
        online=connectivity.get("online") is True,
        stale=connectivity.get("stale") is True,
        last_seen=_text(connectivity.get("lastSeen")),
        firmware=_text(connectivity.get("firmware")),
        position=position,
    )


@dataclass(slots=True, frozen=True)
class Sites:
    """What the registry says of each site that the open API uses."""

    positions: Mapping[str, Position]
    names: Mapping[str, str]
    counters: Mapping[str, int]


class RegistrySites:
    """The registry's sites, read again when the file changes (a broken file is logged
    and the sites it replaced are kept)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._sites = Sites({}, {}, {})

    def __call__(self) -> Sites:
        try:
            stamp = self.path.stat().st_mtime
        except OSError:
            return self._sites
        if stamp != self._stamp:
            try:
                spec = Registry.load(self.path).spec
            except YamlModelError as exc:  # keep serving what the file said before
                logger.warning("open data: registry %s not read again: %s", self.path, exc)
                self._stamp = stamp
                return self._sites
            self._sites = Sites(
                positions={
                    site.id: Position(site.lon, site.lat)
                    for site in spec.sites
                    if site.lat is not None and site.lon is not None
                },
                names={site.id: site.name for site in spec.sites},
                counters={
                    site.id: sum(device.kind is DeviceKind.COUNTER for device in site.devices)
                    for site in spec.sites
                },
            )
            self._stamp = stamp
        return self._sites


class SensorSource:
    """Every sensor twin, searched at most once per ``ttl`` seconds."""

    def __init__(
        self,
        client: Callable[[], DittoClient],
        sites: Callable[[], Sites],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._sites = sites
        self._ttl = ttl
        self._clock = clock
        self._lock = asyncio.Lock()
        self._read_at: float | None = None
        self._sensors: list[SensorTwin] = []

    async def sensors(self) -> list[SensorTwin]:
        async with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._ttl:
                self._sensors = await asyncio.to_thread(self._search)
                self._read_at = now
            return self._sensors

    def _search(self) -> list[SensorTwin]:
        positions = self._sites().positions
        try:
            with self._client() as client:
                things = list(client.search(SENSOR_FILTER, fields=TWIN_FIELDS))
        except (DittoError, requests.RequestException) as exc:
            logger.warning("open data: the twins of the sensors cannot be read: %s", exc)
            raise OpenDataError(
                ProblemType.SERVICE_UNAVAILABLE, f"the sensor twins cannot be read: {exc}"
            ) from None
        found = [sensor_of(thing, positions) for thing in things]
        return sorted((s for s in found if s is not None), key=lambda s: s.thing_id)
