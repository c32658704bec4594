"""What the twin of each kind of device holds: its definition, attributes and features.

Every twin carries the attributes ``kind``, ``site`` and ``sector`` (searchable:
``eq(attributes/site,"thaibinh.hcc")``) plus what the device registry adds (name, room,
…). Each feature declares every reported property it may hold — its value in a fresh
twin, what it means and who writes it — as Ditto's WoT thing models declare theirs;
operators write wanted state to ``desiredProperties``. `twins.patches` turns device
messages into changes of these properties and of no others (tests/twins/test_patches.py
holds both to this list, and to the table in docs/twins.md, which `property_table` makes).

    counter       queue, service, staff, connectivity, configuration, commands, alerts
    camera        stream, zones, presence, connectivity, configuration, commands, alerts
    meeting_room  occupancy, booking, connectivity, configuration, commands, alerts
    sensor        measurements, thresholds, connectivity, configuration, commands, alerts
    kiosk         tickets, connectivity, configuration, commands, alerts
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import JsonValue

from twins.kinds import DeviceKind, Sector
from twins.thing_id import ThingId

DEFINITION_NAMESPACE = "citytwin"
DEFINITION_VERSION = "1.0.0"


class Writer(StrEnum):
    """Who keeps a reported property up to date."""

    INGEST = "ingest"
    """From the device's messages (`twins.patches`)."""
    ANALYTICS = "analytics"
    """Computed over time by analytics; stays at its initial value until analytics runs."""
    VIDEO = "video"
    """Measured by the video hub from the streams it pulls (`video/health.py`, `presence.py`)."""
    CALENDAR = "calendar"
    """From the room's calendar over CalDAV (`citytwin calendar`, `ingest/calendar/`)."""
    NOBODY = "nobody"
    """Declared for devices that will report it; no contract v1 message carries it."""


@dataclass(slots=True, frozen=True)
class PropertyDefinition:
    """One reported property: its value in a fresh twin, what it means, who writes it."""

    name: str
    initial: JsonValue
    meaning: str
    writer: Writer = Writer.INGEST


@dataclass(slots=True, frozen=True)
class FeatureDefinition:
    """One feature: its Ditto definition, its reported properties, its wanted state."""

    name: str
    properties: tuple[PropertyDefinition, ...]
    desired_properties: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def definition(self) -> str:
        """``citytwin:<feature>:1.0.0``."""
        return f"{DEFINITION_NAMESPACE}:{self.name}:{DEFINITION_VERSION}"

    @property
    def property_names(self) -> frozenset[str]:
        """The names of the declared reported properties."""
        return frozenset(prop.name for prop in self.properties)

    def to_json(self) -> dict[str, Any]:
        """The feature of a fresh twin as Ditto JSON."""
        feature: dict[str, Any] = {
            "definition": [self.definition],
            "properties": {prop.name: copy.deepcopy(prop.initial) for prop in self.properties},
        }
        if self.desired_properties:
            feature["desiredProperties"] = copy.deepcopy(dict(self.desired_properties))
        return feature


_P = PropertyDefinition
_ANALYTICS = Writer.ANALYTICS
_VIDEO = Writer.VIDEO


def _connectivity(*more: PropertyDefinition) -> FeatureDefinition:
    return FeatureDefinition(
        "connectivity",
        (
            _P("online", False, "true at any message; false after status `offline`"),
            _P("lastSeen", None, "`ts` of the latest message (RFC 3339 UTC, ms)"),
            _P(
                "stale", False, "true when silent for 3 report intervals; false at its next message"
            ),
            _P("firmware", None, "state `firmware`"),
            _P("rssi", None, "signal strength in dBm", Writer.NOBODY),
            *more,
        ),
    )


