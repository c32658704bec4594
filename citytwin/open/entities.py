"""Sensors as FIWARE Smart Data Models entities, in NGSI-LD's normalized form.

One sensor twin ``thaibinh.env:env-07`` gives a ``Device`` and, by what it measures, an
``AirQualityObserved`` (temperature, relative humidity, PM2.5), a ``NoiseLevelObserved``
(LAeq) and a ``FloodMonitoring`` (water level), each ``urn:ngsi-ld:<Type>:<thing id>`` and
pointing at its device with ``refDevice``. Units are UN/CEFACT codes as the models ask;
relative humidity is a fraction (the twin holds percent).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from citytwin.open.sensors import SensorTwin

URN_PREFIX = "urn:ngsi-ld:"
DATA_PROVIDER = "citytwin"


class EntityType(StrEnum):
    AIR_QUALITY = "AirQualityObserved"
    NOISE = "NoiseLevelObserved"
    FLOOD = "FloodMonitoring"
    DEVICE = "Device"


@dataclass(slots=True, frozen=True)
class ObservedAttribute:
    """One measured attribute: its model name, where the twin and InfluxDB keep it."""

    name: str
    twin_property: str
    influx_field: str
    unit_code: str
    scale: float = 1.0


OBSERVED: Mapping[EntityType, tuple[ObservedAttribute, ...]] = {
    EntityType.AIR_QUALITY: (
        ObservedAttribute("temperature", "temperatureC", "temperature_c", "CEL"),
        ObservedAttribute("relativeHumidity", "humidityPct", "humidity_pct", "C62", 0.01),
        ObservedAttribute("pm25", "pm25Ugm3", "pm25_ugm3", "GQ"),
    ),
    EntityType.NOISE: (ObservedAttribute("LAeq", "noiseDba", "noise_dba", "2N"),),
    EntityType.FLOOD: (ObservedAttribute("currentLevel", "waterLevelCm", "water_level_cm", "CMT"),),
    EntityType.DEVICE: (),
}
MEASURE_TYPES = {
    "temperature": EntityType.AIR_QUALITY,
    "humidity": EntityType.AIR_QUALITY,
    "pm25": EntityType.AIR_QUALITY,
    "noise": EntityType.NOISE,
    "water_level": EntityType.FLOOD,
}
CONTROLLED = {
    "temperature": "temperature",
    "humidity": "humidity",
    "pm25": "airPollution",
    "noise": "noiseLevel",
    "water_level": "waterLevel",
}
ENTITY_ID = re.compile(
    rf"^{URN_PREFIX}(?P<type>{'|'.join(t.value for t in EntityType)}):(?P<thing>[^:\s]+:[^:\s]+)$"
)


@dataclass(slots=True, frozen=True)
class EntityRef:
    """An entity id taken apart."""

    type: EntityType
    thing_id: str

    @property
    def id(self) -> str:
        return entity_id(self.type, self.thing_id)


def entity_id(kind: EntityType, thing_id: str) -> str:
    return f"{URN_PREFIX}{kind.value}:{thing_id}"


def parse_entity_id(text: str) -> EntityRef | None:
    """``urn:ngsi-ld:AirQualityObserved:ns:name`` → its type and thing id; None if not ours."""
    match = ENTITY_ID.match(text)
    if match is None:
        return None
    return EntityRef(EntityType(match["type"]), match["thing"])


def types_of(sensor: SensorTwin) -> list[EntityType]:
    """The observation types of a sensor, by its ``measures`` or else what it reported."""
    types: list[EntityType] = []
    measures = sensor.measures or tuple(
        measure
        for measure, kind in MEASURE_TYPES.items()
        if any(a.twin_property in sensor.measurements for a in OBSERVED[kind])
    )
    for measure in measures:
        kind = MEASURE_TYPES.get(measure)
        if kind is not None and kind not in types:
            types.append(kind)
    return types


def _property(
    value: Any, observed_at: str | None = None, unit: str | None = None
) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "Property", "value": value}
    if observed_at:
        prop["observedAt"] = observed_at
    if unit:
        prop["unitCode"] = unit
    return prop


def _common(sensor: SensorTwin, kind: EntityType) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": entity_id(kind, sensor.thing_id), "type": kind.value}
    if sensor.label:
        entity["name"] = _property(sensor.label)
    if sensor.site_name:
        entity["areaServed"] = _property(sensor.site_name)
    entity["dataProvider"] = _property(DATA_PROVIDER)
    if sensor.position is not None:
        entity["location"] = {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [sensor.position.lon, sensor.position.lat]},
        }
    return entity


def device_state(sensor: SensorTwin) -> str:
    if not sensor.online:
        return "offline"
    return "stale" if sensor.stale else "online"


def device_entity(sensor: SensorTwin) -> dict[str, Any]:
    entity = _common(sensor, EntityType.DEVICE)
    entity["category"] = _property(["sensor"])
    controlled = [CONTROLLED[m] for m in sensor.measures if m in CONTROLLED]
    if controlled:
        entity["controlledProperty"] = _property(controlled)
    entity["deviceState"] = _property(device_state(sensor))
    if sensor.last_seen:
        entity["dateLastValueReported"] = _property(
            {"@type": "DateTime", "@value": sensor.last_seen}
        )
    if sensor.firmware:
        entity["firmwareVersion"] = _property(sensor.firmware)
    return entity


def observed_entity(sensor: SensorTwin, kind: EntityType) -> dict[str, Any]:
    entity = _common(sensor, kind)
    for attribute in OBSERVED[kind]:
        value = sensor.measurements.get(attribute.twin_property)
        if value is not None:
            entity[attribute.name] = _property(
                round(value * attribute.scale, 6), sensor.last_seen, attribute.unit_code
            )
    if sensor.last_seen:
        entity["dateObserved"] = _property({"@type": "DateTime", "@value": sensor.last_seen})
    entity["refDevice"] = {
        "type": "Relationship",
        "object": entity_id(EntityType.DEVICE, sensor.thing_id),
    }
    return entity


def entities_of(sensor: SensorTwin) -> Iterator[dict[str, Any]]:
    """The sensor's observation entities, then its device."""
    for kind in types_of(sensor):
        yield observed_entity(sensor, kind)
    yield device_entity(sensor)


def simplified(entity: Mapping[str, Any]) -> dict[str, Any]:
    """NGSI-LD's simplified (keyValues) form: each attribute's value or object only."""
    out: dict[str, Any] = {}
    for key, item in entity.items():
        if isinstance(item, Mapping) and item.get("type") in {"Property", "GeoProperty"}:
            value = item["value"]
            if isinstance(value, Mapping) and "@value" in value:
                value = value["@value"]
            out[key] = value
        elif isinstance(item, Mapping) and item.get("type") == "Relationship":
            out[key] = item["object"]
        else:
            out[key] = item
    return out
