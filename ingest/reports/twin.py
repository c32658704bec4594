"""A citizen report as a twin of kind ``report``: what was sent and where it is in its life.

    thing    {namespace}:{system}.{digest of the client key}
    attributes  kind, system, client_key, fingerprint, category, lat, lon, text, photos,
                received_at
    features.lifecycle.properties
                state (received → assigned → resolved), assignee, assigned_at, reply,
                replied_at, resolved_at, alert_id

The thing id follows from the submitting system and its client key, so a second
submission with the same key finds the first without any index; the fingerprint (a digest
of category, location, text and photos) tells a repeat from a different report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ingest.reports.categories import ReportCategory

KIND = "report"


class ReportState(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


def report_thing_id(namespace: str, system: str, client_key: str) -> str:
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:24]
    return f"{namespace}:{system}.{digest}"


def fingerprint(
    category: ReportCategory, lat: float, lon: float, text: str, photos: list[bytes]
) -> str:
    """The digest of what the citizen sent (photos as received, before re-encoding)."""
    digest = hashlib.sha256()
    digest.update(f"{category}\x00{lat:.7f}\x00{lon:.7f}\x00{text}\x00".encode())
    for photo in photos:
        digest.update(hashlib.sha256(photo).digest())
    return digest.hexdigest()


@dataclass(slots=True, frozen=True)
class Report:
    """A report as its twin holds it."""

    id: str
    system: str
    client_key: str
    fingerprint: str
    category: ReportCategory
    lat: float
    lon: float
    text: str
    photos: int
    received_at: datetime
    state: ReportState = ReportState.RECEIVED
    assignee: str | None = None
    assigned_at: datetime | None = None
    reply: str | None = None
    replied_at: datetime | None = None
    resolved_at: datetime | None = None
    alert_id: str | None = None

    def lifecycle(self) -> dict[str, Any]:
        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "state": str(self.state),
            "assignee": self.assignee,
            "assigned_at": at(self.assigned_at),
            "reply": self.reply,
            "replied_at": at(self.replied_at),
            "resolved_at": at(self.resolved_at),
            "alert_id": self.alert_id,
        }

    def thing(self) -> dict[str, Any]:
        return {
            "thingId": self.id,
            "attributes": {
                "kind": KIND,
                "system": self.system,
                "client_key": self.client_key,
                "fingerprint": self.fingerprint,
                "category": str(self.category),
                "lat": self.lat,
                "lon": self.lon,
                "text": self.text,
                "photos": self.photos,
                "received_at": self.received_at.isoformat(),
            },
            "features": {"lifecycle": {"properties": self.lifecycle()}},
        }

    @classmethod
    def from_thing(cls, thing: dict[str, Any]) -> Report:
        attributes = thing["attributes"]
        life = thing.get("features", {}).get("lifecycle", {}).get("properties", {})

        def at(key: str) -> datetime | None:
            value = life.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            id=thing["thingId"],
            system=attributes["system"],
            client_key=attributes["client_key"],
            fingerprint=attributes["fingerprint"],
            category=ReportCategory(attributes["category"]),
            lat=float(attributes["lat"]),
            lon=float(attributes["lon"]),
            text=attributes["text"],
            photos=int(attributes["photos"]),
            received_at=datetime.fromisoformat(attributes["received_at"]),
            state=ReportState(life.get("state", ReportState.RECEIVED)),
            assignee=life.get("assignee"),
            assigned_at=at("assigned_at"),
            reply=life.get("reply"),
            replied_at=at("replied_at"),
            resolved_at=at("resolved_at"),
            alert_id=life.get("alert_id"),
        )
