"""What the overview page shows, computed from the twins.

The console reads twins through the Ditto client, so it works the same against the
embedded twin service and a real Eclipse Ditto.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from citytwin.i18n import Language, text
from twins.client import DittoClient
from twins.kinds import DeviceKind


@dataclass(slots=True)
class DeviceRow:
    """One device on the page."""

    thing_id: str
    kind: str
    label: str
    online: bool
    last_seen: str | None
    reading: str


@dataclass(slots=True)
class SiteBlock:
    """One site and its devices."""

    site: str
    name: str
    sector: str
    devices: list[DeviceRow] = field(default_factory=list)

    @property
    def online(self) -> int:
        return sum(device.online for device in self.devices)


@dataclass(slots=True)
class Overview:
    """Everything on the overview page."""

    sites: list[SiteBlock]
    total: Counter[str]
    online: Counter[str]


def load_overview(client: DittoClient, language: Language, *, limit: int = 5000) -> Overview:
    """Read every twin (paged) and group them by site."""
    sites: dict[str, SiteBlock] = {}
    total: Counter[str] = Counter()
    online: Counter[str] = Counter()
    for count, thing in enumerate(client.search(None)):
        if count >= limit:
            break
        attributes = thing.get("attributes", {})
        features = thing.get("features", {})
        kind = str(attributes.get("kind", "?"))
        connectivity = features.get("connectivity", {}).get("properties", {})
        row = DeviceRow(
            thing_id=thing["thingId"],
            kind=kind,
            label=str(attributes.get("label") or thing["thingId"].split(":", 1)[1]),
            online=bool(connectivity.get("online")),
            last_seen=connectivity.get("lastSeen"),
            reading=reading_of(kind, features, language),
        )
        site = str(attributes.get("site", thing["thingId"].split(":", 1)[0]))
        block = sites.setdefault(
            site,
            SiteBlock(
                site, str(attributes.get("siteName", site)), str(attributes.get("sector", ""))
            ),
        )
        block.devices.append(row)
        total[kind] += 1
        online[kind] += row.online
    ordered = sorted(sites.values(), key=lambda block: (block.sector, block.site))
    for block in ordered:
        block.devices.sort(key=lambda row: (row.kind, row.thing_id))
    return Overview(ordered, total, online)


def _props(features: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = features.get(name, {}).get("properties", {})
    return properties


SENSOR_UNITS = {
    "temperatureC": ("", " °C"),
    "humidityPct": ("", " %RH"),
    "pm25Ugm3": ("PM2.5 ", " µg/m³"),
    "noiseDba": ("", " dBA"),
    "waterLevelCm": ("", " cm"),
}


def reading_of(kind: str, features: dict[str, Any], language: Language) -> str:
    """The one figure an operator wants to see for a device of ``kind``."""
    if kind == DeviceKind.COUNTER:
        queue, staff = _props(features, "queue"), _props(features, "staff")
        officer = text("officer_present" if staff.get("present") else "officer_absent", language)
        return text("counter_reading", language, waiting=queue.get("waiting", 0), officer=officer)
    if kind == DeviceKind.SENSOR:
        values = _props(features, "measurements")
        parts = []
        for key, (prefix, unit) in SENSOR_UNITS.items():
            value = values.get(key)
            if isinstance(value, int | float):
                parts.append(f"{prefix}{value:.1f}{unit}")
        return " · ".join(parts)
    if kind == DeviceKind.MEETING_ROOM:
        occupancy = _props(features, "occupancy")
        return text("room_reading", language, people=occupancy.get("people", 0))
    if kind == DeviceKind.KIOSK:
        tickets = _props(features, "tickets")
        return text("kiosk_reading", language, queue=tickets.get("queueLength", 0))
    if kind == DeviceKind.CAMERA:
        stream = _props(features, "stream")
        fps = stream.get("fps")
        return f"{fps:g} fps" if isinstance(fps, int | float) else ""
    return ""
