"""What the twin of each kind of device holds: its definition, attributes and features.

Every twin carries the attributes ``kind``, ``site`` and ``sector`` (searchable:
``eq(attributes/site,"thaibinh.hcc")``) plus what the device registry adds (name, room,
…). Each feature starts with the reported ``properties`` below; devices fill them in
through ingest, operators write wanted state to ``desiredProperties``.

    counter       queue, service, staff, connectivity
    camera        stream, zones, presence, connectivity
    meeting_room  occupancy, booking
    sensor        measurements, thresholds, connectivity
    kiosk         tickets, connectivity
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twins.kinds import DeviceKind, Sector
from twins.thing_id import ThingId

DEFINITION_NAMESPACE = "citytwin"
DEFINITION_VERSION = "1.0.0"


@dataclass(slots=True, frozen=True)
class FeatureDefinition:
    """One feature: its Ditto definition and the properties a fresh twin starts with."""

    name: str
    properties: Mapping[str, Any]
    desired_properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def definition(self) -> str:
        """``citytwin:<feature>:1.0.0``."""
        return f"{DEFINITION_NAMESPACE}:{self.name}:{DEFINITION_VERSION}"

    def to_json(self) -> dict[str, Any]:
        """The feature as Ditto JSON."""
        feature: dict[str, Any] = {
            "definition": [self.definition],
            "properties": copy.deepcopy(dict(self.properties)),
        }
        if self.desired_properties:
            feature["desiredProperties"] = copy.deepcopy(dict(self.desired_properties))
        return feature


_CONNECTIVITY = FeatureDefinition(
    "connectivity", {"online": False, "lastSeen": None, "rssi": None, "firmware": None}
)

KIND_FEATURES: Mapping[DeviceKind, tuple[FeatureDefinition, ...]] = {
    DeviceKind.COUNTER: (
        FeatureDefinition("queue", {"waiting": 0, "served": 0, "averageWaitSeconds": 0.0}),
        FeatureDefinition(
            "service",
            {"open": False, "currentTicket": None, "serviceCode": None},
            {"open": False},
        ),
        FeatureDefinition("staff", {"present": False, "absentSince": None, "officerId": None}),
        _CONNECTIVITY,
    ),
    DeviceKind.CAMERA: (
        FeatureDefinition(
            "stream",
            {
                "url": None,
                "codec": "h264",
                "width": 1920,
                "height": 1080,
                "fps": 15,
                # measured by the video hub (video/health.py), not reported by the camera
                "health": None,
                "healthSince": None,
                "receivedFps": None,
                "receivedKbps": None,
                "lastFrameAt": None,
                "lastError": None,
                "viewers": 0,
            },
        ),
        FeatureDefinition("zones", {"zones": []}),
        FeatureDefinition(
            "presence", {"people": 0, "intrusion": False, "lastMotion": None}, {"armed": False}
        ),
        _CONNECTIVITY,
    ),
    DeviceKind.MEETING_ROOM: (
        FeatureDefinition("occupancy", {"occupied": False, "people": 0, "capacity": 0}),
        FeatureDefinition(
            "booking", {"current": None, "next": None, "paperless": True}, {"current": None}
        ),
    ),
    DeviceKind.SENSOR: (
        FeatureDefinition("measurements", {}),
        FeatureDefinition("thresholds", {}, {}),
        _CONNECTIVITY,
    ),
    DeviceKind.KIOSK: (
        FeatureDefinition("tickets", {"issued": 0, "lastTicket": None, "paperLow": False}),
        _CONNECTIVITY,
    ),
}


def thing_definition(kind: DeviceKind) -> str:
    """``citytwin:<kind>:1.0.0``."""
    return f"{DEFINITION_NAMESPACE}:{kind.value}:{DEFINITION_VERSION}"


def thing_for_device(
    thing_id: ThingId | str,
    kind: DeviceKind,
    site: str,
    sector: Sector,
    attributes: Mapping[str, Any] | None = None,
    *,
    policy_id: str | None = None,
) -> dict[str, Any]:
    """A fresh twin of a device of ``kind`` as Ditto JSON (the body of a PUT).

    ``policy_id`` defaults to the thing id (create it with `default_policy`).
    """
    ident = str(thing_id)
    return {
        "thingId": ident,
        "policyId": policy_id or ident,
        "definition": thing_definition(kind),
        "attributes": {
            **dict(attributes or {}),
            "kind": kind.value,
            "site": site,
            "sector": sector.value,
        },
        "features": {feature.name: feature.to_json() for feature in KIND_FEATURES[kind]},
    }


def default_policy(
    policy_id: str,
    service_subject: str,
    *,
    readers: tuple[str, ...] = (),
    writers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The policy citytwin gives device twins.

    ``service_subject`` (``nginx:citytwin``) may do everything; ``readers`` (operators,
    dashboards) may read the thing; ``writers`` may also write ``desiredProperties``-style
    changes anywhere in the thing, but not the policy.
    """
    everything = {
        "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
        "policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
        "message:/": {"grant": ["READ", "WRITE"], "revoke": []},
    }
    entries: dict[str, Any] = {
        "citytwin": {
            "subjects": {service_subject: {"type": "citytwin service account"}},
            "resources": everything,
        }
    }
    if readers:
        entries["operators"] = {
            "subjects": {subject: {"type": "operator"} for subject in readers},
            "resources": {"thing:/": {"grant": ["READ"], "revoke": []}},
        }
    if writers:
        entries["writers"] = {
            "subjects": {subject: {"type": "integration"} for subject in writers},
            "resources": {"thing:/": {"grant": ["READ", "WRITE"], "revoke": []}},
        }
    return {"policyId": policy_id, "entries": entries}