_CONFIGURATION = FeatureDefinition(
    "configuration",
    (
        _P("reportIntervalSeconds", None, "state `report_interval_s`"),
        _P("streamUrl", None, "state `stream_url`"),
        _P("width", None, "state `width` (pixels)"),
        _P("height", None, "state `height` (pixels)"),
        _P("fps", None, "state `fps`: the configured frame rate"),
        _P("service", None, "state `service`: the service code the device is set up for"),
        _P("capacity", None, "state `capacity` (seats)"),
    ),
)
_COMMANDS = FeatureDefinition(
    "commands",
    (_P("lastAck", None, "the latest cmd/ack: `{id, ok, detail}`"),),
)
_ALERTS = FeatureDefinition(
    "alerts",
    (
        _P("open", 0, "alerts of the device not resolved (open or acknowledged)", _ANALYTICS),
        _P("acknowledged", 0, "of those, the acknowledged ones", _ANALYTICS),
        _P(
            "worstSeverity",
            None,
            "highest severity of those (`info`, `warning`, `major`, `critical`); null: none",
            _ANALYTICS,
        ),
        _P("newestAlertId", None, "id of the newest of those (by onset); null: none", _ANALYTICS),
        _P("changedAt", None, "time of the latest transition of the device's alerts", _ANALYTICS),
    ),
)
"""The device's alerts at a glance, rewritten by ``citytwin analytics`` at every transition
of one of them (`analytics.service.summaries`); the alerts themselves are in the store."""

