"""Which CalDAV calendar is a meeting room's: the one naming rule of the room calendars.

The calendar sync (``ingest/calendar``) follows ``{base}/{calendar_name(room)}/`` and the
simulators write a scenario's bookings there, so both must derive it the same way; a room
whose e-office calendar has another id names it in its registry attribute ``calendar``.
"""

from __future__ import annotations

from twins.registry import RegisteredDevice

CALENDAR_ATTRIBUTE = "calendar"
"""A room's registry attribute naming its calendar (default: derived from its thing id)."""


def calendar_name(device: RegisteredDevice) -> str:
    """The room's calendar id: its ``calendar`` attribute, else ``{namespace}--{name}``
    (a namespace never holds ``--``, so the id is unambiguous)."""
    given = device.attributes.get(CALENDAR_ATTRIBUTE)
    if isinstance(given, str) and given:
        return given
    return f"{device.thing_id.namespace}--{device.thing_id.name}"
