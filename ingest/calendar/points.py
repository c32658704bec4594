"""The ``booking`` points: one per booked occurrence, at its start.

Tags are those of every device point (``namespace``, ``device``, ``site``, ``sector``,
``kind``); fields ``booking``, ``title``, ``organiser_unit``, ``attendees``,
``paperless``, ``end_ms`` and ``cancelled``. A point's time is its start in ms plus
``crc32(booking) mod 10⁶`` ns, a function of the booking alone, so rewriting a booking
overwrites its own point and two bookings starting at the same minute keep theirs. A
booking that moves or disappears gets its old point rewritten with ``cancelled=true``:
readers take the points with ``cancelled = false``.
"""

from __future__ import annotations

import zlib

from ingest.calendar.bookings import Booking
from ingest.lineprotocol import FieldValue, encode_line, series_key
from twins.registry import RegisteredDevice

MEASUREMENT = "booking"


def booking_series(device: RegisteredDevice) -> str:
    return series_key(
        MEASUREMENT,
        {
            "namespace": device.thing_id.namespace,
            "device": device.thing_id.name,
            "site": device.site_id,
            "sector": device.sector.value,
            "kind": device.kind.value,
        },
    )


def booking_time_ns(booking: Booking) -> int:
    start_ms = int(booking.start.timestamp() * 1000)
    return start_ms * 1_000_000 + zlib.crc32(booking.booking.encode()) % 1_000_000


def booking_line(series: str, booking: Booking, *, cancelled: bool) -> str:
    fields: list[tuple[str, FieldValue]] = [
        ("booking", booking.booking),
        ("title", booking.title),
        ("attendees", booking.attendees),
        ("paperless", booking.paperless),
        ("end_ms", int(booking.end.timestamp() * 1000)),
        ("cancelled", cancelled),
    ]
    if booking.organiser_unit is not None:
        fields.append(("organiser_unit", booking.organiser_unit))
    line = encode_line(series, fields, booking_time_ns(booking))
    assert line is not None  # booking and cancelled are always storable
    return line