KIND_FEATURES: Mapping[DeviceKind, tuple[FeatureDefinition, ...]] = {
    DeviceKind.COUNTER: (
        FeatureDefinition(
            "queue",
            (
                _P("waiting", 0, "telemetry `waiting`: tickets waiting for this counter"),
                _P("served", 0, "tickets served today", _ANALYTICS),
                _P("averageWaitSeconds", 0.0, "mean wait of today's tickets", _ANALYTICS),
            ),
        ),
        FeatureDefinition(
            "service",
            (
                _P("open", False, "true from `ticket_called` or `service_started`"),
                _P(
                    "currentTicket",
                    None,
                    "telemetry `serving`, the ticket of `ticket_called`/`service_started`;"
                    " null after `service_finished` or `no_show`",
                ),
                _P("serviceCode", None, "the `service` of `ticket_called`/`service_started`"),
            ),
            {"open": False},
        ),
        FeatureDefinition(
            "staff",
            (
                _P(
                    "present",
                    False,
                    "telemetry `officer_present`; true at `officer_login` and `break_ended`,"
                    " false at `officer_logout` and `break_started`",
                ),
                _P("absentSince", None, "`ts` of `officer_logout`/`break_started`, else null"),
                _P("officerId", None, "the `officer` of `officer_login`"),
            ),
        ),
        _connectivity(),
        _CONFIGURATION,
        _COMMANDS,
        _ALERTS,
    ),
    DeviceKind.CAMERA: (
        FeatureDefinition(
            "stream",
            (
                _P("url", None, "where the stream is relayed from", Writer.NOBODY),
                _P("codec", "h264", "the stream's codec", Writer.NOBODY),
                _P("width", 1920, "frame width (pixels)", Writer.NOBODY),
                _P("height", 1080, "frame height (pixels)", Writer.NOBODY),
                _P("fps", 15, "telemetry `fps`: the measured frame rate"),
                _P("bitrateKbps", None, "telemetry `bitrate_kbps`"),
                _P("health", None, "`up` or `down`, as the video hub sees the stream", _VIDEO),
                _P("healthSince", None, "when `health` last changed", _VIDEO),
                _P("receivedFps", None, "frames per second the hub receives", _VIDEO),
                _P("receivedKbps", None, "kbit/s the hub receives", _VIDEO),
                _P("lastFrameAt", None, "when the hub last received a frame", _VIDEO),
                _P("lastError", None, "the hub's latest error pulling the stream", _VIDEO),
                _P("viewers", 0, "live WebRTC viewers of the camera", _VIDEO),
            ),
        ),
        FeatureDefinition(
            "zones",
            (
                _P(
                    "zones",
                    [],
                    "watched zones, drawn by operators: `[{id, type: desk or restricted, polygon:"
                    " [[x, y], …] (0–1), hours?}]` (`twins.zones.Zone`)",
                    Writer.NOBODY,
                ),
            ),
        ),
        FeatureDefinition(
            "presence",
            (
                _P("people", 0, "telemetry `people` (on-board analytics)"),
                _P(
                    "intrusion",
                    False,
                    "someone in a `restricted` zone within its hours (the hub's person detector)",
                    _VIDEO,
                ),
                _P("lastMotion", None, "`ts` of the latest `motion`"),
                _P("lastMotionZone", None, "the `zone` of the latest `motion`"),
                _P("lastTamper", None, "`ts` of the latest `tamper`"),
                _P(
                    "zones",
                    {},
                    "per zone `{type, present, people, since, watched}` seen by the hub's"
                    " person detector (`since`: capture time of the change)",
                    _VIDEO,
                ),
                _P("zoneErrors", [], "why zones of `zones.zones` are refused", _VIDEO),
            ),
            {"armed": False},
        ),
        _connectivity(),
        _CONFIGURATION,
        _COMMANDS,
        _ALERTS,
    ),
    DeviceKind.MEETING_ROOM: (
        FeatureDefinition(
            "occupancy",
            (
                _P("occupied", False, "telemetry `occupancy` > 0"),
                _P("people", 0, "telemetry `occupancy`"),
                _P("capacity", 0, "seats (the registry's `capacity`)", Writer.NOBODY),
                _P("co2Ppm", None, "telemetry `co2_ppm`"),
            ),
        ),
        FeatureDefinition(
            "booking",
            (
                _P(
                    "current",
                    None,
                    "`{booking, title, attendees}` of `booking_started`; null after"
                    " `booking_ended`",
                ),
                _P(
                    "schedule",
                    [],
                    "the bookings of the room's calendar from today − N to today + N days,"
                    " by start: `{booking, title, start, end, organiserUnit, attendees,"
                    " paperless}`",
                    Writer.CALENDAR,
                ),
                _P(
                    "next",
                    None,
                    "the next booking of the room's calendar (as in `schedule`)",
                    Writer.CALENDAR,
                ),
                _P(
                    "calendar",
                    None,
                    "`{url, state, reason, syncedAt}` of the room's calendar; state `degraded`"
                    " while it cannot be read (the schedule is then the last known)",
                    Writer.CALENDAR,
                ),
                _P("paperless", True, "the `paperless` of `session_started`"),
                _P("sessionOpen", False, "true from `session_started` to `session_ended`"),
            ),
            {"current": None},
        ),
        _connectivity(),
        _CONFIGURATION,
        _COMMANDS,
        _ALERTS,
    ),
    DeviceKind.SENSOR: (
        FeatureDefinition(
            "measurements",
            (
                _P("temperatureC", None, "telemetry `temperature_c` (°C)"),
                _P("humidityPct", None, "telemetry `humidity_pct` (%RH)"),
                _P("pm25Ugm3", None, "telemetry `pm25_ugm3` (µg/m³)"),
                _P("noiseDba", None, "telemetry `noise_dba` (dBA)"),
                _P("waterLevelCm", None, "telemetry `water_level_cm` (cm)"),
            ),
        ),
        FeatureDefinition("thresholds", (), {}),
        _connectivity(
            _P("lastFault", None, "the `code` of the latest `fault`"),
            _P("lastFaultAt", None, "`ts` of the latest `fault`"),
        ),
        _CONFIGURATION,
        _COMMANDS,
        _ALERTS,
    ),
    DeviceKind.KIOSK: (
        FeatureDefinition(
            "tickets",
            (
                _P("issued", 0, "tickets issued today", _ANALYTICS),
                _P("lastTicket", None, "the `ticket` of the latest `ticket_issued`"),
                _P("paperLow", False, "telemetry `paper_ok` is false"),
                _P("queueLength", 0, "telemetry `queue_length`"),
            ),
        ),
        _connectivity(),
        _CONFIGURATION,
        _COMMANDS,
        _ALERTS,
    ),
}


def declared_properties(kind: DeviceKind) -> dict[str, frozenset[str]]:
    """``{feature: {property, …}}`` of the twin of a device of ``kind``."""
    return {feature.name: feature.property_names for feature in KIND_FEATURES[kind]}


def property_table() -> str:
    """The reported properties of every kind as the Markdown table of docs/twins.md."""
    rows: dict[tuple[str, str], tuple[list[str], PropertyDefinition]] = {}
    for kind, features in KIND_FEATURES.items():
        for feature in features:
            for prop in feature.properties:
                kinds, _ = rows.setdefault((feature.name, prop.name), ([], prop))
                kinds.append(kind.value)
    lines = [
        "| property | kinds | fresh twin | written by | what |",
        "|---|---|---|---|---|",
    ]
    for (feature_name, name), (kinds, prop) in rows.items():
        every = len(kinds) == len(KIND_FEATURES)
        initial = json.dumps(prop.initial, ensure_ascii=False)
        lines.append(
            f"| `{feature_name}.{name}` | {'all' if every else ', '.join(kinds)} | `{initial}`"
            f" | {prop.writer.value} | {prop.meaning} |"
        )
    return "\n".join(lines) + "\n"


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
