"""The kinds of device and the sectors of the sites they stand in."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    """What a device is; decides its payloads, its twin's features and its reporting interval."""

    CAMERA = "camera"
    SENSOR = "sensor"
    COUNTER = "counter"
    KIOSK = "kiosk"
    MEETING_ROOM = "meeting_room"


class Sector(StrEnum):
    """The sector a site belongs to (the pilot's cameras stood in the first four)."""

    HEALTH = "health"
    EDUCATION = "education"
    PUBLIC_ADMINISTRATION = "public_administration"
    CITIZEN_RECEPTION = "citizen_reception"
    ENVIRONMENT = "environment"
    TRANSPORT = "transport"
    GOVERNMENT_OFFICE = "government_office"


class Weekday(StrEnum):
    """A day of the week, as schedules in scenarios and zone hours name it."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """``date.weekday()`` of this day (Monday is 0)."""
        return list(Weekday).index(self)

    @classmethod
    def of(cls, day: int) -> Weekday:
        """The day whose ``date.weekday()`` is ``day`` (taken modulo 7)."""
        return list(cls)[day % 7]


# How often a healthy device of each kind says something; ingest marks a device stale
# after three intervals of silence.
REPORT_INTERVAL_SECONDS: dict[DeviceKind, float] = {
    DeviceKind.CAMERA: 30.0,
    DeviceKind.SENSOR: 60.0,
    DeviceKind.COUNTER: 30.0,
    DeviceKind.KIOSK: 60.0,
    DeviceKind.MEETING_ROOM: 60.0,
}
